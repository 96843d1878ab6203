"""Per-scene spectral input layers: how a network that expects a fixed band count meets a scene's own bands.

Scenes differ in band count (PU 103, PC 102, IP 200, SA 204), so every baseline puts one of two
layers in front of its network:

- :class:`BandMapping` — a learned 1×1 linear map plus batch norm to a common width, one per
  scene (the "mapping layer" of Li et al., TGRS 2022, DCFSL). Cross-domain methods train one
  for the source and a fresh one for the target; the network behind it is shared.
- :class:`PrincipalComponents` — a fixed PCA projection fitted on one scene's pixels, the input
  reduction that HybridSN (Roy et al., 2020) and SSFTT (Sun et al., 2022) use. It is a module
  with buffers, so a checkpoint carries the fitted projection with the weights.

Both take and return channel-last patches ``[N, S, S, B]``, the layout of
:class:`~hsibench.protocol.PatchSampler`.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA
from torch import nn

from hsibench.methods.base import RunContext
from hsibench.protocol import PatchSampler


class BandMapping(nn.Module):
    """``bands`` → ``width`` channels per pixel: a 1×1 convolution without bias, then batch norm (DCFSL's ``Mapping``).

    Written as a linear map on the last axis followed by batch norm over every pixel of the
    batch — the same computation as ``Conv2d(bands, width, 1, bias=False)`` + ``BatchNorm2d``.
    """

    def __init__(self, bands: int, width: int) -> None:
        super().__init__()
        self.bands, self.width = bands, width
        self.linear = nn.Linear(bands, width, bias=False)
        self.norm = nn.BatchNorm1d(width)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        if patches.shape[-1] != self.bands:
            raise ValueError(f"this band mapping was built for {self.bands} bands, got patches with {patches.shape[-1]}")
        mapped = self.linear(patches)  # [N, S, S, width]
        shape = mapped.shape
        return self.norm(mapped.reshape(-1, self.width)).reshape(shape)


def scene_pixels(patches: PatchSampler, max_pixels: int | None, rng: np.random.Generator) -> np.ndarray:
    """Spectra (n, B) of the scene's pixels (the padding excluded); a random subset when there are more than ``max_pixels``."""
    pixels = patches.interior().reshape(-1, patches.bands).numpy()
    if max_pixels is not None and len(pixels) > max_pixels:
        pixels = pixels[np.sort(rng.choice(len(pixels), max_pixels, replace=False))]
    return pixels


class PrincipalComponents(nn.Module):
    """A fixed projection of ``bands`` onto ``components`` principal axes (optionally whitened).

    ``fit`` uses scikit-learn's PCA on one scene's pixels — unlabeled pixels only, so fitting
    on the target scene uses no label. Until fitted the projection is zero, which
    :meth:`forward` refuses.
    """

    def __init__(self, bands: int, components: int, whiten: bool = True) -> None:
        super().__init__()
        if not 1 <= components <= bands:
            raise ValueError(f"PCA components must lie in 1…{bands} (the scene's band count), got {components}; "
                             "lower the method's `pca_components` or set it to none")
        self.bands, self.components, self.whiten = bands, components, whiten
        self.register_buffer("mean", torch.zeros(bands))
        self.register_buffer("projection", torch.zeros(bands, components))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def fit(self, pixels: np.ndarray, seed: int) -> PrincipalComponents:
        pca = PCA(n_components=self.components, whiten=self.whiten, random_state=seed % 2**32).fit(pixels)
        projection = pca.components_.T  # (B, P)
        if self.whiten:
            projection = projection / np.sqrt(pca.explained_variance_)
        self.mean.copy_(torch.as_tensor(pca.mean_, dtype=torch.float32))
        self.projection.copy_(torch.as_tensor(projection, dtype=torch.float32))
        self.fitted.fill_(True)
        return self

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        if not bool(self.fitted):
            raise RuntimeError("PrincipalComponents.forward before fit(): fit it on the scene's pixels first")
        return (patches - self.mean) @ self.projection.to(patches.dtype)  # [N, S, S, P]


def input_reduction(bands: int, components: int | None, whiten: bool) -> nn.Module:
    """A :class:`PrincipalComponents` layer to ``components`` bands, or the identity when ``components`` is None."""
    return PrincipalComponents(bands, components, whiten) if components else nn.Identity()


def fit_scene_reduction(reduction: nn.Module, patches: PatchSampler, max_pixels: int | None, context: RunContext) -> None:
    """Fit a :class:`PrincipalComponents` layer on one scene's unlabeled pixels (a no-op for any other layer)."""
    if isinstance(reduction, PrincipalComponents):
        reduction.fit(scene_pixels(patches, max_pixels, context.numpy_rng(offset=1)), context.seed)
