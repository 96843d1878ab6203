"""Per-scene spectral input layers: how a network that expects a fixed band count meets a scene's own bands.

Scenes differ in band count (PU 103, PC 102, IP 200, SA 204), so every baseline puts one of these
layers in front of its network:

- :class:`BandMapping` — a learned 1×1 linear map plus batch norm to a common width, one per
  scene (the "mapping layer" of Li et al., TGRS 2022, DCFSL). Cross-domain methods train one
  for the source and a fresh one for the target; the network behind it is shared.
- :class:`PrincipalComponents` — a fixed PCA projection fitted on one scene's pixels, the input
  reduction that HybridSN (Roy et al., 2020) and SSFTT (Sun et al., 2022) use. It is a module
  with buffers, so a checkpoint carries the fitted projection with the weights. On a target it
  is fitted on the pixels the protocol lets statistics read (:func:`statistics_pixels`).
- :class:`WavelengthResampling` — a fixed resampling of a scene's bands onto one common
  wavelength grid (:class:`WavelengthGrid`) from the band centres, with a per-channel validity
  mask where the sensor has no band: the same channel is the same physical band in every scene
  (docs/interpretation.md, "Band alignment across sensors").

All take and return channel-last patches ``[N, S, S, B]``, the layout of
:class:`~hsibench.protocol.PatchSampler`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.decomposition import PCA
from torch import nn

from hsibench.errors import HsibenchError
from hsibench.methods.base import RunContext
from hsibench.protocol import Domain, PatchSampler


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


class TooFewPixelsError(HsibenchError, ValueError):
    """A PCA asked for at least as many components as it has pixels to fit on (a whitened projection would divide by
    a zero variance)."""


def statistics_pixels(patches: PatchSampler, coords: np.ndarray, max_pixels: int | None,
                      rng: np.random.Generator) -> np.ndarray:
    """Spectra (n, B) of the pixels at ``coords`` (n, 2) — those a fitted statistic may read, e.g.
    :meth:`~hsibench.protocol.FewShotTask.statistics_coords` — or of a seeded random subset of at most
    ``max_pixels`` of them, kept in the order of ``coords``.

    The subset is drawn over ``coords`` before any spectrum is read, so with ``coords`` = every valid pixel the
    pixels (and the draw from ``rng``) are exactly those of a fit on the whole scene.
    """
    coords = np.asarray(coords, dtype=np.int64).reshape(-1, 2)
    if max_pixels is not None and len(coords) > max_pixels:
        coords = coords[np.sort(rng.choice(len(coords), max_pixels, replace=False))]
    return patches.spectra(coords).numpy()


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

    def fit(self, pixels: np.ndarray, seed: int, scene: str = "the scene") -> PrincipalComponents:
        """Fit on ``pixels`` (n, B); fewer pixels than ``components + 1`` is a :class:`TooFewPixelsError` naming ``scene``."""
        if len(pixels) <= self.components:
            raise TooFewPixelsError(
                f"{scene}: a PCA to {self.components} components needs more than {self.components} pixels to fit on, "
                f"got {len(pixels)} (under normalisation='train' only the pixels of support patches may be used); "
                "lower `pca_components` / `aligned_bands`, or use more shots")
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


def fit_scene_reduction(reduction: nn.Module, patches: PatchSampler, coords: np.ndarray, max_pixels: int | None,
                        context: RunContext, scene: str = "the scene") -> None:
    """Fit a :class:`PrincipalComponents` layer on one scene's unlabeled pixels at ``coords`` (a no-op for any other
    layer). For a target pass :meth:`~hsibench.protocol.FewShotTask.statistics_coords`: under ``normalisation =
    "train"`` a test pixel far from every support pixel must not shape the projection."""
    if isinstance(reduction, PrincipalComponents):
        reduction.fit(statistics_pixels(patches, coords, max_pixels, context.numpy_rng(offset=1)), context.seed, scene)


# --- resampling onto a common wavelength grid -----------------------------------------------------------------------

#: the common grid's default span (nm): the full AVIRIS / HYDICE range; a VNIR sensor (CASI, ROSIS) covers its first part
DEFAULT_WAVELENGTH_GRID_NM = (400.0, 2500.0)
#: points per grid channel at which the spectrum is interpolated; their mean is the channel's value (≈ the integral of
#: a box-shaped channel response). Odd, so the channel centre is one of them.
POINTS_PER_CHANNEL = 9


class WavelengthCoverageError(HsibenchError, ValueError):
    """A scene whose bands cannot be placed on the common wavelength grid (no band centres, or no overlap)."""


@dataclass(frozen=True)
class WavelengthGrid:
    """``channels`` adjacent channels of equal width from ``start_nm`` to ``stop_nm`` (channel i: [edge i, edge i+1))."""

    start_nm: float
    stop_nm: float
    channels: int

    def __post_init__(self) -> None:
        if not self.stop_nm > self.start_nm or self.channels < 1:
            raise ValueError(f"a wavelength grid needs start < stop and at least one channel, got "
                             f"{self.start_nm}–{self.stop_nm} nm in {self.channels} channel(s)")

    @property
    def step_nm(self) -> float:
        return (self.stop_nm - self.start_nm) / self.channels

    def edges(self) -> np.ndarray:
        return np.linspace(self.start_nm, self.stop_nm, self.channels + 1)

    def centres(self) -> np.ndarray:
        edges = self.edges()
        return (edges[:-1] + edges[1:]) / 2

    def channel_of(self, wavelength_nm: float) -> int:
        """The channel that holds ``wavelength_nm`` (−1 outside the grid)."""
        if not self.start_nm <= wavelength_nm < self.stop_nm:
            return -1
        return int((wavelength_nm - self.start_nm) // self.step_nm)

    def label(self) -> str:
        return f"{self.start_nm:g}–{self.stop_nm:g} nm in {self.channels} channels of {self.step_nm:.3g} nm"


def covered_stretches(wavelengths_nm: np.ndarray, step_nm: float) -> list[tuple[np.ndarray, float, float]]:
    """The stretches of the spectrum a sensor samples: (band indices in wavelength order, low nm, high nm).

    Band centres are sorted first (AVIRIS' spectrometers overlap, so its table is not monotonic). A gap
    between neighbouring centres wider than the grid step — and wider than 1.5 × the sensor's median band
    spacing, so a sensor sampled more coarsely than the grid is not cut at every band — splits a stretch:
    that is where a distributor removed water-absorption bands. A stretch covers its centres ± half the
    median spacing.
    """
    order = np.argsort(wavelengths_nm, kind="stable")
    centres = wavelengths_nm[order]
    gaps = np.diff(centres)
    spacing = float(np.median(gaps)) if len(gaps) else step_nm
    breaks = np.nonzero(gaps > max(step_nm, 1.5 * spacing))[0] + 1
    return [(indices, float(wavelengths_nm[indices[0]] - spacing / 2), float(wavelengths_nm[indices[-1]] + spacing / 2))
            for indices in np.split(order, breaks)]


def _interpolation_weights(point: float, indices: np.ndarray, wavelengths_nm: np.ndarray, bands: int) -> np.ndarray:
    """Weights (B,) of the linear interpolation at ``point`` between the stretch's neighbouring bands (the nearest
    band beyond the stretch's outermost centres)."""
    weights = np.zeros(bands)
    centres = wavelengths_nm[indices]
    if point <= centres[0] or len(indices) == 1:
        weights[indices[0] if point <= centres[0] else indices[-1]] = 1.0
        return weights
    if point >= centres[-1]:
        weights[indices[-1]] = 1.0
        return weights
    upper = int(np.searchsorted(centres, point, side="right"))
    lower = upper - 1
    span = centres[upper] - centres[lower]
    fraction = (point - centres[lower]) / span if span > 0 else 0.5
    weights[indices[lower]] += 1 - fraction
    weights[indices[upper]] += fraction
    return weights


def wavelength_resampling(wavelengths_nm: np.ndarray, grid: WavelengthGrid, scene: str = "the scene"
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(weights (C₀, B), valid (C₀,) bool): channel c = weights[c] · spectrum, a weighted mean of the bands.

    A channel is valid when its centre lies in a stretch the sensor covers (:func:`covered_stretches`); its
    value is the mean of the linearly interpolated spectrum at :data:`POINTS_PER_CHANNEL` points across the
    channel (those inside a covered stretch). Invalid channels have all-zero weights. A grid the sensor does
    not overlap at all is a :class:`WavelengthCoverageError` naming the scene and its range.
    """
    wavelengths_nm = np.asarray(wavelengths_nm, np.float64)
    bands = len(wavelengths_nm)
    stretches = covered_stretches(wavelengths_nm, grid.step_nm)
    edges, centres = grid.edges(), grid.centres()
    weights = np.zeros((grid.channels, bands))
    valid = np.zeros(grid.channels, bool)
    inside = lambda x: next(((i, lo, hi) for i, lo, hi in stretches if lo <= x <= hi), None)  # noqa: E731
    for channel in range(grid.channels):
        if inside(centres[channel]) is None:
            continue
        points = edges[channel] + (np.arange(POINTS_PER_CHANNEL) + 0.5) / POINTS_PER_CHANNEL * grid.step_nm
        rows = [_interpolation_weights(x, stretch[0], wavelengths_nm, bands)
                for x in points if (stretch := inside(x)) is not None]
        weights[channel] = np.mean(rows, axis=0)
        valid[channel] = True
    if not valid.any():
        raise WavelengthCoverageError(
            f"{scene}: its bands cover {wavelengths_nm.min():.1f}–{wavelengths_nm.max():.1f} nm, which does not "
            f"overlap the common wavelength grid ({grid.label()}); widen the grid (wavelength_grid_nm) or use "
            "another band_alignment")
    return weights, valid


class WavelengthResampling(nn.Module):
    """A scene's ``bands`` → the ``channels`` of a common wavelength grid: fixed weights, no parameters.

    ``forward`` maps ``[N, S, S, B]`` → ``[N, S, S, C₀]``; channels the sensor does not cover are exactly 0,
    and ``valid`` (C₀,) says which they are (the losses leave them out). Made empty for a checkpoint
    (:meth:`load_state_dict` fills it), or from a domain's band centres (:meth:`for_domain`).
    """

    def __init__(self, bands: int, channels: int) -> None:
        super().__init__()
        self.bands, self.channels = bands, channels
        self.register_buffer("resampling", torch.zeros(channels, bands))
        self.register_buffer("valid", torch.zeros(channels, dtype=torch.bool))

    @classmethod
    def for_domain(cls, domain: Domain, grid: WavelengthGrid) -> WavelengthResampling:
        if domain.wavelengths_nm is None:
            raise WavelengthCoverageError(f"{domain.name}: the scene has no band wavelengths, which "
                                          "band_alignment=wavelength needs; use another band_alignment")
        weights, valid = wavelength_resampling(domain.wavelengths_nm, grid, domain.name)
        module = cls(domain.bands, grid.channels)
        module.resampling.copy_(torch.as_tensor(weights, dtype=torch.float32))
        module.valid.copy_(torch.as_tensor(valid))
        return module

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        if patches.shape[-1] != self.bands:
            raise ValueError(f"this resampling was made for {self.bands} bands, got patches with {patches.shape[-1]}")
        if not bool(self.valid.any()):
            raise RuntimeError("WavelengthResampling.forward before its weights were set (for_domain or a checkpoint)")
        return patches @ self.resampling.to(patches.dtype).T  # [N, S, S, C0]
