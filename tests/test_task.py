"""What a method may see: no target labels, source labels only when granted and legitimate."""

from __future__ import annotations

import numpy as np
import pytest

from hsibench.protocol import (
    SourceLabelsRefused,
    build_source_domain,
    build_task,
    load_protocol,
    make_split,
)
from hsibench.protocol.task import class_index


@pytest.fixture(scope="module")
def demo():
    protocol = load_protocol("demo")
    return protocol, make_split(protocol, protocol.seeds[0])


def test_source_labels_only_when_granted(demo) -> None:
    protocol, _ = demo
    hidden = build_source_domain(protocol, grant_labels=False)
    assert hidden.label_map is None
    with pytest.raises(PermissionError, match="not granted"):
        hidden.labeled_pixels()
    granted = build_source_domain(protocol, grant_labels=True)
    coords, labels = granted.labeled_pixels()
    assert len(coords) == len(labels) > 0 and labels.min() == 0 and labels.max() == len(granted.class_names) - 1


def test_source_labels_refused_when_source_overlaps_target(demo) -> None:
    protocol, _ = demo
    same_scene = protocol.with_overrides(source=protocol.target)
    with pytest.raises(SourceLabelsRefused, match="source labels would be target labels"):
        build_source_domain(same_scene, grant_labels=True)
    assert build_source_domain(same_scene, grant_labels=False).label_map is None


def test_task_carries_support_labels_as_indices_and_no_test_labels(demo) -> None:
    protocol, split = demo
    task = build_task(protocol, split)
    assert task.num_classes == 6 and task.class_ids == (1, 2, 3, 4, 5, 6)
    np.testing.assert_array_equal(task.support_labels, class_index(task.class_ids, split.support.labels))
    assert task.target.label_map is None
    assert not any(isinstance(v, np.ndarray) and v.shape == task.target.shape for v in vars(task).values())


def test_scene_normalisation_is_zero_mean_unit_variance(demo) -> None:
    protocol, split = demo
    cube = build_task(protocol, split).target.patches.padded[3:-3, 3:-3].numpy()  # patch radius 3
    np.testing.assert_allclose(cube.reshape(-1, cube.shape[-1]).mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(cube.reshape(-1, cube.shape[-1]).std(0), 1, atol=1e-3)


def test_train_normalisation_uses_support_pixels_only(demo) -> None:
    protocol, split = demo
    task = build_task(protocol.with_overrides(normalisation="train"), split)
    spectra = task.target.patches.spectra(split.support.coords).numpy()
    np.testing.assert_allclose(spectra.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(spectra.std(0), 1, atol=1e-3)


def test_regions_are_cropped_before_padding_so_patches_never_cross(demo) -> None:
    """A split-scene protocol: border patches of the left half read padding, not the right half."""
    from hsibench.protocol import SceneRegion

    protocol, _ = demo
    halves = protocol.with_overrides(source=SceneRegion("demo_target", cols=(24, 48)),
                                     target=SceneRegion("demo_target", cols=(0, 24)))
    source = build_source_domain(halves, grant_labels=True)  # allowed: the halves share no pixel
    assert source.shape == (48, 24)
    split = make_split(halves, 1330)
    assert split.support.coords[:, 1].max() < 24 and split.test.coords[:, 1].max() < 24
    target = build_task(halves, split).target
    right_edge = target.patches.gather(np.array([[10, 23]]))[0]  # (7, 7, B), radius 3
    assert right_edge[:, 4:].abs().sum() == 0  # columns 24–26 would be the other half: zero padding instead


def test_salinas_a_protocols_on_the_real_cube(real_data) -> None:
    """sa_a: source = target, so source labels are refused; sa_a_r2l: disjoint halves, so they are allowed."""
    in_domain, right_to_left = load_protocol("sa_a"), load_protocol("sa_a_r2l")
    with pytest.raises(SourceLabelsRefused, match="source labels would be target labels"):
        build_source_domain(in_domain, grant_labels=True)
    source = build_source_domain(right_to_left, grant_labels=True)
    assert source.shape == (83, 43) and source.bands == 204
    split = make_split(right_to_left, 1330)
    assert split.support.coords[:, 1].max() < 43 and len(set(split.support.labels.tolist())) == 6


def test_band_statistics_match_numpy_in_float64_whatever_the_chunk() -> None:
    from hsibench.protocol.normalise import band_statistics

    pixels = np.random.default_rng(0).normal(500.0, 30.0, size=(1000, 7)).astype(np.float32)
    pixels[:, 3] = 42.0  # a constant band gets std 1
    for chunk in (1, 64, 10_000):
        mean, std = band_statistics(pixels, chunk=chunk)
        np.testing.assert_allclose(mean, pixels.astype(np.float64).mean(0), rtol=1e-6)
        expected = pixels.astype(np.float64).std(0)
        expected[3] = 1.0
        np.testing.assert_allclose(std, expected, rtol=1e-5)


def test_statistics_pixels_follow_the_protocols_normalisation(demo) -> None:
    protocol, split = demo
    scene_task = build_task(protocol, split)
    assert scene_task.normalisation == "scene" and len(scene_task.statistics_coords()) == 48 * 48
    train_task = build_task(protocol.with_overrides(normalisation="train"), split)
    coords = train_task.statistics_coords()
    radius = protocol.patch_size // 2
    distance = np.abs(coords[:, None, :] - split.support.coords[None, :, :]).max(axis=2).min(axis=1)
    assert distance.max() <= radius  # only pixels inside a support patch
    assert {tuple(c) for c in split.support.coords} <= {tuple(c) for c in coords}
    assert len(coords) == len(np.unique(coords, axis=0)) < 48 * 48
