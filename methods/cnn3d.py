"""``cnn3d`` — HybridSN, a 3-D→2-D CNN trained from scratch on the target's support set.

Reference: S. K. Roy, G. Krishna, S. R. Dubey, B. B. Chaudhuri, "HybridSN: Exploring 3-D–2-D CNN
Feature Hierarchy for Hyperspectral Image Classification", IEEE Geoscience and Remote Sensing
Letters 17(2), 2020 (code: github.com/gokriznastic/HybridSN, Keras).

The published design: PCA to 30 components (Indian Pines; 15 for Pavia U and Salinas), three
3-D convolutions 8@3×3×7, 16@3×3×5, 32@3×3×3 (spatial×spatial×spectral, no padding, ReLU), the
spectral axis folded into channels, one 2-D convolution 64@3×3, then dense 256 → dropout 0.4 →
dense 128 → dropout 0.4 → classes. Adam, learning rate 0.001, batch 256, 100 epochs, Glorot-
uniform initialisation.

Deviations, each forced by the benchmark or kept minimal:
- Patch size is the protocol's (9×9 in the DCFSL protocols) instead of 25×25: every method of a
  table sees the same pixels. Below 9×9 the valid convolutions would shrink the patch to
  nothing, so ``spatial_padding = "auto"`` pads the convolutions spatially ("same") only then.
- PCA is fitted on the target scene's own pixels (all of them, unlabeled; at most
  ``pca_max_pixels``, a seeded random subset) after the protocol's z-score, and applied as a
  fixed layer to each patch: the zero padding of border patches is projected too, instead of
  padding after PCA (a difference only at scene borders).
- Trained on the few-shot support set (the paper used 10–30 % of the labels), so one epoch is
  one batch when the support is smaller than ``batch_size``. Keras' per-step learning-rate
  decay of 1e-6 is left out (it changes the rate by < 0.01 % over 100 steps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from hsibench.methods.registry import register_method
from hsibench.methods.spectral_layers import fit_scene_reduction, input_reduction
from hsibench.methods.supervised import PatchClassifierMethod, PCAInputConfig
from hsibench.protocol import FewShotTask

SPECTRAL_KERNELS = (7, 5, 3)  # of the three 3-D convolutions; each also 3×3 in space
CHANNELS_3D = (8, 16, 32)
CHANNELS_2D = 64


@dataclass
class HybridSNConfig(PCAInputConfig):
    epochs: int = 100
    batch_size: int = 256
    learning_rate: float = 1e-3
    spatial_padding: Literal["auto", "valid", "same"] = "auto"
    dropout: float = 0.4


def glorot_init(module: nn.Module) -> None:
    """Keras' default initialisation (Glorot-uniform weights, zero biases), which the published models used."""
    if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def uses_same_padding(mode: str, patch_size: int) -> bool:
    """Whether the spatial convolutions pad: always, never, or (``auto``) when valid ones would leave nothing."""
    minimum = 2 * len(SPECTRAL_KERNELS) + 3  # three 3-D and one 2-D 3×3 valid convolutions
    if mode == "valid" and patch_size < minimum:
        raise ValueError(f"HybridSN with spatial_padding='valid' needs patches of at least {minimum}×{minimum}, "
                         f"got {patch_size}×{patch_size}; use spatial_padding='auto' or 'same'")
    return mode == "same" or (mode == "auto" and patch_size < minimum)


class HybridSN(nn.Module):
    def __init__(self, bands: int, num_classes: int, patch_size: int, pca_components: int | None = 30,
                 pca_whiten: bool = True, same_padding: bool = False, dropout: float = 0.4) -> None:
        super().__init__()
        reduced = pca_components or bands
        self.reduction = input_reduction(bands, pca_components, pca_whiten)
        spectral_left = reduced - sum(k - 1 for k in SPECTRAL_KERNELS)
        if spectral_left < 1:
            raise ValueError(f"HybridSN's 3-D convolutions need at least {reduced - spectral_left + 1} input bands, "
                             f"got {reduced}; raise `pca_components`")
        pad = 1 if same_padding else 0
        layers: list[nn.Module] = []
        in_channels = 1
        for out_channels, kernel in zip(CHANNELS_3D, SPECTRAL_KERNELS):
            layers += [nn.Conv3d(in_channels, out_channels, (kernel, 3, 3), padding=(0, pad, pad)), nn.ReLU()]
            in_channels = out_channels
        self.spectral_spatial = nn.Sequential(*layers)
        self.spatial = nn.Sequential(nn.Conv2d(CHANNELS_3D[-1] * spectral_left, CHANNELS_2D, 3, padding=pad), nn.ReLU())
        side = patch_size if same_padding else patch_size - 2 * (len(SPECTRAL_KERNELS) + 1)
        self.head = nn.Sequential(
            nn.Linear(CHANNELS_2D * side * side, 256), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(256, 128), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(128, num_classes),
        )
        self.apply(glorot_init)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        x = self.reduction(patches)  # [N, S, S, P]
        x = x.permute(0, 3, 1, 2).unsqueeze(1)  # [N, 1, P, S, S]
        x = self.spectral_spatial(x)  # [N, 32, P', S', S']
        x = x.flatten(1, 2)  # [N, 32·P', S', S']: the spectral axis folded into channels
        x = self.spatial(x).flatten(1)  # [N, 64·S''²]
        return self.head(x)


@register_method(
    "cnn3d", family="supervised deep", uses_source_labels=False, pretrains=False,
    reference="Roy et al., IEEE GRSL 2020, HybridSN: Exploring 3-D–2-D CNN Feature Hierarchy for Hyperspectral "
              "Image Classification",
    config=HybridSNConfig,
    presets={"cpu": {"pca_max_pixels": 50_000}, "smoke": {"epochs": 30, "pca_components": 13, "pca_max_pixels": 5_000}},
)
class HybridSNMethod(PatchClassifierMethod):
    """HybridSN (3-D + 2-D CNN on PCA-reduced patches) trained from scratch on the target support set."""

    config: HybridSNConfig

    def build_classifier(self, bands: int, num_classes: int, patch_size: int) -> nn.Module:
        config = self.config
        return HybridSN(bands, num_classes, patch_size, config.pca_components, config.pca_whiten,
                        uses_same_padding(config.spatial_padding, patch_size), config.dropout)

    def initialise(self, model: nn.Module, task: FewShotTask) -> None:
        fit_scene_reduction(model.reduction, task.target.patches, self.config.pca_max_pixels, self.context)

