"""Memory-aware scheduling: each trial's memory estimate, and scenes shared read-only instead of loaded per trial."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from test_runner_fake_method import CENTROID, PLUGIN, PRETRAINED

from hsibench.data import get_scene_source, load_scene
from hsibench.data.preloaded import preloaded_scenes, scene_key
from hsibench.runner.memory import MB, MODEL_MB, NEURAL_MODEL_MB, WORKER_MB, estimate_trial_memory
from hsibench.runner.spec import TrialSpec, resolve
from hsibench.runner.trial import run_trial


def _trial(method: str, tmp_path: Path, **spec):
    return resolve(TrialSpec(method, "demo", 1330, preset="smoke", out_dir=str(tmp_path), cache_dir=str(tmp_path),
                             plugins=(PLUGIN,), **spec))


def _megabytes(scene: str, patch: int) -> tuple[float, float]:
    height, width, bands = get_scene_source(scene).info.shape
    r = patch // 2
    return height * width * bands * 4 / MB, (height + 2 * r) * (width + 2 * r) * bands * 4 / MB


def test_the_estimate_follows_the_stated_formula(tmp_path: Path) -> None:
    target = _trial(CENTROID, tmp_path)  # reads the target only
    patch = target.protocol.patch_size
    cube, padded = _megabytes(target.protocol.target.scene, patch)
    estimate = estimate_trial_memory(target)
    assert (estimate.worker_mb, estimate.cube_mb, estimate.padded_mb) == (WORKER_MB, cube, padded)
    assert estimate.total_mb == WORKER_MB + cube + padded + estimate.model_mb
    both = estimate_trial_memory(_trial(PRETRAINED, tmp_path))  # pretrains: the source scene too
    source_cube, source_padded = _megabytes(target.protocol.source.scene, patch)
    assert (both.cube_mb, both.padded_mb) == (cube + source_cube, padded + source_padded)
    assert estimate_trial_memory(_trial(PRETRAINED, tmp_path), cubes_shared=True).cube_mb == 0  # in the object store
    assert estimate_trial_memory(resolve(TrialSpec("svm", "demo", 1330, preset="smoke"))).model_mb == MODEL_MB["classical"]
    assert estimate_trial_memory(resolve(TrialSpec("ssftt", "demo", 1330, preset="smoke"))).model_mb == NEURAL_MODEL_MB
    assert "worker 910" in estimate.describe()


def test_preloaded_read_only_scenes_answer_load_scene_and_give_the_same_trial(tmp_path: Path) -> None:
    """What a Ray worker does with the object store's copy: the arrays are read-only, and nothing writes to them."""
    loaded = {}
    for name in ("demo_source", "demo_target"):
        scene = load_scene(name)
        cube = scene.cube.copy()
        cube.flags.writeable = False
        labels = scene.ground_truth.labels.copy()
        labels.flags.writeable = False
        loaded[scene_key(name, {})] = dataclasses.replace(
            scene, cube=cube, ground_truth=dataclasses.replace(scene.ground_truth, labels=labels))
    reference = run_trial(_trial(PRETRAINED, tmp_path / "a").spec)
    with preloaded_scenes(loaded):
        assert load_scene("demo_target") is loaded[scene_key("demo_target", {})]
        shared = run_trial(_trial(PRETRAINED, tmp_path / "b").spec)
    assert load_scene("demo_target") is not loaded[scene_key("demo_target", {})], "restored after the block"
    assert shared.predictions_sha256 == reference.predictions_sha256
    assert not np.shares_memory(load_scene("demo_target").cube, loaded[scene_key("demo_target", {})].cube)
