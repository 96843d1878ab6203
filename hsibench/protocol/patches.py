"""Patches gathered on the fly from one padded copy of a scene.

Never materialise every patch up front: Pavia Centre's 148k labeled pixels × 9×9×102 float32
would take 4.9 GB. A :class:`PatchSampler` keeps a single padded cube (≈ the scene's size) and
gathers a batch of patches with one advanced-indexing call. Given band statistics it z-scores the
scene straight into that padded copy, so a trial holds the raw cube and one float32 copy, never
a normalised copy besides the padded one.

A scene with a valid-pixel mask (MUUFL Gulfport) keeps it here: :meth:`PatchSampler.valid_coords`
are the only pixels a method may use as patch centres or pretraining samples, and the pixels outside
the mask read as zero inside a patch (the value of zero padding, i.e. the scene mean after the
z-score), since what the file holds there is a fill value, not a spectrum.
"""

from __future__ import annotations

import numpy as np
import torch

from hsibench.protocol.protocol import PADDING_MODES, check_patch_size


def _as_coordinate_tensor(coords: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(n, 2) int64 tensor; any strides accepted (a reversed or sliced view is copied once)."""
    if isinstance(coords, torch.Tensor):
        return coords.to(torch.long).reshape(-1, 2)
    return torch.from_numpy(np.ascontiguousarray(coords, dtype=np.int64)).reshape(-1, 2)


def padded_copy(cube: np.ndarray, radius: int, padding: str,
                statistics: tuple[np.ndarray, np.ndarray] | None = None, rows_per_chunk: int = 64,
                valid_mask: np.ndarray | None = None) -> np.ndarray:
    """One float32 (H+2r, W+2r, B) array: the (optionally z-scored) cube, then its border filled.

    Same values as ``np.pad(normalised, r, mode)`` (tested), without a normalised intermediate: the
    interior is written in row chunks, then border rows and columns are copied from index maps.
    Pixels outside ``valid_mask`` are zeroed before the border is filled.
    """
    height, width, bands = cube.shape
    r = radius
    padded = np.zeros((height + 2 * r, width + 2 * r, bands), np.float32)
    for row in range(0, height, rows_per_chunk):
        chunk = np.asarray(cube[row: row + rows_per_chunk], np.float32)
        interior = padded[r + row: r + row + len(chunk), r: r + width]
        if statistics is None:
            interior[...] = chunk
        else:  # written in place: no temporary the size of a chunk
            np.subtract(chunk, statistics[0], out=interior)
            np.divide(interior, statistics[1], out=interior)
    if valid_mask is not None:
        padded[r: r + height, r: r + width][~valid_mask] = 0.0
    if padding == "zero" or r == 0:
        return padded
    numpy_mode = {"reflect": "reflect", "edge": "edge"}[padding]
    if padding == "reflect" and (r >= height or r >= width):
        numpy_mode = "symmetric"  # numpy's reflect needs more pixels than the radius
    row_source = np.pad(np.arange(height), r, mode=numpy_mode) + r  # padded row i copies padded row row_source[i]
    col_source = np.pad(np.arange(width), r, mode=numpy_mode) + r
    border_rows = np.r_[0:r, r + height: height + 2 * r]
    padded[border_rows, r: r + width] = padded[row_source[border_rows], r: r + width]
    border_cols = np.r_[0:r, r + width: width + 2 * r]
    padded[:, border_cols] = padded[:, col_source[border_cols]]
    return padded


class PatchSampler:
    """Square patches centred on given pixels of a (H, W, B) cube.

    ``gather(coords)`` returns a float32 tensor (n, S, S, B), channel-last like the cube, with
    coordinates 0-based in the *unpadded* scene. With ``statistics=(mean, std)`` the padded copy
    holds ``(cube − mean) / std`` (padding is applied after standardising, as with a z-scored cube).
    ``valid_mask`` (H, W) bool, ``None`` = every pixel: see the module docstring.
    """

    def __init__(self, cube: np.ndarray, patch_size: int, padding: str = "zero",
                 statistics: tuple[np.ndarray, np.ndarray] | None = None, valid_mask: np.ndarray | None = None) -> None:
        check_patch_size(patch_size)
        if padding not in PADDING_MODES:
            raise ValueError(f"padding must be one of {PADDING_MODES}, got {padding!r}")
        self.patch_size = patch_size
        self.radius = patch_size // 2
        self.height, self.width, self.bands = (int(s) for s in cube.shape)
        if valid_mask is not None:
            valid_mask = np.asarray(valid_mask, bool)
            if valid_mask.shape != (self.height, self.width):
                raise ValueError(f"valid_mask is {valid_mask.shape}, the cube {self.height}×{self.width} pixels")
            if not valid_mask.any():
                raise ValueError("the valid-pixel mask marks no pixel valid")
        self.valid_mask = valid_mask
        self.padded = torch.from_numpy(padded_copy(cube, self.radius, padding, statistics,
                                                   valid_mask=valid_mask))  # (H+2r, W+2r, B)
        offsets = torch.arange(patch_size)
        self._row_offsets = offsets.view(1, patch_size, 1)
        self._col_offsets = offsets.view(1, 1, patch_size)

    def gather(self, coords: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Patches (n, S, S, B) around ``coords`` (n, 2)."""
        coords = _as_coordinate_tensor(coords)
        if len(coords) and (coords.min() < 0 or coords[:, 0].max() >= self.height or coords[:, 1].max() >= self.width):
            raise IndexError(f"patch centres must lie inside the {self.height}×{self.width} scene")
        # after padding by r, pixel (i, j)'s patch starts at padded (i, j)
        rows = coords[:, 0].view(-1, 1, 1) + self._row_offsets
        cols = coords[:, 1].view(-1, 1, 1) + self._col_offsets
        return self.padded[rows, cols]

    def spectra(self, coords: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Centre spectra (n, B) — what pixel-wise methods (SVM) use."""
        coords = _as_coordinate_tensor(coords)
        return self.padded[coords[:, 0] + self.radius, coords[:, 1] + self.radius]

    def batches(self, coords: np.ndarray, batch_size: int):
        """Yield (index slice, patches) over ``coords`` in order, at most ``batch_size`` at a time."""
        for start in range(0, len(coords), batch_size):
            stop = min(start + batch_size, len(coords))
            yield slice(start, stop), self.gather(coords[start:stop])

    def interior(self) -> torch.Tensor:
        """The scene's own (H, W, B) pixels: a view of the padded copy without its border."""
        r = self.radius
        return self.padded[r: r + self.height, r: r + self.width]

    def all_coords(self) -> np.ndarray:
        """Every pixel (n, 2), row-major: what a full-scene map predicts."""
        rows, cols = np.meshgrid(np.arange(self.height), np.arange(self.width), indexing="ij")
        return np.column_stack([rows.ravel(), cols.ravel()]).astype(np.int64)

    def valid_coords(self) -> np.ndarray:
        """The pixels that may be patch centres or pretraining samples (n, 2), row-major: every pixel without a mask."""
        if self.valid_mask is None:
            return self.all_coords()
        return np.argwhere(self.valid_mask).astype(np.int64)

    def valid_pixels(self) -> torch.Tensor:
        """Spectra (n, B) of :meth:`valid_coords`, in that order (a view-free copy only where a mask selects)."""
        pixels = self.interior().reshape(-1, self.bands)
        return pixels if self.valid_mask is None else pixels[torch.from_numpy(self.valid_mask.ravel())]
