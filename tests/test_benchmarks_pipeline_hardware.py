"""The input-pipeline and hardware-use benchmarks at smoke size: the figures they promise, computed from one run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from benchmarks import bench_hardware, bench_input_pipeline
from benchmarks.bench_input_pipeline import adapter
from benchmarks.common import BenchOptions, Measurement
from hsibench.methods import default_inference_batch_size, resolve_config
from hsibench.methods.s2former.method import encoder_shape
from hsibench.methods.s2former.model import S2Former, S2FormerEncoder


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


def test_hardware_use_sets_each_step_against_the_same_runs_matmul_of_its_precision(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # tiny variants of the big calls (a 2048² matmul and 1024-patch inference take seconds on one loaded core)
    monkeypatch.setattr(bench_hardware, "MATMUL_SIZE", 512)
    monkeypatch.setattr(bench_hardware, "INFERENCE_PATCHES", 64)
    monkeypatch.setattr(bench_hardware, "INFERENCE_BATCHES", (16, 32))
    measured = by_quantity(bench_hardware.run(BenchOptions(threads=1, seconds=0.2, preset="smoke"), compile_modes=()))
    check_finite_positive(list(measured.values()), bench_hardware.BENCHMARK)
    size = bench_hardware.MATMUL_SIZE
    precisions = tuple(bench_hardware.runnable_precisions(torch.device("cpu")))  # bf16 only where the CPU has it
    names = bench_hardware.MATMUL_NAMES
    peaks = {p: measured[f"{names[p]} matmul {size}×{size}"] for p in precisions}
    assert all(peak.unit == "GFLOP/s" for peak in peaks.values())
    assert ("bfloat16 matmul 512×512" in measured) == ("bf16" in precisions)
    steps = {"pretraining step": ("fp32", "matmul"), "DAFT step": ("fp32", "matmul")}
    steps |= {f"inference {p}, batches of {b}": (p, f"{p} matmul") for p in precisions for b in (16, 32)}
    for step, (precision, against) in steps.items():
        achieved, share = measured[f"{step}: achieved"], measured[f"{step}: share of {against} GFLOP/s"]
        assert achieved.unit == "GFLOP/s" and share.unit == "%"
        assert share.value == pytest.approx(100 * achieved.value / peaks[precision].value)
        assert "GFLOP counted per call" in achieved.detail and "page faults" in achieved.detail
    inference_flops = {measured[f"inference {p}, batches of {b}: achieved"].detail.split(" GFLOP")[0]
                       for p in precisions for b in (16, 32)}
    assert len(inference_flops) == 1  # the same FLOPs at both precisions and every batch size
    config = resolve_config("s2former", "smoke")
    module_path = S2Former(adapter(config, bench_hardware.BANDS), S2FormerEncoder(encoder_shape(config, 9)), 9).eval()
    patches = torch.randn(bench_hardware.INFERENCE_PATCHES, 9, 9, bench_hardware.BANDS)
    with torch.enable_grad():  # autograd on: the modules' own forward, ATen's kernels only
        expected = bench_hardware.counted_flops(lambda: module_path(patches))
    assert float(inference_flops.pop()) == pytest.approx(expected / 1e9, abs=1e-3)  # fused oneDNN layers counted too
    for precision in precisions:
        headline = measured[f"inference {precision}: share of {precision} matmul GFLOP/s"]
        assert headline.target == "≥ 50" and headline.met == (headline.value >= 50)
        batch = bench_hardware.profiled_batch(default_inference_batch_size(torch.device("cpu"), precision))
        assert headline.value == measured[f"inference {precision}, batches of {batch}: share of {precision} matmul "
                                          f"GFLOP/s"].value
        assert measured[f"inference {precision}: fastest batch size"].value in (16, 32)
    profiled_steps = [step for step in bench_hardware.PROFILED_CALLS
                      if not step.startswith("inference ") or step.split()[1] in precisions]
    for step in profiled_steps:
        profiled = measured[f"{step}: self CPU time in matmul/attention kernels"]
        assert 0 < profiled.value <= 100
        assert "top ops by self CPU time: " in profiled.detail
        assert profiled.detail.count("%") >= 3  # several ranked ops, each with its share
    assert "mkldnn::_linear_pointwise" in measured["inference fp32: self CPU time in matmul/attention kernels"].detail
    assert len(measured) == len(precisions) + 2 * len(steps) + 2 * len(precisions) + len(profiled_steps)


def test_compile_break_even_is_compile_time_over_the_time_saved_per_pixel() -> None:
    assert bench_hardware.break_even_pixels(60.0, 2e-3, 1.5e-3) == pytest.approx(120_000)
    assert math.isinf(bench_hardware.break_even_pixels(60.0, 1.5e-3, 2e-3))  # slower when compiled: never
    assert math.isinf(bench_hardware.break_even_pixels(60.0, 1.5e-3, 1.5e-3))


def test_batch_sizes_per_precision() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert default_inference_batch_size(cpu) == default_inference_batch_size(cpu, "fp32")
    assert {default_inference_batch_size(cpu, p) for p in ("fp32", "bf16")} <= set(bench_hardware.INFERENCE_BATCHES)
    assert default_inference_batch_size(cuda, "fp32") == default_inference_batch_size(cuda, "bf16") == 1024


def test_counted_flops_include_attention_on_the_cpu() -> None:
    """FlopCounterMode alone counts no FLOPs for the CPU attention kernel; ours adds them (forward: 4·N·H·L²·d)."""
    q = torch.randn(2, 4, 9, 16, requires_grad=True)
    forward = bench_hardware.counted_flops(lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q))
    assert forward == 4 * 2 * 4 * 9 * 9 * 16


def test_counted_flops_include_the_fused_onednn_linear_layers() -> None:
    """S²Former's fused inference path runs its linear layers as mkldnn ops; they count 2·rows·in·out, like addmm."""
    x, weight, bias = torch.randn(3, 5, 8), torch.randn(6, 8), torch.randn(6)
    linear = torch.ops.mkldnn._linear_pointwise
    assert bench_hardware.counted_flops(lambda: linear(x, weight, bias, "gelu", [], "none")) == 2 * 15 * 8 * 6
    assert bench_hardware.counted_flops(lambda: linear.binary(x, torch.randn(3, 5, 6), weight, bias, "add")) == 2 * 15 * 8 * 6
    assert bench_hardware.counted_flops(lambda: torch.nn.functional.linear(x, weight, bias)) == 2 * 15 * 8 * 6
