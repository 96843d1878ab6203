"""``mae`` — a single-branch spectral-spatial masked autoencoder pretrained on the unlabelled source, then fine-tuned.

Reference: K. He, X. Chen, S. Xie, Y. Li, P. Dollár, R. Girshick, "Masked Autoencoders Are
Scalable Vision Learners", CVPR 2022 (code: github.com/facebookresearch/mae).

This is the "plain self-supervised pretraining" point of comparison for S²Former: MAE's recipe
applied to hyperspectral patches, without a spectral branch, cross-attention, frequency-domain
constraint or distillation.

- **Tokens**: the S×S pixels of a patch. Each pixel's spectrum passes a per-scene mapping layer
  (1×1 linear + batch norm to ``mapped_bands``, as in ``dcfsl``), a linear embedding to
  ``embed_dim``, plus fixed 2-D sin-cos positions (as MAE).
- **Pretraining** (source, no labels): random masking keeps round((1 − ``mask_ratio``)·S²) of
  the tokens (MAE's per-sample shuffle, ``masking.py``, shared with S²Former; at the default
  0.75 this is MAE's ``int(L·0.25)`` for every patch size); an encoder of timm ``Block`` s sees only
  the visible ones; a light decoder (mask tokens, its own sin-cos positions, ``Block`` s)
  reconstructs the masked pixels' standardised *source* spectra through a source-specific
  output layer; the loss is their mean squared error. AdamW (β = 0.9, 0.95, weight decay 0.05
  on weights, none on norms and biases), linear warm-up at (step + 1)/warm-up steps of the peak,
  then cosine decay (``lr_schedule.py``).
  Pretraining pixels are drawn uniformly from the whole source scene (labelled or not), and
  the result is cached under (source content, pretraining keys, ``pretrain_seed``) — shared by
  every seed of a protocol.
- **Fine-tuning**: a new mapping layer for the target's bands, the pretrained embedding and
  encoder without masking, the mean of the token features → a new linear head; trained on the
  support set with the shared loop of ``supervised`` (AdamW 0.001, weight decay 0.05).

Deviations from MAE on ImageNet (a 9×9 patch is not a 224×224 image): a model of S²Former's
default size (width 64, depth 4, 4 heads; decoder width 32, depth 1) instead of ViT-B/L; no
class token (mean pooling, as MAE's fine-tuning does by default); fine-tuning without layer-wise
learning-rate decay, drop-path, mixup or label smoothing (a few dozen labelled patches).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from timm.models.vision_transformer import Block
from torch import nn

from hsibench.methods.base import RunContext
from hsibench.methods.lr_schedule import warmup_cosine_scheduler
from hsibench.methods.masking import random_masking
from hsibench.methods.optimization import OptimizerStep
from hsibench.methods.position_embedding import pixel_position_embedding
from hsibench.methods.registry import register_method
from hsibench.methods.spectral_layers import BandMapping
from hsibench.methods.supervised import OptimizerName, PretrainedPatchClassifierMethod, SupervisedConfig
from hsibench.methods.training import autocast, seed_everything, to_device
from hsibench.protocol import Domain

PRETRAINING_KEYS = ("mapped_bands", "embed_dim", "depth", "heads", "mlp_ratio", "decoder_dim", "decoder_depth",
                    "decoder_heads", "mask_ratio", "pretrain_steps", "pretrain_batch_size", "pretrain_learning_rate",
                    "pretrain_weight_decay", "pretrain_warmup")


@dataclass
class MAEConfig(SupervisedConfig):
    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.05
    optimizer: OptimizerName = "adamw"
    mapped_bands: int = 100
    embed_dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    decoder_dim: int = 32
    decoder_depth: int = 1
    decoder_heads: int = 4
    mask_ratio: float = 0.75  # MAE's published ratio
    pretrain_steps: int = 10_000
    pretrain_batch_size: int = 256
    pretrain_learning_rate: float = 1e-3
    pretrain_weight_decay: float = 0.05
    pretrain_warmup: float = 0.05  # share of the steps spent warming up
    pretrain_seed: int = 0


def transformer_blocks(dim: int, depth: int, heads: int, mlp_ratio: float) -> nn.Sequential:
    return nn.Sequential(*[Block(dim, heads, mlp_ratio=mlp_ratio, qkv_bias=True) for _ in range(depth)])


class PixelTokenEncoder(nn.Module):
    """Mapped patches ``[N, S, S, C₀]`` → pixel tokens ``[N, S², d]`` (:meth:`tokens`) → encoded tokens (:meth:`encode`)."""

    def __init__(self, mapped_bands: int, patch_size: int, config: MAEConfig) -> None:
        super().__init__()
        self.embed = nn.Linear(mapped_bands, config.embed_dim)
        self.register_buffer("position", pixel_position_embedding(patch_size, config.embed_dim), persistent=False)
        self.blocks = transformer_blocks(config.embed_dim, config.depth, config.heads, config.mlp_ratio)
        self.norm = nn.LayerNorm(config.embed_dim)

    def tokens(self, mapped: torch.Tensor) -> torch.Tensor:
        return self.embed(mapped.flatten(1, 2)) + self.position  # [N, L = S², d]

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.norm(self.blocks(tokens))


class MaskedAutoencoder(nn.Module):
    """Source mapping + encoder on visible pixel tokens; decoder reconstructs every pixel's source spectrum."""

    def __init__(self, source_bands: int, patch_size: int, config: MAEConfig) -> None:
        super().__init__()
        self.mask_ratio = config.mask_ratio
        self.mapping = BandMapping(source_bands, config.mapped_bands)
        self.encoder = PixelTokenEncoder(config.mapped_bands, patch_size, config)
        self.decoder_embed = nn.Linear(config.embed_dim, config.decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.decoder_dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.register_buffer("decoder_position", pixel_position_embedding(patch_size, config.decoder_dim),
                             persistent=False)
        self.decoder_blocks = transformer_blocks(config.decoder_dim, config.decoder_depth, config.decoder_heads,
                                                 config.mlp_ratio)
        self.decoder_norm = nn.LayerNorm(config.decoder_dim)
        self.reconstruct = nn.Linear(config.decoder_dim, source_bands)  # the source-specific output layer

    def forward_decoder(self, latent: torch.Tensor, restore: torch.Tensor) -> torch.Tensor:
        x = self.decoder_embed(latent)  # [N, keep, d_dec]
        missing = self.mask_token.expand(len(x), restore.shape[1] - x.shape[1], -1)
        x = torch.cat([x, missing], dim=1)  # [N, L, d_dec] in shuffled order
        x = x.gather(1, restore[..., None].expand(-1, -1, x.shape[2])) + self.decoder_position  # back to pixel order
        return self.reconstruct(self.decoder_norm(self.decoder_blocks(x)))  # [N, L, source bands]

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """The reconstruction loss of a batch of source patches ``[N, S, S, B]``: MSE over the masked pixels."""
        target = patches.flatten(1, 2)  # [N, L, B]
        visible, mask, restore, _ = random_masking(self.encoder.tokens(self.mapping(patches)), self.mask_ratio)
        prediction = self.forward_decoder(self.encoder.encode(visible), restore)
        per_pixel = (prediction.float() - target).pow(2).mean(dim=-1)  # [N, L]
        return (per_pixel * mask).sum() / mask.sum()


class MAEClassifier(nn.Module):
    """Target mapping + pretrained encoder (no masking) → mean of token features → linear head."""

    def __init__(self, bands: int, num_classes: int, patch_size: int, config: MAEConfig) -> None:
        super().__init__()
        self.mapping = BandMapping(bands, config.mapped_bands)
        self.encoder = PixelTokenEncoder(config.mapped_bands, patch_size, config)
        self.head = nn.Linear(config.embed_dim, num_classes)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        features = self.encoder.encode(self.encoder.tokens(self.mapping(patches)))  # [N, L, d]
        return self.head(features.mean(dim=1))


def pretraining_schedule(optimizer: torch.optim.Optimizer, total: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Warm-up over ``warmup`` steps at ``(step + 1) / warmup`` of the peak, then half a cosine from the peak to 0.

    In the shared schedule's terms: the ramp reaches the peak *on* its last step, so it is a
    ramp of ``warmup − 1`` steps from ``1 / warmup``, and the cosine starts from the peak at step
    ``warmup`` (the peak is used twice).
    """
    if warmup == 0:
        return warmup_cosine_scheduler(optimizer, total, 0, 1.0)
    return warmup_cosine_scheduler(optimizer, total, warmup - 1, 1 / warmup, decay_start=warmup)


def decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on weight matrices only — not on norms, biases or the mask token (MAE's optimiser groups)."""
    decay, rest = [], []
    for name, parameter in model.named_parameters():
        (decay if parameter.ndim > 1 and not name.endswith("mask_token") else rest).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def pretrain_masked_autoencoder(source: Domain, config: MAEConfig, context: RunContext) -> dict:
    """MAE pretraining on uniformly drawn source pixels; returns the encoder's weights (the part that transfers)."""
    seed_everything(config.pretrain_seed)
    generator = torch.Generator().manual_seed(config.pretrain_seed)
    device = context.device
    model = MaskedAutoencoder(source.bands, source.patches.patch_size, config).to(device).train()
    optimizer = torch.optim.AdamW(decay_groups(model, config.pretrain_weight_decay), lr=config.pretrain_learning_rate,
                                  betas=(0.9, 0.95))
    schedule = pretraining_schedule(optimizer, config.pretrain_steps, int(config.pretrain_warmup * config.pretrain_steps))
    optimizer_step = OptimizerStep(optimizer, device, context.amp, schedule)
    height, width = source.shape
    report_every = max(1, config.pretrain_steps // 100)
    losses: list[float] = []
    for step in range(config.pretrain_steps):
        coords = torch.stack([torch.randint(height, (config.pretrain_batch_size,), generator=generator),
                              torch.randint(width, (config.pretrain_batch_size,), generator=generator)], dim=1)
        with autocast(device, context.amp):
            loss = model(to_device(source.patches.gather(coords), device))
        optimizer_step(loss)
        if (step + 1) % report_every == 0 or step + 1 == config.pretrain_steps:
            losses.append(loss.item())
            context.progress(stage="pretrain", epoch=step + 1, epochs=config.pretrain_steps, loss=losses[-1])
    return {"encoder": {key: value.detach().cpu() for key, value in model.encoder.state_dict().items()},
            "losses": losses}


@register_method(
    "mae", family="self-supervised", uses_source_labels=False, pretrains=True,
    reference="He et al., CVPR 2022, Masked Autoencoders Are Scalable Vision Learners",
    config=MAEConfig,
    presets={
        "cpu": {"pretrain_steps": 300, "pretrain_batch_size": 128, "epochs": 50},
        "smoke": {"pretrain_steps": 30, "pretrain_batch_size": 32, "mapped_bands": 32, "embed_dim": 32, "depth": 2,
                  "epochs": 40},
    },
)
class MAEMethod(PretrainedPatchClassifierMethod):
    """Single-branch masked-autoencoder pretraining on the unlabelled source (pixel tokens), then plain fine-tuning."""

    config: MAEConfig

    pretraining_family = "mae"
    pretraining_keys = PRETRAINING_KEYS

    def pretrain(self, source: Domain, context: RunContext) -> dict:
        return pretrain_masked_autoencoder(source, self.config, context)

    def build_classifier(self, bands: int, num_classes: int, patch_size: int) -> nn.Module:
        return MAEClassifier(bands, num_classes, patch_size, self.config)
