"""Self-supervised pretraining on the source scene's pixels, without labels (docs/interpretation.md §5–§6).

One loop, MAE's engine_pretrain in spirit: seeded minibatches of source pixels (all of them,
or a seeded subsample of ``pretrain_samples``), patches gathered on the fly, masked
reconstruction + FDC, AdamW with warm-up + cosine learning rate (:mod:`hsibench.methods.lr_schedule`),
one :class:`~hsibench.methods.optimization.OptimizerStep` per batch. Every setting is read from
:class:`~hsibench.methods.s2former.config.S2FormerConfig`.

The reconstruction loss on a fixed evaluation batch with a fixed mask is measured before and
after training (``initial_loss`` / ``final_loss``), so "pretraining learned something" is a
check on equal terms rather than a comparison of noisy running averages.

Pixels are the source's *valid* pixels (a scene's valid-pixel mask excludes the others). Two model
forms run through the same loop:

- one source scene with a learned or PCA adapter: :class:`~.model.S2FormerMaskedAutoencoder` on
  that scene's patches, reconstructing its own bands (the original form, unchanged);
- several pooled source scenes, or ``band_alignment = "wavelength"``: :class:`PooledMaskedAutoencoder`,
  one adapter per scene in front of the one encoder and decoder. With learned/PCA adapters each
  scene keeps its own output head (its own bands are the target); on the wavelength grid one head
  reconstructs the C₀ grid channels of every scene, and the channels a scene's sensor does not
  cover are left out of the reconstruction and FDC losses (:func:`masked_reconstruction_loss`).
  A batch mixes the scenes' pixels as the pool does; the encoder sees them in one pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from timm.layers import trunc_normal_
from torch import nn

from hsibench.methods.base import RunContext
from hsibench.methods.lr_schedule import warmup_cosine_scheduler
from hsibench.methods.optimization import OptimizerStep, adamw_without_norm_decay
from hsibench.methods.s2former.band_alignment import channel_validity
from hsibench.methods.s2former.config import S2FormerConfig
from hsibench.methods.s2former.fdc import frequency_domain_constraint
from hsibench.methods.s2former.model import DecoderShape, S2FormerEncoder, S2FormerMaskedAutoencoder
from hsibench.methods.training import autocast, minibatches, to_device
from hsibench.protocol import Domain, Source, source_domains

#: pixels in the fixed evaluation batch (before/after reconstruction loss)
EVALUATION_PIXELS = 512


@dataclass
class PretrainingResult:
    initial_loss: float
    final_loss: float
    epoch_losses: list[float] = field(default_factory=list)
    updates: int = 0  # optimiser updates the loop made
    samples_seen: int = 0  # source patches those updates saw


def _subsample(count: int, samples: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded subsample of ``samples`` of ``count`` items (``None``: keep them all)."""
    if samples is None or samples >= count:
        return None
    if samples < 1:
        raise ValueError(f"pretrain_samples must be >= 1 (or None for all pixels), got {samples}")
    return np.sort(np.random.default_rng([seed, 1]).choice(count, samples, replace=False))


def pretraining_coords(source: Domain, samples: int | None, seed: int) -> np.ndarray:
    """Every valid source pixel, or a seeded subsample of ``samples`` of them (row-major order kept)."""
    coords = source.valid_coords()
    chosen = _subsample(len(coords), samples, seed)
    return coords if chosen is None else coords[chosen]


class ScenePixels:
    """The pretraining pixels of one scene; a batch is one patch tensor ``[n, S, S, C]``."""

    def __init__(self, domain: Domain, samples: int | None, seed: int) -> None:
        self.domain, self.coords = domain, pretraining_coords(domain, samples, seed)

    def __len__(self) -> int:
        return len(self.coords)

    def gather(self, index: np.ndarray, device: torch.device) -> torch.Tensor:
        return to_device(self.domain.patches.gather(self.coords[index]), device)


class PooledPixels:
    """The pretraining pixels of every source scene, pooled: the valid pixels of each, in protocol order, then a
    seeded subsample of ``samples`` of the pool (``None``: all). A batch is ``[(scene index, patches), …]``,
    one entry per scene present in it (the scenes' band counts differ, so their patches cannot share a tensor)."""

    def __init__(self, domains: Sequence[Domain], samples: int | None, seed: int) -> None:
        self.domains = tuple(domains)
        coords = [domain.valid_coords() for domain in self.domains]
        scene = np.concatenate([np.full(len(c), index, np.int64) for index, c in enumerate(coords)])
        coords = np.concatenate(coords)
        chosen = _subsample(len(coords), samples, seed)
        self.scene, self.coords = (scene, coords) if chosen is None else (scene[chosen], coords[chosen])

    def __len__(self) -> int:
        return len(self.coords)

    def counts(self) -> list[int]:
        """Pretraining pixels per scene."""
        return np.bincount(self.scene, minlength=len(self.domains)).tolist()

    def gather(self, index: np.ndarray, device: torch.device) -> list[tuple[int, torch.Tensor]]:
        parts = []
        for scene, domain in enumerate(self.domains):
            chosen = index[self.scene[index] == scene]
            if len(chosen):
                parts.append((scene, to_device(domain.patches.gather(self.coords[chosen]), device)))
        return parts


def masked_reconstruction_loss(predicted: torch.Tensor, target: torch.Tensor, weights: torch.Tensor,
                               valid: torch.Tensor | None, patch_size: int, fdc_weight: float, fdc_cutoff: float,
                               fdc_axes: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(summed per-pixel MSE over the weighted pixels, their count, L_fdc) of one scene's part of a batch.

    ``predicted`` / ``target`` ``[N, S², C]``, ``weights`` ``[N, S²]`` (the masked pixels), ``valid`` ``[C]`` bool or
    ``None``: a pixel's error is the mean over the *valid* channels only, and L_fdc sees the invalid channels as 0 in
    prediction and truth alike (the truth is 0 there already), so neither loss sends a gradient to a channel the
    scene's sensor does not cover.
    """
    predicted, target = predicted.float(), target.float()
    if valid is None:
        per_pixel = ((predicted - target) ** 2).mean(dim=-1)  # [N, S²]
    else:
        keep = valid.to(predicted.dtype)
        predicted = predicted * keep
        per_pixel = (((predicted - target) ** 2) * keep).sum(dim=-1) / keep.sum()
    fdc = (frequency_domain_constraint(predicted, target, weights, patch_size, fdc_cutoff, fdc_axes)
           if fdc_weight > 0 else None)
    return (per_pixel * weights).sum(), weights.sum(), fdc


class PooledMaskedAutoencoder(nn.Module):
    """S²Former's masked autoencoder behind one adapter per source scene (several pooled scenes, or the wavelength grid).

    The encoder and the decoder are :class:`~.model.S2FormerMaskedAutoencoder`'s, shared by every scene; its
    own adapter and output head are replaced by ``adapters`` (one per scene, ``[n, S, S, C_i] → [n, S, S, C₀]``) and
    ``heads``: one per scene reconstructing its own C_i bands, or — ``shared_output``, on the wavelength grid — one
    reconstructing the C₀ grid channels of every scene (the same channel is the same band everywhere).
    """

    def __init__(self, adapters: Sequence[nn.Module], encoder: S2FormerEncoder, decoder: DecoderShape,
                 shared_output: bool, spectral_mask_fill: str = "visible_mean") -> None:
        super().__init__()
        self.adapters = nn.ModuleList(adapters)
        self.body = S2FormerMaskedAutoencoder(nn.Identity(), encoder, decoder.dim, decoder, spectral_mask_fill)
        self.body.reconstruction_head = nn.Identity()  # the heads below take the decoder's output
        self.shared_output = shared_output
        outputs = [encoder.shape.aligned_bands] if shared_output else [adapter.bands for adapter in self.adapters]
        self.heads = nn.ModuleList(nn.Linear(decoder.dim, bands) for bands in outputs)
        for head in self.heads:
            trunc_normal_(head.weight, std=0.02)
            nn.init.zeros_(head.bias)

    @property
    def encoder(self) -> S2FormerEncoder:
        return self.body.encoder

    def forward(self, parts: list[tuple[int, torch.Tensor]], mask_ratio: float, spectral_mask_ratio: float = 0.0,
                generator: torch.Generator | None = None, fdc_weight: float = 0.0, fdc_cutoff: float = 0.25,
                fdc_axes: str = "spectral") -> dict[str, torch.Tensor]:
        """L = L_rec + λ_fdc·L_fdc over a batch of ``[(scene index, patches [n, S, S, C_i]), …]``."""
        aligned = [self.adapters[scene](patches) for scene, patches in parts]  # each [n, S, S, C0]
        encoded = self.body.forward_encoder(torch.cat(aligned), mask_ratio, spectral_mask_ratio, generator)
        decoded = self.body.forward_decoder(encoded["spatial"], encoded["spectral"], encoded["ids_restore"],
                                            encoded["spectral_keep"])  # [N, S², Dd]
        mask = encoded["mask"]
        weights = mask if bool(mask.any()) else torch.ones_like(mask)  # no masking → plain autoencoder
        patch_size = parts[0][1].shape[1]
        total, count, fdc_terms, start = 0.0, 0.0, [], 0
        for (scene, patches), scene_aligned in zip(parts, aligned):
            stop = start + len(patches)
            head = self.heads[0 if self.shared_output else scene]
            truth = scene_aligned if self.shared_output else patches
            valid = channel_validity(self.adapters[scene]) if self.shared_output else None
            part_sum, part_count, fdc = masked_reconstruction_loss(
                head(decoded[start:stop]), truth.flatten(1, 2), weights[start:stop], valid, patch_size,
                fdc_weight, fdc_cutoff, fdc_axes)
            total, count, start = total + part_sum, count + part_count, stop
            if fdc is not None:
                fdc_terms.append(fdc * part_count)
        reconstruction = total / count
        losses = {"reconstruction": reconstruction, "mask": mask}
        if fdc_terms:
            losses["fdc"] = sum(fdc_terms) / count
            losses["loss"] = reconstruction + fdc_weight * losses["fdc"]
        else:
            losses["loss"] = reconstruction
        return losses


def pretraining_pixels(model: nn.Module, source: Source, config: S2FormerConfig) -> ScenePixels | PooledPixels:
    """The pixels ``model`` pretrains on, in the batch form it takes."""
    if isinstance(model, PooledMaskedAutoencoder):
        return PooledPixels(source_domains(source), config.pretrain_samples, config.pretrain_seed)
    return ScenePixels(source, config.pretrain_samples, config.pretrain_seed)


def mask_ratios(config: S2FormerConfig) -> tuple[float, float]:
    """(spatial, spectral) mask ratios of pretraining: both 0 with ``masking`` off (a plain autoencoder on every pixel)."""
    return (config.mask_ratio, config.spectral_mask_ratio) if config.masking else (0.0, 0.0)


def fdc_weight(config: S2FormerConfig) -> float:
    """λ_fdc, or 0 with ``fdc`` off (the loss is then the reconstruction alone)."""
    return config.fdc_weight if config.fdc else 0.0


def pretraining_updates(config: S2FormerConfig, pixels: int) -> int:
    """Optimiser updates of pretraining: ``pretrain_steps`` (the budget), or ``pretrain_epochs`` passes over ``pixels``."""
    if config.pretrain_steps is not None:
        return config.pretrain_steps
    return config.pretrain_epochs * math.ceil(pixels / config.pretrain_batch_size)


def pretraining_optimizer(model: nn.Module, config: S2FormerConfig) -> torch.optim.AdamW:
    """AdamW (β₂ = ``pretrain_beta2``) of pretraining: MAE's recipe, or with ``weight_decay_on_norms`` every parameter decays."""
    betas = (0.9, config.pretrain_beta2)
    if config.weight_decay_on_norms:
        return torch.optim.AdamW(model.parameters(), lr=config.pretrain_lr, weight_decay=config.weight_decay, betas=betas)
    return adamw_without_norm_decay(model, config.pretrain_lr, config.weight_decay, betas)


def learning_rate_schedule(optimizer: torch.optim.Optimizer, total_updates: int,
                           config: S2FormerConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """S²Former's schedule, for pretraining and fine-tuning alike: ``warmup_fraction`` of the updates warm up from
    ``warmup_start_factor`` of the peak, under one cosine over the whole run (timm's ``warmup_prefix=False``)."""
    return warmup_cosine_scheduler(optimizer, total_updates, int(config.warmup_fraction * total_updates),
                                   config.warmup_start_factor)


@torch.no_grad()
def reconstruction_loss(model: S2FormerMaskedAutoencoder | PooledMaskedAutoencoder,
                        batch: torch.Tensor | list[tuple[int, torch.Tensor]], config: S2FormerConfig,
                        context: RunContext) -> float:
    """MSE on masked pixels of a fixed batch (already on the device) with a fixed mask (eval mode, no FDC)."""
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(config.pretrain_seed + 7)
    with autocast(context.device, context.precision):
        loss = model(batch, *mask_ratios(config), generator)
    model.train(was_training)
    return float(loss["reconstruction"])


def pretrain(model: S2FormerMaskedAutoencoder | PooledMaskedAutoencoder, source: Source, config: S2FormerConfig,
             context: RunContext) -> PretrainingResult:
    """Train ``model`` (already on ``context.device``) on the source's valid pixels for :func:`pretraining_updates`
    updates; returns the loss record (``epoch_losses``: the mean of each pass over the pixels, the last maybe partial).

    ``context`` gives the device, precision (fp32 where ``config.amp`` is off) and the
    progress callback; every seed comes from ``config.pretrain_seed``, never from the trial.
    """
    device, seed = context.device, config.pretrain_seed
    pixels = pretraining_pixels(model, source, config)
    evaluation = np.random.default_rng([seed, 2]).choice(len(pixels), min(EVALUATION_PIXELS, len(pixels)),
                                                         replace=False)
    evaluation_batch = pixels.gather(np.sort(evaluation), device)
    result = PretrainingResult(reconstruction_loss(model, evaluation_batch, config, context), math.nan)

    optimizer = pretraining_optimizer(model, config)
    steps_per_epoch = math.ceil(len(pixels) / config.pretrain_batch_size)
    updates = pretraining_updates(config, len(pixels))
    schedule = learning_rate_schedule(optimizer, updates, config)
    optimizer_step = OptimizerStep(optimizer, device, context.precision, schedule)
    batch_generator = torch.Generator().manual_seed(seed)
    mask_generator = torch.Generator().manual_seed(seed + 1)
    spatial_ratio, spectral_ratio = mask_ratios(config)
    report_every = max(1, updates // 100)
    model.train()
    for _ in range(math.ceil(updates / steps_per_epoch)):  # passes over the pixels; the last may stop early
        total, count = 0.0, 0
        for index in minibatches(len(pixels), config.pretrain_batch_size, batch_generator):
            batch = pixels.gather(index.numpy(), device)
            with autocast(device, context.precision):
                losses = model(batch, spatial_ratio, spectral_ratio, mask_generator, fdc_weight(config),
                               config.fdc_cutoff, config.fdc_axes)
            optimizer_step(losses["loss"])
            total = total + losses["loss"].detach() * len(index)  # stays on the device: no sync per step
            count += len(index)
            result.samples_seen += len(index)
            if optimizer_step.updates % report_every == 0 or optimizer_step.updates == updates:
                context.progress(stage="pretrain", epoch=optimizer_step.updates, epochs=updates,
                                 loss=float(total) / count)
            if optimizer_step.updates == updates:
                break
        result.epoch_losses.append(float(total) / count)
    result.updates = optimizer_step.updates
    result.final_loss = reconstruction_loss(model, evaluation_batch, config, context)
    return result
