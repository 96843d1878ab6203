"""The inference benchmark measures what it says, and run_all keeps earlier figures below the newest."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bench_inference, run_all
from benchmarks.common import BenchOptions, Measurement, check_target


def test_growth_exponent_recovers_a_known_power() -> None:
    pixels = [1000, 2000, 4000]
    assert bench_inference.growth_exponent(pixels, [3.0 * p for p in pixels]) == pytest.approx(1.0)
    assert bench_inference.growth_exponent(pixels, [p ** 2 for p in pixels]) == pytest.approx(2.0)


def test_check_target_reads_both_directions() -> None:
    assert check_target(1.05, at_most=1.10) == ("≤ 1.1", True)
    assert check_target(0.9, at_least=1.0) == ("≥ 1", False)


@pytest.mark.timeout(240)
def test_inference_benchmark_on_a_tiny_scene_reports_every_figure_from_its_own_runs() -> None:
    options = BenchOptions(threads=1, scale=0.004, preset="smoke")
    measurements = bench_inference.run(options, fractions=(0.5, 1.0), subset=512)
    by_quantity = {m.quantity: m for m in measurements}
    rate = by_quantity["pixels/s, every pixel, gathered per batch"]
    assert rate.value > 0 and "(smoke, 0.004× PC)" in rate.benchmark
    assert "pixels/s gathered per batch / pre-materialised" in by_quantity
    memory = by_quantity["peak memory / (cube + model + one batch)"]
    assert memory.target == "≤ 2" and memory.met == (memory.value <= 2.0) and memory.value > 0
    share = by_quantity["patch gathering share of inference time"]
    assert 0 < share.value < 1 and share.met == (share.value <= 0.10)
    assert {"inference time ∝ pixels^k, k", "peak memory ∝ pixels^k, k"} <= set(by_quantity)


def test_results_file_keeps_earlier_runs_below_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    first = run_all.report([Measurement("b", "q", 1.0, "x", "≤ 2", True)], "python -m benchmarks.run_all", 60.0, [])
    run_all.write_results(path, first.replace("## Run of", "## Run of FIRST"))
    run_all.write_results(path, first.replace("## Run of", "## Run of SECOND"))
    run_all.write_results(path, first.replace("## Run of", "## Run of THIRD"))
    text = path.read_text()
    assert text.count("# Benchmark results") == 1
    assert text.index("THIRD") < text.index(run_all.MARKER) < text.index("SECOND") < text.index("FIRST")
    assert "python -m benchmarks.run_all" in text and "cores" in text


def test_run_all_refuses_unknown_benchmark_names(capsys) -> None:
    with pytest.raises(SystemExit):
        run_all.main(["--only", "inference,nonsense"])
    assert "nonsense" in capsys.readouterr().err
