"""The table and the curves of bench/parity.sh: OUT/parity.json, OUT/parity.md, OUT/parity.png.

usage: parity_report.py OUT MINERS INNER_STEPS WINDOWS BATCH NULL_ROUNDS SEQ_LEN
"""
import json
import os
import subprocess
import sys

out, miners, steps, windows, batch, null, seq = sys.argv[1], *map(int, sys.argv[2:8])
per_window = miners * steps * batch * seq  # tokens the network trains on per window

report = json.load(open(f"{out}/net/report.json"))
train_windows = report["windows"][null:null + windows]
net = [(k + 1, w["heldout_loss"]) for k, w in enumerate(train_windows)]
final = float(open(f"{out}/net.final").read())


def curve(name):
    path = f"{out}/{name}.curve"
    if not os.path.exists(path):
        return None
    return [(int(k), float(l)) for k, l in (line.split() for line in open(path))]


runs = [("network", f"templar localnet: {miners} honest miners, 1 validator, {windows} windows of training "
                    f"x {steps} inner steps x batch {batch}", net, final)]
for name, label in [("central-equal-batch", f"templar train: batch {miners * batch} x {steps * windows} steps"),
                    ("central-miner-batch", f"templar train: batch {batch} x {miners * steps * windows} steps")]:
    c = curve(name)
    if c:
        runs.append((name, label, c, c[-1][1]))

base = next((r[3] for r in runs if r[0] == "central-equal-batch"), None)
lines = ["| run | tokens | held-out loss | gap to equal batch |", "|---|---|---|---|"]
for name, label, c, loss in runs:
    gap = f"{100 * (loss - base) / base:+.1f} %" if base else "n/a"
    lines.append(f"| {label} | {per_window * len(c) / 1e3:.0f}k | {loss:.3f} | {gap} |")
table = "\n".join(lines)
print(table)
last_report = net[-1][1]
print(f"(the network's last window as its validator measured it: {last_report:.4f}; "
      f"the evaluator on its final model: {final:.4f})")

json.dump({"tokens_per_window": per_window, "windows": windows, "miners": miners, "inner_steps": steps,
           "batch": batch, "runs": {name: {"label": label, "final": loss,
                                           "curve": [[per_window * k, l] for k, l in c]}
                                    for name, label, c, loss in runs}},
          open(f"{out}/parity.json", "w"), indent=1)
open(f"{out}/parity.md", "w").write(table + "\n")

for name, _, c, _ in runs:
    with open(f"{out}/{name}.dat", "w") as f:
        f.write("".join(f"{per_window * k} {l}\n" for k, l in c))
plot = "; ".join([
    f"set terminal pngcairo size 900,560", f"set output '{out}/parity.png'",
    "set xlabel 'tokens'", "set ylabel 'held-out loss'", "set grid", "set key top right",
    "plot " + ", ".join(f"'{out}/{name}.dat' using 1:2 with linespoints title '{name}'" for name, *_ in runs)])
try:
    subprocess.run(["gnuplot", "-e", plot], check=True)
except (OSError, subprocess.CalledProcessError) as e:
    print(f"no plot ({e})", file=sys.stderr)
