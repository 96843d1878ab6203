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
from hsibench.methods.optimization import OptimizerStep
from hsibench.methods.pretraining_cache import PretrainingCache, pretraining_key
from hsibench.methods.training import autocast, minibatches, predict_in_batches, seed_everything, to_device
from hsibench.protocol import Domain, FewShotTask, PatchSampler, Source, source_domains

OPTIMIZERS = {
    "adam": lambda parameters, lr, weight_decay: torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay),
    "adamw": lambda parameters, lr, weight_decay: torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay),
    "sgd": lambda parameters, lr, weight_decay: torch.optim.SGD(parameters, lr=lr, momentum=0.9, weight_decay=weight_decay),
}


OptimizerName = Literal["adam", "adamw", "sgd"]


@dataclass
class SupervisedConfig:
    """The keys of the support-set training every patch-classifier baseline shares (defaults overridden per method)."""

    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    optimizer: OptimizerName = "adam"
    augment: bool = False  # random flips/transposes of the support patches (none of the published recipes use it)


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

    @staticmethod
    def from_config(config: SupervisedConfig) -> FitSchedule:
        return FitSchedule(config.epochs, config.batch_size, config.learning_rate, config.weight_decay,
                           config.optimizer, config.augment)


def random_dihedral(patches: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each patch ``[N, S, S, B]`` flipped vertically / horizontally / transposed at random (the 8 symmetries of a square)."""
    flips = torch.rand(len(patches), 3, generator=generator) < 0.5
    patches = torch.where(flips[:, 0, None, None, None], patches.flip(1), patches)
    patches = torch.where(flips[:, 1, None, None, None], patches.flip(2), patches)
    return torch.where(flips[:, 2, None, None, None], patches.transpose(1, 2), patches)


def fit_classifier(model: nn.Module, patches: PatchSampler, coords: np.ndarray, labels: np.ndarray,
                   schedule: FitSchedule, context: RunContext, stage: str, stream: int = 0) -> list[float]:
    """Cross-entropy training of ``model`` on the patches around ``coords``; returns the mean loss of each epoch.

    Batches are reshuffled every epoch from the trial's generator (``stream`` separates this
    loop's randomness from other uses); a last batch smaller than ``batch_size`` is dropped so
    batch norm never sees a single sample, except when the whole set is smaller than one batch.
    The model is left in eval mode.
    """
    if len(coords) != len(labels) or len(coords) == 0:
        raise ValueError(f"{stage}: need as many labels as coordinates and at least one of each, got "
                         f"{len(coords)} coordinates and {len(labels)} labels")
    device = context.device
    model.to(device).train()
    optimizer = OPTIMIZERS[schedule.optimizer](model.parameters(), schedule.learning_rate, schedule.weight_decay)
    optimizer_step = OptimizerStep(optimizer, device, context.amp)
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
            with autocast(device, context.amp):
                logits = model(to_device(inputs, device))
            loss = F.cross_entropy(logits.float(), targets[batch].to(device))
            optimizer_step(loss)
            total, batches = total + loss.item(), batches + 1
            if schedule.max_steps is not None and optimizer_step.updates >= schedule.max_steps:
                break
        epoch_losses.append(total / max(batches, 1))
        context.progress(stage=stage, epoch=epoch + 1, epochs=schedule.epochs, loss=epoch_losses[-1])
        if schedule.max_steps is not None and optimizer_step.updates >= schedule.max_steps:
            break
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
        fit_classifier(model, task.target.patches, task.support_coords, task.support_labels,
                       FitSchedule.from_config(self.config), self.context, stage="adapt")
        self.model = model

    def predict(self, domain: Domain, coords: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError(f"{self.info.name}: predict() before adapt() or load()")
        if domain.bands != self.architecture["bands"]:
            raise ValueError(f"{self.info.name}: the model was adapted to {self.architecture['bands']} bands, "
                             f"but {domain.name} has {domain.bands}")
        self.model.to(self.context.device).eval()
        return predict_in_batches(self.model, domain, coords, self.context.device,
                                  self.context.inference_batch_size, self.context.amp)

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
                               self.config.pretrain_seed, self.code_digest())

    def prepare(self, source: Source) -> None:
        source = self._source(source)
        patch_size = source_domains(source)[0].patches.patch_size
        describe = {"method": self.pretraining_family, "source": source.name,
                    "config": self.pretraining_config(source), "pretrain_seed": self.config.pretrain_seed}
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
