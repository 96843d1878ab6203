"""Start-up: how soon ``hsibench`` answers, how soon ``hsibench run`` reaches its first trial, and Ray's worker reuse.

Every figure but the last is a fresh process, as a user types it, timed from outside (the median of
``--repeats`` runs; the machine may be shared, so one run proves little):

* ``hsibench --help``: the command's whole wall time (it imports the CLI and builds every sub-command's parser);
* the first trial of ``hsibench run --executor local --method M --protocol demo --runs 1`` for svm and for
  ssftt: launch → the line ``hsibench-startup: first trial …`` that ``HSIBENCH_STARTUP_TRACE=1`` makes the
  local executor print as it begins the first trial (the child's own ``/proc`` clock is in the detail). Target
  ≤ 2 s. The whole command's wall time (the trial and the table printed after it) is reported beside it;
* ``python -c "import torch"``, the floor: a trial needs torch, so no run reaches its first trial faster;
* Ray: the distinct worker processes (Tune's ``pid`` of each trial's results) that ran N svm trials on a local
  Ray of C CPUs. Tune reuses each trial actor (``reuse_actors=True``), so torch, sklearn, timm and the method
  modules are imported once per worker; the target is at most C processes, not one per trial.

``--importtime`` also runs the svm command once under ``python -X importtime`` and lists the largest imports
made before the first trial (what to make lazy next).

    python -m benchmarks.bench_startup                   # about 2 minutes on 2 busy cores
    python -m benchmarks.bench_startup --repeats 5 --importtime
    python -m benchmarks.bench_startup --no-ray --json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Measurement, check_target, machine_line, print_measurements

BENCHMARK = "startup"
PROTOCOL = "demo"
METHODS = ("svm", "ssftt")
FIRST_TRIAL_TARGET_S = 2.0
DEFAULT_REPEATS = 3
RAY_TRIALS = 4
RAY_CPUS = 2
REPO_ROOT = Path(__file__).resolve().parents[1]
TRACE_ENV = "HSIBENCH_STARTUP_TRACE"  # hsibench.runner.executors.STARTUP_TRACE_ENV (not imported: that loads torch)
MARKER = "hsibench-startup: first trial at "
_CHILD_SECONDS = re.compile(r"first trial at ([0-9.]+) s")
_ENTRY = "import sys; from hsibench.cli import main; sys.exit(main())"


def hsibench_executable() -> list[str]:
    """The ``hsibench`` console script of this interpreter's environment (else the same entry point via ``-c``)."""
    script = Path(sys.executable).with_name("hsibench")
    return [str(script)] if script.is_file() else [sys.executable, "-c", _ENTRY]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    env.setdefault("HSIBENCH_OFFLINE", "1")  # the demo protocol is embedded: nothing to download
    env[TRACE_ENV] = "1"
    return env


def run_arguments(method: str, out: Path) -> list[str]:
    return ["run", "--executor", "local", "--method", method, "--protocol", PROTOCOL, "--runs", "1", "--out", str(out)]


def wall_time(command: list[str], timeout: float = 300) -> float:
    """Seconds a command takes from launch to exit (its output discarded); raises when it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO_ROOT, env=_environment(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return seconds


@dataclass
class FirstTrial:
    seconds: float  # launch → the marker line, measured here
    child_seconds: float | None  # what the child's /proc clock said (process start → first trial)
    wall_s: float  # the whole command


def first_trial(method: str, timeout: float = 600) -> FirstTrial:
    """One fresh ``hsibench run`` (its own new results folder): when its marker arrives, and when it ends."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        command = hsibench_executable() + run_arguments(method, Path(folder))
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO_ROOT, env=_environment(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        seen: float | None = None
        child_seconds: float | None = None
        tail: list[str] = []
        assert child.stderr is not None
        for line in child.stderr:  # the trace line is flushed as the trial begins
            if seen is None and MARKER in line:
                seen = time.perf_counter() - start
                match = _CHILD_SECONDS.search(line)
                child_seconds = float(match.group(1)) if match else None
            tail = (tail + [line])[-40:]
            if time.perf_counter() - start > timeout:
                child.kill()
                break
        code = child.wait()
        wall = time.perf_counter() - start
    if code != 0 or seen is None:
        raise RuntimeError(f"`hsibench {' '.join(command[1:])}` exited with {code} "
                           f"({'no' if seen is None else 'a'} startup trace line):\n{''.join(tail)}")
    return FirstTrial(seen, child_seconds, wall)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _spread(values: list[float]) -> str:
    return "runs " + ", ".join(f"{value:.2f}" for value in values) + " s"


def import_profile(method: str = "svm", top: int = 12) -> list[tuple[float, str]]:
    """``python -X importtime`` of one run: the largest top-level imports made before the first trial, each with
    the largest third-party package it pulls in (e.g. ``hsibench.methods.training`` ← ``torch``)."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        command = [sys.executable, "-X", "importtime", "-c", _ENTRY, *run_arguments(method, Path(folder))]
        done = subprocess.run(command, cwd=REPO_ROOT, env=_environment(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the -X importtime run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    rows: list[tuple[float, str]] = []
    children: list[tuple[float, str]] = []  # importtime prints what a module imports before the module itself
    for line in done.stderr.splitlines():
        if MARKER in line:
            break
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if not match:
            continue
        seconds, depth, module = int(match.group(1)) / 1e6, len(match.group(2)) // 2, match.group(3)
        if depth > 0:
            if not module.startswith("hsibench"):
                children.append((seconds, module))
        else:
            largest = max(children, default=None)
            rows.append((seconds, module + (f" (through {largest[1]} {largest[0]:.3f} s)" if largest else "")))
            children = []
    return sorted(rows, reverse=True)[:top]


def ray_worker_processes(trials: int = RAY_TRIALS, cpus: int = RAY_CPUS) -> tuple[int, float]:
    """(distinct worker processes, wall seconds) of ``trials`` svm trials on a fresh local Ray of ``cpus`` CPUs."""
    import ray

    from hsibench.protocol import PUBLISHED_SEEDS
    from hsibench.runner import ExecutorOptions, TrialSettings, create_executor, plan_trials, run_campaign
    from hsibench.runner.ray_executor import start_local_ray

    with tempfile.TemporaryDirectory(prefix="bench-startup-ray-") as folder:
        out = Path(folder)
        settings = TrialSettings(out_dir=out, cache_dir=out / "cache", preset="smoke", threads=1, maps="none")
        specs = plan_trials(["svm"], PROTOCOL, list(PUBLISHED_SEEDS[:trials]), settings)
        start_local_ray(num_cpus=cpus)
        try:
            executor = create_executor("ray", ExecutorOptions(results_dir=out, memory_per_trial_mb=0))
            clock = time.perf_counter()
            result = run_campaign(specs, executor, stream=io.StringIO(), live=False)
            wall = time.perf_counter() - clock
        finally:
            ray.shutdown()
    if result.exit_code != 0 or executor.result_grid is None:
        raise RuntimeError(f"the Ray trials failed: {[r.error for r in result.records if not r.ok]}")
    pids = {r.metrics.get("pid") for r in executor.result_grid}
    return len(pids - {None}), wall


def loaded_machine_line() -> str:
    return f"CPU: {machine_line(os.cpu_count() or 1)}; 1-min load average {os.getloadavg()[0]:.1f}"


def run(repeats: int = DEFAULT_REPEATS, methods: tuple[str, ...] = METHODS, include_ray: bool = True,
        ray_trials: int = RAY_TRIALS, ray_cpus: int = RAY_CPUS) -> list[Measurement]:
    """The figures of the module docstring; each subprocess figure is the median of ``repeats`` runs."""
    load = os.getloadavg()[0]
    rows: list[Measurement] = []
    helps = [wall_time(hsibench_executable() + ["--help"]) for _ in range(repeats)]
    rows.append(Measurement(BENCHMARK, "hsibench --help, wall", _median(helps), "s", detail=_spread(helps)))
    floors = [wall_time([sys.executable, "-c", "import torch"]) for _ in range(repeats)]
    floor = _median(floors)
    rows.append(Measurement(BENCHMARK, "python -c 'import torch', wall (the floor)", floor, "s",
                            detail=f"{_spread(floors)}; a trial needs torch, so no run reaches its first trial sooner"))
    for method in methods:
        runs = [first_trial(method) for _ in range(repeats)]
        seconds = _median([r.seconds for r in runs])
        target, met = check_target(seconds, at_most=FIRST_TRIAL_TARGET_S)
        own = [r.child_seconds for r in runs if r.child_seconds is not None]
        rows.append(Measurement(
            BENCHMARK, f"first {method} trial, local executor", seconds, "s", target, met,
            detail=f"launch → the first trial begins; {_spread([r.seconds for r in runs])}"
                   + (f"; the child's /proc clock {_median(own):.2f} s" if own else "")
                   + f"; {seconds - floor:+.2f} s over the import-torch floor; "
                     f"`hsibench {' '.join(run_arguments(method, Path('OUT')))}`"))
        walls = [r.wall_s for r in runs]
        rows.append(Measurement(BENCHMARK, f"whole {method} command, wall", _median(walls), "s",
                                detail=f"{_spread(walls)}; the trial and the table printed after it included"))
    if include_ray:
        workers, wall = ray_worker_processes(ray_trials, ray_cpus)
        target, met = check_target(workers, at_most=ray_cpus)
        rows.append(Measurement(BENCHMARK, f"Ray worker processes for {ray_trials} trials", workers, "", target, met,
                                detail=f"distinct trial-actor pids of {ray_trials} svm trials (smoke) on a local Ray of "
                                       f"{ray_cpus} CPUs, {wall:.1f} s: torch and the method modules are imported "
                                       "once per worker (reuse_actors), not once per trial"))
    rows[0].detail += f"; 1-min load average {load:.1f} at the start"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="runs per subprocess figure (median)")
    parser.add_argument("--methods", default=",".join(METHODS), help="methods whose first trial is timed")
    parser.add_argument("--no-ray", dest="ray", action="store_false", help="skip the Ray worker count")
    parser.add_argument("--ray-trials", type=int, default=RAY_TRIALS)
    parser.add_argument("--ray-cpus", type=int, default=RAY_CPUS)
    parser.add_argument("--importtime", action="store_true",
                        help="also list the largest imports before the first svm trial (python -X importtime)")
    parser.add_argument("--json", action="store_true", help="print the measurements as one JSON list")
    args = parser.parse_args()
    print(loaded_machine_line(), file=sys.stderr if args.json else sys.stdout)
    rows = run(repeats=max(1, args.repeats), methods=tuple(m for m in args.methods.split(",") if m),
               include_ray=args.ray, ray_trials=args.ray_trials, ray_cpus=args.ray_cpus)
    if args.json:
        print(json.dumps([row.as_dict() for row in rows]))
    else:
        print_measurements(rows)
    if args.importtime:
        print("\nlargest imports before the first svm trial (cumulative, python -X importtime):")
        for seconds, module in import_profile():
            print(f"  {seconds:6.3f} s  {module}")


if __name__ == "__main__":
    main()
