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

from hsibench.methods.training import autocast_dtype


def needs_loss_scaling(dtype: torch.dtype | None) -> bool:
    """True exactly for float16 autocast (``dtype`` as :func:`autocast_dtype` returns it; ``None`` = no autocast)."""
    return dtype == torch.float16


def gradient_scaler(device: torch.device, amp: bool) -> torch.amp.GradScaler:
    """A GradScaler that scales only where autocast runs in float16; elsewhere a pass-through
    (``scale`` returns the loss unchanged, ``step`` calls ``optimizer.step()``)."""
    return torch.amp.GradScaler(device.type, enabled=needs_loss_scaling(autocast_dtype(device, amp)))


class OptimizerStep:
    """``step(loss)``: one update of one or several optimisers from one loss.

    Zero the gradients (to ``None``), backward the (scaled) loss, optionally clip the gradient
    norm of each optimiser's parameters (after unscaling, so the bound is in true units), step
    every optimiser through the scaler (which skips a step whose fp16 gradients overflowed),
    update the scale, then advance ``scheduler`` (per update, not per epoch). ``updates`` counts
    the calls.
    """

    def __init__(self, optimizers: torch.optim.Optimizer | Sequence[torch.optim.Optimizer], device: torch.device,
                 amp: bool, scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                 max_grad_norm: float | None = None) -> None:
        self.optimizers = [optimizers] if isinstance(optimizers, torch.optim.Optimizer) else list(optimizers)
        self.scaler = gradient_scaler(device, amp)
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
