"""Frequency Domain Constraint (FDC, docs/interpretation.md §6): a high-frequency magnitude loss via the real FFT.

*Paper*: keep frequency-domain consistency through an rFFT and a high-frequency magnitude loss,
to sharpen fine detail. *Ours* (every choice a config key in method.py):

- F(·) = |rfft(·)| with ``norm="ortho"`` (Parseval: equal energy in, equal energy out), along
  the spectral axis of each masked pixel's spectrum (``fdc_axes = "spectral"``, default), or
  the 2-D rFFT over the S×S grid of each band of the reconstructed patch (``"spatial"``; the
  visible pixels are taken from the truth, the masked ones from the prediction), or the sum of
  both (``"both"``).
- "High" frequencies are the bins whose frequency exceeds a fraction ρ (``fdc_cutoff``, 0.25)
  of the Nyquist frequency (0.5 cycles per sample); on the 2-D grid a bin's frequency is the
  larger of its two axes' frequencies.
- L_fdc = mean over high bins (and pixels/bands) of |F(x̂) − F(x)|; the total pretraining loss
  is L_rec + λ_fdc·L_fdc (``fdc_weight`` λ_fdc = 0.1), applied by the model's ``forward_loss``.

All functions work in float32: cuFFT needs power-of-two lengths in half precision.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def high_frequency_bins(length: int, cutoff: float, device: torch.device | None = None) -> torch.Tensor:
    """Boolean mask over the rfft bins of a length-``length`` signal: frequency > cutoff × Nyquist."""
    if not 0 <= cutoff < 1:
        raise ValueError(f"fdc_cutoff must lie in [0, 1), got {cutoff}")
    return torch.fft.rfftfreq(length, device=device) / 0.5 > cutoff


def spectral_high_frequency_loss(predicted: torch.Tensor, target: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Mean |F(x̂) − F(x)| over high bins of spectra [M, C] (rfft along the bands)."""
    high = high_frequency_bins(predicted.shape[-1], cutoff, predicted.device)
    difference = (torch.fft.rfft(predicted.float(), dim=-1, norm="ortho").abs()
                  - torch.fft.rfft(target.float(), dim=-1, norm="ortho").abs())  # [M, C//2+1]
    return difference[..., high].abs().mean()


def spatial_high_frequency_loss(predicted: torch.Tensor, target: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Mean |F(x̂) − F(x)| over high bins of patches [N, S, S, C] (rfft2 over the S×S grid, per band)."""
    size = predicted.shape[1]
    row_frequency = torch.fft.fftfreq(size, device=predicted.device).abs() / 0.5  # [S]
    column_frequency = torch.fft.rfftfreq(size, device=predicted.device) / 0.5  # [S//2+1]
    high = torch.maximum(row_frequency[:, None], column_frequency[None, :]) > cutoff  # [S, S//2+1]
    magnitude = lambda x: torch.fft.rfft2(x.float(), dim=(1, 2), norm="ortho").abs()  # [N, S, S//2+1, C]
    return (magnitude(predicted) - magnitude(target))[:, high].abs().mean()


def _spectral(predicted: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, patch_size: int,
              cutoff: float) -> torch.Tensor:
    chosen = weights.bool()  # [N, S²]: the pixels the loss is about
    return spectral_high_frequency_loss(predicted[chosen], target[chosen], cutoff)


def _spatial(predicted: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, patch_size: int,
             cutoff: float) -> torch.Tensor:
    n, _, c = predicted.shape
    composed = torch.where(weights.bool().unsqueeze(-1), predicted, target)  # prediction only where reconstructed
    grid = lambda x: x.reshape(n, patch_size, patch_size, c)  # [N, S, S, C]
    return spatial_high_frequency_loss(grid(composed), grid(target), cutoff)


def _both(predicted: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, patch_size: int,
          cutoff: float) -> torch.Tensor:
    return (_spectral(predicted, target, weights, patch_size, cutoff)
            + _spatial(predicted, target, weights, patch_size, cutoff))


#: ``fdc_axes`` → loss(predicted [N, S², C], target [N, S², C], weights [N, S²], patch_size, cutoff).
FDC_AXES: dict[str, Callable[..., torch.Tensor]] = {"spectral": _spectral, "spatial": _spatial, "both": _both}


def frequency_domain_constraint(predicted: torch.Tensor, target: torch.Tensor, weights: torch.Tensor,
                                patch_size: int, cutoff: float = 0.25, axes: str = "spectral") -> torch.Tensor:
    """L_fdc of reconstructed vs true patches; ``weights`` [N, S²] marks the reconstructed (masked) pixels."""
    if axes not in FDC_AXES:
        raise ValueError(f"fdc_axes must be one of {sorted(FDC_AXES)}, got {axes!r}")
    return FDC_AXES[axes](predicted, target, weights, patch_size, cutoff)
