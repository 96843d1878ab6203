"""``finetune`` — supervised pretraining on the labelled source scene, then fine-tuning on the target support set.

Reference: the standard transfer-learning baseline (J. Yosinski, J. Clune, Y. Bengio, H. Lipson,
"How transferable are features in deep neural networks?", NeurIPS 2014): train a network on a
labelled source task, keep its feature extractor, and train it further with a new head on the
target task. No paper fixes this baseline for hyperspectral few-shot transfer, so the design is
ours and chosen to match DCFSL, the other source-label method, part for part:

- network: a per-scene mapping layer (1×1 linear + batch norm, bands → 100), DCFSL's 3-D
  residual embedding (see ``dcfsl``), a linear head;
- pretraining: cross-entropy on every labelled source pixel, Adam 0.001, batch 128, 30 epochs
  (≈ the source passes DCFSL's 10,000 episodes make); seeded by ``pretrain_seed``, not by the
  trial seed, and stored in the pretraining cache under (source cube + source labels,
  pretraining keys of the config, ``pretrain_seed``), so all trials of a protocol share one;
- fine-tuning: a **new mapping layer** for the target's band count and a **new head** for its
  classes; the pretrained embedding is loaded and everything trains on the support set with
  the shared loop of ``supervised`` (Adam 0.001, batch 64, 100 epochs).

What differs from DCFSL is then exactly what the table should show: plain supervised transfer
instead of episodic training with adversarial alignment, a linear head instead of 1-NN.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from hsibench.methods.base import RunContext
from hsibench.methods.dcfsl import ResidualEmbedding3d
from hsibench.methods.pretraining_cache import domain_digest
from hsibench.methods.registry import register_method
from hsibench.methods.spectral_layers import BandMapping
from hsibench.methods.supervised import (
    FitSchedule,
    PretrainedPatchClassifierMethod,
    SupervisedConfig,
    fit_classifier,
)
from hsibench.methods.training import seed_everything
from hsibench.protocol import Domain

PRETRAINING_KEYS = ("mapped_bands", "block_channels", "feature_channels", "pretrain_epochs", "pretrain_batch_size",
                    "pretrain_learning_rate", "pretrain_max_steps")


@dataclass
class FinetuneConfig(SupervisedConfig):
    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    mapped_bands: int = 100
    block_channels: tuple[int, int] = (8, 16)
    feature_channels: int = 32
    pretrain_epochs: int = 30
    pretrain_batch_size: int = 128
    pretrain_learning_rate: float = 1e-3
    pretrain_max_steps: int | None = None  # stop pretraining after this many steps (CPU budgets)
    pretrain_seed: int = 0


class MappedResidualClassifier(nn.Module):
    """Patches ``[N, S, S, bands]`` → mapping layer → 3-D residual embedding → linear head."""

    def __init__(self, bands: int, num_classes: int, patch_size: int, config: FinetuneConfig) -> None:
        super().__init__()
        self.mapping = BandMapping(bands, config.mapped_bands)
        self.encoder = ResidualEmbedding3d(config.block_channels, config.feature_channels)
        self.head = nn.Linear(self.encoder.feature_dim(patch_size, config.mapped_bands), num_classes)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.mapping(patches)))


def labelled_domain_digest(source: Domain) -> str:
    """Content hash of a source's cube *and* labels: supervised pretraining depends on both."""
    coords, labels = source.labeled_pixels()
    digest = hashlib.blake2b(domain_digest(source.patches.padded).encode(), digest_size=16)
    digest.update(np.ascontiguousarray(coords).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()


@register_method(
    "finetune", family="supervised transfer", uses_source_labels=True, pretrains=True,
    reference="Yosinski et al., NeurIPS 2014, How transferable are features in deep neural networks?",
    config=FinetuneConfig,
    presets={
        "cpu": {"mapped_bands": 32, "pretrain_max_steps": 200, "pretrain_batch_size": 64, "epochs": 50},
        "smoke": {"mapped_bands": 32, "block_channels": (4, 8), "feature_channels": 16, "pretrain_epochs": 1,
                  "pretrain_max_steps": 30, "pretrain_batch_size": 32, "epochs": 25},
    },
)
class FinetuneMethod(PretrainedPatchClassifierMethod):
    """Supervised pretraining on the labelled source, then a new mapping layer and head fine-tuned on the target support."""

    config: FinetuneConfig

    pretraining_family = "finetune"
    pretraining_keys = PRETRAINING_KEYS

    def source_digest(self, source: Domain) -> str:
        return labelled_domain_digest(source)

    def pretrain(self, source: Domain, context: RunContext) -> dict:
        """Supervised training on every labelled source pixel; returns the embedding's weights (the part that transfers)."""
        config = self.config
        coords, labels = source.labeled_pixels()
        seed_everything(context.seed)
        model = MappedResidualClassifier(source.bands, len(source.class_names), source.patches.patch_size, config)
        schedule = FitSchedule(config.pretrain_epochs, config.pretrain_batch_size, config.pretrain_learning_rate,
                               max_steps=config.pretrain_max_steps)
        losses = fit_classifier(model, source.patches, coords, labels, schedule, context, stage="pretrain")
        return {"encoder": {key: value.detach().cpu() for key, value in model.encoder.state_dict().items()},
                "losses": losses}

    def build_classifier(self, bands: int, num_classes: int, patch_size: int) -> nn.Module:
        return MappedResidualClassifier(bands, num_classes, patch_size, self.config)
