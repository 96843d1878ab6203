"""Full-scene inference at Pavia-Centre size: pixels/s, peak memory, gather share, and growth with pixels.

Run: ``python -m benchmarks.bench_inference [--scale 1] [--threads 2] [--preset cpu]``.

Each measurement runs in a fresh child process (so its peak resident memory is its own) that does
what a trial does when it maps a whole scene: read the raw cube, z-score it straight into one padded
copy (:class:`~hsibench.protocol.PatchSampler`), build S²Former, and predict every pixel with
:func:`hsibench.methods.training.predict_in_batches` (batches gathered on the fly, of the size a trial
uses at fp32: :func:`hsibench.methods.default_inference_batch_size`, 64 on the CPU).

- **Memory target**: peak resident memory above the interpreter's baseline (torch imported, nothing
  loaded) ≤ 2 × (cube + model + one batch), where "one batch" is the measured peak growth of one
  forward pass of one batch of patches (plus the batch itself).
- **Gather share**: the same batches gathered again without the model, timed, over the time of the
  full prediction (target ≤ 10 %).
- **Pre-materialised patches** (the published code's way): on a random subset of pixels, the patches
  are first stacked into one tensor, then fed to the same model; pixels/s of both ways side by side,
  and the memory that stacking every pixel of the scene would need.
- **Growth**: the same at 0.25×, 0.5× and 1× of the scene's area; exponents of a log–log fit of time
  and of memory above baseline against pixels (linear growth = 1).

The scene is generated (1096×715×102 × ``scale`` in area, :func:`benchmarks.common.pavia_centre_sized`),
written once to a temporary ``.npy`` file that each child reads like a trial reads its scene file.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import (
    PAVIA_CENTRE_SHAPE,
    BenchOptions,
    Measurement,
    check_target,
    in_child,
    pavia_centre_sized,
    print_measurements,
)

BENCHMARK_FULL = "full-scene inference"
BENCHMARK_GROWTH = "growth"
PATCH = 9
GROWTH_FRACTIONS = (0.25, 0.5, 1.0)
SUBSET_PIXELS = 2048
MEMORY_FACTOR, GATHER_SHARE, LINEAR_EXPONENT = 2.0, 0.10, 1.10


# ------------------------------------------------------------------------------------------ child side
def _status_mb(field: str) -> float:
    """VmRSS / VmHWM of this process from /proc (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0), so a phase's own peak can be read."""
    Path("/proc/self/clear_refs").write_text("5")


def measure_in_this_process(cube_path: str, preset: str, threads: int, subset: int) -> dict:
    """One child's work: every pixel predicted, memory phases recorded; optionally the subset comparison."""
    import torch

    from hsibench.methods import default_inference_batch_size
    from hsibench.methods.training import predict_in_batches
    from hsibench.protocol import Domain, PatchSampler
    from hsibench.protocol.normalise import normalisation_statistics

    torch.set_num_threads(threads)
    device = torch.device("cpu")
    batch = default_inference_batch_size(device, "fp32")  # what an fp32 trial uses
    model = _classifier(preset, bands=PAVIA_CENTRE_SHAPE[2])  # built before the baseline: tiny, counted apart
    baseline = _status_mb("VmRSS")
    cube = np.load(cube_path)
    domain = Domain("pc-sized", PatchSampler(cube, PATCH, "zero", normalisation_statistics(cube, "scene")))
    coords = domain.patches.all_coords()

    with torch.no_grad():  # one batch: its own peak growth is the "one batch" of the memory budget
        patches = domain.patches.gather(coords[:batch])
        _reset_peak()
        before = _status_mb("VmRSS")
        model(patches)
        batch_mb = _status_mb("VmHWM") - before + patches.numel() * 4 / 2**20
        del patches

    start = time.perf_counter()
    predictions = predict_in_batches(model, domain, coords, device, batch)
    predict_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - baseline

    start = time.perf_counter()
    for _ in domain.patches.batches(coords, batch):
        pass
    gather_s = time.perf_counter() - start
    result = {
        "pixels": len(coords), "predict_s": predict_s, "gather_s": gather_s, "peak_above_baseline_mb": peak_mb,
        "baseline_mb": baseline, "batch_size": batch, "cube_mb": cube.nbytes / 2**20, "batch_mb": batch_mb,
        "model_mb": sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()]) / 2**20,
        "classes_predicted": int(len(np.unique(predictions))),
    }
    if subset:
        result.update(_pre_materialised(model, domain, coords, subset, device, batch))
    return result


def _classifier(preset: str, bands: int):
    import torch

    from benchmarks.bench_input_pipeline import classifier
    from hsibench.methods import resolve_config

    torch.manual_seed(0)
    return classifier(resolve_config("s2former", preset), bands).eval()


def _pre_materialised(model, domain, coords: np.ndarray, subset: int, device, batch: int) -> dict:
    """The same pixels two ways: gathered per batch (ours) vs stacked into one tensor first (published code)."""
    import torch

    from hsibench.methods.training import predict_in_batches

    chosen = coords[np.random.default_rng(0).choice(len(coords), min(subset, len(coords)), replace=False)]
    on_the_fly, stacked = [], []
    for _ in range(2):  # alternate the two ways, so a change of load hits both; keep the faster of each
        start = time.perf_counter()
        predict_in_batches(model, domain, chosen, device, batch)
        on_the_fly.append(time.perf_counter() - start)
        start = time.perf_counter()
        patches = domain.patches.gather(chosen)  # every patch at once, as the published code prepares them
        with torch.no_grad():
            for first in range(0, len(chosen), batch):
                model(patches[first: first + batch]).argmax(dim=1)
        stacked.append(time.perf_counter() - start)
        del patches
    return {"subset_pixels": len(chosen), "subset_on_the_fly_s": min(on_the_fly), "subset_stacked_s": min(stacked)}


# ----------------------------------------------------------------------------------------- parent side
def _scene_file(scale: float, folder: Path) -> Path:
    path = folder / f"pc-sized-{scale:g}.npy"
    if not path.exists():
        np.save(path, pavia_centre_sized(scale).cube)
    return path


def growth_exponent(pixels: list[int], values: list[float]) -> float:
    """Slope of log(value) against log(pixels): 1 is linear growth."""
    return float(np.polyfit(np.log(pixels), np.log(values), 1)[0])


def run(options: BenchOptions, fractions: tuple[float, ...] = GROWTH_FRACTIONS, subset: int = SUBSET_PIXELS
        ) -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="hsibench-bench-") as folder:
        runs = []
        for fraction in fractions:
            path = _scene_file(options.scale * fraction, Path(folder))
            arguments = {"cube_path": str(path), "preset": options.preset, "threads": options.threads,
                         "subset": subset if fraction == max(fractions) else 0}
            runs.append(in_child("bench_inference", arguments))
    full = runs[-1]
    name = f"{BENCHMARK_FULL} ({options.preset}, {options.scale:g}× PC)"
    size = f"{full['pixels']:,} px × {PAVIA_CENTRE_SHAPE[2]} bands"
    memory_ratio = full["peak_above_baseline_mb"] / (full["cube_mb"] + full["model_mb"] + full["batch_mb"])
    share = full["gather_s"] / full["predict_s"]
    measurements = [
        Measurement(name, "pixels/s, every pixel, gathered per batch", full["pixels"] / full["predict_s"], "px/s",
                    detail=f"{size}; {options.threads} threads, batches of {full['batch_size']}; {full['predict_s']:.1f} s"),
        Measurement(name, "peak memory / (cube + model + one batch)", memory_ratio, "×",
                    *check_target(memory_ratio, at_most=MEMORY_FACTOR),
                    f"peak {full['peak_above_baseline_mb']:.0f} MB above a {full['baseline_mb']:.0f} MB baseline; "
                    f"cube {full['cube_mb']:.0f} MB, model {full['model_mb']:.1f} MB, one batch {full['batch_mb']:.0f} MB"),
        Measurement(name, "patch gathering share of inference time", share, "", *check_target(share, at_most=GATHER_SHARE),
                    f"gather {full['gather_s']:.2f} s of {full['predict_s']:.1f} s"),
    ]
    if "subset_pixels" in full:
        stacked_rate = full["subset_pixels"] / full["subset_stacked_s"]
        fly_rate = full["subset_pixels"] / full["subset_on_the_fly_s"]
        patch_bytes = PATCH * PATCH * PAVIA_CENTRE_SHAPE[2] * 4
        measurements.append(Measurement(
            name, "pixels/s gathered per batch / pre-materialised", fly_rate / stacked_rate, "×",
            detail=f"subset of {full['subset_pixels']:,} px: {fly_rate:,.0f} vs {stacked_rate:,.0f} px/s; stacking every "
                   f"pixel would need {full['pixels'] * patch_bytes / 2**30:.1f} GB"))
    if len(runs) >= 2:
        pixels = [r["pixels"] for r in runs]
        time_exponent = growth_exponent(pixels, [r["predict_s"] for r in runs])
        memory_exponent = growth_exponent(pixels, [r["peak_above_baseline_mb"] for r in runs])
        sizes = ", ".join(f"{r['pixels']:,} px: {r['predict_s']:.1f} s / {r['peak_above_baseline_mb']:.0f} MB" for r in runs)
        measurements += [
            Measurement(f"{BENCHMARK_GROWTH} ({options.preset})", "inference time ∝ pixels^k, k", time_exponent, "", *check_target(
                time_exponent, at_most=LINEAR_EXPONENT), sizes),
            Measurement(f"{BENCHMARK_GROWTH} ({options.preset})", "peak memory ∝ pixels^k, k", memory_exponent, "", *check_target(
                memory_exponent, at_most=LINEAR_EXPONENT), "memory above the interpreter baseline"),
        ]
    return measurements


def main(argv: list[str] | None = None) -> None:
    if argv is None and len(sys.argv) == 2 and sys.argv[1].startswith("{"):  # a child: JSON arguments in, JSON out
        print(json.dumps(measure_in_this_process(**json.loads(sys.argv[1]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of Pavia Centre's area (default 1)")
    parser.add_argument("--threads", type=int, default=BenchOptions().threads)
    parser.add_argument("--preset", default="cpu")
    args = parser.parse_args(argv)
    print_measurements(run(BenchOptions(threads=args.threads, scale=args.scale, preset=args.preset)))


if __name__ == "__main__":
    main()
