"""Patches gathered on the fly equal the naive slices of a padded cube."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from hsibench.protocol import PatchSampler
from hsibench.protocol.normalise import band_statistics, normalise_cube
from hsibench.protocol.patches import padded_copy


@pytest.mark.parametrize("patch_size", [1, 5, 9])
@pytest.mark.parametrize("padding", ["zero", "reflect", "edge"])
def test_gather_matches_naive_slicing(patch_size: int, padding: str) -> None:
    cube = np.random.default_rng(0).standard_normal((12, 15, 4)).astype(np.float32)
    sampler = PatchSampler(cube, patch_size, padding)
    r = patch_size // 2
    mode = {"zero": "constant", "reflect": "reflect", "edge": "edge"}[padding]
    padded = np.pad(cube, ((r, r), (r, r), (0, 0)), mode=mode)
    coords = np.array([[0, 0], [11, 14], [5, 7], [0, 14]])
    patches = sampler.gather(coords)
    assert patches.shape == (4, patch_size, patch_size, 4) and patches.dtype == torch.float32
    for patch, (row, col) in zip(patches.numpy(), coords):
        np.testing.assert_array_equal(patch, padded[row: row + patch_size, col: col + patch_size])
    np.testing.assert_array_equal(sampler.spectra(coords).numpy(), cube[coords[:, 0], coords[:, 1]])


def test_zero_padding_is_zero_outside_the_scene() -> None:
    sampler = PatchSampler(np.ones((5, 5, 2), np.float32), 5, "zero")
    corner = sampler.gather(np.array([[0, 0]]))[0]
    assert corner[:2].abs().sum() == 0 and corner[2:, 2:].min() == 1


def test_batches_cover_every_coordinate_once_and_bound_the_batch() -> None:
    sampler = PatchSampler(np.zeros((10, 10, 3), np.float32), 3)
    coords = sampler.all_coords()
    seen = 0
    for index, patches in sampler.batches(coords, 32):
        assert len(patches) <= 32 and len(patches) == index.stop - index.start
        seen += len(patches)
    assert seen == 100


@pytest.mark.parametrize("bad", [0, 2, 8, -3])
def test_even_or_non_positive_patch_size_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="odd positive"):
        PatchSampler(np.zeros((4, 4, 2), np.float32), bad)


def test_out_of_scene_centre_is_refused() -> None:
    with pytest.raises(IndexError, match="inside the 4×4 scene"):
        PatchSampler(np.zeros((4, 4, 2), np.float32), 3).gather(np.array([[4, 0]]))


def test_reversed_and_strided_coordinate_views_are_accepted() -> None:
    cube = np.arange(5 * 6 * 2, dtype=np.float32).reshape(5, 6, 2)
    sampler = PatchSampler(cube, 3)
    coords = np.array([[0, 1], [2, 3], [4, 5]])
    np.testing.assert_array_equal(sampler.gather(coords[::-1]).numpy(), sampler.gather(coords).numpy()[::-1])
    np.testing.assert_array_equal(sampler.spectra(coords[::-1]).numpy(), cube[coords[::-1, 0], coords[::-1, 1]])


@pytest.mark.parametrize("padding", ["zero", "reflect", "edge"])
@pytest.mark.parametrize("shape", [(12, 15, 4), (3, 2, 2), (1, 7, 3)])  # small ones: radius ≥ the scene's side
@pytest.mark.parametrize("rows_per_chunk", [1, 5, 64])
def test_standardised_padded_copy_equals_padding_the_normalised_cube(padding: str, shape: tuple, rows_per_chunk: int) -> None:
    rng = np.random.default_rng(1)
    cube = rng.normal(5.0, 3.0, size=shape).astype(np.float32)
    mean, std = band_statistics(cube.reshape(-1, shape[-1]))
    r = 4
    mode = {"zero": "constant", "reflect": "reflect", "edge": "edge"}[padding]
    if padding == "reflect" and (r >= shape[0] or r >= shape[1]):
        mode = "symmetric"
    expected = np.pad(normalise_cube(cube, "scene"), ((r, r), (r, r), (0, 0)), mode=mode)
    np.testing.assert_allclose(padded_copy(cube, r, padding, (mean, std), rows_per_chunk), expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(padded_copy(cube, r, padding, None, rows_per_chunk),
                                  np.pad(cube, ((r, r), (r, r), (0, 0)), mode=mode))


def test_a_sampler_with_statistics_never_holds_a_normalised_copy_besides_the_padded_one() -> None:
    cube = np.random.default_rng(2).normal(size=(200, 150, 30)).astype(np.float32)
    statistics = band_statistics(cube.reshape(-1, 30))
    tracemalloc.start()
    sampler = PatchSampler(cube, 9, "reflect", statistics)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1.1 * sampler.padded.numpy().nbytes  # the padded copy and small border temporaries, no second cube
    np.testing.assert_allclose(sampler.interior().numpy(), normalise_cube(cube, "scene"), atol=1e-6)
