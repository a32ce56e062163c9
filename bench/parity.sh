#!/usr/bin/env bash
# Parity with centralized training (issue 14): what decentralization costs per token.
#
# Runs a lockstep `templar localnet` of M honest miners and 1 validator on `small`, then the
# centralized baselines on the same tokens with the same model init, LR and warm-up (constant LR
# after warm-up, as the miners follow):
#   equal batch:  `templar train` at batch M x B (the network's global batch), one step per inner step;
#   miner batch:  `templar train` at batch B (one miner's), M times the steps (the stronger baseline).
# Every model is evaluated by one evaluator (`templar eval`, the same N held-out samples) after each
# window's worth of tokens; prints the table and writes OUT/parity.json, OUT/parity.md, OUT/parity.png.
#
#   bench/parity.sh [OPTIONS]
#     --miners M         honest miners (default 4)
#     --inner-steps H    inner steps per window (default 8)
#     --windows W        training windows (default 12; the localnet runs W + null rounds)
#     --seed S           model init, the baselines' batches and the wallets (default 1)
#     --protocol JSON    extra run-config protocol keys, e.g. '"outer_lr": 0.8, "ef_beta": 0.9'
#     --codec JSON       extra codec keys, e.g. '"topk": 32'
#     --train JSON       extra train keys (the miners' and the baselines' inner optimizer)
#     --samples N        held-out samples (default 48)
#     --config NAME      small (default) or tiny (a quick check of the harness)
#     --no-baselines     the network only (ablations: compare with an earlier run's baselines)
#     --baselines-from D the baselines' curves of an earlier run D with the same settings
#     --out DIR          default runs/parity
set -euo pipefail
cd "$(dirname "$0")/.."
miners=4 steps=8 windows=12 seed=1 protocol="" codec="" train="" samples=48 baselines=1 out=runs/parity config=small
while [ $# -gt 0 ]; do
  case "$1" in
    --miners) miners=$2; shift 2 ;;
    --inner-steps) steps=$2; shift 2 ;;
    --windows) windows=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --protocol) protocol=", $2"; shift 2 ;;
    --codec) codec="$2"; shift 2 ;;
    --train) train=", $2"; shift 2 ;;
    --samples) samples=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --no-baselines) baselines=0; shift ;;
    --baselines-from) baselines=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "bench/parity.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
bin=${TEMPLAR_BIN:-build/templar}
case "$config" in
  small) data=$PWD/data/small-8192 seq_len=256 ;;
  tiny) data=$PWD/data/tiny-512 seq_len=64 ;;
  *) echo "bench/parity.sh: --config small or tiny" >&2; exit 2 ;;
esac
[ -x "$bin" ] || { echo "bench/parity.sh: no $bin: run 'make' first" >&2; exit 1; }
[ -f "$data/meta.json" ] || { echo "bench/parity.sh: no $data: run 'make demo' first (or a localnet of the config)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
log() { echo "[parity $(date +%T)] $*"; }

# The run config: the miners' inner optimizer is the baselines' optimizer (constant LR after warm-up).
batch=8
[ $((samples % batch)) = 0 ] || { echo "bench/parity.sh: --samples must be a multiple of $batch" >&2; exit 2; }
train_json="\"batch_size\": $batch, \"eta_min_factor\": 1.0, \"eval_batches\": 1, \"seed\": $seed $train"
cat > "$out/run.json" <<JSON
{"base": "$config", "data": "$data", "train": {$train_json}, "codec": {$codec},
 "protocol": {"inner_steps": $steps, "heldout_batches": $((samples / batch)), "eval_samples": 8 $protocol}}
JSON
echo "{\"base\": \"$config\", \"train\": {$train_json}}" > "$out/train.json"
null=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["protocol"].get("null_rounds", 1))' \
  "$out/run.json")
eval_model() { "$bin" eval --model "$1" --data "$data" --samples "$samples"; }

log "network: $miners miners x $steps inner steps x $windows windows (+$null null) at batch $batch"
"$bin" localnet --config "$out/run.json" --miners "$miners" --validators 1 --windows $((windows + null)) \
  --seed "$seed" --out "$out/net" > "$out/net.log" 2>&1 || { tail -20 "$out/net.log"; exit 1; }
last=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["window"])' "$out/net/state/validator-0/node.json")
eval_model "$out/net/state/validator-0/node-$last" > "$out/net.final"
log "network: held-out loss $(cat "$out/net.final") (final model, window $last)"

# A baseline in pieces of one window's tokens, each piece's checkpoint evaluated.
baseline() { # NAME BATCH STEPS_PER_WINDOW
  local name=$1 b=$2 per=$3 total=$(($3 * windows)) dir="$out/$1"
  : > "$out/$name.curve"
  for k in $(seq 1 "$windows"); do
    if [ "$k" = 1 ]; then set -- --config "$out/train.json" --data "$data" --batch "$b" --out "$dir"
    else set -- --resume "$dir" --data "$data"; fi
    "$bin" train "$@" --steps "$total" --stop-at $((k * per)) --peak-gflops 1 >> "$out/$name.log" 2>&1 ||
      { tail -20 "$out/$name.log"; exit 1; }
    echo "$k $(eval_model "$dir")" >> "$out/$name.curve"
  done
  log "$name: batch $b x $total steps: held-out loss $(tail -1 "$out/$name.curve" | cut -d' ' -f2)"
}
if [ "$baselines" = 1 ]; then
  baseline central-equal-batch $((miners * batch)) "$steps"
  baseline central-miner-batch "$batch" $((miners * steps))
elif [ "$baselines" != 0 ]; then
  cp "$baselines"/central-*.curve "$out"/
fi

/usr/bin/python3 bench/parity_report.py "$out" "$miners" "$steps" "$windows" "$batch" "$null" "$seq_len"
