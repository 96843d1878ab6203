"""What every benchmark shares: the result row, real-size scenes without downloads, clocks and memory.

A benchmark module exposes ``run(options: BenchOptions) -> list[Measurement]``; ``run_all.py`` calls
them in one process (or, where peak memory matters, in a fresh child process) and prints one table.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from hsibench.data import GroundTruth, Scene
from hsibench.data.synthetic import SyntheticSpec, generate_scene, scene_for_ground_truth


def default_mirror() -> Path:
    """The scene mirror the benchmarks read real ground-truth maps from: ``HSIBENCH_MIRROR`` (the data layer's setting)."""
    return Path(os.environ.get("HSIBENCH_MIRROR") or "hsibench-mirror-not-set")


#: The real scenes' sizes (as registered): ground-truth maps read from the mirror, spectra generated.
REAL_GROUND_TRUTHS = {"pu": 103, "sa": 204, "ip": 200}
#: Pavia Centre as the field uses it (1096×715, 102 bands); no ground truth of it is in the mirror.
PAVIA_CENTRE_SHAPE = (1096, 715, 102)


@dataclass
class Measurement:
    """One figure of one benchmark; ``ratio`` and ``target`` make it comparable across runs."""

    benchmark: str
    quantity: str
    value: float
    unit: str = ""
    target: str = ""  # e.g. "≤ 1.10"; empty when the figure is only reported
    met: bool | None = None  # None when there is no target
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BenchOptions:
    """Knobs shared by all benchmarks (the defaults are what ``run_all.py`` runs)."""

    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    scale: float = 1.0  # share of each real scene's area (benchmarks at a fraction of the real sizes)
    seconds: float = 3.0  # minimum measuring time of a throughput figure
    mirror: Path = field(default_factory=default_mirror)
    preset: str = "cpu"
    device: str = "cpu"


def machine_line(threads: int) -> str:
    """What every figure is stated beside: CPU model, the ISA features torch's kernels dispatch on, cores, the
    threads the figure used, torch build and kernel set, GPU, Python."""
    import platform

    import torch

    from hsibench.provenance.machine import cpu_description

    model, flags = cpu_description()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{model or 'unknown CPU'} ({' '.join(flags) or 'no ISA flags read'}), {os.cpu_count()} cores, "
            f"{threads} thread(s), torch {torch.__version__} [{torch.backends.cpu.get_cpu_capability()}], {gpu}, "
            f"Python {platform.python_version()}")


def check_target(value: float, at_most: float | None = None, at_least: float | None = None) -> tuple[str, bool]:
    """("≤ 1.10", met) for an upper bound, ("≥ …", met) for a lower one."""
    if at_most is not None:
        return f"≤ {at_most:g}", value <= at_most
    if at_least is not None:
        return f"≥ {at_least:g}", value >= at_least
    raise ValueError("give at_most or at_least")


def timed(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def peak_rss_mb() -> float:
    """This process's lifetime peak resident memory (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rate(step: Callable[[], None], items_per_step: int, seconds: float, warmup: int = 2) -> float:
    """Items per second of ``step`` measured for at least ``seconds`` after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 2:
        step()
        count += 1
    return count * items_per_step / (time.perf_counter() - start)


def scaled_shape(height: int, width: int, scale: float) -> tuple[int, int]:
    """A height × width grid with ``scale`` times the area and the same aspect ratio."""
    factor = float(np.sqrt(scale))
    return max(1, round(height * factor)), max(1, round(width * factor))


@cache
def pavia_centre_sized(scale: float = 1.0) -> Scene:
    """A generated scene of Pavia Centre's size (× ``scale`` in area) and band count, 9 classes."""
    height, width = scaled_shape(*PAVIA_CENTRE_SHAPE[:2], scale)
    spec = SyntheticSpec(height=height, width=width, bands=PAVIA_CENTRE_SHAPE[2], num_classes=9,
                         spectral_range_nm=(430.0, 860.0), region_scale=12.0, layout_seed=5, library_seed=3)
    return generate_scene("pc-sized", spec)


@cache
def real_sized(name: str, mirror: Path | None = None) -> Scene:
    """The real ground-truth map of ``name`` (pu, sa, ip) with generated spectra of its real band count."""
    from hsibench.data import load_ground_truth
    from hsibench.data.storage import set_mirror

    if name not in REAL_GROUND_TRUTHS:
        raise KeyError(f"no real-size benchmark scene {name!r}; choose one of {sorted(REAL_GROUND_TRUTHS)}")
    if mirror is not None:
        set_mirror(mirror)
    ground_truth: GroundTruth = load_ground_truth(name)
    spec = SyntheticSpec(bands=REAL_GROUND_TRUTHS[name], num_classes=len(ground_truth.class_ids()), layout_seed=9)
    return scene_for_ground_truth(ground_truth, spec)


def in_child(module: str, arguments: dict, timeout: float = 1800) -> dict:
    """Run ``python -m benchmarks.<module> '<json>'`` and return the JSON it prints last.

    A fresh process per measurement, so its peak resident memory is that measurement's own.
    """
    command = [sys.executable, "-m", f"benchmarks.{module}", json.dumps(arguments)]
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measurement_table(measurements: list[Measurement]) -> str:
    """A markdown table of measurements: value, target and whether it is met."""
    from tabulate import tabulate

    rows = [[m.benchmark, m.quantity, f"{m.value:,.3g}" if abs(m.value) < 100 else f"{m.value:,.0f}", m.unit, m.target,
             {True: "met", False: "MISSED", None: ""}[m.met], m.detail] for m in measurements]
    return tabulate(rows, ["benchmark", "figure", "value", "unit", "target", "", "detail"], tablefmt="github")


def print_measurements(measurements: list[Measurement]) -> None:
    print(measurement_table(measurements))
