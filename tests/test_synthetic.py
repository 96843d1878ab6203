"""The synthetic scene generator: deterministic, spatially coherent, with a controllable domain shift."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hsibench.data import load_scene
from hsibench.data.synthetic import DEMO_TARGET, SyntheticSpec, generate_scene, material_spectra


def test_same_spec_gives_identical_scene_and_other_seed_differs() -> None:
    spec = SyntheticSpec(height=20, width=24, bands=16, layout_seed=3)
    first, again = generate_scene("a", spec), generate_scene("a", spec)
    np.testing.assert_array_equal(first.cube, again.cube)
    np.testing.assert_array_equal(first.labels, again.labels)
    other = generate_scene("a", dataclasses.replace(spec, layout_seed=4))
    assert not np.array_equal(first.labels, other.labels)


def test_regions_are_spatially_coherent_and_boundaries_unlabeled() -> None:
    scene = generate_scene("a", SyntheticSpec(height=64, width=64, bands=8))
    labels = scene.labels
    same_as_right = (labels[:, 1:] == labels[:, :-1])[(labels[:, 1:] > 0) & (labels[:, :-1] > 0)]
    assert same_as_right.mean() > 0.9  # neighbours mostly share a class: regions, not salt and pepper
    assert 0 < (labels == 0).mean() < 0.5  # mixed boundary pixels left unlabeled, as in real maps
    assert scene.cube.dtype == np.float32 and scene.cube.shape == (64, 64, 8)


def test_materials_are_shared_across_band_grids() -> None:
    """Two scenes of one library see the same material curves, sampled on their own wavelengths."""
    fine = material_spectra(4, np.linspace(400, 1000, 121), library_seed=5)
    coarse = material_spectra(4, np.linspace(400, 1000, 31), library_seed=5)
    np.testing.assert_allclose(fine[:, ::4], coarse, atol=1e-12)


@pytest.mark.parametrize("change", [{"illumination": 0.5}, {"noise": 0.2}, {"bands": 40}])
def test_domain_shift_knobs_change_the_cube(change: dict) -> None:
    base = dataclasses.replace(DEMO_TARGET, height=24, width=24)
    shifted = generate_scene("b", dataclasses.replace(base, **change))
    original = generate_scene("a", base)
    np.testing.assert_array_equal(original.labels, shifted.labels)  # same layout, different spectra
    assert shifted.cube.shape != original.cube.shape or not np.allclose(shifted.cube, original.cube)


def test_demo_scenes_are_registered_with_a_band_mismatch() -> None:
    source, target = load_scene("demo_source"), load_scene("demo_target")
    assert source.bands != target.bands
    assert set(source.ground_truth.class_ids()) == set(target.ground_truth.class_ids()) == set(range(1, 7))


def test_generated_spectra_over_a_given_label_map_keep_the_labels() -> None:
    from hsibench.data import GroundTruth
    from hsibench.data.synthetic import scene_for_ground_truth

    labels = np.zeros((30, 20), np.uint8)
    labels[5:15, 2:10], labels[18:28, 5:18] = 1, 3
    gt = GroundTruth("toy", labels, {1: "a", 3: "c"})
    scene = scene_for_ground_truth(gt, SyntheticSpec(bands=12))
    assert scene.cube.shape == (30, 20, 12) and scene.cube.dtype == np.float32
    assert scene.ground_truth is gt
    inside_a, inside_c = scene.cube[9, 5], scene.cube[22, 11]
    noise_std = SyntheticSpec().noise * 1000
    assert np.abs(inside_a - inside_c).max() > 5 * noise_std  # different materials, not just noise
