"""The one supervised loop: train a patch classifier on labelled patches, and the method shell around it.

HybridSN, SSFTT, supervised fine-tuning and the MAE baseline all end the same way: a network
that maps patches ``[N, S, S, B]`` to logits is trained with cross-entropy on the target's
support set, then predicts every requested pixel. Writing that loop once means a difference
between these baselines in a table comes from their networks and pretraining, not from four
slightly different loops. The same :func:`fit_classifier` also does supervised pretraining on a
labelled source scene (``finetune``), where the patches are gathered batch by batch so the
source's patches never sit in memory all at once.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hsibench.methods.base import Method, RunContext, source_content_digest
from hsibench.methods.lr_schedule import warmup_cosine_scheduler
from hsibench.methods.optimization import OptimizerStep, weight_decay_groups
from hsibench.methods.pretraining_cache import PretrainingCache, pretraining_key
from hsibench.methods.registry import when_changed
from hsibench.methods.training import autocast, minibatches, predict_in_batches, seed_everything, to_device
from hsibench.methods.validation import CheckpointSelection, validation_selection
from hsibench.protocol import Domain, FewShotTask, PatchSampler, Source, source_domains

OPTIMIZERS = {
    "adam": lambda parameters, lr, weight_decay: torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay),
    "adamw": lambda parameters, lr, weight_decay: torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay),
    "sgd": lambda parameters, lr, weight_decay: torch.optim.SGD(parameters, lr=lr, momentum=0.9, weight_decay=weight_decay),
}


OptimizerName = Literal["adam", "adamw", "sgd"]
LRScheduleName = Literal["constant", "warmup_cosine"]


@dataclass
class SupervisedConfig:
    """The keys of the support-set training every patch-classifier baseline shares (defaults overridden per method)."""

    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    optimizer: OptimizerName = "adam"
    augment: bool = False  # random flips/transposes of the support patches (none of the published recipes use it)
    # keys added with the shared fine-tuning recipe and validation selection (in run ids only when changed):
    # "constant": the learning rate throughout (the published CNN recipes); "warmup_cosine": the transformer
    # recipe of methods/budget.py (warm-up over `warmup_fraction` of the updates from `warmup_start_factor`)
    lr_schedule: LRScheduleName = when_changed("constant")
    warmup_fraction: float = when_changed(0.05)
    warmup_start_factor: float | None = when_changed(None)  # None: 1/(warm-up updates + 1), above 0
    weight_decay_on_norms: bool = when_changed(True)  # False: decay weight matrices only (weight_decay_groups)
    # keep the epoch with the best accuracy on the task's validation pixels (methods/validation.py)
    select_on_validation: bool = when_changed(True)
    validation_interval: int = when_changed(10)  # epochs between validation checks


@dataclass
class PCAInputConfig(SupervisedConfig):
    """The target-only baselines that reduce bands by a PCA fitted on the target's own unlabeled pixels."""

    pca_components: int | None = 30  # None: use every band
    pca_whiten: bool = True
    pca_max_pixels: int | None = 200_000


@dataclass(frozen=True)
class FitSchedule:
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 0.0
    optimizer: str = "adam"
    augment: bool = False
    max_steps: int | None = None  # stop early after this many optimiser steps (pretraining budgets)
    lr_schedule: str = "constant"
    warmup_fraction: float = 0.05
    warmup_start_factor: float | None = None
    weight_decay_on_norms: bool = True

    @staticmethod
    def from_config(config: SupervisedConfig) -> FitSchedule:
        return FitSchedule(config.epochs, config.batch_size, config.learning_rate, config.weight_decay,
                           config.optimizer, config.augment, lr_schedule=config.lr_schedule,
                           warmup_fraction=config.warmup_fraction, warmup_start_factor=config.warmup_start_factor,
                           weight_decay_on_norms=config.weight_decay_on_norms)

    def updates(self, count: int) -> int:
        """Optimiser updates of a fit on ``count`` samples (last partial batches dropped, as :func:`fit_classifier`)."""
        per_epoch = count // self.batch_size if count >= self.batch_size else 1
        total = self.epochs * per_epoch
        return total if self.max_steps is None else min(total, self.max_steps)

    def make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        parameters = model.parameters() if self.weight_decay_on_norms else weight_decay_groups(model, self.weight_decay)
        return OPTIMIZERS[self.optimizer](parameters, self.learning_rate, self.weight_decay)

    def make_scheduler(self, optimizer: torch.optim.Optimizer, count: int) -> torch.optim.lr_scheduler.LRScheduler | None:
        """``None`` for a constant learning rate, else the shared warm-up + cosine over every update of the fit."""
        if self.lr_schedule == "constant":
            return None
        if self.lr_schedule != "warmup_cosine":
            raise ValueError(f"lr_schedule must be 'constant' or 'warmup_cosine', got {self.lr_schedule!r}")
        total = self.updates(count)
        return warmup_cosine_scheduler(optimizer, total, int(self.warmup_fraction * total), self.warmup_start_factor)


def random_dihedral(patches: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each patch ``[N, S, S, B]`` flipped vertically / horizontally / transposed at random (the 8 symmetries of a square)."""
    flips = torch.rand(len(patches), 3, generator=generator) < 0.5
    patches = torch.where(flips[:, 0, None, None, None], patches.flip(1), patches)
    patches = torch.where(flips[:, 1, None, None, None], patches.flip(2), patches)
    return torch.where(flips[:, 2, None, None, None], patches.transpose(1, 2), patches)


def fit_classifier(model: nn.Module, patches: PatchSampler, coords: np.ndarray, labels: np.ndarray,
                   schedule: FitSchedule, context: RunContext, stage: str, stream: int = 0,
                   selection: CheckpointSelection | None = None) -> list[float]:
    """Cross-entropy training of ``model`` on the patches around ``coords``; returns the mean loss of each epoch.

    Batches are reshuffled every epoch from the trial's generator (``stream`` separates this
    loop's randomness from other uses); a last batch smaller than ``batch_size`` is dropped so
    batch norm never sees a single sample, except when the whole set is smaller than one batch.
    With a ``selection`` (validation pixels of the target) the best checked epoch's state is restored
    at the end. The model is left in eval mode.
    """
    if len(coords) != len(labels) or len(coords) == 0:
        raise ValueError(f"{stage}: need as many labels as coordinates and at least one of each, got "
                         f"{len(coords)} coordinates and {len(labels)} labels")
    device = context.device
    model.to(device).train()
    optimizer = schedule.make_optimizer(model)
    optimizer_step = OptimizerStep(optimizer, device, context.precision, schedule.make_scheduler(optimizer, len(coords)))
    generator = context.generator(stream)
    coords = np.asarray(coords)
    targets = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    epoch_losses: list[float] = []
    for epoch in range(schedule.epochs):
        total, batches = 0.0, 0
        for batch in minibatches(len(coords), schedule.batch_size, generator, drop_last=True):
            inputs = patches.gather(coords[batch.numpy()])
            if schedule.augment:
                inputs = random_dihedral(inputs, generator)
            with autocast(device, context.precision):
                logits = model(to_device(inputs, device))
            loss = F.cross_entropy(logits.float(), targets[batch].to(device))
            optimizer_step(loss)
            total, batches = total + loss.item(), batches + 1
            if schedule.max_steps is not None and optimizer_step.updates >= schedule.max_steps:
                break
        epoch_losses.append(total / max(batches, 1))
        validation = selection.after_epoch(epoch + 1) if selection is not None else {}
        context.progress(stage=stage, epoch=epoch + 1, epochs=schedule.epochs, loss=epoch_losses[-1], **validation)
        if schedule.max_steps is not None and optimizer_step.updates >= schedule.max_steps:
            break
    if selection is not None:
        selection.restore()
    model.eval()
    return epoch_losses


class PatchClassifierMethod(Method):
    """A method whose target model is one patch classifier trained on the support set by :func:`fit_classifier`.

    Subclasses say how to build the classifier (:meth:`build_classifier`, from sizes only, so a
    checkpoint can rebuild it) and may prepare it from data first (:meth:`initialise`: fit a
    PCA on the target's pixels, load pretrained weights).
    """

    config: SupervisedConfig

    def __init__(self, config: SupervisedConfig, context: RunContext) -> None:
        super().__init__(config, context)
        self.model: nn.Module | None = None
        self.architecture: dict[str, int] = {}
        self.validation: dict | None = None  # the validation selection's summary after adapt (None: no selection)
        self.budget: dict[str, int] = {}  # what adapt spent (training_budget)

    @abc.abstractmethod
    def build_classifier(self, bands: int, num_classes: int, patch_size: int) -> nn.Module:
        """A fresh network for patches ``[N, S, S, bands]`` → logits ``[N, num_classes]``."""

    def initialise(self, model: nn.Module, task: FewShotTask) -> None:  # noqa: B027 — optional hook
        """Data-dependent set-up before training (nothing by default)."""

    def adapt(self, task: FewShotTask) -> None:
        seed_everything(self.context.seed)
        self.architecture = {"bands": task.target.bands, "num_classes": task.num_classes,
                             "patch_size": task.target.patches.patch_size}
        model = self.build_classifier(**self.architecture)
        self.initialise(model, task)
        model.to(self.context.device)
        schedule = FitSchedule.from_config(self.config)
        selection = validation_selection(
            task, model, lambda coords: predict_in_batches(model, task.target, coords, self.context.device,
                                                           self.context.inference_batch_size, self.context.precision),
            self.config.select_on_validation, self.config.validation_interval, self.config.epochs,
            probe=self.context.checkpoint_probe)
        fit_classifier(model, task.target.patches, task.support_coords, task.support_labels,
                       schedule, self.context, stage="adapt", selection=selection)
        self.validation = selection.summary() if selection is not None else None
        self.model = model
        self.budget = {"finetune_epochs": schedule.epochs, "finetune_batch_size": schedule.batch_size,
                       "finetune_updates": schedule.updates(len(task.support_coords))}

    def training_budget(self) -> dict[str, int]:
        return dict(self.budget)

    def predict(self, domain: Domain, coords: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError(f"{self.info.name}: predict() before adapt() or load()")
        if domain.bands != self.architecture["bands"]:
            raise ValueError(f"{self.info.name}: the model was adapted to {self.architecture['bands']} bands, "
                             f"but {domain.name} has {domain.bands}")
        self.model.to(self.context.device).eval()
        return predict_in_batches(self.model, domain, coords, self.context.device,
                                  self.context.inference_batch_size, self.context.precision)

    def state_dict(self) -> dict:
        if self.model is None:
            raise RuntimeError(f"{self.info.name}: nothing to save before adapt()")
        return {"architecture": dict(self.architecture),
                "model": {key: value.detach().cpu() for key, value in self.model.state_dict().items()}}

    def load_state_dict(self, state: dict) -> None:
        self.architecture = dict(state["architecture"])
        model = self.build_classifier(**self.architecture)
        model.load_state_dict(state["model"])
        self.model = model.to(self.context.device).eval()


class PretrainedPatchClassifierMethod(PatchClassifierMethod):
    """A patch classifier whose ``encoder`` comes from a source pretraining kept in the pretraining cache.

    Subclasses implement :meth:`pretrain` (returning at least ``{"encoder": state_dict}``) and
    name the config keys that shape it (``pretraining_keys``); the key of the cache is
    (source content, those keys, the patch size, ``pretrain_seed``) — never the trial seed, so
    every seed of a protocol shares one pretraining. ``build_classifier`` must give the
    model an ``encoder`` of the pretrained architecture. The source is one domain unless the
    subclass sets ``accepts_pooled_sources`` (then it may be a pooled source of several).
    """

    pretraining_family: ClassVar[str]
    pretraining_keys: ClassVar[tuple[str, ...]]

    def __init__(self, config: SupervisedConfig, context: RunContext) -> None:
        super().__init__(config, context)
        self.pretrained: dict | None = None

    @abc.abstractmethod
    def pretrain(self, source: Source, context: RunContext) -> dict:
        """Train on the source; ``context.seed`` is the pretraining seed."""

    def _source(self, source: Source) -> Source:
        return source if self.accepts_pooled_sources else self.single_source(source)

    def source_digest(self, source: Source) -> str:
        """What of the source the pretraining depends on (its cube and valid mask; subclasses using labels add them)."""
        return source_content_digest(source)

    def pretraining_config(self, source: Source) -> dict:
        return {**{key: getattr(self.config, key) for key in self.pretraining_keys},
                "patch_size": source_domains(source)[0].patches.patch_size}

    def pretraining_key(self, source: Source) -> str:
        source = self._source(source)
        return pretraining_key(self.pretraining_family, self.source_digest(source), self.pretraining_config(source),
                               self.config.pretrain_seed, self.code_digest(), self.context.precision)

    def prepare(self, source: Source) -> None:
        source = self._source(source)
        patch_size = source_domains(source)[0].patches.patch_size
        describe = {"method": self.pretraining_family, "source": source.name,
                    "config": self.pretraining_config(source), "pretrain_seed": self.config.pretrain_seed,
                    "precision": self.context.precision}
        context = dataclasses.replace(self.context, seed=self.config.pretrain_seed)
        state, _ = PretrainingCache(self.context.cache_dir).get_or_compute(
            self.pretraining_key(source), lambda: {**self.pretrain(source, context), "patch_size": patch_size}, describe)
        self.pretrained = state

    def initialise(self, model: nn.Module, task: FewShotTask) -> None:
        name = self.info.name
        if self.pretrained is None:
            raise RuntimeError(f"{name}: adapt() before prepare(source) — the source pretraining is missing")
        if self.pretrained["patch_size"] != task.target.patches.patch_size:
            raise ValueError(f"{name}: pretrained on {self.pretrained['patch_size']}-pixel patches, the target task "
                             f"uses {task.target.patches.patch_size}; both scenes must share the protocol's patch size")
        model.encoder.load_state_dict(self.pretrained["encoder"])
