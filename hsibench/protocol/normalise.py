"""Per-band standardisation of a cube.

``scene`` statistics use every pixel (the literature's transductive choice) — every *valid* pixel
of a scene with a valid-pixel mask (MUUFL Gulfport's fill value outside its mask is no spectrum);
``train`` uses only the pixels a method may legitimately see labelled (the support set), so no test
pixel influences the model through the normaliser.
"""

from __future__ import annotations

import numpy as np

NORMALISATIONS = ("scene", "train", "none")


def band_statistics(pixels: np.ndarray, chunk: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per band of (n, B) spectra; a constant band gets std 1 (no division by zero).

    Two passes in float64 over chunks of ``chunk`` pixels: a scene-wide z-score of Pavia Centre
    (784k × 102) never makes a float64 copy of the whole cube.
    """
    count = len(pixels)
    total = np.zeros(pixels.shape[1], np.float64)
    for start in range(0, count, chunk):
        total += pixels[start: start + chunk].sum(axis=0, dtype=np.float64)
    mean = total / count
    squares = np.zeros_like(mean)
    for start in range(0, count, chunk):
        squares += np.square(pixels[start: start + chunk].astype(np.float64) - mean).sum(axis=0)
    std = np.sqrt(squares / count)
    std[std < 1e-12] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def standardise(cube: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(H, W, B) float32 z-scored with the given band statistics (a new array, chunked to bound memory)."""
    out = np.empty(cube.shape, np.float32)
    for row in range(0, cube.shape[0], 64):
        out[row: row + 64] = (cube[row: row + 64] - mean) / std
    return out


def normalisation_statistics(cube: np.ndarray, mode: str, train_coords: np.ndarray | None = None,
                             valid_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean, std) per band for ``mode``; ``None`` for ``none`` (the cube is used as it is).

    ``valid_mask`` (H, W) bool: ``scene`` statistics over those pixels only.
    """
    if mode == "none":
        return None
    if mode == "scene":
        if valid_mask is not None:
            if not valid_mask.any():
                raise ValueError("the scene's valid-pixel mask marks no pixel valid")
            return band_statistics(cube[valid_mask])
        return band_statistics(cube.reshape(-1, cube.shape[-1]))
    if mode == "train":
        if train_coords is None or len(train_coords) == 0:
            raise ValueError("normalisation 'train' needs the support pixels' coordinates")
        return band_statistics(cube[train_coords[:, 0], train_coords[:, 1]])
    raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {mode!r}")


def normalise_cube(cube: np.ndarray, mode: str, train_coords: np.ndarray | None = None) -> np.ndarray:
    """A z-scored float32 copy of ``cube`` (trials skip the copy: ``PatchSampler(statistics=…)``)."""
    statistics = normalisation_statistics(cube, mode, train_coords)
    return np.asarray(cube, np.float32) if statistics is None else standardise(cube, *statistics)
