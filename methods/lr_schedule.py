"""Linear warm-up, then half a cosine down to 0: the learning-rate schedule of S²Former's two loops and of MAE's pretraining.

Counted in optimiser updates (update 0 is the first) and applied as a factor of each parameter
group's peak learning rate (a ``LambdaLR``, advanced once per update by
:class:`~hsibench.methods.optimization.OptimizerStep`).

The warm-up starts *above* zero. An update at learning rate 0 moves no weight — it only feeds
AdamW's moment estimates — so a ramp that starts at 0 (timm's ``warmup_lr_init=0``) spends the
first update of every run for nothing; in a few-shot fine-tuning of a few dozen updates that is
not negligible. With ``start_factor=None`` the warm-up updates lie evenly between 0 and the peak,
both excluded: ``(update + 1) / (warmup + 1)``, the shape of MAE's ``(step + 1) / warmup``.
"""

from __future__ import annotations

import functools
import math

import torch


def warmup_cosine_factor(update: int, total: int, warmup: int, start_factor: float, decay_start: int = 0) -> float:
    """The learning rate of ``update`` (0-based) as a fraction of the peak.

    - Warm-up (``update < warmup``): linear from ``start_factor`` at update 0 towards 1, which it
      would reach at update ``warmup`` (torch's ``LinearLR``; timm's ``warmup_lr_init`` is
      ``start_factor`` × peak).
    - Then half a cosine from 1 at ``decay_start`` to 0 at ``total``. ``decay_start=0`` lays one
      cosine over the whole run whose first ``warmup`` updates the warm-up replaces (timm's
      ``CosineLRScheduler`` with ``warmup_prefix=False``: S²Former); ``decay_start=warmup`` starts
      it after the warm-up. Updates after the warm-up but before ``decay_start`` hold the peak.
    """
    if update < warmup:
        return start_factor + (1.0 - start_factor) * update / warmup
    progress = (update - decay_start) / max(1, total - decay_start)
    return 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


def evenly_spaced_start(warmup: int) -> float:
    """``1 / (warmup + 1)``: the start factor that spaces the warm-up updates evenly between 0 and the peak."""
    return 1.0 / (warmup + 1)


def warmup_cosine_scheduler(optimizer: torch.optim.Optimizer, total: int, warmup: int, start_factor: float | None = None,
                            decay_start: int = 0) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-update scheduler of :func:`warmup_cosine_factor`; ``start_factor=None`` means :func:`evenly_spaced_start`."""
    if warmup < 0 or total < 0:
        raise ValueError(f"warm-up and total updates must be >= 0, got warmup={warmup}, total={total}")
    start = evenly_spaced_start(warmup) if start_factor is None else start_factor
    if not 0.0 <= start <= 1.0:
        raise ValueError(f"the warm-up start factor must lie in [0, 1], got {start}")
    factor = functools.partial(warmup_cosine_factor, total=total, warmup=warmup, start_factor=start,
                               decay_start=decay_start)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
