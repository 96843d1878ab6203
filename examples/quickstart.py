"""hsibench from Python: run two methods on the embedded demo protocol, then read the records back.

    python examples/quickstart.py [RESULTS_DIR]

Runs in about a minute on two cores, offline (the demo scenes are generated). Running it again
reuses the records it wrote (trials with a record made by the same code are skipped).
"""

from __future__ import annotations

import sys

import hsibench

out = sys.argv[1] if len(sys.argv) > 1 else "results"

# 1. Seeded trials into records: the same campaign as `hsibench run --method svm --method ssftt --protocol demo`.
records = hsibench.run(method=["svm", "ssftt"], protocol="demo", seeds=[1330, 1220], out=out)
for record in records:
    print(f"{record.method:6s} seed {record.seed}: OA {100 * record.overall_accuracy:.2f} %  ({record.status})")

# 2. Every record as a DataFrame row: scores (fractions) beside the code and machine that made them.
frame = hsibench.load_results(out, protocol="demo")
print(frame.groupby("method")[["overall_accuracy", "average_accuracy", "kappa"]].mean().mul(100).round(2))

# 3. The paper table (per-class accuracy, OA, AA, κ ×100: mean over seeds), built from the records.
table = hsibench.table("main", protocol="demo", results_dir=out, methods=["svm", "ssftt"])
print(table.round(2).to_string())
print(table.attrs["caption"])
