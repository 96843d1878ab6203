"""How much the machine alone moves a trial: the same code, config, protocol and seed run on two CPUs.

The campaign's records come from two 2-core AMD EPYC machines, one with AVX-512 (the main tables) and one with
AVX2/FMA only (most ablation variants; see results/README.md). torch picks different kernels on each, so a
deep method's training can take another path from the first update on. This pairs the records of one folder with
the records of another that are the same trial (equal run ids) made on another kind of CPU, and prints a markdown
table per method: seeds paired, how many gave bit-identical predictions, the
mean OA on each machine, the mean and largest absolute per-seed OA difference, and the two-sided Wilcoxon p of the
per-seed differences (is the machine a shift, or only noise?).

    python results/campaign/compare_machines.py results/campaign/machine-avx2/jr2sa_a results/jr2sa_a
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from scipy.stats import wilcoxon


def ok_records(folder: Path) -> dict[str, dict]:
    """run id → record, for a folder's ok records outside the audit (the run id names the whole trial: method,
    resolved config, protocol, overrides and seed, so equal run ids are the same trial)."""
    records = {}
    for path in sorted((folder / "runs").glob("*.json")):
        record = json.loads(path.read_text())
        if record.get("status") == "ok" and not record.get("audit"):
            records[record["run_id"]] = record
    return records


def kernel_level(record: dict) -> str:
    """The kernel level torch ran at (AVX2, AVX512, …): what decides which floating-point path a trial took."""
    return (record.get("machine") or {}).get("torch_cpu_capability") or "unrecorded"


def machine_pairs(first: Path, second: Path) -> list[tuple[dict, dict]]:
    """The same trial run on two kinds of CPU: equal run ids, different kernel levels (copies are skipped)."""
    a, b = ok_records(first), ok_records(second)
    return [(a[run], b[run]) for run in sorted(a) if run in b and kernel_level(a[run]) != kernel_level(b[run])]


def comparison_rows(pairs: list[tuple[dict, dict]]) -> list[str]:
    rows = []
    for method in sorted({x["method"] for x, _ in pairs}):
        mine = [(x, y) for x, y in pairs if x["method"] == method]
        identical = sum(x["predictions_sha256"] == y["predictions_sha256"] for x, y in mine)
        signed = [100 * (x["overall_accuracy"] - y["overall_accuracy"]) for x, y in mine]
        p_value = wilcoxon(signed).pvalue if any(signed) else 1.0
        mean_a = statistics.fmean(100 * x["overall_accuracy"] for x, _ in mine)
        mean_b = statistics.fmean(100 * y["overall_accuracy"] for _, y in mine)
        rows.append(f"| {method} | {len(mine)} | {identical} | {mean_a:.2f} | {mean_b:.2f} | "
                    f"{statistics.fmean(map(abs, signed)):.2f} | {max(map(abs, signed)):.2f} | {p_value:.3f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first", type=Path, help="a protocol folder (with runs/) made on one machine")
    parser.add_argument("second", type=Path, help="the same protocol's folder made on another")
    args = parser.parse_args()
    pairs = machine_pairs(args.first, args.second)
    if not pairs:
        raise SystemExit(f"no trial of {args.first} was also run on another kind of CPU in {args.second}")
    first, second = pairs[0]
    print(f"| method | seeds | identical predictions | OA ({kernel_level(first)}) | OA ({kernel_level(second)}) "
          "| mean abs. ΔOA | max abs. ΔOA | Wilcoxon p |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(comparison_rows(pairs)))


if __name__ == "__main__":
    main()
