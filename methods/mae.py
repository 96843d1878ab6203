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
  Pretraining pixels are drawn uniformly from the source scene's valid pixels (labelled or not;
  from the pool of every scene's valid pixels when a protocol lists several ``sources``: each
  scene then has its own mapping layer and output layer before and after the one encoder and
  decoder), and the result is cached under (source content, pretraining keys, ``pretrain_seed``) —
  shared by every seed of a protocol.
- **Band alignment** (``band_alignment``): ``linear`` (default) is the learned mapping layer above;
  ``wavelength`` resamples every scene from its band centres onto one common grid of
  ``mapped_bands`` channels over ``wavelength_grid_nm`` (fixed, no parameters: the same channel is
  the same physical band in source and target), reconstructs those grid channels with one output
  layer, and leaves the channels a sensor does not cover (zero at the input) out of the loss — as
  S²Former's ``band_alignment = "wavelength"`` (docs/interpretation.md, "Band alignment across sensors").
- **Fine-tuning**: a new mapping layer for the target's bands, the pretrained embedding and
  encoder without masking, the mean of the token features → a new linear head; trained on the
  support set with the shared loop of ``supervised`` under the recipe and budget S²Former gets
  (``methods/budget.py``: AdamW, weight decay 0.05 on weight matrices only, 5 % warm-up from above 0
  then cosine, peak 5e-4, 200 epochs of batch 32 in ``paper``, 100 in ``cpu``), keeping the best
  validation epoch when the protocol has validation pixels (``methods/validation.py``).
- **Budget**: pretraining steps × batch are S²Former's in every preset (``paper`` 10,000 × 256,
  ``cpu`` 300 × 128 = 38,400 source samples).

Deviations from MAE on ImageNet (a 9×9 patch is not a 224×224 image): a model of S²Former's
default size (width 64, depth 4, 4 heads; decoder width 32, depth 1) instead of ViT-B/L; no
class token (mean pooling, as MAE's fine-tuning does by default); fine-tuning without layer-wise
learning-rate decay, drop-path, mixup or label smoothing (a few dozen labelled patches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from timm.models.vision_transformer import Block
from torch import nn

from hsibench.methods.base import RunContext, wavelengths_digest
from hsibench.methods.budget import BUDGETS, mae_budget_keys
from hsibench.methods.lr_schedule import warmup_cosine_scheduler
from hsibench.methods.masking import random_masking
from hsibench.methods.optimization import OptimizerStep, adamw_without_norm_decay
from hsibench.methods.position_embedding import pixel_position_embedding
from hsibench.methods.registry import register_method, when_changed
from hsibench.methods.spectral_layers import (
    DEFAULT_WAVELENGTH_GRID_NM,
    BandMapping,
    WavelengthGrid,
    WavelengthResampling,
)
from hsibench.methods.supervised import (
    LRScheduleName,
    OptimizerName,
    PretrainedPatchClassifierMethod,
    SupervisedConfig,
)
from hsibench.methods.training import autocast, seed_everything, to_device
from hsibench.protocol import Domain, FewShotTask, Source, source_domains

PRETRAINING_KEYS = ("mapped_bands", "embed_dim", "depth", "heads", "mlp_ratio", "decoder_dim", "decoder_depth",
                    "decoder_heads", "mask_ratio", "pretrain_steps", "pretrain_batch_size", "pretrain_learning_rate",
                    "pretrain_weight_decay", "pretrain_warmup")
#: keys added with band alignment: in run ids only when changed, in the pretraining key only on the wavelength grid
WAVELENGTH_KEYS = ("band_alignment", "wavelength_grid_nm")


@dataclass
class MAEConfig(SupervisedConfig):
    # fine-tuning: the budget and recipe S²Former gets (methods/budget.py), AdamW without decay on norms and biases
    epochs: int = BUDGETS["paper"].finetune_epochs
    batch_size: int = BUDGETS["paper"].finetune_batch_size
    learning_rate: float = BUDGETS["paper"].finetune_learning_rate
    weight_decay: float = 0.05
    optimizer: OptimizerName = "adamw"
    lr_schedule: LRScheduleName = when_changed("warmup_cosine")
    weight_decay_on_norms: bool = when_changed(False)
    mapped_bands: int = 100
    embed_dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    decoder_dim: int = 32
    decoder_depth: int = 1
    decoder_heads: int = 4
    mask_ratio: float = 0.75  # MAE's published ratio
    pretrain_steps: int = BUDGETS["paper"].pretrain_steps
    pretrain_batch_size: int = BUDGETS["paper"].pretrain_batch_size
    pretrain_learning_rate: float = 1e-3
    pretrain_weight_decay: float = 0.05
    pretrain_warmup: float = 0.05  # share of the steps spent warming up
    pretrain_seed: int = 0
    # the mapping layer (linear) or a resampling onto a common wavelength grid of `mapped_bands` channels
    band_alignment: Literal["linear", "wavelength"] = when_changed("linear")
    wavelength_grid_nm: tuple[float, float] = when_changed(DEFAULT_WAVELENGTH_GRID_NM)


def scene_mapping(config: MAEConfig, bands: int) -> nn.Module:
    """A scene's input layer, unfitted where it is fixed: the learned mapping layer, or an empty wavelength resampling."""
    if config.band_alignment == "wavelength":
        return WavelengthResampling(bands, config.mapped_bands)
    return BandMapping(bands, config.mapped_bands)


def fitted_mapping(config: MAEConfig, domain: Domain) -> nn.Module:
    """A scene's input layer, ready to use (the wavelength resampling made from its band centres)."""
    if config.band_alignment == "wavelength":
        return WavelengthResampling.for_domain(domain, WavelengthGrid(*config.wavelength_grid_nm, config.mapped_bands))
    return BandMapping(domain.bands, config.mapped_bands)


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
    """Source mapping + encoder on visible pixel tokens; decoder reconstructs every pixel's source spectrum.

    Several source scenes (``mappings``, one per scene) share the encoder and decoder; each has its own output
    layer, except on the wavelength grid (``shared_output``), where one layer reconstructs the grid channels of
    every scene and channels a sensor does not cover are left out of the loss.
    """

    def __init__(self, source_bands: int, patch_size: int, config: MAEConfig,
                 mappings: Sequence[nn.Module] | None = None, shared_output: bool = False) -> None:
        super().__init__()
        self.mask_ratio = config.mask_ratio
        self.mappings = nn.ModuleList(mappings if mappings is not None else [BandMapping(source_bands, config.mapped_bands)])
        self.shared_output = shared_output
        self.encoder = PixelTokenEncoder(config.mapped_bands, patch_size, config)
        self.decoder_embed = nn.Linear(config.embed_dim, config.decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.decoder_dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.register_buffer("decoder_position", pixel_position_embedding(patch_size, config.decoder_dim),
                             persistent=False)
        self.decoder_blocks = transformer_blocks(config.decoder_dim, config.decoder_depth, config.decoder_heads,
                                                 config.mlp_ratio)
        self.decoder_norm = nn.LayerNorm(config.decoder_dim)
        outputs = [config.mapped_bands] if shared_output else [mapping.bands for mapping in self.mappings]
        # the source-specific output layer(s)
        self.reconstruct = nn.ModuleList(nn.Linear(config.decoder_dim, bands) for bands in outputs)

    def forward_decoder(self, latent: torch.Tensor, restore: torch.Tensor) -> torch.Tensor:
        """Decoded tokens [N, L, d_dec] in pixel order (the output layers map them to spectra)."""
        x = self.decoder_embed(latent)  # [N, keep, d_dec]
        missing = self.mask_token.expand(len(x), restore.shape[1] - x.shape[1], -1)
        x = torch.cat([x, missing], dim=1)  # [N, L, d_dec] in shuffled order
        x = x.gather(1, restore[..., None].expand(-1, -1, x.shape[2])) + self.decoder_position  # back to pixel order
        return self.decoder_norm(self.decoder_blocks(x))

    def forward(self, batch: torch.Tensor | list[tuple[int, torch.Tensor]]) -> torch.Tensor:
        """The reconstruction loss of a batch of source patches ``[N, S, S, B]`` (or ``[(scene, patches), …]`` of
        several scenes): MSE over the masked pixels (and, on the wavelength grid, over the channels each covers)."""
        parts = [(0, batch)] if isinstance(batch, torch.Tensor) else batch
        mapped = [self.mappings[scene](patches) for scene, patches in parts]  # each [n, S, S, C0]
        visible, mask, restore, _ = random_masking(self.encoder.tokens(torch.cat(mapped)), self.mask_ratio)
        decoded = self.forward_decoder(self.encoder.encode(visible), restore)  # [N, L, d_dec]
        if len(parts) == 1 and not self.shared_output:  # one scene's own bands: the original loss, exactly
            prediction = self.reconstruct[0](decoded)
            per_pixel = (prediction.float() - parts[0][1].flatten(1, 2)).pow(2).mean(dim=-1)  # [N, L]
            return (per_pixel * mask).sum() / mask.sum()
        total, start = 0.0, 0
        for (scene, patches), scene_mapped in zip(parts, mapped):
            stop = start + len(patches)
            prediction = self.reconstruct[0 if self.shared_output else scene](decoded[start:stop]).float()
            if self.shared_output:  # grid channels; those the sensor does not cover are 0 and left out
                keep = self.mappings[scene].valid.to(prediction.dtype)
                error = (prediction - scene_mapped.flatten(1, 2).float()).pow(2) * keep
                per_pixel = error.sum(dim=-1) / keep.sum()
            else:
                per_pixel = (prediction - patches.flatten(1, 2)).pow(2).mean(dim=-1)
            total, start = total + (per_pixel * mask[start:stop]).sum(), stop
        return total / mask.sum()


class MAEClassifier(nn.Module):
    """Target mapping + pretrained encoder (no masking) → mean of token features → linear head."""

    def __init__(self, bands: int, num_classes: int, patch_size: int, config: MAEConfig) -> None:
        super().__init__()
        self.mapping = scene_mapping(config, bands)
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


class UniformPixels:
    """Batches of pretraining pixels drawn uniformly (with replacement) from the source's valid pixels.

    One scene without a valid-pixel mask draws rows and columns, as this baseline always did (same numbers);
    otherwise an index into the valid pixels of every source scene, pooled; a batch of several scenes is
    ``[(scene index, patches), …]``.
    """

    def __init__(self, source: Source, generator: torch.Generator) -> None:
        self.domains, self.generator = source_domains(source), generator
        self.whole_scene = len(self.domains) == 1 and self.domains[0].valid_mask is None
        if not self.whole_scene:
            coords = [domain.valid_coords() for domain in self.domains]
            self.scene = np.concatenate([np.full(len(c), index) for index, c in enumerate(coords)])
            self.coords = np.concatenate(coords)

    def draw(self, count: int, device: torch.device) -> torch.Tensor | list[tuple[int, torch.Tensor]]:
        if self.whole_scene:
            (domain,) = self.domains
            height, width = domain.shape
            coords = torch.stack([torch.randint(height, (count,), generator=self.generator),
                                  torch.randint(width, (count,), generator=self.generator)], dim=1)
            return to_device(domain.patches.gather(coords), device)
        index = torch.randint(len(self.coords), (count,), generator=self.generator).numpy()
        parts = [(scene, to_device(domain.patches.gather(self.coords[index[self.scene[index] == scene]]), device))
                 for scene, domain in enumerate(self.domains) if (self.scene[index] == scene).any()]
        return parts[0][1] if len(self.domains) == 1 else parts


def pretrain_masked_autoencoder(source: Source, config: MAEConfig, context: RunContext) -> dict:
    """MAE pretraining on uniformly drawn (valid) source pixels; returns the encoder's weights (the part that transfers)."""
    seed_everything(config.pretrain_seed)
    generator = torch.Generator().manual_seed(config.pretrain_seed)
    device = context.device
    domains = source_domains(source)
    wavelength = config.band_alignment == "wavelength"
    mappings = [fitted_mapping(config, domain) for domain in domains] if wavelength or len(domains) > 1 else None
    model = MaskedAutoencoder(domains[0].bands, domains[0].patches.patch_size, config, mappings,
                              shared_output=wavelength).to(device).train()
    optimizer = adamw_without_norm_decay(model, config.pretrain_learning_rate, config.pretrain_weight_decay,
                                         betas=(0.9, 0.95))
    schedule = pretraining_schedule(optimizer, config.pretrain_steps, int(config.pretrain_warmup * config.pretrain_steps))
    optimizer_step = OptimizerStep(optimizer, device, context.precision, schedule)
    pixels = UniformPixels(source, generator)
    report_every = max(1, config.pretrain_steps // 100)
    losses: list[float] = []
    for step in range(config.pretrain_steps):
        batch = pixels.draw(config.pretrain_batch_size, device)
        with autocast(device, context.precision):
            loss = model(batch)
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
    presets={  # every budget is S²Former's (methods/budget.py)
        "cpu": mae_budget_keys("cpu"),
        "smoke": {**mae_budget_keys("smoke"), "mapped_bands": 32, "embed_dim": 32, "depth": 2},
    },
)
class MAEMethod(PretrainedPatchClassifierMethod):
    """Single-branch masked-autoencoder pretraining on the unlabelled source (pixel tokens), then plain fine-tuning."""

    config: MAEConfig

    pretraining_family = "mae"
    pretraining_keys = PRETRAINING_KEYS
    accepts_pooled_sources = True

    def pretraining_config(self, source: Source) -> dict:
        chosen = super().pretraining_config(source)
        if self.config.band_alignment == "wavelength":  # single-scene linear keys stay as they were
            chosen.update({key: getattr(self.config, key) for key in WAVELENGTH_KEYS},
                          wavelengths=wavelengths_digest(source))
        return chosen

    def pretrain(self, source: Source, context: RunContext) -> dict:
        return pretrain_masked_autoencoder(source, self.config, context)

    def training_budget(self) -> dict[str, int]:
        config = self.config
        return {"pretrain_steps": config.pretrain_steps, "pretrain_batch_size": config.pretrain_batch_size,
                "pretrain_samples_seen": config.pretrain_steps * config.pretrain_batch_size, **super().training_budget()}

    def build_classifier(self, bands: int, num_classes: int, patch_size: int) -> nn.Module:
        return MAEClassifier(bands, num_classes, patch_size, self.config)

    def initialise(self, model: nn.Module, task: FewShotTask) -> None:
        super().initialise(model, task)
        if self.config.band_alignment == "wavelength":  # the target's resampling, from its band centres
            model.mapping.load_state_dict(fitted_mapping(self.config, task.target).state_dict())
