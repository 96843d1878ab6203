"""Self-supervised pretraining on the source scene's pixels, without labels (PAPER.md §5–§6).

One loop, MAE's engine_pretrain in spirit: seeded minibatches of source pixels (all of them,
or a seeded subsample of ``pretrain_samples``), patches gathered on the fly, masked
reconstruction + FDC, AdamW with warmup + cosine learning rate (timm's scheduler).

The reconstruction loss on a fixed evaluation batch with a fixed mask is measured before and
after training (``initial_loss`` / ``final_loss``), so "pretraining learned something" is a
check on equal terms rather than a comparison of noisy running averages.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from timm.scheduler import CosineLRScheduler

from hsibench.methods.s2former.model import S2FormerMaskedAutoencoder
from hsibench.methods.training import autocast, minibatches, to_device
from hsibench.protocol import Domain

#: pixels in the fixed evaluation batch (before/after reconstruction loss)
EVALUATION_PIXELS = 512


@dataclass(frozen=True)
class PretrainingSettings:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    warmup_fraction: float
    mask_ratio: float
    spectral_mask_ratio: float
    fdc_weight: float  # 0 = no FDC
    fdc_cutoff: float
    fdc_axes: str
    samples: int | None
    seed: int
    amp: bool


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


def cosine_schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup_fraction: float) -> CosineLRScheduler:
    """Per-update linear warmup then cosine decay to 0 (timm), stepped with ``step_update``."""
    warmup = int(warmup_fraction * total_steps)
    return CosineLRScheduler(optimizer, t_initial=max(total_steps, 1), warmup_t=warmup,
                             warmup_lr_init=0.0, warmup_prefix=False, t_in_epochs=False)


def gradient_scaler(device: torch.device, amp: bool) -> torch.amp.GradScaler:
    """Loss scaling only where autocast falls back to float16 (CUDA without bfloat16); else a no-op."""
    needed = amp and device.type == "cuda" and not torch.cuda.is_bf16_supported()
    return torch.amp.GradScaler(device.type, enabled=needed)


@torch.no_grad()
def reconstruction_loss(model: S2FormerMaskedAutoencoder, patches: torch.Tensor, settings: PretrainingSettings,
                        device: torch.device) -> float:
    """MSE on masked pixels of a fixed batch with a fixed mask (eval mode, no FDC)."""
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(settings.seed + 7)
    with autocast(device, settings.amp):
        loss = model(to_device(patches, device), settings.mask_ratio, settings.spectral_mask_ratio, generator)
    model.train(was_training)
    return float(loss["reconstruction"])


def pretrain(model: S2FormerMaskedAutoencoder, source: Domain, settings: PretrainingSettings,
             device: torch.device, progress: Callable[..., None]) -> PretrainingResult:
    """Train ``model`` (already on ``device``) on the source pixels; returns the loss record."""
    coords = pretraining_coords(source, settings.samples, settings.seed)
    evaluation = np.random.default_rng([settings.seed, 2]).choice(len(coords), min(EVALUATION_PIXELS, len(coords)),
                                                                  replace=False)
    evaluation_patches = source.patches.gather(coords[np.sort(evaluation)])
    result = PretrainingResult(reconstruction_loss(model, evaluation_patches, settings, device), math.nan)

    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = math.ceil(len(coords) / settings.batch_size)
    scheduler = cosine_schedule(optimizer, settings.epochs * steps_per_epoch, settings.warmup_fraction)
    batch_generator = torch.Generator().manual_seed(settings.seed)
    mask_generator = torch.Generator().manual_seed(settings.seed + 1)
    scaler = gradient_scaler(device, settings.amp)
    model.train()
    update = 0
    for epoch in range(settings.epochs):
        total, count = 0.0, 0
        for index in minibatches(len(coords), settings.batch_size, batch_generator):
            patches = to_device(source.patches.gather(coords[index.numpy()]), device)
            with autocast(device, settings.amp):
                losses = model(patches, settings.mask_ratio, settings.spectral_mask_ratio, mask_generator,
                               settings.fdc_weight, settings.fdc_cutoff, settings.fdc_axes)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(losses["loss"]).backward()
            scaler.step(optimizer)
            scaler.update()
            update += 1
            scheduler.step_update(update)
            total = total + losses["loss"].detach() * len(index)  # stays on the device: no sync per step
            count += len(index)
        result.epoch_losses.append(float(total) / count)
        progress(stage="pretrain", epoch=epoch + 1, epochs=settings.epochs, loss=result.epoch_losses[-1])
    result.final_loss = reconstruction_loss(model, evaluation_patches, settings, device)
    return result
