"""Small shared pieces of training and inference that every deep method uses.

Kept here once so that S²Former and the baselines train, seed and predict the same way: the
differences between methods in a table are then the methods', not their loops'.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator

import numpy as np
import torch

from hsibench.protocol import Domain

_numpy_only_seeding = False


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy's legacy generator and torch, so a trial does not depend on earlier trials.

    Inside :func:`numpy_only_seeding` (the audit's RNG-chaining habit) only NumPy is reseeded.
    """
    np.random.seed(seed % 2**32)
    if not _numpy_only_seeding:
        random.seed(seed)
        torch.manual_seed(seed)


@contextlib.contextmanager
def numpy_only_seeding() -> Iterator[None]:
    """Reseed only NumPy's generator while inside, as the published DCFSL code does between its runs.

    That code calls ``np.random.seed`` per run and never seeds torch or Python, so run k's weight initialisation,
    dropout and sampling continue the streams runs 0…k−1 left behind. ``hsibench audit`` measures what that does
    by running its ``rng_chaining`` trials in order in one process inside this context
    (``hsibench/runner/chain.py``); every other trial is seeded whole.
    """
    global _numpy_only_seeding
    before, _numpy_only_seeding = _numpy_only_seeding, True
    try:
        yield
    finally:
        _numpy_only_seeding = before


def numpy_only_seeding_active() -> bool:
    return _numpy_only_seeding


def autocast_dtype(device: torch.device, enabled: bool) -> torch.dtype | None:
    """The dtype mixed precision computes in: bf16 on CUDA where supported, else fp16; ``None`` (full fp32) on the CPU.

    The one place that decides it: :func:`autocast` runs in this dtype, and
    :func:`~hsibench.methods.optimization.needs_loss_scaling` reads it to decide on a GradScaler.
    """
    if enabled and device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """Autocast in :func:`autocast_dtype` when enabled on CUDA, a no-op on the CPU."""
    dtype = autocast_dtype(device, enabled)
    return contextlib.nullcontext() if dtype is None else torch.autocast("cuda", dtype=dtype)


def to_device(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Pinned, asynchronous host→device copy on CUDA; unchanged on the CPU."""
    if device.type == "cuda":
        return batch.pin_memory().to(device, non_blocking=True)
    return batch


def minibatches(count: int, batch_size: int, generator: torch.Generator, epochs: int = 1,
                drop_last: bool = False) -> Iterator[torch.Tensor]:
    """Index batches over ``count`` items, reshuffled every epoch with ``generator``."""
    for _ in range(epochs):
        order = torch.randperm(count, generator=generator)
        stop = count - count % batch_size if drop_last and count >= batch_size else count
        for start in range(0, stop, batch_size):
            yield order[start: start + batch_size]


@torch.no_grad()
def predict_in_batches(forward: Callable[[torch.Tensor], torch.Tensor], domain: Domain, coords: np.ndarray,
                       device: torch.device, batch_size: int = 1024, amp: bool = False) -> np.ndarray:
    """Arg-max class indices for ``coords``; at most ``batch_size`` patches exist at any time.

    ``forward`` takes a batch of patches (n, S, S, B) on ``device`` and returns logits (n, K).
    """
    predictions = np.empty(len(coords), np.int64)
    for index, patches in domain.patches.batches(np.asarray(coords), batch_size):
        with autocast(device, amp):
            logits = forward(to_device(patches, device))
        predictions[index] = logits.argmax(dim=1).cpu().numpy()
    return predictions
