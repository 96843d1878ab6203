"""Per-scene spectral adapters: a scene's C bands → the encoder's C₀ aligned bands (docs/interpretation.md §1).

Paper: the scenes have different band counts, so something must map each scene into the
shared encoder's input space; the paper does not say what. Interpretation (``band_alignment``):

- ``linear`` (default) — the field's usual "mapping layer": a learned 1×1 linear map C → C₀
  followed by a norm (``adapter_norm``). We default to LayerNorm over the C₀ channels of each
  pixel rather than the BatchNorm of DCFSL's mapping layer: BatchNorm's running statistics
  would absorb the statistics of masked pretraining batches and of DAFT's noised inputs, and
  a pixel's features would depend on which pixels share its batch. ``batch`` is offered
  (the shared :class:`~hsibench.methods.spectral_layers.BandMapping`).
- ``pca`` — a fixed (non-learned) whitened PCA to C₀ components, fitted on the pixels of that
  one scene only (no labels, like the scene-wide z-score the protocols already apply; on the
  target only the pixels its statistics may read, ``FewShotTask.statistics_coords``); the
  shared :class:`~hsibench.methods.spectral_layers.PrincipalComponents`.
- ``wavelength`` — no learned map at all: every scene is resampled from its band centres onto
  one common grid of C₀ channels of equal width over ``wavelength_grid_nm`` (400–2500 nm: 21 nm
  channels at C₀ = 100), so channel c is the same physical band in source and target; channels a
  sensor does not cover (outside its range, or in a gap of removed bands wider than a channel)
  are 0 and flagged invalid, and pretraining leaves them out of its loss. The shared
  :class:`~hsibench.methods.spectral_layers.WavelengthResampling`; docs/interpretation.md,
  "Band alignment across sensors".

An adapter is made per scene: the source's is used for pretraining only; at adapt time a new
one is made for the target (whose band count differs) while the encoder transfers.
All adapters map channel-last patches ``[N, S, S, C] → [N, S, S, C₀]`` and expose ``bands``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from timm.layers import trunc_normal_
from torch import nn

from hsibench.methods.spectral_layers import (
    DEFAULT_WAVELENGTH_GRID_NM,
    BandMapping,
    PrincipalComponents,
    WavelengthGrid,
    WavelengthResampling,
    statistics_pixels,
)
from hsibench.protocol import Domain

#: the values of ``band_alignment``
BAND_ALIGNMENTS = ("linear", "pca", "wavelength")

#: PCA is fitted on at most this many pixels of a scene (seeded subsample): the leading
#: components of 10⁵ spectra are stable, and Pavia Centre's 784k pixels would only cost time.
PCA_MAX_PIXELS = 100_000


class LinearBandAdapter(nn.Module):
    """Learned 1×1 map C → C₀ plus LayerNorm over the aligned channels of each pixel (batch-independent)."""

    def __init__(self, bands: int, aligned_bands: int) -> None:
        super().__init__()
        self.bands, self.aligned_bands = bands, aligned_bands
        self.projection = nn.Linear(bands, aligned_bands)
        self.norm = nn.LayerNorm(aligned_bands)
        trunc_normal_(self.projection.weight, std=0.02)
        nn.init.zeros_(self.projection.bias)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.norm(self.projection(patches))  # [N, S, S, C0]


def _check_pca(bands: int, aligned_bands: int) -> None:
    if aligned_bands > bands:
        raise ValueError(f"band_alignment='pca' cannot make {aligned_bands} components from a scene of {bands} bands; "
                         f"set aligned_bands <= {bands} (e.g. --set aligned_bands={bands}) or use band_alignment=linear")


def empty_adapter(kind: str, bands: int, aligned_bands: int, norm: str) -> nn.Module:
    """An adapter of the right shapes, unfitted: its weights come from training or a checkpoint."""
    if kind not in BAND_ALIGNMENTS:
        raise ValueError(f"band_alignment must be one of {list(BAND_ALIGNMENTS)}, got {kind!r}")
    if kind == "pca":
        _check_pca(bands, aligned_bands)
        return PrincipalComponents(bands, aligned_bands, whiten=True)
    if kind == "wavelength":
        return WavelengthResampling(bands, aligned_bands)
    if norm not in NORMS:
        raise ValueError(f"adapter_norm must be one of {sorted(NORMS)}, got {norm!r}")
    return NORMS[norm](bands, aligned_bands)


#: adapter_norm → linear adapter class(bands, aligned_bands)
NORMS: dict[str, Callable[[int, int], nn.Module]] = {"layer": LinearBandAdapter, "batch": BandMapping}


def make_adapter(kind: str, domain: Domain, aligned_bands: int, norm: str, seed: int,
                 wavelength_grid_nm: tuple[float, float] = DEFAULT_WAVELENGTH_GRID_NM,
                 coords: np.ndarray | None = None) -> nn.Module:
    """The adapter for ``domain``, ready to use (the wavelength resampling is computed from its band centres).

    PCA is fitted here, on that one scene's pixels at ``coords`` (n, 2): by default every valid pixel, right for
    a source; for a target pass :meth:`~hsibench.protocol.FewShotTask.statistics_coords`, so that under
    ``normalisation = "train"`` no test pixel far from the support shapes the projection.
    """
    if kind == "wavelength":
        return WavelengthResampling.for_domain(domain, WavelengthGrid(*wavelength_grid_nm, aligned_bands))
    adapter = empty_adapter(kind, domain.bands, aligned_bands, norm)
    if isinstance(adapter, PrincipalComponents):
        coords = domain.valid_coords() if coords is None else coords
        adapter.fit(statistics_pixels(domain.patches, coords, PCA_MAX_PIXELS, np.random.default_rng([seed, 3])),
                    seed, domain.name)
    return adapter


def channel_validity(adapter: nn.Module) -> torch.Tensor | None:
    """The adapter's per-channel validity (C₀,) bool, or ``None`` when every aligned channel carries data."""
    return getattr(adapter, "valid", None) if isinstance(adapter, WavelengthResampling) else None
