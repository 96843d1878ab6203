"""Scene sharing: peak memory of 4 concurrent Ray trials with each worker loading its own scene vs one shared copy.

Four SVM trials (smoke preset, four seeds) on a generated 400 × 400 × 160 scene (97.7 MB as float32,
about Salinas' size) run at once on a local Ray with 4 logical CPUs. Without sharing every worker
generates (stands in for reading) and holds its own cube; with sharing the driver puts the cube in
the object store once and each worker maps it read-only. Every trial also holds its own padded,
normalised copy (its statistics are its own), which sharing cannot remove.

Memory is the proportional set size (PSS, /proc/PID/smaps_rollup) summed over the driver and every
Ray process, sampled every 0.1 s: RSS would count the shared cube once in each worker that maps
it. The peak and the rise above the idle cluster are reported for both ways, side by side.

    python -m benchmarks.bench_scene_sharing
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.common import Measurement

BENCHMARK = "scene-sharing"
PLUGIN = str(Path(__file__).with_name("scene_sharing_plugin.py"))
SEEDS = (1330, 1220, 1336, 1337)
PROTOCOL = """
description = "benchmark: one generated 400×400×160 scene as source and target"
source = "bench_large"
target = "bench_large"
shots = 5
seeds = [1330, 1220, 1336, 1337]
patch_size = 7
default_preset = "smoke"
"""


def _pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _ray_pids() -> list[int]:
    """This process and every process of this user whose command line is Ray's (raylet, GCS, workers)."""
    pids, uid = [os.getpid()], os.getuid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"ray" in command:
            pids.append(int(entry.name))
    return pids


class PeakMemory:
    """Samples the summed PSS in a thread; ``peak`` is its maximum."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.peak, self._stop = interval, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(_pss_mb(pid) for pid in _ray_pids()))
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _campaign(share_scenes: bool, scratch: Path) -> tuple[float, float, float]:
    """(idle cluster PSS, peak PSS, wall seconds) of the four trials, in a fresh local Ray."""
    import ray

    from hsibench.runner import ExecutorOptions, TrialSettings, create_executor, plan_trials, run_campaign
    from hsibench.runner.ray_executor import start_local_ray

    protocol = scratch / "bench_large.toml"
    protocol.write_text(PROTOCOL)
    out = scratch / ("shared" if share_scenes else "per-trial")
    settings = TrialSettings(out_dir=out, cache_dir=out / "cache", preset="smoke", plugins=(PLUGIN,), threads=1,
                             maps="none")
    specs = plan_trials(["svm"], str(protocol), list(SEEDS), settings)
    start_local_ray(num_cpus=len(SEEDS))  # four trials at once, whatever the core count
    try:
        time.sleep(2.0)
        idle = sum(_pss_mb(pid) for pid in _ray_pids())
        executor = create_executor("ray", ExecutorOptions(results_dir=out, share_scenes=share_scenes,
                                                          memory_per_trial_mb=0))
        clock = time.perf_counter()
        with PeakMemory() as memory:
            result = run_campaign(specs, executor, stream=io.StringIO(), live=False)
        wall = time.perf_counter() - clock
    finally:
        ray.shutdown()
    if result.exit_code != 0 or len(result.records) != len(SEEDS):
        raise RuntimeError(f"the benchmark's trials failed: {[r.error for r in result.records if not r.ok]}")
    return idle, memory.peak, wall


def run() -> list[Measurement]:
    from hsibench.runner.spec import load_plugins

    load_plugins([PLUGIN])  # the driver loads the shared scene, so it registers it too

    with tempfile.TemporaryDirectory(prefix="hsibench-scene-sharing-") as folder:
        idle_a, peak_a, wall_a = _campaign(False, Path(folder))
        idle_b, peak_b, wall_b = _campaign(True, Path(folder))
    rise_a, rise_b = peak_a - idle_a, peak_b - idle_b
    what = f"{len(SEEDS)} concurrent svm trials (smoke) on a 400×400×160 scene (97.7 MB float32), summed PSS"
    return [
        Measurement(BENCHMARK, "peak memory, each worker loads the scene", peak_a, "MB",
                    detail=f"{what}; idle cluster {idle_a:.0f} MB; rise {rise_a:.0f} MB; {wall_a:.1f} s"),
        Measurement(BENCHMARK, "peak memory, scene shared (object store)", peak_b, "MB",
                    detail=f"{what}; idle cluster {idle_b:.0f} MB; rise {rise_b:.0f} MB; {wall_b:.1f} s"),
        Measurement(BENCHMARK, "rise above idle, shared / per worker", rise_b / rise_a, "×", target="< 1.00",
                    met=rise_b < rise_a, detail="each trial keeps its own padded copy: sharing removes the raw cubes"),
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row.quantity:44s} {row.value:9.2f} {row.unit:3s} {row.target:8s} {row.detail}")
