"""``dcfsl`` — deep cross-domain few-shot learning: episodic training on source and target classes with conditional adversarial alignment.

Reference: Z. Li, M. Liu, Y. Chen, Y. Xu, W. Li, Q. Du, "Deep Cross-Domain Few-Shot Learning for
Hyperspectral Image Classification", IEEE TGRS 60, 2022 (code: github.com/Li-ZK/DCFSL-2021).

What the published code does, and this module with it:
- **Mapping layers**: one per domain, a 1×1 convolution (no bias) + batch norm to 100 channels.
- **Embedding**: a 3-D residual CNN on the mapped patch as a one-channel volume: residual block
  (three 3×3×3 convolutions + batch norm, 1→8 channels, ReLU, skip from the first), max-pool
  (4, 2, 2), residual block 8→16, max-pool (4, 2, 2), a 3×3×3 convolution to 32 channels,
  flattened (160 features for 100 channels and 9×9 patches).
- **Episodes**: even episodes are source few-shot tasks, odd ones target tasks; each samples
  ``way`` = (target class count) classes, 1 support + 19 queries per class; prototypes are the
  mean support features, the loss is cross-entropy over negative squared Euclidean distances.
- **Target data**: the k labelled pixels per class are repeated to about 200 per class, each
  copy with *radiation noise* (``α·x + β·n``, α ~ U(0.9, 1.1), n ~ N(0, 1), β = 1/25).
  Source classes with fewer than 200 labelled pixels are dropped, the others keep 200.
- **Conditional adversarial alignment** (CDAN with a randomised multilinear map): every
  episode also embeds a batch of 128 pixels of the *other* domain; features f and soft-maxed
  outputs g of a linear head go through fixed random matrices, (f·R_f / √1024) ⊙ (g·R_g), into
  a domain discriminator (4 × [linear 1024, ReLU, dropout 0.5] → 1) behind a gradient reversal
  whose weight ramps as 2/(1 + exp(−10·i/I)) − 1. Loss = few-shot loss + domain loss (BCE).
  As in the code, the linear head is trained only through that adversarial loss.
- Adam (learning rate 0.001) for network and discriminator, 10,000 episodes; the code's weight
  initialisation (Xavier for convolutions and linear layers, linear biases 1, batch-norm
  weights N(1, 0.02)).
- **Prediction**: 1-nearest neighbour over the embeddings of the k un-augmented support pixels
  (the code's min–max scaling of features is one affine map for all of them, so it changes no
  neighbour and is left out).

Deviations:
- **No model selection on test pixels.** The code evaluated the test set every 1,000 episodes
  and kept the best; here the network after the last episode is the model.
- Radiation noise is drawn afresh whenever an augmented sample is used, instead of a fixed pool
  of noisy copies: each class still offers ⌈(200 − k)/k⌉ + 1 copies of each shot, but a
  K × 200 × S × S × B tensor never has to exist (same distribution).
- When the source has fewer usable classes than the target, source episodes use all of them
  (the code assumed ≥ way source classes: Chikusei has 19).
- The source's 200 pixels per class are a seeded random draw (the code took the first 200 of a
  prepared file). The ramp horizon I is the code's fixed 10,000 episodes (``grl_ramp_episodes``; ``None``
  ramps over the run's own ``episodes``: at the ``cpu`` preset's 200 episodes the published horizon keeps
  the reversal weight below 0.1, which is what the published code would do with that few episodes).
- **Validation selection** instead: with validation pixels (``validation_per_class``) the episode with
  the best validation 1-NN accuracy, checked every ``validation_interval`` episodes, is kept — the same
  rule every method gets (``methods/validation.py``); without them the last episode, as above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hsibench.methods.base import Method, RunContext
from hsibench.methods.optimization import OptimizerStep
from hsibench.methods.registry import ConfigError, register_method, when_changed
from hsibench.methods.spectral_layers import BandMapping
from hsibench.methods.training import autocast, predict_in_batches, seed_everything, to_device
from hsibench.methods.validation import validation_selection
from hsibench.protocol import Domain, FewShotTask, PatchSampler


@dataclass
class DCFSLConfig:
    mapped_bands: int = 100
    episodes: int = 10_000
    learning_rate: float = 1e-3
    episode_shots: int = 1  # support pixels per class in a training episode
    episode_queries: int = 19  # query pixels per class in a training episode
    domain_batch_size: int = 128  # other-domain pixels per episode, for the discriminator
    augmented_per_class: int = 200  # target copies per class the noisy pool offers
    noise_brightness: tuple[float, float] = (0.9, 1.1)
    noise_scale: float = 1 / 25
    source_per_class: int = 200  # source classes with fewer labelled pixels are dropped
    block_channels: tuple[int, int] = (8, 16)
    feature_channels: int = 32
    random_layer_width: int = 1024
    discriminator_width: int = 1024
    discriminator_layers: int = 4
    discriminator_dropout: float = 0.5
    reversal_steepness: float = 10.0
    domain_loss_weight: float = 1.0
    # keys added later (in run ids only when changed): the ramp horizon I of the gradient reversal — the published
    # code's fixed 10,000 episodes whatever the run's length, or None: over this run's `episodes`
    grl_ramp_episodes: int | None = when_changed(10_000)
    # keep the episode with the best accuracy on the task's validation pixels, checked every `validation_interval`
    select_on_validation: bool = when_changed(True)
    validation_interval: int = when_changed(500)

    def __post_init__(self) -> None:
        if self.grl_ramp_episodes is not None and self.grl_ramp_episodes < 1:
            raise ConfigError(f"grl_ramp_episodes must be >= 1 or None (ramp over `episodes`), got {self.grl_ramp_episodes}")
        if self.validation_interval < 1:
            raise ConfigError(f"validation_interval must be >= 1, got {self.validation_interval}")


# --- the embedding network (reused by `finetune` as its backbone) -------------------------------------------------


def conv3x3x3(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm3d(out_channels))


class ResidualBlock3d(nn.Module):
    """Three 3×3×3 convolutions; the skip adds the first one's activation to the third's output."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = conv3x3x3(in_channels, out_channels)
        self.conv2 = conv3x3x3(out_channels, out_channels)
        self.conv3 = conv3x3x3(out_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = F.relu(self.conv1(x))
        return F.relu(first + self.conv3(F.relu(self.conv2(first))))


class ResidualEmbedding3d(nn.Module):
    """Mapped patches ``[N, S, S, C₀]`` → features ``[N, D]`` (D = 160 for C₀ = 100 and 9×9 patches)."""

    def __init__(self, block_channels: tuple[int, int] = (8, 16), feature_channels: int = 32) -> None:
        super().__init__()
        self.block1 = ResidualBlock3d(1, block_channels[0])
        self.pool1 = nn.MaxPool3d((4, 2, 2), stride=(4, 2, 2), padding=(0, 1, 1))
        self.block2 = ResidualBlock3d(block_channels[0], block_channels[1])
        self.pool2 = nn.MaxPool3d((4, 2, 2), stride=(4, 2, 2), padding=(2, 1, 1))
        self.conv = nn.Conv3d(block_channels[1], feature_channels, 3, bias=False)

    def forward(self, mapped: torch.Tensor) -> torch.Tensor:
        x = mapped.permute(0, 3, 1, 2).unsqueeze(1)  # [N, 1, C₀, S, S]
        x = self.pool1(self.block1(x))  # [N, 8, C₀/4, ⌈S/2⌉, …]
        x = self.pool2(self.block2(x))  # [N, 16, …]
        return self.conv(x).flatten(1)  # [N, 32 · spectral · spatial²]

    @torch.no_grad()
    def feature_dim(self, patch_size: int, mapped_bands: int) -> int:
        """Output width for these input sizes, with a clear error where the input is too small to embed."""
        was_training = self.training
        self.eval()
        try:
            return int(self(torch.zeros(1, patch_size, patch_size, mapped_bands)).shape[1])
        except RuntimeError as error:
            raise ValueError(f"the 3-D residual embedding cannot embed {patch_size}×{patch_size} patches of "
                             f"{mapped_bands} mapped bands (needs patches ≥ 7×7 and ≥ 32 bands): {error}") from None
        finally:
            self.train(was_training)


def dcfsl_init(module: nn.Module) -> None:
    """The published code's initialisation: Xavier weights, linear biases 1, batch-norm weights N(1, 0.02)."""
    if isinstance(module, nn.Conv3d):
        nn.init.xavier_uniform_(module.weight)
    elif isinstance(module, BandMapping):  # a 1×1 Conv2d in the code; `apply` visits it after its inner Linear
        nn.init.xavier_uniform_(module.linear.weight)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm3d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        nn.init.xavier_normal_(module.weight)
        if module.bias is not None:
            nn.init.ones_(module.bias)


class DCFSLNetwork(nn.Module):
    """Per-domain mapping layers, the shared embedding and the linear head whose soft-max conditions the discriminator."""

    def __init__(self, source_bands: int, target_bands: int, num_classes: int, patch_size: int,
                 config: DCFSLConfig) -> None:
        super().__init__()
        self.mappings = nn.ModuleDict({"source": BandMapping(source_bands, config.mapped_bands),
                                       "target": BandMapping(target_bands, config.mapped_bands)})
        self.encoder = ResidualEmbedding3d(config.block_channels, config.feature_channels)
        self.feature_dim = self.encoder.feature_dim(patch_size, config.mapped_bands)
        self.head = nn.Linear(self.feature_dim, num_classes)

    def forward(self, patches: torch.Tensor, domain: str) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder(self.mappings[domain](patches))
        return features, self.head(features)


# --- conditional adversarial alignment ---------------------------------------------------------------------------


class GradientReversal(torch.autograd.Function):
    """Identity forward; the gradient is multiplied by −weight on the way back (Ganin & Lempitsky, 2015)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: float) -> torch.Tensor:
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.weight * grad, None


def reversal_weight(episode: int, episodes: int, steepness: float) -> float:
    """CDAN's ramp 2/(1 + exp(−steepness·i/I)) − 1: from 0 towards 1, so early, noisy features are not pushed hard."""
    return 2.0 / (1.0 + math.exp(-steepness * episode / max(episodes, 1))) - 1.0


class RandomMultilinearMap(nn.Module):
    """(f·R_f / √width) ⊙ (g·R_g) with fixed Gaussian R's: a cheap stand-in for the outer product f ⊗ g (CDAN)."""

    def __init__(self, feature_dim: int, num_classes: int, width: int, generator: torch.Generator) -> None:
        super().__init__()
        self.width = width
        self.register_buffer("feature_matrix", torch.randn(feature_dim, width, generator=generator))
        self.register_buffer("prediction_matrix", torch.randn(num_classes, width, generator=generator))

    def forward(self, features: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
        return (features @ self.feature_matrix) / math.sqrt(self.width) * (predictions @ self.prediction_matrix)


class DomainDiscriminator(nn.Module):
    def __init__(self, width: int, layers: int, dropout: float) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        for _ in range(layers):
            blocks += [nn.Linear(width, width), nn.ReLU(), nn.Dropout(dropout)]
        self.layers = nn.Sequential(*blocks, nn.Linear(width, 1))

    def forward(self, joint: torch.Tensor, reversal: float) -> torch.Tensor:
        return self.layers(GradientReversal.apply(joint, reversal))


# --- episode sampling --------------------------------------------------------------------------------------------


def radiation_noise(patches: torch.Tensor, brightness: tuple[float, float], scale: float,
                    generator: torch.Generator) -> torch.Tensor:
    """``α·x + β·n`` per patch: a random brightness factor α and additive Gaussian noise of std β."""
    alpha = torch.empty(len(patches), 1, 1, 1).uniform_(*brightness, generator=generator)
    return alpha * patches + scale * torch.randn(patches.shape, generator=generator)


class TargetPool:
    """The support set repeated to about ``augmented_per_class`` noisy copies per class; noise is drawn when a copy is used."""

    def __init__(self, task: FewShotTask, config: DCFSLConfig, generator: torch.Generator) -> None:
        self.patches = task.target.patches
        self.config, self.generator = config, generator
        self.by_class: list[np.ndarray] = []
        wanted = config.augmented_per_class
        for label in range(task.num_classes):
            coords = task.support_coords[task.support_labels == label]
            shots = len(coords)
            copies = math.ceil((wanted - shots) / shots) + 1 if wanted > shots else 1
            self.by_class.append(np.repeat(coords, copies, axis=0))  # (copies·shots, 2)
        self.all = np.concatenate(self.by_class)

    def classes(self) -> int:
        return len(self.by_class)

    def draw(self, label: int, count: int) -> np.ndarray:
        pool = self.by_class[label]
        if count > len(pool):
            raise ValueError(f"a target episode needs {count} pixels of class {label}, its pool holds {len(pool)}; "
                             "lower episode_shots/episode_queries or raise augmented_per_class")
        return pool[torch.randperm(len(pool), generator=self.generator)[:count].numpy()]

    def gather(self, coords: np.ndarray) -> torch.Tensor:
        return radiation_noise(self.patches.gather(coords), self.config.noise_brightness, self.config.noise_scale,
                               self.generator)

    def batch(self, count: int) -> torch.Tensor:
        return self.gather(self.all[torch.randint(len(self.all), (count,), generator=self.generator).numpy()])


class SourcePool:
    """Labelled source pixels: up to ``per_class`` per usable class for episodes, all of them for domain batches."""

    def __init__(self, source: Domain, per_class: int, rng: np.random.Generator, generator: torch.Generator) -> None:
        coords, labels = source.labeled_pixels()
        self.patches: PatchSampler = source.patches
        self.generator = generator
        self.all = coords
        self.by_class = [rng.permutation(coords[labels == label])[:per_class]
                         for label in np.unique(labels) if (labels == label).sum() >= per_class]
        if len(self.by_class) < 2:
            counts = np.bincount(labels)
            raise ValueError(f"DCFSL: source {source.name} has {len(self.by_class)} class(es) with ≥ {per_class} "
                             f"labelled pixels (class sizes {counts.tolist()}); lower `source_per_class`")

    def classes(self) -> int:
        return len(self.by_class)

    def draw(self, label: int, count: int) -> np.ndarray:
        pool = self.by_class[label]
        return pool[torch.randperm(len(pool), generator=self.generator)[:count].numpy()]

    def gather(self, coords: np.ndarray) -> torch.Tensor:
        return self.patches.gather(coords)

    def batch(self, count: int) -> torch.Tensor:
        return self.gather(self.all[torch.randperm(len(self.all), generator=self.generator)[:count].numpy()])


def sample_episode(pool: SourcePool | TargetPool, way: int, shots: int, queries: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(support [way·shots, S, S, B] in class-major order, queries [way·queries, …], query labels 0…way−1)."""
    classes = torch.randperm(pool.classes(), generator=generator)[:way].tolist()
    drawn = [pool.draw(label, shots + queries) for label in classes]
    support = pool.gather(np.concatenate([d[:shots] for d in drawn]))
    query = pool.gather(np.concatenate([d[shots:] for d in drawn]))
    return support, query, torch.arange(way).repeat_interleave(queries)


def prototype_logits(queries: torch.Tensor, support: torch.Tensor, way: int, shots: int) -> torch.Tensor:
    """Negative squared Euclidean distances of query features to the class means of the support features."""
    prototypes = support.reshape(way, shots, -1).mean(dim=1)  # [way, D]
    return -torch.cdist(queries, prototypes).pow(2)


# --- the method --------------------------------------------------------------------------------------------------


@register_method(
    "dcfsl", family="cross-domain few-shot", uses_source_labels=True, pretrains=False,
    reference="Li et al., IEEE TGRS 2022, Deep Cross-Domain Few-Shot Learning for Hyperspectral Image Classification",
    config=DCFSLConfig,
    presets={
        "cpu": {"episodes": 200, "mapped_bands": 32, "episode_queries": 5, "domain_batch_size": 32,
                "validation_interval": 20},
        "smoke": {"episodes": 30, "mapped_bands": 32, "block_channels": (4, 8), "feature_channels": 16,
                  "episode_queries": 4, "domain_batch_size": 12, "source_per_class": 40, "random_layer_width": 128,
                  "discriminator_width": 128, "discriminator_layers": 2},
    },
)
class DCFSL(Method):
    """DCFSL: episodic few-shot learning on source and target classes with conditional adversarial alignment; 1-NN."""

    config: DCFSLConfig

    def __init__(self, config: DCFSLConfig, context: RunContext) -> None:
        super().__init__(config, context)
        self.source: Domain | None = None
        self.network: DCFSLNetwork | None = None
        self.architecture: dict[str, int] = {}
        self.support_features: torch.Tensor | None = None
        self.support_labels: torch.Tensor | None = None

    def prepare(self, source: Domain) -> None:
        """Training is joint over source and target, so preparing only keeps the (labelled) source."""
        source = self.single_source(source)  # one labelled scene: several pooled sources are refused
        source.labeled_pixels()  # fails now, with a clear message, when labels were not granted
        self.source = source

    def adapt(self, task: FewShotTask) -> None:
        if self.source is None:
            raise RuntimeError("dcfsl: adapt() before prepare(source) — DCFSL trains on source and target together")
        config, context, device = self.config, self.context, self.context.device
        seed_everything(context.seed)
        generator = context.generator(offset=2)
        self.architecture = {"source_bands": self.source.bands, "target_bands": task.target.bands,
                             "num_classes": task.num_classes, "patch_size": task.target.patches.patch_size}
        network = DCFSLNetwork(**self.architecture, config=config)
        discriminator = DomainDiscriminator(config.random_layer_width, config.discriminator_layers,
                                            config.discriminator_dropout)
        network.apply(dcfsl_init)
        discriminator.apply(dcfsl_init)
        joint_map = RandomMultilinearMap(network.feature_dim, task.num_classes, config.random_layer_width, generator)
        network.to(device).train()
        discriminator.to(device).train()
        joint_map.to(device)
        optimizer_step = OptimizerStep([torch.optim.Adam(network.parameters(), lr=config.learning_rate),
                                        torch.optim.Adam(discriminator.parameters(), lr=config.learning_rate)],
                                       device, context.precision)
        pools = {"source": SourcePool(self.source, config.source_per_class, context.numpy_rng(offset=2), generator),
                 "target": TargetPool(task, config, generator)}
        way = task.num_classes
        report_every = max(1, config.episodes // 100)
        ramp_episodes = config.episodes if config.grl_ramp_episodes is None else config.grl_ramp_episodes
        support_patches = task.target.patches.gather(task.support_coords)

        def predict_validation(coords: np.ndarray) -> np.ndarray:  # the 1-NN classifier of the network as it is now
            self._use_network(network, support_patches, task)
            return self.predict(task.target, coords)

        selection = validation_selection(task, network, predict_validation, config.select_on_validation,
                                         config.validation_interval, config.episodes, probe=context.checkpoint_probe)
        for episode in range(config.episodes):
            # even episodes: a source few-shot task, aligned against a target batch; odd: the reverse
            domain, other = ("source", "target") if episode % 2 == 0 else ("target", "source")
            episode_way = min(way, pools[domain].classes())
            support, query, query_labels = sample_episode(pools[domain], episode_way, config.episode_shots,
                                                          config.episode_queries, generator)
            other_batch = pools[other].batch(config.domain_batch_size)
            with autocast(device, context.precision):
                support_features, support_outputs = network(to_device(support, device), domain)
                query_features, query_outputs = network(to_device(query, device), domain)
                other_features, other_outputs = network(to_device(other_batch, device), other)
            logits = prototype_logits(query_features.float(), support_features.float(), episode_way,
                                      config.episode_shots)
            few_shot_loss = F.cross_entropy(logits, query_labels.to(device))
            features = torch.cat([support_features, query_features, other_features]).float()
            predictions = torch.cat([support_outputs, query_outputs, other_outputs]).float().softmax(dim=1)
            domain_logits = discriminator(joint_map(features, predictions),
                                          reversal_weight(episode, ramp_episodes, config.reversal_steepness))
            is_source = torch.cat([torch.full((len(support) + len(query), 1), float(domain == "source")),
                                   torch.full((len(other_batch), 1), float(other == "source"))]).to(device)
            domain_loss = F.binary_cross_entropy_with_logits(domain_logits, is_source)
            loss = few_shot_loss + config.domain_loss_weight * domain_loss
            optimizer_step(loss)
            validation = selection.after_epoch(episode + 1) if selection is not None else {}
            if validation or (episode + 1) % report_every == 0 or episode + 1 == config.episodes:
                context.progress(stage="episodes", epoch=episode + 1, epochs=config.episodes, loss=loss.item(),
                                 **validation)
        if selection is not None:
            selection.restore()
        self._use_network(network.eval(), support_patches, task)

    def training_budget(self) -> dict[str, int]:
        return {"episodes": self.config.episodes}

    def _use_network(self, network: DCFSLNetwork, support_patches: torch.Tensor, task: FewShotTask) -> None:
        """Make ``network`` the 1-NN classifier of ``task``'s support set (its embeddings are the neighbours)."""
        self.network = network
        self.support_labels = torch.as_tensor(task.support_labels, dtype=torch.long)
        self.support_features = self._embed(support_patches)

    @torch.no_grad()
    def _embed(self, patches: torch.Tensor) -> torch.Tensor:
        with autocast(self.context.device, self.context.precision):
            features, _ = self.network(to_device(patches, self.context.device), "target")
        return features.float()

    def _nearest_neighbour_logits(self, patches: torch.Tensor) -> torch.Tensor:
        """Per class, minus the distance to its nearest support embedding: the arg-max is the 1-NN label."""
        with autocast(self.context.device, self.context.precision):
            features, _ = self.network(patches, "target")
        distances = torch.cdist(features.float(), self.support_features.to(features.device))  # [n, support]
        logits = torch.full((len(features), self.architecture["num_classes"]), -torch.inf, device=features.device)
        labels = self.support_labels.to(features.device).expand_as(distances)
        return logits.scatter_reduce(1, labels, -distances, reduce="amax")

    def predict(self, domain: Domain, coords: np.ndarray) -> np.ndarray:
        if self.network is None:
            raise RuntimeError("dcfsl: predict() before adapt() or load()")
        if domain.bands != self.architecture["target_bands"]:
            raise ValueError(f"dcfsl: adapted to {self.architecture['target_bands']} target bands, "
                             f"but {domain.name} has {domain.bands}")
        self.network.to(self.context.device).eval()
        return predict_in_batches(self._nearest_neighbour_logits, domain, coords, self.context.device,
                                  self.context.inference_batch_size, precision="fp32")

    def state_dict(self) -> dict:
        if self.network is None:
            raise RuntimeError("dcfsl: nothing to save before adapt()")
        return {"architecture": dict(self.architecture),
                "network": {key: value.detach().cpu() for key, value in self.network.state_dict().items()},
                "support_features": self.support_features.cpu(), "support_labels": self.support_labels.cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.architecture = dict(state["architecture"])
        network = DCFSLNetwork(**self.architecture, config=self.config)
        network.load_state_dict(state["network"])
        self.network = network.to(self.context.device).eval()
        self.support_features = state["support_features"]
        self.support_labels = state["support_labels"]
