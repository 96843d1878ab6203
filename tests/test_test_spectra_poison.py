"""Test pixels' *spectra* cannot change another test pixel's prediction under ``normalisation = "train"``.

``tests/test_baselines.py`` poisons the target's test *labels*; this file poisons their spectra. Under
``train`` statistics a method may read, on the target, only what it sees anyway: the pixels inside
support patches (``FewShotTask.statistics_coords``). So a block of target pixels farther than a patch
radius from every support pixel is replaced by loud noise in the scene cube before the task is built, every
registered method runs twice with the same seed (clean and poisoned scene, same split), and the predictions
of every test pixel whose patch does not touch the block must be identical. A PCA fitted on the whole
target scene (what HybridSN and SSFTT did before), a z-score over it, or any pass over unlabeled target
pixels would fail this. S²Former's variants differ from ``s2former`` in their network, not in which pixels
they read, so ``s2former`` stands for them, plus ``band_alignment = pca`` (a fitted target adapter).
``daft_unlabeled = True`` reads unlabeled target pixels by design (transductive): it is run too, and must
change, to show the check can fail.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hsibench.data import Scene
from hsibench.methods import RunContext, create_method, get_method_entry, method_names
from hsibench.protocol import Protocol, Split, build_source_domain, build_task, load_protocol, make_split
from hsibench.protocol.regions import region_scene

BLOCK = 12  # side of the poisoned square (pixels)

#: on top of each method's `smoke` preset: budgets cut to a few steps — the check is about which pixels are read
TINY: dict[str, dict[str, Any]] = {
    "cnn3d": {"epochs": 3},
    "ssftt": {"epochs": 3},
    "dcfsl": {"episodes": 3},
    "finetune": {"pretrain_max_steps": 3, "epochs": 3},
    "mae": {"pretrain_steps": 3, "epochs": 3},
    "s2former": {"pretrain_steps": 4, "finetune_epochs": 3, "daft_steps": 2},
}

#: (case id, method, extra overrides): every base method, plus the S²Former settings that read other target pixels
CASES = [(name, name, {}) for name in method_names() if get_method_entry(name).base is None]
CASES.append(("s2former-pca", "s2former", {"band_alignment": "pca"}))
TRANSDUCTIVE = ("s2former-daft-unlabeled", "s2former", {"daft_unlabeled": True})


@dataclasses.dataclass(frozen=True)
class Poison:
    protocol: Protocol
    split: Split
    clean: Scene
    poisoned: Scene
    untouched: np.ndarray  # (n_test,) bool: test pixels whose patch does not overlap the block


def chebyshev_distance(coords: np.ndarray, rows: range, cols: range) -> np.ndarray:
    """Each pixel's (n, 2) distance in the max-norm to the rectangle ``rows`` × ``cols`` (0 inside)."""
    row_gap = np.maximum(np.maximum(rows.start - coords[:, 0], coords[:, 0] - (rows.stop - 1)), 0)
    col_gap = np.maximum(np.maximum(cols.start - coords[:, 1], coords[:, 1] - (cols.stop - 1)), 0)
    return np.maximum(row_gap, col_gap)


def far_block(shape: tuple[int, int], support: np.ndarray, radius: int, side: int) -> tuple[range, range]:
    """A side × side square every pixel of which is more than ``radius`` from every support pixel (the first in
    row-major order); the culprit numbers in the message when the scene has none."""
    for top in range(shape[0] - side + 1):
        for left in range(shape[1] - side + 1):
            rows, cols = range(top, top + side), range(left, left + side)
            if chebyshev_distance(support, rows, cols).min() > radius:
                return rows, cols
    raise AssertionError(f"no {side}×{side} block of the {shape} scene lies more than {radius} pixels from the "
                         f"{len(support)} support pixels; use a smaller BLOCK")


@pytest.fixture(scope="module")
def poison() -> Poison:
    try:
        protocol = load_protocol("demo").with_overrides(split_mode="clean", normalisation="train")
    except Exception as error:  # noqa: BLE001 — any reason the demo is missing is a skip, not a failure here
        pytest.skip(f"demo protocol not available: {error}")
    split = make_split(protocol, seed=protocol.seeds[0])
    clean = region_scene(protocol.target)
    radius = protocol.patch_size // 2
    rows, cols = far_block(clean.cube.shape[:2], split.support.coords, radius, BLOCK)
    cube = clean.cube.copy()
    noise = np.random.default_rng(7).normal(0.0, 100.0 * float(cube.std()), size=(BLOCK, BLOCK, cube.shape[2]))
    cube[rows.start: rows.stop, cols.start: cols.stop] = (cube.mean() + noise).astype(cube.dtype)
    untouched = chebyshev_distance(split.test.coords, rows, cols) > radius
    return Poison(protocol, split, clean, dataclasses.replace(clean, cube=cube), untouched)


def test_the_poison_is_real_and_leaves_test_pixels_to_check(poison: Poison) -> None:
    """The block changes the scene, lies outside every pixel a fitted statistic may read, and both kinds of test
    pixel exist (touching the block and not)."""
    clean_task = build_task(poison.protocol, poison.split, scene=poison.clean)
    poisoned_task = build_task(poison.protocol, poison.split, scene=poison.poisoned)
    changed = np.argwhere((poison.clean.cube != poison.poisoned.cube).any(axis=2))
    assert len(changed) == BLOCK * BLOCK
    allowed = {tuple(c) for c in poisoned_task.statistics_coords()}
    assert not allowed & {tuple(c) for c in changed}
    np.testing.assert_array_equal(clean_task.statistics_coords(), poisoned_task.statistics_coords())
    assert 0 < poison.untouched.sum() < len(poison.untouched)


def predictions(name: str, overrides: dict[str, Any], poison: Poison, scene: Scene, cache_dir: Path) -> np.ndarray:
    """One trial as the runner runs it (source labels only when declared), seeded by the split, on ``scene``."""
    settings = {**TINY.get(name, {}), **overrides}
    method = create_method(name, RunContext(seed=poison.split.seed, cache_dir=cache_dir), preset="smoke",
                           overrides=settings)
    method.prepare(build_source_domain(poison.protocol, grant_labels=method.info.uses_source_labels))
    task = build_task(poison.protocol, poison.split, scene=scene)
    method.adapt(task)
    return method.predict(task.target, poison.split.test.coords)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pretraining")  # shared: the source is the same in both runs


@pytest.mark.parametrize(("case", "name", "overrides"), CASES, ids=[case for case, *_ in CASES])
def test_far_test_spectra_cannot_change_other_predictions(case: str, name: str, overrides: dict[str, Any],
                                                          poison: Poison, cache_dir: Path) -> None:
    clean = predictions(name, overrides, poison, poison.clean, cache_dir)
    again = predictions(name, overrides, poison, poison.poisoned, cache_dir)
    differ = np.flatnonzero(clean[poison.untouched] != again[poison.untouched])
    assert len(differ) == 0, (f"{case}: noise in target pixels more than a patch away from every support pixel "
                              f"changed {len(differ)} of {poison.untouched.sum()} predictions of test pixels whose "
                              "patches do not touch it: the method fits something on pixels other than "
                              "FewShotTask.statistics_coords()")


def test_the_check_catches_a_transductive_method(poison: Poison, cache_dir: Path) -> None:
    """DAFT on unlabeled target pixels reads the poisoned block by design: its predictions must move."""
    _, name, overrides = TRANSDUCTIVE
    clean = predictions(name, overrides, poison, poison.clean, cache_dir)
    again = predictions(name, overrides, poison, poison.poisoned, cache_dir)
    assert (clean[poison.untouched] != again[poison.untouched]).any()
