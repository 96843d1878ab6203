"""The one interface every method implements, so the runner never special-cases a method.

A trial is: ``prepare(source)`` (pretraining on the source scene, possibly nothing) →
``adapt(task)`` (learning from the target's support set) → ``predict(domain, coords)``
(labels for the requested target pixels, in memory-bounded batches). The runner builds the
:class:`~hsibench.protocol.Domain` views, so a method receives source labels only when its
:class:`MethodInfo` says it uses them, and never receives target test labels at all.

The source is one :class:`~hsibench.protocol.Domain`, or — for a protocol that lists several
``sources`` — a :class:`~hsibench.protocol.PooledSource` of one domain per scene. Only a method that
sets ``accepts_pooled_sources`` is given one (the runner refuses the others before anything runs);
:func:`source_content_digest` is the content address of either.
"""

from __future__ import annotations

import abc
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from hsibench.methods.info import MethodInfo
from hsibench.methods.pretraining_cache import array_digest, domain_digest
from hsibench.methods.validation import CheckpointProbe
from hsibench.protocol import Domain, FewShotTask, PooledSource, PooledSourceRefused, Source, source_domains
from hsibench.provenance import code_fingerprint

log = logging.getLogger(__name__)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU; anything else is passed to :class:`torch.device`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was requested but CUDA is not available on this machine; use --device cpu")
    return device


def default_inference_batch_size(device: torch.device, precision: str = "fp32") -> int:
    """Patches per inference batch: 1024 keeps a GPU busy; on the CPU, the fastest of 64–512 per precision.

    On the CPU, smaller batches keep a step's activations in cache, and from 512 patches on S²Former's MLP
    activations (~42 MB at 512, ~85 MB at 1024) exceed glibc's 32 MB mmap threshold, so every batch maps
    fresh pages and faults them in. ``benchmarks/bench_hardware.py`` measures 64, 128, 256 and 512 at fp32
    and bf16 side by side (``inference <precision>: fastest batch size``). On one core of an AVX-512 EPYC,
    fp32 is fastest at 64 (128 within ~4 %, 256 ~9 % slower, 512 ~17 %); bf16 at 256–512 (64 ~12 % slower),
    and 256 stays clear of the page faults. Predictions do not depend on it.
    """
    if torch.device(device).type == "cuda":
        return 1024
    return {"bf16": 256}.get(precision, 64)


def _no_progress(**_: Any) -> None:
    return None


@dataclass
class RunContext:
    """What a method gets from the runner besides data.

    ``cache_dir`` holds content-addressed pretraining checkpoints shared by trials;
    ``progress`` receives keyword updates (``stage``, ``epoch``, ``epochs``, ``loss``) for the
    live display; ``precision`` (fp32, bf16, fp16) is the dtype training and inference autocast to
    (:func:`~hsibench.methods.training.autocast`), already the method's :meth:`Method.effective_precision`.
    """

    seed: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "hsibench" / "pretraining")
    progress: Callable[..., None] = _no_progress
    precision: str = "fp32"
    inference_batch_size: int = 0  # 0: default_inference_batch_size(device, precision)
    # `hsibench audit`'s test-checkpoint habit only (methods/validation.py): None in every other trial
    checkpoint_probe: CheckpointProbe | None = None

    def __post_init__(self) -> None:
        if self.inference_batch_size <= 0:
            self.inference_batch_size = default_inference_batch_size(self.device, self.precision)

    def generator(self, offset: int = 0) -> torch.Generator:
        """A torch generator seeded from the trial seed (``offset`` separates independent streams)."""
        generator = torch.Generator()
        generator.manual_seed(self.seed * 1_000_003 + offset)
        return generator

    def numpy_rng(self, offset: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.seed, offset])


def source_content_digest(source: Source) -> str:
    """Content hash of what a pretraining reads from its source, without labels.

    One domain: the hash of its normalised, padded cube — and of its valid-pixel mask when it has one
    (which pixels are samples). Several: one hash over the ordered list of theirs. A single source
    without a mask hashes exactly as before pooled sources and masks existed.
    """
    digests = []
    for domain in source_domains(source):
        digest = domain_digest(domain.patches.padded)
        if domain.valid_mask is not None:
            digest = hashlib.blake2b(f"{digest}|mask {array_digest(domain.valid_mask)}".encode(), digest_size=16).hexdigest()
        digests.append(digest)
    if len(digests) == 1:
        return digests[0]
    return hashlib.blake2b("|".join(digests).encode(), digest_size=16).hexdigest()


def wavelengths_digest(source: Source) -> list[str]:
    """Hash of each source domain's band centres (what a wavelength-grid resampling depends on)."""
    return [array_digest(np.asarray(d.wavelengths_nm, np.float64)) if d.wavelengths_nm is not None else "none"
            for d in source_domains(source)]


class Method(abc.ABC):
    """Base class of every registered method.

    Subclasses set ``info`` through :func:`~hsibench.methods.registry.register_method` and
    receive their resolved config (a dataclass instance) and the :class:`RunContext`.
    ``accepts_pooled_sources``: ``prepare`` may be given a :class:`~hsibench.protocol.PooledSource`.
    """

    info: ClassVar[MethodInfo]
    accepts_pooled_sources: ClassVar[bool] = False
    #: whether the trial's ``--precision`` reaches this method's arithmetic; False (the scikit-learn methods):
    #: it computes as it always does, so its trials are fp32 whatever is asked and keep one run id
    follows_precision: ClassVar[bool] = True

    def __init__(self, config: Any, context: RunContext) -> None:
        self.config = config
        self.context = context

    @classmethod
    def effective_precision(cls, config: Any, requested: str) -> str:
        """The precision this method computes in when a trial asks for ``requested`` (what the record and run
        id say); fp32 for a method that does not follow the trial's precision."""
        return requested if cls.follows_precision else "fp32"

    @classmethod
    def code_digest(cls) -> str:
        """Fingerprint of the code a pretraining of this method depends on (its files, shared blocks, data layers)."""
        return code_fingerprint(cls.__module__, scoring=False).digest

    def single_source(self, source: Source) -> Domain:
        """``source`` as the one domain a method without ``accepts_pooled_sources`` learns from; a clear error
        for a pooled source (the runner refuses such trials at planning; this guards direct calls)."""
        if isinstance(source, PooledSource):
            reason = "uses source labels" if self.info.uses_source_labels else "learns from one source scene"
            raise PooledSourceRefused(f"method {self.info.name!r} {reason}, but was given {len(source.domains)} "
                                      f"pooled sources ({source.name}); run it on a single-source protocol")
        return source

    def pretraining_key(self, source: Source) -> str | None:
        """Content address of this method's source pretraining, or ``None`` when it has none.

        Trials with equal keys share one pretraining; the runner computes it once, first.
        """
        return None

    def prepare(self, source: Source) -> None:  # noqa: B027 — optional hook
        """Learn from the source scene(s) (labels present only if ``info.uses_source_labels``)."""

    @abc.abstractmethod
    def adapt(self, task: FewShotTask) -> None:
        """Learn from the target support set (and validation set, when the protocol has one)."""

    @abc.abstractmethod
    def predict(self, domain: Domain, coords: np.ndarray) -> np.ndarray:
        """Class indices (n,) for the pixels ``coords`` (n, 2) of ``domain``, in memory-bounded batches."""

    def training_budget(self) -> dict[str, int]:
        """What this trial spent, in samples and optimiser updates (after ``adapt``; the runner writes it into the
        record, so a table's budgets are read, not assumed). Keys: ``pretrain_steps``, ``pretrain_batch_size``,
        ``pretrain_samples_seen``, ``finetune_epochs``, ``finetune_batch_size``, ``finetune_updates``, or
        ``episodes`` — whichever apply; empty for a method without iterative training."""
        return {}

    @abc.abstractmethod
    def state_dict(self) -> dict:
        """Everything needed to predict again after :meth:`load_state_dict` (tensors and plain data)."""

    @abc.abstractmethod
    def load_state_dict(self, state: dict) -> None:
        ...

    def save(self, path: str | Path) -> None:
        """Checkpoint written atomically (temporary file + rename): a crash never leaves a half file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        torch.save({"method": self.info.name, "state": self.state_dict()}, temporary)
        temporary.replace(path)

    def load(self, path: str | Path) -> None:
        checkpoint = torch.load(Path(path), map_location="cpu", weights_only=False)
        if checkpoint.get("method") != self.info.name:
            raise ValueError(f"{path} is a checkpoint of {checkpoint.get('method')!r}, not of {self.info.name!r}")
        self.load_state_dict(checkpoint["state"])
