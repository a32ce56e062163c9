#!/usr/bin/env bash
# Training-step throughput: templar vs the PyTorch eager baseline (../shared/bench/torch_llama_step.py)
# on the `small` and `base` configs (DESIGN §4), same batch size, 2 threads each, in one run.
#
# usage: bench/train_step.sh [--json]        (run from anywhere; `make bench` runs it)
# env:   TEMPLAR_BIN    binary (default: <repo>/build/templar)
#        TEMPLAR_SHARED shared directory holding bench/torch_llama_step.py (default: <repo>/../shared)
#        CONFIGS        configs to run (default: "small base")
#        B_SMALL B_BASE batch sizes (default 8 and 4: 2048 tokens per step for both)
#        STEPS          timed steps (default 5; each side also runs one untimed warm-up step)
#        THREADS        threads for both sides (default 2)
#        BENCH_JSON=1   same as --json: print one JSON object instead of the table
#
# Both numbers are tokens/s of one full training step (forward + backward + AdamW), B*T tokens per
# step, excluding the first (warm-up) step. Ours comes from the JSON object that
# `templar train --config NAME --data DIR --steps N --batch B --json` prints as its last stdout line
# (tokens_per_s); the baseline's from its `tokens_per_s` field. Ours trains on a random-token data
# directory generated here (vocab 8192), so no corpus is needed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
json=${BENCH_JSON:-0}
for a in "$@"; do
    case "$a" in
        --json) json=1 ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "train_step.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done

bin=${TEMPLAR_BIN:-$root/build/templar}
shared=${TEMPLAR_SHARED:-$root/../shared}
torch_bench=$shared/bench/torch_llama_step.py
py=/usr/bin/python3
configs=${CONFIGS:-small base}
steps=${STEPS:-5}
threads=${THREADS:-2}
B_SMALL=${B_SMALL:-8}
B_BASE=${B_BASE:-4}

[ -x "$bin" ] || { echo "train_step.sh: no templar binary at $bin (run make)" >&2; exit 1; }
[ -f "$torch_bench" ] || { echo "train_step.sh: no baseline at $torch_bench (set TEMPLAR_SHARED)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/templar-bench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Random-token data directory (the `templar prep` layout, src/data/shards.h): 256 samples of the
# longest seq (512) for training, 16 for validation; eot_token = vocab_size - 1.
"$py" - "$tmp/data" <<'EOF'
import json, os, sys
import numpy as np
d = sys.argv[1]; os.makedirs(d)
V, rng = 8192, np.random.default_rng(0)
tr = rng.integers(0, V, 256 * 512).astype("<u4"); va = rng.integers(0, V, 16 * 512).astype("<u4")
np.save(os.path.join(d, "train_000000.npy"), tr); np.save(os.path.join(d, "val_000000.npy"), va)
meta = {"format": "templar-shards", "version": 1, "vocab_size": V, "eot_token": V - 1,
        "train_tokens": int(tr.size), "val_tokens": int(va.size), "train_shards": 1, "val_shards": 1,
        "unigram_entropy": float(np.log(V - 1)), "tokenizer_blake2b": "0" * 64}
json.dump(meta, open(os.path.join(d, "meta.json"), "w"))
EOF

# name -> "dim layers heads kv ffn vocab seq"
declare -A ARCH=([small]="256 4 8 4 768 8192 256" [base]="512 8 8 4 1536 8192 512")
declare -A BATCH=([small]=$B_SMALL [base]=$B_BASE)

rows=()
for c in $configs; do
    [ -n "${ARCH[$c]:-}" ] || { echo "train_step.sh: unknown config $c" >&2; exit 2; }
    read -r D L H KV F V T <<<"${ARCH[$c]}"
    B=${BATCH[$c]}
    [ "$json" = 1 ] || echo "== $c: D=$D L=$L H=$H KV=$KV F=$F V=$V T=$T B=$B, $steps timed steps, $threads threads" >&2

    out=$(OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$bin" train --config "$c" --data "$tmp/data" \
          --steps $((steps + 1)) --batch "$B" --out "$tmp/out-$c" --json </dev/null 2>"$tmp/ours-$c.err") || {
        echo "train_step.sh: templar train failed on $c:" >&2; tail -20 "$tmp/ours-$c.err" >&2; exit 1; }
    ours=$(printf '%s\n' "$out" | tail -n 1 | "$py" -c 'import json,sys; print(float(json.loads(sys.stdin.read())["tokens_per_s"]))') || {
        echo "train_step.sh: no tokens_per_s in the last line of templar's output:" >&2; printf '%s\n' "$out" | tail -5 >&2; exit 1; }

    tout=$(THREADS=$threads OMP_NUM_THREADS=$threads "$py" "$torch_bench" "$D" "$L" "$H" "$KV" "$F" "$V" "$T" "$B" "$steps" 2>"$tmp/torch-$c.err") || {
        echo "train_step.sh: torch baseline failed on $c:" >&2; tail -20 "$tmp/torch-$c.err" >&2; exit 1; }
    theirs=$(printf '%s\n' "$tout" | sed -n 's/.*tokens_per_s \([0-9.eE+-]*\).*/\1/p' | tail -n 1)
    [ -n "$theirs" ] || { echo "train_step.sh: unexpected baseline output: $tout" >&2; exit 1; }
    rows+=("$c $B $T $ours $theirs")
done

printf '%s\n' "${rows[@]}" >"$tmp/rows"
"$py" - "$json" "$threads" "$steps" "$tmp/rows" <<'EOF'
import json, sys
json_out, threads, steps = sys.argv[1] == "1", int(sys.argv[2]), int(sys.argv[3])
rows = []
for line in open(sys.argv[4]).read().split("\n"):
    if not line.strip():
        continue
    c, B, T, ours, theirs = line.split()
    ours, theirs = float(ours), float(theirs)
    rows.append({"config": c, "batch": int(B), "seq": int(T), "tokens_per_step": int(B) * int(T),
                 "templar_tokens_per_s": ours, "torch_tokens_per_s": theirs, "ratio": ours / theirs})
if json_out:
    print(json.dumps({"threads": threads, "timed_steps": steps, "results": rows}))
else:
    print("%-8s%4s%6s%16s%14s%8s" % ("config", "B", "T", "templar tok/s", "torch tok/s", "ratio"))
    for r in rows:
        print("%-8s%4d%6d%16.1f%14.1f%7.2fx" % (r["config"], r["batch"], r["seq"], r["templar_tokens_per_s"],
                                              r["torch_tokens_per_s"], r["ratio"]))
    print("(fwd+bwd+AdamW per step, B*T tokens; %d threads each; %d timed steps after one warm-up; "
          "ratio = templar / torch)" % (threads, steps))
EOF
