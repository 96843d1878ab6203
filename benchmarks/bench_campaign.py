"""Trials per hour of a fixed mixed set — one trial of every shipped method — at each precision: a campaign's budget.

Run: ``python -m benchmarks.bench_campaign [--protocol sa_a_r2l] [--preset cpu] [--precisions fp32,bf16]
[--methods …]``. Needs the protocol's real scenes (the mirror).

For each precision the set runs from a cold start (a fresh results folder and pretraining cache, so every
pretraining is paid) on the local executor, one trial at a time with one torch thread — the figure one core
delivers; a campaign on N cores with Ray runs about N such streams. Two figures per precision:

- **trials/hour, cold**: the set's trials over its wall time, pretrainings included — a campaign of one seed;
- **trials/hour, warm**: the same trials over their own time only (pretrainings excluded) — a campaign of many
  seeds, where each pretraining is shared by all of them.

Precisions this CPU cannot run natively (bf16 without ``amx_bf16``/``avx512_bf16``) are skipped, and said so.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.common import Measurement, machine_line, print_measurements
from hsibench.api import run as run_trials
from hsibench.methods import get_method_entry
from hsibench.methods.catalog import BUILTIN_METHODS
from hsibench.methods.training import PrecisionError, check_precision
from hsibench.protocol import load_protocol
from hsibench.protocol.protocol import PooledSourceRefused, SourceLabelsRefused
from hsibench.runner.spec import check_method_fits_protocol

BENCHMARK = "campaign"
PRECISIONS = ("fp32", "bf16")


def mixed_set(protocol: str) -> list[str]:
    """Every shipped method (not the ablation variants) the protocol can serve (the runner's own check: source
    labels, pooled sources)."""
    loaded = load_protocol(protocol)
    served = []
    for name in sorted(BUILTIN_METHODS):
        if get_method_entry(name).base is not None:
            continue
        try:
            check_method_fits_protocol(get_method_entry(name), loaded, name)
        except (SourceLabelsRefused, PooledSourceRefused):
            continue
        served.append(name)
    return served


def one_precision(methods: list[str], protocol: str, preset: str, precision: str) -> list[Measurement]:
    import torch

    with tempfile.TemporaryDirectory(prefix=f"campaign-{precision}-") as folder:
        started = time.perf_counter()
        records = run_trials(methods, protocol, seeds=[load_protocol(protocol).seeds[0]], preset=preset,
                             out=Path(folder) / "results", cache=Path(folder) / "cache", executor="local",
                             precision=precision, maps="none")
        wall = time.perf_counter() - started
    failed = [f"{record.method}: {record.error.message if record.error else '?'}" for record in records
              if record.status != "ok"]
    if failed:
        raise RuntimeError(f"at {precision}: {'; '.join(failed)}")
    trial_seconds = sum(record.timings["total_s"] for record in records)
    per_method = ", ".join(f"{record.method} {record.timings['total_s']:.1f} s" for record in records)
    where = (f"{len(records)} trials ({', '.join(methods)}) on {protocol}, {preset} preset, {precision}; "
             f"{machine_line(torch.get_num_threads())}; local executor")
    return [
        Measurement(BENCHMARK, f"trials/hour at {precision}, cold (pretrainings included)", 3600 * len(records) / wall,
                    "trials/h", detail=f"{wall:.0f} s wall for {where}"),
        Measurement(BENCHMARK, f"trials/hour at {precision}, warm (pretrainings shared)",
                    3600 * len(records) / trial_seconds, "trials/h",
                    detail=f"{trial_seconds:.0f} s of trials: {per_method}"),
    ]


def run(protocol: str = "sa_a_r2l", preset: str = "cpu", precisions: tuple[str, ...] = PRECISIONS,
        methods: list[str] | None = None) -> list[Measurement]:
    import torch

    torch.set_num_threads(1)
    methods = methods or mixed_set(protocol)
    results: list[Measurement] = []
    for precision in precisions:
        try:
            check_precision(precision, torch.device("cpu"))
        except PrecisionError as error:
            results.append(Measurement(BENCHMARK, f"trials/hour at {precision}", float("nan"), "trials/h",
                                       detail=f"skipped: {error}"))
            continue
        results += one_precision(methods, protocol, preset, precision)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="sa_a_r2l")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    parser.add_argument("--methods", default="", help="comma-separated (default: every shipped method the protocol serves)")
    args = parser.parse_args()
    methods = [name for name in args.methods.split(",") if name] or None
    print_measurements(run(args.protocol, args.preset, tuple(args.precisions.split(",")), methods))


if __name__ == "__main__":
    main()
