"""Self-supervised pretraining on the source scene's pixels, without labels (docs/interpretation.md §5–§6).

One loop, MAE's engine_pretrain in spirit: seeded minibatches of source pixels (all of them,
or a seeded subsample of ``pretrain_samples``), patches gathered on the fly, masked
reconstruction + FDC, AdamW with warm-up + cosine learning rate (:mod:`hsibench.methods.lr_schedule`),
one :class:`~hsibench.methods.optimization.OptimizerStep` per batch. Every setting is read from
:class:`~hsibench.methods.s2former.config.S2FormerConfig`.

The reconstruction loss on a fixed evaluation batch with a fixed mask is measured before and
after training (``initial_loss`` / ``final_loss``), so "pretraining learned something" is a
check on equal terms rather than a comparison of noisy running averages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from hsibench.methods.base import RunContext
from hsibench.methods.lr_schedule import warmup_cosine_scheduler
from hsibench.methods.optimization import OptimizerStep
from hsibench.methods.s2former.config import S2FormerConfig
from hsibench.methods.s2former.model import S2FormerMaskedAutoencoder
from hsibench.methods.training import autocast, minibatches, to_device
from hsibench.protocol import Domain

#: pixels in the fixed evaluation batch (before/after reconstruction loss)
EVALUATION_PIXELS = 512


@dataclass
class PretrainingResult:
    initial_loss: float
    final_loss: float
    epoch_losses: list[float] = field(default_factory=list)


def pretraining_coords(source: Domain, samples: int | None, seed: int) -> np.ndarray:
    """Every source pixel, or a seeded subsample of ``samples`` of them (row-major order kept)."""
    coords = source.patches.all_coords()
    if samples is None or samples >= len(coords):
        return coords
    if samples < 1:
        raise ValueError(f"pretrain_samples must be >= 1 (or None for all pixels), got {samples}")
    chosen = np.random.default_rng([seed, 1]).choice(len(coords), samples, replace=False)
    return coords[np.sort(chosen)]


def mask_ratios(config: S2FormerConfig) -> tuple[float, float]:
    """(spatial, spectral) mask ratios of pretraining: both 0 with ``masking`` off (a plain autoencoder on every pixel)."""
    return (config.mask_ratio, config.spectral_mask_ratio) if config.masking else (0.0, 0.0)


def fdc_weight(config: S2FormerConfig) -> float:
    """λ_fdc, or 0 with ``fdc`` off (the loss is then the reconstruction alone)."""
    return config.fdc_weight if config.fdc else 0.0


def learning_rate_schedule(optimizer: torch.optim.Optimizer, total_updates: int,
                           config: S2FormerConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """S²Former's schedule, for pretraining and fine-tuning alike: ``warmup_fraction`` of the updates warm up from
    ``warmup_start_factor`` of the peak, under one cosine over the whole run (timm's ``warmup_prefix=False``)."""
    return warmup_cosine_scheduler(optimizer, total_updates, int(config.warmup_fraction * total_updates),
                                   config.warmup_start_factor)


@torch.no_grad()
def reconstruction_loss(model: S2FormerMaskedAutoencoder, patches: torch.Tensor, config: S2FormerConfig,
                        context: RunContext) -> float:
    """MSE on masked pixels of a fixed batch with a fixed mask (eval mode, no FDC)."""
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(config.pretrain_seed + 7)
    with autocast(context.device, context.amp):
        loss = model(to_device(patches, context.device), *mask_ratios(config), generator)
    model.train(was_training)
    return float(loss["reconstruction"])


def pretrain(model: S2FormerMaskedAutoencoder, source: Domain, config: S2FormerConfig,
             context: RunContext) -> PretrainingResult:
    """Train ``model`` (already on ``context.device``) on the source pixels; returns the loss record.

    ``context`` gives the device, mixed precision (already combined with ``config.amp``) and the
    progress callback; every seed comes from ``config.pretrain_seed``, never from the trial.
    """
    device, seed = context.device, config.pretrain_seed
    coords = pretraining_coords(source, config.pretrain_samples, seed)
    evaluation = np.random.default_rng([seed, 2]).choice(len(coords), min(EVALUATION_PIXELS, len(coords)),
                                                         replace=False)
    evaluation_patches = source.patches.gather(coords[np.sort(evaluation)])
    result = PretrainingResult(reconstruction_loss(model, evaluation_patches, config, context), math.nan)

    optimizer = torch.optim.AdamW(model.parameters(), lr=config.pretrain_lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(coords) / config.pretrain_batch_size)
    schedule = learning_rate_schedule(optimizer, config.pretrain_epochs * steps_per_epoch, config)
    optimizer_step = OptimizerStep(optimizer, device, context.amp, schedule)
    batch_generator = torch.Generator().manual_seed(seed)
    mask_generator = torch.Generator().manual_seed(seed + 1)
    spatial_ratio, spectral_ratio = mask_ratios(config)
    model.train()
    for epoch in range(config.pretrain_epochs):
        total, count = 0.0, 0
        for index in minibatches(len(coords), config.pretrain_batch_size, batch_generator):
            patches = to_device(source.patches.gather(coords[index.numpy()]), device)
            with autocast(device, context.amp):
                losses = model(patches, spatial_ratio, spectral_ratio, mask_generator, fdc_weight(config),
                               config.fdc_cutoff, config.fdc_axes)
            optimizer_step(losses["loss"])
            total = total + losses["loss"].detach() * len(index)  # stays on the device: no sync per step
            count += len(index)
        result.epoch_losses.append(float(total) / count)
        context.progress(stage="pretrain", epoch=epoch + 1, epochs=config.pretrain_epochs, loss=result.epoch_losses[-1])
    result.final_loss = reconstruction_loss(model, evaluation_patches, config, context)
    return result
