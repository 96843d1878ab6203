"""fp32 vs bf16 on the CPU: throughput of the same models, agreement of their predictions, and OA over ten seeds.

Run: ``python -m benchmarks.bench_precision [--methods s2former,mae] [--protocol sa_a_r2l] [--preset cpu]
[--seeds N] [--executor local|ray] [--out DIR]``. Needs the protocol's real scenes (the mirror) and a CPU
with ``amx_bf16`` or ``avx512_bf16`` (bf16 is refused elsewhere: ``methods/training.py``).

What it measures, for each method, side by side in one run:

- **Trials**: every seed of the protocol, once at fp32 and once at bf16, through the runner (records in ``--out``,
  pretraining once per precision — a bf16 pretraining is its own checkpoint). From the records: the paired OA
  difference bf16 − fp32 over the seeds (mean, 95 % t interval, exact Wilcoxon p), and the trials' own phase times.
- **Same model, side by side** (first seed): one method prepared and adapted per precision, the two ``adapt`` calls
  timed in turn (A B B A), so training throughput = the budget's samples / adapt seconds; every pixel of the target
  scene predicted by both (their own training: the agreement a user of either precision sees), then the fp32
  model's weights loaded into the bf16 one and the scene predicted again in turn (inference throughput in px/s,
  and the agreement due to inference precision alone).

Every figure carries the CPU model, its bf16 ISA features and the thread count (1 per trial, as the runner's).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import Measurement, machine_line, print_measurements
from hsibench.api import run as run_trials
from hsibench.methods import RunContext, create_method
from hsibench.methods.training import cpu_bf16_support
from hsibench.protocol import PUBLISHED_SEEDS, build_task, load_protocol, make_split
from hsibench.protocol.regions import region_scene
from hsibench.provenance.machine import cpu_description
from hsibench.report.statistics import paired_interval, signed_rank_p
from hsibench.runner.layout import default_pretraining_cache
from hsibench.runner.record_schema import TrialRecord
from hsibench.runner.source_domains import needs_source, source_domain

BENCHMARK = "precision"
PRECISIONS = ("fp32", "bf16")
OUT = Path("scratch/precision")  # the trials' records (scratch/ is ignored by git)


# --- trials through the runner ----------------------------------------------------------------------------------


def trial_records(method: str, protocol: str, preset: str, seeds: list[int], precision: str, out: Path,
                  cache: Path, executor: str) -> tuple[list[TrialRecord], float]:
    """The ok records of every seed at ``precision`` (run or, when current, read back) and the wall seconds."""
    started = time.perf_counter()
    records = run_trials(method, protocol, seeds=seeds, preset=preset, out=out, cache=cache, executor=executor,
                         precision=precision, maps="none")
    failed = [record for record in records if record.status != "ok"]
    if failed:
        raise RuntimeError(f"{method} at {precision}: {len(failed)} trial(s) failed: {failed[0].error}")
    return records, time.perf_counter() - started


def paired_oa_difference(fp32: list[TrialRecord], bf16: list[TrialRecord], method: str) -> list[Measurement]:
    """OA(bf16) − OA(fp32), paired by seed, in points."""
    by_seed = {record.seed: record.overall_accuracy for record in fp32}
    differences = [100 * (record.overall_accuracy - by_seed[record.seed]) for record in bf16 if record.seed in by_seed]
    interval = paired_interval(differences)
    p = signed_rank_p(np.asarray(differences))
    mean = lambda records: 100 * statistics.mean(record.overall_accuracy for record in records)
    spread = lambda records: 100 * statistics.stdev(record.overall_accuracy for record in records)
    low, high = interval if interval else (float("nan"), float("nan"))
    return [Measurement(BENCHMARK, f"{method}: OA bf16 − fp32 (paired)", statistics.mean(differences), "points",
                        detail=f"{len(differences)} seeds; 95 % t interval [{low:+.2f}, {high:+.2f}], exact Wilcoxon "
                               f"p = {p:.3g}; OA fp32 {mean(fp32):.2f} ± {spread(fp32):.2f}, bf16 {mean(bf16):.2f} ± "
                               f"{spread(bf16):.2f}; largest |difference| {max(map(abs, differences)):.2f}")]


def phase_times(records: list[TrialRecord], method: str, precision: str) -> list[Measurement]:
    adapt = statistics.median(record.timings["adapt_s"] for record in records)
    predict = statistics.median(record.timings["predict_s"] for record in records)
    pixels = int(statistics.median(record.split.test for record in records))
    return [Measurement(BENCHMARK, f"{method} trials at {precision}: adapt / predict", adapt, "s",
                        detail=f"median over {len(records)} trials; predict {predict:.2f} s for {pixels:,} test pixels "
                               f"({pixels / predict:,.0f} px/s)")]


# --- the same model at both precisions ------------------------------------------------------------------------------


def prepared(method: str, preset: str, protocol, precision: str, cache: Path):
    """A method of ``protocol`` at ``precision`` with its source stage done (read from the cache the trials filled)."""
    context = RunContext(seed=PUBLISHED_SEEDS[0], precision=precision, cache_dir=cache)
    instance = create_method(method, context, preset)
    if needs_source(instance.info):
        instance.prepare(source_domain(protocol, grant_labels=instance.info.uses_source_labels, method=method))
    return instance


def training_samples(budget: dict[str, int]) -> int:
    """Samples one ``adapt`` pushes through the model (updates × batch, as the budget counts them)."""
    if "finetune_updates" in budget and "finetune_batch_size" in budget:
        return budget["finetune_updates"] * budget["finetune_batch_size"]
    return budget.get("samples_seen", budget.get("finetune_samples_seen", 0))


def same_model(method: str, preset: str, protocol_name: str, seed: int, cache: Path, rounds: int) -> list[Measurement]:
    protocol = load_protocol(protocol_name)
    scene = region_scene(protocol.target)
    split = make_split(protocol, seed, ground_truth=scene.ground_truth)
    task = build_task(protocol, split, scene=scene)
    methods = {precision: prepared(method, preset, protocol, precision, cache) for precision in PRECISIONS}
    adapt_seconds: dict[str, list[float]] = {precision: [] for precision in PRECISIONS}
    for round_number in range(rounds):  # A B, B A, …: going first favours neither
        for precision in PRECISIONS if round_number % 2 == 0 else PRECISIONS[::-1]:
            start = time.perf_counter()
            methods[precision].adapt(task)
            adapt_seconds[precision].append(time.perf_counter() - start)
    coords = task.target.patches.all_coords()
    own = {precision: np.asarray(methods[precision].predict(task.target, coords)) for precision in PRECISIONS}
    methods["bf16"].load_state_dict(methods["fp32"].state_dict())  # the fp32 weights, inferred in bf16
    predict_seconds: dict[str, list[float]] = {precision: [] for precision in PRECISIONS}
    same: dict[str, np.ndarray] = {}
    for round_number in range(rounds):
        for precision in PRECISIONS if round_number % 2 == 0 else PRECISIONS[::-1]:
            start = time.perf_counter()
            same[precision] = np.asarray(methods[precision].predict(task.target, coords))
            predict_seconds[precision].append(time.perf_counter() - start)
    samples = training_samples(methods["fp32"].training_budget())
    where = f"{protocol_name} seed {seed}, {len(coords):,} pixels of the whole target scene, {preset} preset"
    results = []
    for precision in PRECISIONS:
        seconds = statistics.median(adapt_seconds[precision])
        results.append(Measurement(BENCHMARK, f"{method}: training at {precision}", samples / seconds if samples else
                                   seconds, "samples/s" if samples else "s",
                                   detail=f"adapt {seconds:.2f} s (median of {rounds}, in turn), {samples:,} samples; "
                                          f"{where}"))
    for precision in PRECISIONS:
        seconds = statistics.median(predict_seconds[precision])
        results.append(Measurement(BENCHMARK, f"{method}: inference at {precision}", len(coords) / seconds, "px/s",
                                   detail=f"the fp32-trained weights, {seconds:.2f} s per scene (median of {rounds}, in "
                                          f"turn); {where}"))
    fp32_rate, bf16_rate = (len(coords) / statistics.median(predict_seconds[p]) for p in PRECISIONS)
    results += [
        Measurement(BENCHMARK, f"{method}: inference bf16 / fp32", bf16_rate / fp32_rate, "×", detail=where),
        Measurement(BENCHMARK, f"{method}: arg-max agreement, same weights", 100 * float(np.mean(same["fp32"] == same["bf16"])),
                    "%", detail=f"fp32-trained model inferred at fp32 and at bf16; {where}"),
        Measurement(BENCHMARK, f"{method}: arg-max agreement, each trained in its precision",
                    100 * float(np.mean(own["fp32"] == own["bf16"])), "%",
                    detail=f"pretraining, adaptation and inference all at one precision (what two trials give); {where}"),
    ]
    return results


def run(methods: tuple[str, ...] = ("s2former", "mae"), protocol: str = "sa_a_r2l", preset: str = "cpu",
        seeds: list[int] | None = None, out: Path = OUT, cache: Path | None = None, executor: str = "local",
        rounds: int = 2) -> list[Measurement]:
    """The figures for each method (``seeds``: default every seed of the protocol; ``cache``: the user cache)."""
    seeds = seeds or list(load_protocol(protocol).seeds)
    cache = cache or default_pretraining_cache()
    if not cpu_bf16_support():
        raise SystemExit(f"{cpu_description()[0]} has no native bf16 (amx_bf16/avx512_bf16): nothing to compare")
    torch.set_num_threads(1)
    results: list[Measurement] = []
    for method in methods:
        records = {}
        for precision in PRECISIONS:
            records[precision], seconds = trial_records(method, protocol, preset, seeds, precision, out, cache, executor)
            results += phase_times(records[precision], method, precision)
            results.append(Measurement(BENCHMARK, f"{method}: {len(seeds)} trials at {precision}, wall", seconds, "s",
                                       detail=f"{executor} executor, pretraining included (0 when already current)"))
        results += paired_oa_difference(records["fp32"], records["bf16"], method)
        results += same_model(method, preset, protocol, seeds[0], cache, rounds)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="s2former,mae")
    parser.add_argument("--protocol", default="sa_a_r2l")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--seeds", type=int, default=len(PUBLISHED_SEEDS), help="the protocol's first N seeds")
    parser.add_argument("--executor", default="local", choices=("local", "ray"))
    parser.add_argument("--rounds", type=int, default=2, help="timed adapt/predict calls per precision (in turn)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"records of the trials (default {OUT})")
    parser.add_argument("--cache", type=Path, default=None, help="pretraining cache (default: the user cache)")
    args = parser.parse_args()
    seeds = list(load_protocol(args.protocol).seeds[: args.seeds])
    started = time.perf_counter()
    measured = run(tuple(args.methods.split(",")), args.protocol, args.preset, seeds, args.out, args.cache,
                   args.executor, args.rounds)
    print(f"{BENCHMARK}: {machine_line(1)}; {time.perf_counter() - started:.0f} s in all")
    print_measurements(measured)


if __name__ == "__main__":
    main()
