"""``ssftt`` — the spectral-spatial feature tokenization transformer, trained on the target support set only.

Reference: L. Sun, G. Zhao, Y. Zheng, Z. Wu, "Spectral–Spatial Feature Tokenization Transformer
for Hyperspectral Image Classification", IEEE TGRS 60, 2022 (code: github.com/zgr6010/HSI_SSFTT).

The published design: PCA (whitened) to 30 components on every scene (the published script sets
``pca_components = 30``, and its 2-D convolution hard-wires 8·28 input channels, so 30 is the only
count that code runs with; hence the plain default 30 here, not a per-scene rule as for
``cnn3d``); a 3-D convolution 8@3×3×3 + batch norm + ReLU; the spectral axis folded into channels
and a 2-D convolution 64@3×3 + batch norm + ReLU (both without padding); a *Gaussian-weighted
feature tokenizer* — two learned matrices drawn from a Xavier-normal distribution: ``A =
softmax_pixels(X·W_aᵀ)`` weighs the pixels into L = 4 tokens of ``A·(X·W_v)``; a learnable class
token and position embedding (std 0.02), embedding dropout 0.1; one pre-norm transformer encoder
layer (8 heads, MLP width 8, GELU, dropout 0.1); a linear head on the class token (Xavier-uniform
weights, bias std 1e-6). Adam, learning rate 0.001, batch 64, 100 epochs, patches 13×13, the
weights of the last epoch.

The tokenizer's matrices are drawn as the published code draws them: it creates them as 3-D
tensors (1, L, 64) and (1, 64, 64) and calls ``xavier_normal_`` on those, whose fans PyTorch
computes from the 3-D shape (fan_in = L·64, fan_out = 64): std = √(2 / (65·L)) ≈ 0.079 for W_a
and ≈ 0.022 for W_v — not the 0.17 and 0.125 of the same call on 2-D (L, 64) and (64, 64)
matrices. Ours stay 2-D; :func:`published_tokenizer_std` gives the published std.

Deviations (README, "Methods"):
- Patch size is the protocol's (9×9 in the DCFSL protocols) instead of 13×13.
- The encoder layer is timm's ``Block``: attention logits are scaled by head_dim^−½ (the
  published code scales by dim^−½, a known quirk of that code); otherwise the same layer.
- PCA is fitted after the protocol's z-score, on the target pixels the protocol lets statistics
  read (``FewShotTask.statistics_coords``: every valid pixel under ``normalisation = "scene"``,
  only support-patch pixels under ``"train"``; at most ``pca_max_pixels``), not on the whole raw
  scene, and applied to each patch as a fixed layer (see ``cnn3d`` for what that changes at
  borders).
- Trained on the few-shot support set (the paper used 10 % of the labels or more).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from timm.models.vision_transformer import Block
from torch import nn

from hsibench.methods.registry import register_method
from hsibench.methods.spectral_layers import fit_scene_reduction, input_reduction
from hsibench.methods.supervised import PatchClassifierMethod, PCAInputConfig
from hsibench.protocol import FewShotTask


@dataclass
class SSFTTConfig(PCAInputConfig):
    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    conv3d_channels: int = 8
    width: int = 64  # channels of the 2-D convolution = token width
    tokens: int = 4
    depth: int = 1
    heads: int = 8
    mlp_width: int = 8
    dropout: float = 0.1


def published_tokenizer_std(rows: int, columns: int) -> float:
    """The std of ``xavier_normal_`` on a (1, rows, columns) tensor, as the published code draws its (rows, columns)
    tokenizer matrices: PyTorch takes fan_in = rows·columns and fan_out = 1·columns from the 3-D shape."""
    fan_in, fan_out = rows * columns, columns
    return math.sqrt(2.0 / (fan_in + fan_out))


class GaussianTokenizer(nn.Module):
    """Pixels' features ``[N, HW, D]`` → ``tokens`` semantic tokens ``[N, L, D]`` by learned soft pixel weighting.

    "Gaussian-weighted": both matrices start from a zero-mean normal draw with the published code's std
    (:func:`published_tokenizer_std`; the same numbers as its ``xavier_normal_`` on the 3-D tensors, for the same
    random state, since that call is one ``normal_`` of the same size).
    """

    def __init__(self, width: int, tokens: int) -> None:
        super().__init__()
        self.token_weights = nn.Parameter(torch.empty(tokens, width))  # W_a (L, D): published (1, L, 64)
        self.value_weights = nn.Parameter(torch.empty(width, width))  # W_v (D, D): published (1, 64, 64)
        for weights in (self.token_weights, self.value_weights):
            nn.init.normal_(weights, 0.0, published_tokenizer_std(*weights.shape))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        attention = (features @ self.token_weights.T).transpose(1, 2).softmax(dim=-1)  # [N, L, HW], over pixels
        return attention @ (features @ self.value_weights)  # [N, L, D]


class SSFTT(nn.Module):
    def __init__(self, bands: int, num_classes: int, patch_size: int, config: SSFTTConfig) -> None:
        super().__init__()
        reduced = config.pca_components or bands
        if reduced < 3 or patch_size < 5:
            raise ValueError(f"SSFTT's valid 3×3×3 and 3×3 convolutions need ≥ 3 bands and patches ≥ 5×5, got "
                             f"{reduced} bands and {patch_size}×{patch_size} patches")
        self.reduction = input_reduction(bands, config.pca_components, config.pca_whiten)
        self.conv3d = nn.Sequential(nn.Conv3d(1, config.conv3d_channels, 3), nn.BatchNorm3d(config.conv3d_channels),
                                    nn.ReLU())
        self.conv2d = nn.Sequential(nn.Conv2d(config.conv3d_channels * (reduced - 2), config.width, 3),
                                    nn.BatchNorm2d(config.width), nn.ReLU())
        self.tokenizer = GaussianTokenizer(config.width, config.tokens)
        self.class_token = nn.Parameter(torch.zeros(1, 1, config.width))
        self.position = nn.Parameter(torch.randn(1, config.tokens + 1, config.width) * 0.02)
        self.embedding_dropout = nn.Dropout(config.dropout)
        self.encoder = nn.Sequential(*[
            Block(config.width, config.heads, mlp_ratio=config.mlp_width / config.width, qkv_bias=True,
                  proj_drop=config.dropout)
            for _ in range(config.depth)
        ])
        self.head = nn.Linear(config.width, num_classes)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.normal_(self.head.bias, std=1e-6)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        x = self.reduction(patches)  # [N, S, S, P]
        x = self.conv3d(x.permute(0, 3, 1, 2).unsqueeze(1))  # [N, 8, P-2, S-2, S-2]
        x = self.conv2d(x.flatten(1, 2))  # [N, D, S-4, S-4]
        tokens = self.tokenizer(x.flatten(2).transpose(1, 2))  # [N, HW, D] → [N, L, D]
        tokens = torch.cat([self.class_token.expand(len(tokens), -1, -1), tokens], dim=1) + self.position
        tokens = self.encoder(self.embedding_dropout(tokens))  # [N, L+1, D]
        return self.head(tokens[:, 0])


@register_method(
    "ssftt", family="supervised deep", uses_source_labels=False, pretrains=False,
    reference="Sun et al., IEEE TGRS 2022, Spectral–Spatial Feature Tokenization Transformer for Hyperspectral "
              "Image Classification",
    config=SSFTTConfig,
    presets={"cpu": {"pca_max_pixels": 50_000}, "smoke": {"epochs": 40, "pca_max_pixels": 5_000}},
)
class SSFTTMethod(PatchClassifierMethod):
    """SSFTT (3-D/2-D convolutions, Gaussian-weighted tokenizer, transformer) trained on the target support set."""

    config: SSFTTConfig

    def build_classifier(self, bands: int, num_classes: int, patch_size: int) -> nn.Module:
        return SSFTT(bands, num_classes, patch_size, self.config)

    def initialise(self, model: nn.Module, task: FewShotTask) -> None:
        fit_scene_reduction(model.reduction, task.target.patches, task.statistics_coords(), self.config.pca_max_pixels,
                            self.context, task.target.name)
