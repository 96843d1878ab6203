"""The input-pipeline and hardware-use benchmarks at smoke size: the figures they promise, computed from one run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import bench_hardware, bench_input_pipeline
from benchmarks.common import BenchOptions, Measurement


def quick_options(mirror: Path) -> BenchOptions:
    return BenchOptions(threads=1, scale=0.05, seconds=0.2, mirror=mirror, preset="smoke", device="cpu")


def by_quantity(measurements: list[Measurement]) -> dict[str, Measurement]:
    quantities = [m.quantity for m in measurements]
    assert len(set(quantities)) == len(quantities), f"duplicate quantities: {quantities}"
    return {m.quantity: m for m in measurements}


def check_finite_positive(measurements: list[Measurement], benchmark: str) -> None:
    for m in measurements:
        assert m.benchmark == benchmark
        assert math.isfinite(m.value) and m.value > 0, m
        assert (m.target == "") == (m.met is None), m


def test_input_pipeline_reports_both_variants_and_their_ratio(real_data: Path) -> None:
    measured = by_quantity(bench_input_pipeline.run(quick_options(real_data)))
    check_finite_positive(list(measured.values()), bench_input_pipeline.BENCHMARK)
    for step in ("pretraining", "DAFT fine-tuning"):
        sampled = measured[f"{step} step, patches gathered per step"]
        preloaded = measured[f"{step} step, preloaded batch"]
        ratio = measured[f"{step} step: gathered / preloaded"]
        share = measured[f"{step} step: gather share"]
        assert sampled.unit == preloaded.unit == "ms/step"
        assert f"ratio of the medians {sampled.value / preloaded.value:.3f}" in ratio.detail
        assert ratio.target == "≤ 1.1" and ratio.met == (ratio.value <= 1.10)
        assert 0 < share.value < 100
    assert len(measured) == 8


def test_pipeline_ratio_is_the_median_of_paired_steps() -> None:
    times = bench_input_pipeline.PairedTimes(sampled=[0.11, 0.30, 0.12], gather=[0.01, 0.01, 0.02],
                                            preloaded=[0.10, 0.20, 0.10])
    measured = by_quantity(bench_input_pipeline.measurements("pretraining", times, "64", ""))
    ratio = measured["pretraining step: gathered / preloaded"]
    assert ratio.value == pytest.approx(1.2)  # pairs 1.1, 1.5, 1.2
    assert ratio.met is False and "ratio of the medians 1.200, of the means 1.325" in ratio.detail
    assert measured["pretraining step, patches gathered per step"].value == pytest.approx(120)
    assert measured["pretraining step: gather share"].value == pytest.approx(100 * 0.01 / 0.12)


def test_hardware_use_sets_each_step_against_the_same_runs_matmul(monkeypatch: pytest.MonkeyPatch) -> None:
    # tiny variants of the big calls (a 2048² matmul and 1024-patch inference take seconds on one loaded core)
    monkeypatch.setattr(bench_hardware, "MATMUL_SIZE", 512)
    monkeypatch.setattr(bench_hardware, "INFERENCE_BATCH", 128)
    monkeypatch.setattr(bench_hardware, "SMALL_INFERENCE_BATCH", 64)
    measured = by_quantity(bench_hardware.run(BenchOptions(threads=1, seconds=0.2, preset="smoke")))
    check_finite_positive(list(measured.values()), bench_hardware.BENCHMARK)
    peak = measured[f"float32 matmul {bench_hardware.MATMUL_SIZE}×{bench_hardware.MATMUL_SIZE}"]
    assert peak.unit == "GFLOP/s"
    steps = ("pretraining step", "DAFT step", "inference", f"inference, batches of {bench_hardware.SMALL_INFERENCE_BATCH}")
    for step in steps:
        achieved, share = measured[f"{step}: achieved"], measured[f"{step}: share of matmul GFLOP/s"]
        assert achieved.unit == "GFLOP/s" and share.unit == "%"
        assert share.value == pytest.approx(100 * achieved.value / peak.value)
        assert "GFLOP counted per call" in achieved.detail and "page faults" in achieved.detail
    for step in bench_hardware.PROFILED_CALLS:
        profiled = measured[f"{step}: self CPU time in matmul/attention kernels"]
        assert 0 < profiled.value <= 100
        assert "top ops by self CPU time: " in profiled.detail
        assert profiled.detail.count("%") >= 3  # several ranked ops, each with its share
    assert len(measured) == 1 + 2 * len(steps) + len(bench_hardware.PROFILED_CALLS)


def test_counted_flops_include_attention_on_the_cpu() -> None:
    """FlopCounterMode alone counts no FLOPs for the CPU attention kernel; ours adds them (forward: 4·N·H·L²·d)."""
    import torch

    q = torch.randn(2, 4, 9, 16, requires_grad=True)
    forward = bench_hardware.counted_flops(lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q))
    assert forward == 4 * 2 * 4 * 9 * 9 * 16
