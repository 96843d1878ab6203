"""Every CPU benchmark in one run: one table of figures and ratios measured side by side, into RESULTS.md.

Run from the repository root: ``python -m benchmarks.run_all`` (about 50 minutes on 2 cores; ``precision``, the ten
seeds of two methods at two precisions, is ~20 of them and ``campaign`` ~10). Options:
``--only inference,inference-full,pipeline,hardware,runner,cluster,scenes,precision,campaign,startup,svm`` · ``--inference-scale S`` (share of
Pavia Centre's area for the 1× point of the `cpu`-preset inference benchmark) · ``--threads N`` · ``--results FILE`` (default
``benchmarks/RESULTS.md``; ``-`` writes nothing). The newest run goes on top of RESULTS.md; earlier
runs stay below it for comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    bench_campaign,
    bench_hardware,
    bench_inference,
    bench_input_pipeline,
    bench_precision,
    bench_ray_cluster,
    bench_runner,
    bench_scene_sharing,
    bench_startup,
    bench_svm_grid,
)
from benchmarks.common import BenchOptions, Measurement, machine_line, measurement_table

RESULTS = Path(__file__).with_name("RESULTS.md")
MARKER = "<!-- newest run above; earlier runs below -->"
#: Every pixel of the full Pavia-Centre-sized scene with the `cpu`-preset S²Former is ~38 TFLOP: ~20 min on
#: 2 cores on its own. The default run measures the cpu preset on an eighth of that area (and its growth),
#: and every pixel of the full-size scene with the smoke-preset model, so memory is checked at full size.
INFERENCE_SCALE = 0.125

#: name → (what it measures, how to run it with the shared options)
BENCHMARKS: dict[str, tuple[str, Callable[[BenchOptions, argparse.Namespace], list[Measurement]]]] = {
    "inference": ("1 full-scene inference + 6 growth, the chosen preset at --inference-scale",
                  lambda options, args: bench_inference.run(dataclasses.replace(options, scale=args.inference_scale))),
    "inference-full": ("1 every pixel of the full Pavia-Centre-sized scene, smoke-preset model (memory at full size)",
                       lambda options, args: bench_inference.run(dataclasses.replace(options, scale=1.0, preset="smoke"),
                                                                 fractions=(1.0,), subset=0)),
    "pipeline": ("2 training input pipeline", lambda options, args: bench_input_pipeline.run(options)),
    "hardware": ("3 hardware use (GFLOP/s)", lambda options, args: bench_hardware.run(options)),
    "runner": ("4 shared pretraining + 5 Ray vs local", lambda options, args: bench_runner.run(options)),
    "cluster": ("6 two Ray nodes vs one, Ray start-up before/after", lambda options, args: bench_ray_cluster.run()),
    "scenes": ("7 peak memory of 4 concurrent Ray trials, scene per worker vs shared",
               lambda options, args: bench_scene_sharing.run()),
    "precision": ("8 fp32 vs bf16: throughput of the same models, agreement, OA over the ten seeds of sa_a_r2l",
                  lambda options, args: bench_precision.run()),
    "campaign": ("9 trials per hour of one trial of every method on sa_a_r2l, per precision",
                 lambda options, args: bench_campaign.run("sa_a_r2l", "cpu")),
    "startup": ("10 --help, process start to first trial, Ray worker reuse",
                lambda options, args: bench_startup.run()),
    "svm": ("11 SVM model selection: fits, seconds and OA of our grid vs DeepHyperX's", lambda options, args: bench_svm_grid.run()),
}


def machine_description(threads: int) -> str:
    return f"{machine_line(threads)} (threads unless a row says otherwise)"


def report(measurements: list[Measurement], command: str, seconds: float, failures: list[str], threads: int = 1) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"## Run of {stamp}", "", f"- machine: {machine_description(threads)}", f"- command: `{command}`",
             f"- wall time: {seconds / 60:.1f} min", ""]
    lines += [f"- FAILED: {failure}" for failure in failures]
    lines += ["", measurement_table(measurements), ""]
    return "\n".join(lines)


def write_results(path: Path, section: str) -> None:
    """New section on top (under the file's header), earlier sections kept below the marker."""
    header = ("# Benchmark results\n\nWritten by `python -m benchmarks.run_all`; each run adds its section on top. "
              "Targets are those of issue 6; a `MISSED` row is explained in the notes under its run.\n")
    earlier = ""
    if path.exists():
        head, _, older = path.read_text().partition(MARKER)
        _, found, newest = head.partition("\n## ")
        earlier = (f"## {newest.rstrip()}\n\n" if found else "") + older.lstrip()
    temporary = path.with_suffix(".tmp")
    temporary.write_text(f"{header}\n{section.rstrip()}\n\n{MARKER}\n\n{earlier}")
    temporary.replace(path)  # never a half-written RESULTS.md


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {list(BENCHMARKS)}")
    parser.add_argument("--threads", type=int, default=BenchOptions().threads)
    parser.add_argument("--preset", default="cpu", help="S²Former preset of every benchmark (default cpu)")
    parser.add_argument("--inference-scale", type=float, default=INFERENCE_SCALE,
                        help=f"share of Pavia Centre's area at the 1× point of the inference benchmark (default "
                             f"{INFERENCE_SCALE}; 1 takes ~20 min with the cpu preset on 2 cores)")
    parser.add_argument("--seconds", type=float, default=BenchOptions().seconds, help="minimum time per throughput figure")
    parser.add_argument("--results", default=str(RESULTS), help="markdown file to update, or - for none")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    options = BenchOptions(threads=args.threads, preset=args.preset, seconds=args.seconds)
    command = "python -m benchmarks.run_all " + shlex.join(argv if argv is not None else sys.argv[1:])
    started, measurements, failures = time.perf_counter(), [], []
    for name in chosen:
        title, run = BENCHMARKS[name]
        print(f"… {title}", flush=True)
        begun = time.perf_counter()
        try:
            found = run(options, args)
        except Exception as error:  # one broken benchmark must not hide the others' figures
            failures.append(f"{name}: {type(error).__name__}: {error}")
            print(f"   FAILED: {error}", flush=True)
            continue
        measurements += found
        print(measurement_table(found), f"\n   ({time.perf_counter() - begun:.0f} s)\n", flush=True)
    seconds = time.perf_counter() - started
    section = report(measurements, command.strip(), seconds, failures, args.threads)
    print(section)
    if args.results != "-":
        write_results(Path(args.results), section)
        print(f"written to {args.results}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
