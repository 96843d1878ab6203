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

from hsibench.errors import HsibenchError
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


#: ``--precision`` name → the dtype autocast computes in (``None``: no autocast, full float32)
PRECISION_DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
#: CPU features with native bfloat16 arithmetic (oneDNN's bf16 matmul and convolution kernels use them)
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


class PrecisionError(HsibenchError, ValueError):
    """A precision the device cannot compute in; the message names the device, what it lacks, and what to ask for."""


def cpu_bf16_support() -> tuple[str, ...]:
    """The CPU's native-bf16 ISA features (``amx_bf16``, ``avx512_bf16``); empty where it has none."""
    from hsibench.provenance.machine import cpu_description

    return tuple(flag for flag in CPU_BF16_FLAGS if flag in cpu_description()[1])


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse, before a trial trains, a precision ``device`` cannot run natively.

    fp32 runs everywhere; bf16 on CUDA GPUs that support it and on CPUs with ``amx_bf16`` or ``avx512_bf16``
    (elsewhere torch would emulate it, slower than fp32 and with the same rounding loss); fp16 on CUDA only
    (the CPU has no fp16 autocast worth having).
    """
    if precision not in PRECISION_DTYPES:
        raise PrecisionError(f"unknown precision {precision!r}; valid: {', '.join(PRECISION_DTYPES)}")
    if precision == "fp32":
        return
    if device.type == "cuda":
        if precision == "bf16" and not torch.cuda.is_bf16_supported():
            raise PrecisionError(f"{torch.cuda.get_device_name(device)} has no bfloat16 support; "
                                 "use --precision fp16 (or fp32)")
        return
    if device.type != "cpu" or precision == "fp16":
        raise PrecisionError(f"precision {precision} is not offered on {device.type}; use --precision fp32"
                             + (" (or bf16 where the CPU has amx_bf16/avx512_bf16)" if device.type == "cpu" else ""))
    if not cpu_bf16_support():
        from hsibench.provenance.machine import cpu_description

        raise PrecisionError(f"this CPU ({cpu_description()[0] or 'unknown model'}) has neither amx_bf16 nor "
                             "avx512_bf16, so bfloat16 would be emulated (slower than fp32); use --precision fp32")


#: what ``--precision auto`` asks for on the CPU. fp32, from ``python -m benchmarks.bench_precision`` (2-core AMD EPYC
#: with avx512_bf16, no AMX, 1 thread, ``cpu`` presets on sa_a_r2l): bf16 infers 1.3–1.36× faster but trains at 0.60×
#: (S²Former 72 vs 120 samples/s, MAE 208 vs 351), so a bf16 trial takes longer (S²Former's adapt 48 vs 31 s), while
#: OA does not change (paired over ten seeds: S²Former +0.10 points, p = 0.85; MAE 0.00). bf16 stays one flag away
#: (``--precision bf16``) for CPUs where it pays, e.g. with AMX; benchmarks/RESULTS.md has the figures.
CPU_DEFAULT_PRECISION = "fp32"


def choose_precision(requested: str, device: str, gpus_per_trial: float = 0.0) -> str:
    """A concrete precision for ``--precision`` (``auto`` or a name), decided where the campaign is planned.

    ``auto``: on CUDA (``--device cuda``, or ``auto`` with a GPU per trial or visible here) bf16 where the GPU
    supports it, else fp16; on the CPU :data:`CPU_DEFAULT_PRECISION`. A name is returned as it is (checked on the
    trial's device when it runs). Resolving here, not on the worker, keeps every trial of a campaign in one
    precision and its run ids known before anything runs.
    """
    if requested != "auto":
        if requested not in PRECISION_DTYPES:
            raise PrecisionError(f"--precision {requested!r}: valid: auto, {', '.join(PRECISION_DTYPES)}")
        return requested
    cuda = device.startswith("cuda") or (device == "auto" and (gpus_per_trial > 0 or torch.cuda.is_available()))
    if not cuda:
        return CPU_DEFAULT_PRECISION
    return "fp16" if torch.cuda.is_available() and not torch.cuda.is_bf16_supported() else "bf16"


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The dtype training and inference compute in (``None``: full fp32) — the one place that decides it:
    :func:`autocast` runs in it, and :func:`~hsibench.methods.optimization.needs_loss_scaling` reads it to
    decide on a GradScaler."""
    if precision not in PRECISION_DTYPES:
        raise PrecisionError(f"unknown precision {precision!r}; valid: {', '.join(PRECISION_DTYPES)}")
    return PRECISION_DTYPES[precision]


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` in :func:`autocast_dtype` on the device's type (CPU or CUDA); a no-op at fp32.

    Autocast computes matrix products and convolutions in the reduced dtype and keeps reductions, norms,
    softmax and losses in float32 (torch's per-op lists), so parameters and optimiser state stay float32.
    """
    dtype = autocast_dtype(device, precision)
    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)


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
                       device: torch.device, batch_size: int = 1024, precision: str = "fp32") -> np.ndarray:
    """Arg-max class indices for ``coords``; at most ``batch_size`` patches exist at any time.

    ``forward`` takes a batch of patches (n, S, S, B) on ``device`` and returns logits (n, K).
    """
    predictions = np.empty(len(coords), np.int64)
    for index, patches in domain.patches.batches(np.asarray(coords), batch_size):
        with autocast(device, precision):
            logits = forward(to_device(patches, device))
        predictions[index] = logits.argmax(dim=1).cpu().numpy()
    return predictions
