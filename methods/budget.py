"""The training budget of each preset, shared by the self-supervised transformer methods (S²Former and MAE).

A comparison of two pretrain-then-fine-tune methods says something about their *ideas* only when
both saw as much: the same number of source samples in the same number of optimiser updates, then
the same number of fine-tuning updates under the same recipe. Counting passes over the source
instead ("4 epochs") makes the budget depend on the scene: on Salinas-A's right half (3,569 pixels)
four passes are 14,276 samples, on Pavia University 830,000. So the budget is stated here once,
in samples and steps, and both methods' presets read it (:func:`s2former_budget_keys`,
:func:`mae_budget_keys`); a test checks they agree.

Fine-tuning uses one recipe for both (:mod:`hsibench.methods.lr_schedule`,
:func:`~hsibench.methods.optimization.adamw_without_norm_decay`): AdamW (β = 0.9, 0.999), weight
decay on weight matrices only, a linear warm-up over the first 5 % of the updates that starts
above zero, then a cosine to zero; same epochs, batch size and peak learning rate. Each method's
own choices beyond the budget (depth, mask ratio, DAFT) stay its own, and ``hsibench tune`` gives
each the same number of trials on validation pixels to move them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TransferBudget:
    """What one pretrain-then-fine-tune trial may spend."""

    pretrain_steps: int  # optimiser updates of source pretraining
    pretrain_batch_size: int  # source patches per update
    finetune_epochs: int  # passes over the support set (one update per batch)
    finetune_batch_size: int
    finetune_learning_rate: float  # peak of the shared warm-up + cosine recipe

    def __post_init__(self) -> None:
        for name in ("pretrain_steps", "pretrain_batch_size", "finetune_epochs", "finetune_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"a budget's {name} must be >= 1, got {getattr(self, name)}")

    @property
    def pretrain_samples_seen(self) -> int:
        return self.pretrain_steps * self.pretrain_batch_size

    def describe(self) -> str:
        return (f"pretraining {self.pretrain_steps:,} steps × {self.pretrain_batch_size} = "
                f"{self.pretrain_samples_seen:,} source samples; fine-tuning {self.finetune_epochs} epochs at batch "
                f"{self.finetune_batch_size}, peak learning rate {self.finetune_learning_rate:g}")


#: preset name → budget. ``paper``: MAE's 10,000 updates of 256 and the 200 fine-tuning epochs of our reading of
#: S²Former; ``cpu``: sized for 2 CPU cores (a Salinas-A pretraining in a few minutes); ``smoke``: seconds on demo.
BUDGETS: dict[str, TransferBudget] = {
    "paper": TransferBudget(10_000, 256, 200, 32, 5e-4),
    "cpu": TransferBudget(300, 128, 100, 32, 5e-4),
    "smoke": TransferBudget(60, 64, 60, 32, 3e-3),
}


def s2former_budget_keys(preset: str) -> dict[str, Any]:
    """S²Former's config keys of a preset's budget."""
    budget = BUDGETS[preset]
    return {"pretrain_steps": budget.pretrain_steps, "pretrain_batch_size": budget.pretrain_batch_size,
            "finetune_epochs": budget.finetune_epochs, "finetune_batch_size": budget.finetune_batch_size,
            "finetune_lr": budget.finetune_learning_rate}


def mae_budget_keys(preset: str) -> dict[str, Any]:
    """MAE's config keys of a preset's budget (its fine-tuning runs the shared supervised loop's keys)."""
    budget = BUDGETS[preset]
    return {"pretrain_steps": budget.pretrain_steps, "pretrain_batch_size": budget.pretrain_batch_size,
            "epochs": budget.finetune_epochs, "batch_size": budget.finetune_batch_size,
            "learning_rate": budget.finetune_learning_rate}
