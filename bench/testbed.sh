#!/usr/bin/env bash
# A network over internet-like links (issue 12), as root. Two parts:
#  1. `templar testbed` of the `small` model on the wall clock: 1 validator and M miners, each on a
#     host of its own, miners' links of R Mbit/s with 40 ms delay (the chain's and the store's hosts:
#     no delay, no limit, as data-centre services); prints per run the miners' utilization,
#     communication seconds, bytes up and down per window and the gather success.
#  2. `templar bench links` at the 150M config's update size (random bytes of its largest honest
#     payload) and at small's, same links: the slowest put and gather of a window.
# Miners train until their window's end (they stop the inner steps that would not end in time), so
# STEPSm, the inner steps asked for, should be more than a window holds on this machine.
#   bench/testbed.sh [OUT]   MINERS="4 8" RATES="100 20" WINDOWS=5 BLOCK_MS=2000 BPW=45 STEPS4=40 STEPS8=20
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/bench-testbed}
miners_list=${MINERS:-"4 8"}
rates=${RATES:-"100 20"}
windows=${WINDOWS:-5}
block_ms=${BLOCK_MS:-2000}
bpw=${BPW:-45}
bin=${TEMPLAR_BIN:-build/templar}
[ "$(id -u)" = 0 ] || { echo "bench/testbed.sh makes network namespaces: run it as root" >&2; exit 1; }
[ -f data/small-8192/meta.json ] || { echo "run 'make demo' first (it prepares data/small-8192)" >&2; exit 1; }
mkdir -p "$out"
services="--host-link chain:delay=0ms,rate=unlimited --host-link s3:delay=0ms,rate=unlimited"

for m in $miners_list; do
  steps_var=STEPS$m
  steps=${!steps_var:-$((160 / m))}
  cfg="$out/small-$m.json"
  cat > "$cfg" <<JSON
{"base": "small", "data": "$PWD/data/small-8192",
 "protocol": {"inner_steps": $steps, "eval_samples": 8, "heldout_batches": 1}}
JSON
  for r in $rates; do
    run="$out/small-m$m-r$r"
    rm -rf "$run"
    echo "== small, $m miners, ${r} Mbit/s + 40 ms, $steps inner steps, windows of $((bpw * block_ms / 1000)) s"
    "$bin" testbed --config "$cfg" --miners "$m" --validators 1 --windows "$windows" --clock wall \
      --block-time "$block_ms" --blocks-per-window "$bpw" --link "delay=40ms,rate=${r}mbit" $services \
      --out "$run" > "$run.log" 2>&1 || { tail -20 "$run.log"; exit 1; }
  done
done

for m in $miners_list; do
  for r in $rates; do
    for model in 150M small; do
      echo "== bench links: $model updates, $m miners, ${r} Mbit/s + 40 ms"
      rm -rf "$out/links-$model-m$m-r$r"
      "$bin" bench links --config "$model" --miners "$m" --rounds 3 --link "delay=40ms,rate=${r}mbit" \
        --host-link s3:delay=0ms,rate=unlimited --block-time "$block_ms" --out "$out/links-$model-m$m-r$r" --json \
        | tail -1 > "$out/links-$model-m$m-r$r.json"
    done
  done
done

/usr/bin/python3 - "$out" "$miners_list" "$rates" <<'PY'
import json, sys, statistics as st
out, miners, rates = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
print("\n| miners | link | utilization (mean, min) | comm s / window | MB up / window | MB down / window | gather success |")
print("|---|---|---|---|---|---|---|")
for m in miners:
    for r in rates:
        rep = json.load(open(f"{out}/small-m{m}-r{r}/report.json"))
        t = rep["timings"]; b = rep["bytes_per_window"]
        util = [rep["utilization"][u] for u, ro in rep["roles"].items() if ro == "honest"]
        comm = [t[u]["comm_s"] for u, ro in rep["roles"].items() if ro == "honest"]
        up = [b[u]["up"] for u, ro in rep["roles"].items() if ro == "honest"]
        down = [b[u]["down"] for u, ro in rep["roles"].items() if ro == "honest"]
        gs = [w["gather_success"] for w in rep["windows"][1:] if w.get("gather_success") is not None]
        print(f"| {m} | {r} Mbit/s, 40 ms | {100*st.mean(util):.1f} %, {100*min(util):.1f} % | {st.mean(comm):.2f} | "
              f"{st.mean(up)/1e6:.3f} | {st.mean(down)/1e6:.3f} | {100*st.mean(gs):.0f} % |")
print("\n| updates | miners | link | update MB | put s (slowest) | gather s (slowest) | gathered | window for 95 % utilization |")
print("|---|---|---|---|---|---|---|---|")
for model in ["150M", "small"]:
    for m in miners:
        for r in rates:
            j = json.loads(open(f"{out}/links-{model}-m{m}-r{r}.json").read())
            put = max(x["put_s"] for x in j["rounds"]); gat = max(x["gather_s"] for x in j["rounds"])
            got = sum(x["fetched"] for x in j["rounds"]); want = sum(x["wanted"] for x in j["rounds"])
            print(f"| {model} | {m} | {r} Mbit/s, 40 ms | {j['payload_bytes']/1e6:.2f} | {put:.2f} | {gat:.2f} | "
                  f"{got}/{want} | {(put+gat)/0.05:.0f} s |")
PY
