"""Diffusion-Aligned Fine-Tuning (DAFT, docs/interpretation.md §7): diffusion schedule, EMA teacher, alignment loss.

*Paper*: a teacher–student distillation during fine-tuning that "aligns semantic evolution
trajectories", for robust transfer with few labels. *Ours* (each choice a config key):

- Student = pretrained encoder + classifier head; teacher = exponential moving average of the
  student (``daft_momentum`` 0.99, timm's ``ModelEmaV3``, with its decay warm-up: ``daft_ema_warmup``),
  started after the linear probe and never receiving gradients.
- Inputs travel along a diffusion trajectory x_t = √ᾱ_t·x + √(1−ᾱ_t)·ε with the cosine schedule
  of Nichol & Dhariwal (2021), T = ``daft_steps`` (10), ᾱ_0 = 1 (the clean patch). Student and
  teacher see the *same* ε, so x_{t−1} is the same sample one step less noisy.
- The student's pooled features at a uniformly drawn t ∈ {1…T} are aligned to the teacher's at
  t − 1 (``daft_align``: ``cosine`` = 1 − cos, or ``mse`` between L2-normalised features), so
  representations evolve consistently from noisy to clean.
- L = CE(support) + λ_daft·L_align (``daft_weight`` 1.0); the loop lives in :mod:`.finetuning`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from timm.utils import ModelEmaV3
from torch import nn


def cosine_alpha_bar(steps: int, offset: float = 0.008) -> torch.Tensor:
    """ᾱ_t for t = 0…T (T = ``steps``) of the cosine schedule; ᾱ_0 = 1, decreasing, ᾱ_T ≈ 0."""
    if steps < 1:
        raise ValueError(f"daft_steps must be >= 1, got {steps}")
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + offset) / (1 + offset) * math.pi / 2) ** 2
    return (f / f[0]).clamp(min=0.0, max=1.0).float()


def diffuse(x: torch.Tensor, t: torch.Tensor, alpha_bar: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """x_t = √ᾱ_t·x + √(1−ᾱ_t)·ε for per-sample steps ``t`` [N]; x and noise [N, ...]."""
    a = alpha_bar.to(x.device)[t].view(-1, *([1] * (x.dim() - 1)))
    return a.sqrt() * x + (1 - a).sqrt() * noise


class EMATeacher(nn.Module):
    """The EMA copy of the student (timm ModelEmaV3), frozen: no parameter of it ever requires grad.

    With ``warmup`` the decay ramps as timm's EMA warm-up, ``1 − (1 + k)^(−3/4)`` at update k + 1 (the first copies the student), capped at
    ``momentum`` (reached after ~460 updates at 0.99): a fixed 0.99 from the first update keeps 0.99^k of the
    starting copy — after a 100-update fine-tuning still 37 % of it — so the teacher a short run distils from
    would be mostly where the student began. timm's docs suggest the power 3/4 for runs of fewer updates.
    """

    WARMUP_POWER = 0.75

    def __init__(self, student: nn.Module, momentum: float, warmup: bool = False) -> None:
        super().__init__()
        if not 0 <= momentum < 1:
            raise ValueError(f"daft_momentum must lie in [0, 1), got {momentum}")
        self.ema = ModelEmaV3(student, decay=momentum, use_warmup=warmup, warmup_power=self.WARMUP_POWER)
        self.ema.module.requires_grad_(False)
        self.warmup, self.updates = warmup, 0

    @property
    def module(self) -> nn.Module:
        return self.ema.module

    @torch.no_grad()
    def update(self, student: nn.Module) -> None:
        """teacher ← decay·teacher + (1 − decay)·student (parameters and float buffers); decay = momentum, or its warm-up."""
        self.updates += 1
        self.ema.update(student, step=self.updates if self.warmup else None)

    @torch.no_grad()
    def features(self, patches: torch.Tensor) -> torch.Tensor:
        return self.module.forward_head(self.module.forward_features(patches), pre_logits=True)


def cosine_alignment(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    return (1 - F.cosine_similarity(student.float(), teacher.float(), dim=-1)).mean()


def mse_alignment(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(F.normalize(student.float(), dim=-1), F.normalize(teacher.float(), dim=-1))


#: ``daft_align`` → loss(student features [N, F], teacher features [N, F]); the teacher side is detached.
ALIGNMENT_LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cosine": cosine_alignment, "mse": mse_alignment,
}


class DiffusionAlignment:
    """L_align for one batch: student at x_t vs (frozen) teacher at x_{t−1}, same noise."""

    def __init__(self, steps: int, align: str) -> None:
        if align not in ALIGNMENT_LOSSES:
            raise ValueError(f"daft_align must be one of {sorted(ALIGNMENT_LOSSES)}, got {align!r}")
        self.steps, self.alpha_bar, self.loss = steps, cosine_alpha_bar(steps), ALIGNMENT_LOSSES[align]

    def __call__(self, student: nn.Module, teacher: EMATeacher, patches: torch.Tensor) -> torch.Tensor:
        t = torch.randint(1, self.steps + 1, (patches.shape[0],), device=patches.device)
        noise = torch.randn_like(patches)
        noisier = diffuse(patches, t, self.alpha_bar, noise)
        cleaner = diffuse(patches, t - 1, self.alpha_bar, noise)
        student_features = student.forward_head(student.forward_features(noisier), pre_logits=True)
        return self.loss(student_features, teacher.features(cleaner).detach())
