"""Patches gathered on the fly from one padded copy of a scene.

Never materialise every patch up front: Pavia Centre's 148k labeled pixels × 9×9×102 float32
would take 4.9 GB. A :class:`PatchSampler` keeps a single padded cube (≈ the scene's size) and
gathers a batch of patches with one advanced-indexing call.
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


class PatchSampler:
    """Square patches centred on given pixels of a (H, W, B) cube.

    ``gather(coords)`` returns a float32 tensor (n, S, S, B), channel-last like the cube, with
    coordinates 0-based in the *unpadded* scene.
    """

    def __init__(self, cube: np.ndarray, patch_size: int, padding: str = "zero") -> None:
        check_patch_size(patch_size)
        if padding not in PADDING_MODES:
            raise ValueError(f"padding must be one of {PADDING_MODES}, got {padding!r}")
        self.patch_size = patch_size
        self.radius = patch_size // 2
        self.height, self.width, self.bands = (int(s) for s in cube.shape)
        r = self.radius
        numpy_mode = {"zero": "constant", "reflect": "reflect", "edge": "edge"}[padding]
        if padding == "reflect" and (r >= self.height or r >= self.width):
            numpy_mode = "symmetric"
        padded = np.pad(np.asarray(cube, np.float32), ((r, r), (r, r), (0, 0)), mode=numpy_mode)
        self.padded = torch.from_numpy(np.ascontiguousarray(padded))  # (H+2r, W+2r, B)
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
        rows, cols = np.meshgrid(np.arange(self.height), np.arange(self.width), indexing="ij")
        return np.column_stack([rows.ravel(), cols.ravel()]).astype(np.int64)
