#!/usr/bin/env bash
# Where the gap to centralized training comes from (issue 14): bench/parity.sh once with its
# baselines, then the network alone with one setting changed at a time, at equal tokens. Prints the
# ablation table (held-out loss and gap to the equal-batch baseline) and writes OUT/ablations.md.
#   bench/parity_ablations.sh [OUT] [NAME...]   (MINERS=4 SEED=1 CONFIG=small;
#   BASELINES_FROM=DIR reuses an earlier parity.sh run's baselines; NAMEs: a subset of the list below)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/parity-ablations}
shift || true
miners=${MINERS:-4}
seed=${SEED:-1}
config=${CONFIG:-small}
# name | what it changes | parity.sh options
ablations=(
  "default|the defaults|"
  "no-null|no null round (training from the first window)|--protocol '\"null_rounds\": 0'"
  "topk128|top-k 128 of 4096 (2x density; over the wire budget)|--codec '\"topk\": 128'"
  "bins16|4-bit values (16 bins) instead of 2-bit|--codec '\"bins\": 16'"
  "dense|top-k 4096 of 4096, 16 bins: nearly dense (DiLoCo without momentum)|--codec '\"topk\": 4096, \"bins\": 16'"
  "ef1|error feedback without decay (beta 1)|--protocol '\"ef_beta\": 1.0'"
  "ef09|error-feedback decay 0.9|--protocol '\"ef_beta\": 0.9'"
  "all|the mean over all gathered peers (SparseLoCo's 1/R) instead of over the senders|--protocol '\"mean_over_all\": true'"
  "noclip|no median-norm clipping|--protocol '\"clip\": false'"
  "reset|miners reset AdamW's moments every window (not carried across windows)|--protocol '\"reset_inner_optimizer\": true'"
  "mom09|outer Nesterov momentum 0.9 at outer LR 0.7 (DiLoCo's outer optimizer)|--protocol '\"outer_momentum\": 0.9, \"outer_lr\": 0.7'"
  "mom05|outer Nesterov momentum 0.5|--protocol '\"outer_momentum\": 0.5'"
  "olr06|outer learning rate 0.6 (the reference's)|--protocol '\"outer_lr\": 0.6'"
  "olr2|outer learning rate 2|--protocol '\"outer_lr\": 2.0'"
  "h4|4 inner steps x 24 windows|--inner-steps 4 --windows 24"
  "h2|2 inner steps x 48 windows|--inner-steps 2 --windows 48"
  "h16|16 inner steps x 6 windows|--inner-steps 16 --windows 6"
)
mkdir -p "$out"
want=" $* "
: > "$out/ablations.txt"
for a in "${ablations[@]}"; do
  IFS='|' read -r name what opts <<< "$a"
  echo "$name|$what" >> "$out/ablations.txt"
  [ $# -gt 0 ] && [[ "$want" != *" $name "* ]] && continue
  [ -f "$out/$name/parity.json" ] && continue
  extra=--no-baselines
  [ "$name" = default ] && extra=${BASELINES_FROM:+--baselines-from $BASELINES_FROM}
  echo "== $name: $what"
  eval "bench/parity.sh --config $config --miners $miners --seed $seed --out $out/$name $extra $opts" > "$out/$name.log" 2>&1 ||
    { tail -20 "$out/$name.log"; exit 1; }
done
/usr/bin/python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
names = dict(line.rstrip("\n").split("|", 1) for line in open(f"{out}/ablations.txt"))
d = json.load(open(f"{out}/default/parity.json"))
base = d["runs"]["central-equal-batch"]["final"]
rows = ["| ablation | held-out loss | gap to equal batch |", "|---|---|---|",
        f"| centralized, equal batch | {base:.3f} | 0 |"]
if "central-miner-batch" in d["runs"]:
    m = d["runs"]["central-miner-batch"]["final"]
    rows.append(f"| centralized, one miner's batch | {m:.3f} | {100 * (m - base) / base:+.1f} % |")
for name, what in names.items():
    p = f"{out}/{name}/parity.json"
    if os.path.exists(p):
        loss = json.load(open(p))["runs"]["network"]["final"]
        rows.append(f"| {what} | {loss:.3f} | {100 * (loss - base) / base:+.1f} % |")
text = "\n".join(rows)
print(text)
open(f"{out}/ablations.md", "w").write(text + "\n")
PY
