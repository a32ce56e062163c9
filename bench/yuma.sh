#!/usr/bin/env bash
# Yuma consensus: the time of one epoch with 256 uids and 64 validators setting random weights on
# every uid (issue 4), measured by the hidden `templar chain bench-yuma`:
#   maths   tp_yuma_epoch alone (dense matrices, the bond EMA path every epoch after the first takes)
#   ledger  one whole epoch on a lockstep SQLite ledger: read stake, weights and bonds, run Yuma,
#           store incentives, dividends, emission and bonds, in one write transaction
# Both are the median of REPS runs after a warm-up.
#
# usage: bench/yuma.sh [--json]
# env:   TEMPLAR_BIN  binary (default: <repo>/build/templar)
#        UIDS VALIDATORS REPS  (default 256, 64, 20)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
json=""
for a in "$@"; do
    case "$a" in
        --json) json=--json ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "yuma.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done
bin=${TEMPLAR_BIN:-$root/build/templar}
[ -x "$bin" ] || { echo "yuma.sh: no templar binary at $bin (run make)" >&2; exit 1; }
exec "$bin" chain bench-yuma --uids "${UIDS:-256}" --validators "${VALIDATORS:-64}" --reps "${REPS:-20}" $json
