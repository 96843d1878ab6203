"""Patches gathered on the fly equal the naive slices of a padded cube."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hsibench.protocol import PatchSampler


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
