#!/usr/bin/env bash
# Miner utilization on the wall clock (issue 5): a localnet of the `small` model with 2 miners and
# 1 validator, windows sized so that the inner steps fill them as in the reference network. Prints
# the utilization, bytes per window and per-window timings of every miner from the run's report.
#   bench/localnet.sh [OUT]   (STEPS, WINDOWS, BLOCK_MS, BPW override the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/bench-localnet}
steps=${STEPS:-24}
windows=${WINDOWS:-6}
block_ms=${BLOCK_MS:-500}
bpw=${BPW:-80}
[ -f data/small-8192/meta.json ] || { echo "run 'make demo' first (it prepares data/small-8192)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cfg=$(mktemp --suffix=.json)
trap 'rm -f "$cfg"' EXIT
cat > "$cfg" <<JSON
{"base": "small", "data": "$PWD/data/small-8192",
 "protocol": {"inner_steps": $steps, "eval_samples": 8, "heldout_batches": 1, "put_window_blocks": 2}}
JSON
build/templar localnet --config "$cfg" --miners 2 --validators 1 --windows "$windows" --clock wall \
  --block-time "$block_ms" --blocks-per-window "$bpw" --out "$out"
/usr/bin/python3 - "$out/report.json" "$steps" "$block_ms" "$bpw" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"small, 2 miners + 1 validator, {sys.argv[2]} inner steps of 8 x 256 tokens, "
      f"window {int(sys.argv[3]) * int(sys.argv[4]) / 1000:.0f} s, put window 2 blocks")
for uid, role in sorted(r["roles"].items(), key=lambda x: int(x[0])):
    if role != "honest": continue
    b, t = r["bytes_per_window"][uid], r["timings"][uid]
    print(f"uid {uid}: utilization {100 * r['utilization'][uid]:.1f}%, up {b['up'] / 1e3:.0f} KB, down {b['down'] / 1e3:.0f} KB "
          f"per window; train {t['train_s']:.2f} s, comm {t['comm_s']:.2f} s, wait {t['wait_s']:.2f} s")
w = r["windows"]
print(f"held-out loss {w[0]['heldout_loss']:.4f} -> {w[-1]['heldout_loss']:.4f}")
PY
