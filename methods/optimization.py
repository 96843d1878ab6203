"""One optimiser update, the same in every training loop: zero the gradients, backward, step, schedule.

Mixed precision needs loss scaling only in float16, whose 5 exponent bits flush small gradients
to zero; bfloat16 has float32's exponent range and float32 needs nothing. Which of the three a
loop runs in is decided once, by :func:`~hsibench.methods.training.autocast_dtype` (the dtype
:func:`~hsibench.methods.training.autocast` uses), and :class:`OptimizerStep` follows it — so a
loop cannot autocast in float16 and forget the GradScaler, and none scales a bfloat16 loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from timm.optim import param_groups_weight_decay

from hsibench.methods.training import autocast_dtype


def needs_loss_scaling(dtype: torch.dtype | None) -> bool:
    """True exactly for float16 autocast (``dtype`` as :func:`autocast_dtype` returns it; ``None`` = no autocast)."""
    return dtype == torch.float16


def gradient_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """A GradScaler that scales only where autocast runs in float16; elsewhere a pass-through
    (``scale`` returns the loss unchanged, ``step`` calls ``optimizer.step()``)."""
    return torch.amp.GradScaler(device.type, enabled=needs_loss_scaling(autocast_dtype(device, precision)))


class OptimizerStep:
    """``step(loss)``: one update of one or several optimisers from one loss.

    Zero the gradients (to ``None``), backward the (scaled) loss, optionally clip the gradient
    norm of each optimiser's parameters (after unscaling, so the bound is in true units), step
    every optimiser through the scaler (which skips a step whose fp16 gradients overflowed),
    update the scale, then advance ``scheduler`` (per update, not per epoch). ``updates`` counts
    the calls.
    """

    def __init__(self, optimizers: torch.optim.Optimizer | Sequence[torch.optim.Optimizer], device: torch.device,
                 precision: str, scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                 max_grad_norm: float | None = None) -> None:
        self.optimizers = [optimizers] if isinstance(optimizers, torch.optim.Optimizer) else list(optimizers)
        self.scaler = gradient_scaler(device, precision)
        self.scheduler = scheduler
        self.max_grad_norm = max_grad_norm
        self.updates = 0

    def __call__(self, loss: torch.Tensor) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.max_grad_norm is not None:
            for optimizer in self.optimizers:
                self.scaler.unscale_(optimizer)
                parameters = [p for group in optimizer.param_groups for p in group["params"]]
                torch.nn.utils.clip_grad_norm_(parameters, self.max_grad_norm)
        for optimizer in self.optimizers:
            self.scaler.step(optimizer)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()
        self.updates += 1


#: parameters that are not weights of a linear map, whatever their shape: mask tokens and position embeddings
#: (as MAE's and timm's ViTs exclude them); norms' weights and every bias are excluded by being 1-D
NO_WEIGHT_DECAY_PATTERNS = ("*mask_token", "*_pos", "*pos_embed", "*position")


def weight_decay_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Parameter groups with weight decay on weight matrices only — not on norms, biases, mask tokens or position
    embeddings (timm's ``param_groups_weight_decay``, as MAE's and timm's ViT recipes group them).

    Decaying a LayerNorm gain or a bias towards 0 is a prior nobody means, and with a few dozen labelled patches
    the decay is a large share of each update. Only parameters that require grad *now* enter a group, so freeze
    parts (a linear probe) only after creating the optimiser: it skips a parameter whose grad is ``None``.
    """
    return param_groups_weight_decay(model, weight_decay, no_weight_decay_list=NO_WEIGHT_DECAY_PATTERNS)


def adamw_without_norm_decay(model: torch.nn.Module, learning_rate: float, weight_decay: float,
                             betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.AdamW:
    """AdamW over :func:`weight_decay_groups`: the optimiser of MAE's recipe and of the shared fine-tuning recipe."""
    return torch.optim.AdamW(weight_decay_groups(model, weight_decay), lr=learning_rate, betas=betas)
