"""The runner benchmark at toy size: a cold cache pretrains once, a warm one never; ratios come from the walls."""

from __future__ import annotations

import pytest

from benchmarks.bench_runner import run
from benchmarks.common import BenchOptions


@pytest.mark.timeout(900)  # three `hsibench run` processes: ~1 min on a quiet machine, far more under load
def test_warm_cache_runs_no_pretraining(tmp_path):
    # one thread per trial: the local phases then cost seconds each, even on a busy two-core machine
    rows = run(BenchOptions(threads=1, preset="smoke"), seeds=2, finetune_epochs=5, include_ray=False,
               workdir=tmp_path)
    by_quantity = {row.quantity: row for row in rows}

    walls = {row.quantity.split(":")[0]: row.value for row in rows if row.quantity.startswith("wall ")}
    assert set(walls) == {"wall A-cold", "wall B-warm", "wall C-warm"}
    assert all(value > 0 for value in walls.values())
    assert by_quantity["cold / warm cache wall (A / B)"].value == pytest.approx(walls["wall A-cold"] / walls["wall B-warm"])

    warm = by_quantity["pretrainings in the warm run (B)"]
    assert warm.value == 0 and warm.met is True and warm.target == "≤ 0"
    assert by_quantity["pretrainings in the cold run (A)"].value == 1
    assert "1 shared-stage job(s) for 2 trials" in by_quantity["pretrainings in the cold run (A)"].detail
    assert "the warm 1-thread run (C) wrote 0" in warm.detail
    assert not list(tmp_path.iterdir())  # the phases' folders and cache are removed afterwards
