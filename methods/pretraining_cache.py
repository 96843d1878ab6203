"""A content-addressed store of source pretrainings, shared by every trial that needs the same one.

The key is a hash of (source scene content, pretraining config, pretraining seed, the code's
fingerprint): fine-tuning
seeds do not enter it, so ten seeds of a protocol pretrain once. Concurrent trials (Ray workers,
several ``hsibench`` processes) take an exclusive file lock per key, so the second waits and
then reads what the first wrote; the checkpoint is written to a temporary file and renamed, so
a crash never leaves a truncated checkpoint behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock

log = logging.getLogger(__name__)


#: id(tensor) → (the tensor's version counter when hashed, digest); entries leave with their tensor
_DIGESTS: dict[int, tuple[int, str]] = {}


def array_digest(array: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(array.shape).encode())
    digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return digest.hexdigest()


def domain_digest(patches_padded: torch.Tensor) -> str:
    """Hash of a (normalised, padded) source cube's bytes: equal data ⇔ equal digest.

    Memoised per tensor and its version counter (which every in-place change bumps): planning an
    ablation grid whose trials share one source hashes it once, not once per trial (~0.13 s each
    at Pavia-University size).
    """
    key = id(patches_padded)
    cached = _DIGESTS.get(key)
    if cached is not None and cached[0] == patches_padded._version:
        return cached[1]
    digest = array_digest(patches_padded.numpy())
    if cached is None:
        weakref.finalize(patches_padded, _DIGESTS.pop, key, None)
    _DIGESTS[key] = (patches_padded._version, digest)
    return digest


def pretraining_key(method_family: str, source_digest: str, config: dict[str, Any], seed: int, code: str,
                    precision: str = "fp32") -> str:
    """A stable hex key over JSON-serialisable parts; ``code`` is the fingerprint of the pretraining's code
    (:meth:`Method.code_digest`), so a pretraining made by other code is never reused, and ``precision`` the
    dtype it trained in (a bf16 pretraining is another checkpoint; fp32 keys are those made before it existed)."""
    parts = {"family": method_family, "source": source_digest, "config": config, "seed": seed, "code": code}
    if precision != "fp32":
        parts["precision"] = precision
    payload = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    # filelock, not fcntl: the same exclusive lock on Windows (where fcntl does not exist) as on POSIX
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock_path):
        yield


class PretrainingCache:
    """``get_or_compute(key, compute)`` → the stored state, computing and storing it at most once."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.pt"

    def contains(self, key: str) -> bool:
        return self.path(key).is_file()

    def get_or_compute(self, key: str, compute: Callable[[], dict], describe: dict | None = None) -> tuple[dict, bool]:
        """(state, computed_now). ``describe`` is written beside the checkpoint as JSON, for people."""
        target = self.path(key)
        with _exclusive(self.root / f"{key}.lock"):
            if target.is_file():
                log.info("pretraining %s found in cache %s", key, self.root)
                return torch.load(target, map_location="cpu", weights_only=False), False
            state = compute()
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            torch.save(state, temporary)
            temporary.replace(target)
            if describe is not None:
                (self.root / f"{key}.json").write_text(json.dumps(describe, indent=2, sort_keys=True, default=str))
            return state, True
