#!/usr/bin/env bash
# The paying gate across random wallet seeds: runs the adversary mix (honest miners beside every kind
# of cheater, including the smarter ones and an honest but slow miner) on the tiny config, N times
# with random wallets (no --seed), two runs at a time, and reports per role: the runs and windows in
# which it held weight, and for honest miners the share of all miner weight and the windows until
# first paid.
#
# usage: bench/gate.sh [--runs N] [--windows K] [--out DIR]      (defaults: 20 runs, 24 windows)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
runs=20 windows=24 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --windows) windows="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: bench/gate.sh [--runs N] [--windows K] [--out DIR]" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out="$(mktemp -d /tmp/templar-gate-XXXXXX)"
mkdir -p "$out"
bin="${TEMPLAR_BIN:-$here/build/templar}"
[ -x "$bin" ] || make -C "$here" -s build/templar
mix="--adversary noise --adversary wrong-data --adversary noisy-copy --adversary partial --adversary lazy-data
     --adversary sybil:2 --adversary stale --adversary free-rider --adversary slow"
run_one() {
  TEMPLAR_ROOT="$here" "$bin" localnet --config tiny --miners 14 --validators 1 --windows "$windows" \
    $mix --out "$out/run-$1" > "$out/run-$1.log" 2>&1 || echo "run $1 failed: see $out/run-$1.log" >&2
}
for ((i = 1; i <= runs; i += 2)); do
  run_one "$i" &
  [ $((i + 1)) -le "$runs" ] && run_one $((i + 1)) &
  wait
done
/usr/bin/python3 "$here/bench/gate_report.py" "$out"/run-*/
