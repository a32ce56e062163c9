#!/usr/bin/env python3
"""Summarises localnet runs for bench/gate.sh and tests: per role, the runs and windows in which it
held weight (a weight row on chain with its uid > 0), honest miners' share of the miner weight at the
end, and the windows until an honest miner was first paid.  usage: gate_report.py RUN_DIR..."""
import collections
import json
import sys

held_runs = collections.Counter()
held_windows = collections.Counter()
counted = collections.Counter()
shares, first_paid = [], []
for d in sys.argv[1:]:
    try:
        r = json.load(open(d.rstrip("/") + "/report.json"))
    except OSError:
        continue
    roles = r["roles"]
    miners = {u: ro for u, ro in roles.items() if ro not in ("owner", "validator")}
    held = collections.Counter()
    for i, w in enumerate(r["windows"]):
        for row in (w.get("weights") or {}).values():
            for u, x in row.items():
                if x > 0 and u in miners:
                    if held[u] == 0 and miners[u] == "honest":
                        first_paid.append(i + 1)
                    held[u] += 1
    for u, ro in miners.items():
        counted[ro] += 1
        if held[u]:
            held_runs[ro] += 1
            held_windows[ro] += held[u]
    fw = r.get("final_weights", {})
    total = sum(fw.get(u, 0) for u in miners)
    if total > 0:
        shares.append(sum(fw.get(u, 0) for u, ro in miners.items() if ro in ("honest", "slow")) / total)

runs = len(sys.argv) - 1
print("%d runs" % runs)
print("| role | miners | runs holding weight | miner-windows holding weight |")
print("|---|---|---|---|")
for ro in sorted(counted):
    print("| %s | %d | %d | %d |" % (ro, counted[ro], held_runs[ro], held_windows[ro]))
if shares:
    print("honest (incl. slow) share of the final miner weight: min %.4f, mean %.4f over %d runs" %
          (min(shares), sum(shares) / len(shares), len(shares)))
if first_paid:
    first_paid.sort()
    print("windows until an honest miner is first paid: median %d, max %d" %
          (first_paid[len(first_paid) // 2], first_paid[-1]))
cheaters = sum(held_runs[ro] for ro in counted if ro not in ("honest", "slow"))
print("cheater runs holding weight: %d" % cheaters)
sys.exit(1 if cheaters else 0)
