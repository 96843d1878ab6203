"""Every registered method, end to end on the `demo` protocol, and the honesty rules around it.

Parametrised over the registry (S²Former and its variants included): each method's `smoke`
preset runs a full trial and beats chance; predictions cover exactly the requested pixels; the
target's test labels cannot change a prediction; source labels reach only methods that declare
them; a checkpoint round trip predicts the same. Trials are shared between tests through one
module-wide cache, so each method trains once (twice for the poisoning test; poisoned test
*spectra* are tests/test_test_spectra_poison.py). Then small unit tests of the baselines' own
pieces, on random tensors: among them the published settings (HybridSN's PCA rule, SSFTT's
tokenizer initialisation) and the PCA's refusal of too few pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from hsibench.data import GroundTruth, Scene, load_scene
from hsibench.data import registry as scene_registry
from hsibench.methods import Method, RunContext, create_method, get_method_entry, method_names
from hsibench.protocol import Protocol, Split, build_source_domain, build_task, load_protocol, make_split
from hsibench.protocol.task import class_index

# the shipped methods only: a test module that registers fake methods may have been imported before this one
ALL_METHODS = [name for name in method_names()
               if get_method_entry(name).method_class.__module__.startswith("hsibench.methods.")]
# variants share their base's code; the costlier honesty checks run once per distinct method
BASE_METHODS = [name for name in ALL_METHODS if get_method_entry(name).base is None]


@dataclass
class Trial:
    method: Method
    split: Split
    predictions: np.ndarray
    truth: np.ndarray


@pytest.fixture(scope="module")
def demo() -> Protocol:
    try:
        protocol = load_protocol("demo")
    except Exception as error:  # noqa: BLE001 — any reason the demo is missing is a skip, not a failure here
        pytest.skip(f"demo protocol not available: {error}")
    return protocol


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pretraining")


def run_trial(name: str, protocol: Protocol, cache_dir: Path, split: Split | None = None) -> Trial:
    """One trial as the runner does it: source labels only when declared, test labels never handed over."""
    split = split or make_split(protocol, seed=protocol.seeds[0])
    method = create_method(name, RunContext(seed=split.seed, cache_dir=cache_dir), preset="smoke")
    method.prepare(build_source_domain(protocol, grant_labels=method.info.uses_source_labels))
    task = build_task(protocol, split)
    method.adapt(task)
    return Trial(method, split, method.predict(task.target, split.test.coords),
                 class_index(task.class_ids, split.test.labels))


@pytest.fixture(scope="module")
def trials(demo: Protocol, cache_dir: Path) -> Callable[[str], Trial]:
    made: dict[str, Trial] = {}

    def get(name: str) -> Trial:
        if name not in made:
            made[name] = run_trial(name, demo, cache_dir)
        return made[name]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL_METHODS)
def test_smoke_trial_beats_chance(name: str, trials: Callable[[str], Trial]) -> None:
    trial = trials(name)
    num_classes = int(trial.truth.max()) + 1
    assert trial.predictions.shape == trial.truth.shape
    assert np.issubdtype(trial.predictions.dtype, np.integer)
    assert 0 <= trial.predictions.min() and trial.predictions.max() < num_classes
    accuracy = (trial.predictions == trial.truth).mean()
    majority = np.bincount(trial.truth).max() / len(trial.truth)  # the best constant guess
    assert accuracy > majority + 0.05, f"{name}: OA {accuracy:.3f} vs always-the-largest-class {majority:.3f}"


@pytest.mark.slow
@pytest.mark.parametrize("name", BASE_METHODS)
def test_predictions_follow_the_requested_pixels(name: str, trials: Callable[[str], Trial], demo: Protocol) -> None:
    """Any pixels — unlabeled ones, repeated ones, any order — each get exactly one prediction, in order."""
    trial = trials(name)
    task = build_task(demo, trial.split)
    rng = np.random.default_rng(0)
    coords = task.target.patches.all_coords()[rng.choice(48 * 48, 300, replace=False)]
    coords = np.concatenate([coords, coords[:7]])
    predictions = trial.method.predict(task.target, coords)
    assert predictions.shape == (len(coords),)
    np.testing.assert_array_equal(predictions[-7:], predictions[:7])
    order = rng.permutation(len(coords))
    np.testing.assert_array_equal(trial.method.predict(task.target, coords[order]), predictions[order])
    assert trial.method.predict(task.target, coords[:0]).shape == (0,)


class PoisonedTarget:
    """The demo target with every label outside the support set scrambled, and unlabeled pixels given labels."""

    def __init__(self, original: scene_registry.SceneSource, support: np.ndarray) -> None:
        self.original, self.info = original, original.info
        clean = original.load()
        labels = clean.labels.copy()
        keep = np.zeros(labels.shape, bool)
        keep[support[:, 0], support[:, 1]] = True
        rng = np.random.default_rng(123)
        others = ~keep
        labels[others] = rng.choice(sorted(clean.class_names), others.sum())
        self.scene = Scene(clean.name, clean.cube, GroundTruth(clean.name, labels, clean.class_names), clean.metadata)

    def load(self) -> Scene:
        return self.scene

    def load_ground_truth(self) -> GroundTruth:
        return self.scene.ground_truth

    def is_available(self) -> bool:
        return True


@pytest.mark.slow
@pytest.mark.parametrize("name", BASE_METHODS)
def test_target_test_labels_cannot_change_predictions(name: str, trials: Callable[[str], Trial], demo: Protocol,
                                                      cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean = trials(name)
    target = demo.target.scene
    poisoned = PoisonedTarget(scene_registry.get_scene_source(target), clean.split.support.coords)
    with scene_registry.SCENES.replaced(target, poisoned):
        # the poison is real: loading the target now gives other labels for test pixels
        test_rows, test_cols = clean.split.test.coords.T
        assert (load_scene(target).labels[test_rows, test_cols] != clean.split.test.labels).mean() > 0.5
        again = run_trial(name, demo, cache_dir, split=clean.split)  # same split, poisoned scene
    np.testing.assert_array_equal(again.predictions, clean.predictions)


@pytest.mark.slow
@pytest.mark.parametrize("name", BASE_METHODS)
def test_checkpoint_round_trip_predicts_the_same(name: str, trials: Callable[[str], Trial], demo: Protocol,
                                                 tmp_path: Path) -> None:
    trial = trials(name)
    path = tmp_path / f"{name}.pt"
    trial.method.save(path)
    fresh = create_method(name, RunContext(seed=trial.split.seed, cache_dir=tmp_path / "unused"), preset="smoke")
    fresh.load(path)
    task = build_task(demo, trial.split)
    np.testing.assert_array_equal(fresh.predict(task.target, trial.split.test.coords), trial.predictions)


def test_source_domain_without_granted_labels_has_none(demo: Protocol) -> None:
    source = build_source_domain(demo, grant_labels=False)
    assert source.label_map is None
    with pytest.raises(PermissionError, match="not granted"):
        source.labeled_pixels()


@pytest.mark.parametrize("name", [n for n in BASE_METHODS if get_method_entry(n).info.uses_source_labels])
def test_methods_declaring_source_labels_really_need_them(name: str, demo: Protocol, tmp_path: Path) -> None:
    """A method that declares source labels fails clearly without them — its declaration is not decoration."""
    method = create_method(name, RunContext(seed=0, cache_dir=tmp_path), preset="smoke")
    with pytest.raises(PermissionError, match="not granted"):
        method.prepare(build_source_domain(demo, grant_labels=False))


def test_the_source_label_methods_are_exactly_the_declared_ones() -> None:
    declared = {n for n in BASE_METHODS if get_method_entry(n).info.uses_source_labels}
    assert {"dcfsl", "finetune"} <= declared
    assert not declared & {"svm", "cnn3d", "ssftt", "mae"}


# --- unit tests of the baselines' pieces (random tensors, milliseconds) ------------------------------------------


@pytest.mark.parametrize("patch_size", [7, 9])
def test_patch_classifiers_map_patches_to_logits(patch_size: int) -> None:
    from hsibench.methods.cnn3d import HybridSN
    from hsibench.methods.dcfsl import DCFSLConfig, DCFSLNetwork
    from hsibench.methods.mae import MAEClassifier, MAEConfig
    from hsibench.methods.ssftt import SSFTT, SSFTTConfig

    patches = torch.randn(4, patch_size, patch_size, 40)
    models = [HybridSN(40, 5, patch_size, pca_components=None, same_padding=patch_size < 9),
              SSFTT(40, 5, patch_size, SSFTTConfig(pca_components=None)),
              MAEClassifier(40, 5, patch_size, MAEConfig(embed_dim=32, depth=1))]
    for model in models:
        assert model.eval()(patches).shape == (4, 5)
    features, logits = DCFSLNetwork(30, 40, 5, patch_size, DCFSLConfig()).eval()(patches, "target")
    assert features.shape == (4, 160) and logits.shape == (4, 5)


def test_hybridsn_refuses_too_few_bands_or_too_small_valid_patches() -> None:
    from hsibench.methods.cnn3d import HybridSN, uses_same_padding

    with pytest.raises(ValueError, match="raise `pca_components`"):
        HybridSN(60, 3, 9, pca_components=10)
    with pytest.raises(ValueError, match="spatial_padding='auto'"):
        uses_same_padding("valid", 7)
    assert uses_same_padding("auto", 7) and not uses_same_padding("auto", 9)


def test_principal_components_layer_matches_scikit_learn() -> None:
    from sklearn.decomposition import PCA

    from hsibench.methods.spectral_layers import PrincipalComponents

    pixels = np.random.default_rng(0).normal(size=(500, 12)) @ np.random.default_rng(1).normal(size=(12, 12))
    layer = PrincipalComponents(12, 4).fit(pixels.astype(np.float32), seed=0)
    expected = PCA(4, whiten=True).fit(pixels).transform(pixels)
    got = layer(torch.as_tensor(pixels, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(np.abs(got), np.abs(expected), atol=1e-3)  # components' signs are arbitrary
    with pytest.raises(RuntimeError, match="before fit"):
        PrincipalComponents(12, 4)(torch.zeros(1, 12))


def test_nearest_support_embedding_decides_dcfsl_labels() -> None:
    from hsibench.methods.dcfsl import DCFSL, DCFSLConfig

    method = DCFSL(DCFSLConfig(), RunContext(seed=0))
    method.architecture = {"num_classes": 3}
    method.support_features = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [9.0, 1.0]])
    method.support_labels = torch.tensor([0, 1, 2, 2])
    method.network = lambda patches, domain: (patches, None)  # identity "embedding" for the test
    logits = method._nearest_neighbour_logits(torch.tensor([[8.9, 0.9], [1.0, 0.5], [0.5, 9.0]]))
    assert logits.argmax(dim=1).tolist() == [2, 0, 2]


def test_gradient_reversal_flips_and_scales_the_gradient() -> None:
    from hsibench.methods.dcfsl import GradientReversal, reversal_weight

    x = torch.ones(3, requires_grad=True)
    GradientReversal.apply(x, 0.5).sum().backward()
    assert x.grad.tolist() == [-0.5, -0.5, -0.5]
    assert reversal_weight(0, 100, 10.0) == 0.0 and 0.99 < reversal_weight(100, 100, 10.0) < 1.0


@pytest.mark.parametrize(("ramp", "horizon"), [(10_000, 10_000), (None, 6)])
def test_dcfsl_ramps_its_reversal_over_the_published_horizon_or_its_own_episodes(monkeypatch, ramp, horizon) -> None:
    """The published code ramps over a fixed 10,000 episodes (the default); ``grl_ramp_episodes = None`` over ``episodes``."""
    from hsibench.methods import create_method, dcfsl
    from hsibench.protocol import build_source_domain, build_task, load_protocol, make_split

    horizons: list[int] = []
    real = dcfsl.reversal_weight
    monkeypatch.setattr(dcfsl, "reversal_weight", lambda i, episodes, k: horizons.append(episodes) or real(i, episodes, k))
    protocol = load_protocol("demo")
    method = create_method("dcfsl", RunContext(seed=0), preset="smoke", overrides={"episodes": 6, "grl_ramp_episodes": ramp})
    method.prepare(build_source_domain(protocol, grant_labels=True))
    method.adapt(build_task(protocol, make_split(protocol, seed=protocol.seeds[0])))
    assert horizons == [horizon] * 6
    with pytest.raises(Exception, match="grl_ramp_episodes"):
        create_method("dcfsl", RunContext(seed=0), preset="smoke", overrides={"grl_ramp_episodes": 0})


def test_svm_searches_only_with_enough_samples_per_class() -> None:
    from hsibench.methods.svm import SVMConfig, fit_support_vector_machine

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 5)
    spectra = rng.normal(size=(15, 6)) + labels[:, None] * 3.0
    config = SVMConfig(c_grid=(1.0, 10.0), gamma_grid=(0.1,))
    _, chosen = fit_support_vector_machine(spectra, labels, config, seed=0)
    assert chosen["chosen_by"].startswith("5-fold CV") and chosen["C"] in config.c_grid
    _, chosen = fit_support_vector_machine(spectra[::5], labels[::5], config, seed=0)  # 1 per class
    assert chosen["chosen_by"] == "fixed defaults"


def test_random_dihedral_gives_one_of_the_eight_symmetries_of_each_patch() -> None:
    from hsibench.methods.supervised import random_dihedral

    patches = torch.randn(16, 5, 5, 2)
    moved = random_dihedral(patches, torch.Generator().manual_seed(0))
    for original, result in zip(patches, moved):
        symmetries = [torch.rot90(flipped, turns, dims=(0, 1)) for flipped in (original, original.flip(0))
                      for turns in range(4)]
        assert any(torch.equal(result, candidate) for candidate in symmetries)


@pytest.mark.parametrize("name", ["mae", "finetune"])
def test_pretraining_is_shared_by_trial_seeds_but_not_by_pretraining_settings(name: str, demo: Protocol) -> None:
    source = build_source_domain(demo, grant_labels=get_method_entry(name).info.uses_source_labels)

    def key(seed: int, **overrides: str) -> str:
        method = create_method(name, RunContext(seed=seed), preset="smoke", overrides=overrides)
        return method.pretraining_key(source)

    assert key(1) == key(2) == key(1, epochs="3", learning_rate="0.01")  # trial seed and fine-tuning keys
    assert key(1, pretrain_seed="5") != key(1)
    assert key(1, mapped_bands="40") != key(1)


def test_hybridsn_pca_components_follow_the_published_rule() -> None:
    """The notebook's ``K = 30 if dataset == 'IP' else 15`` by default; an explicit count or none wins."""
    from hsibench.methods.cnn3d import PUBLISHED, HybridSNConfig, resolve_pca_components

    assert HybridSNConfig().pca_components == PUBLISHED
    assert resolve_pca_components(PUBLISHED, "ip") == 30
    assert resolve_pca_components(PUBLISHED, "ip (rows 0–71)") == 30  # a crop of Indian Pines
    assert [resolve_pca_components(PUBLISHED, scene) for scene in ("pu", "sa", "pc", "demo_target")] == [15] * 4
    assert resolve_pca_components(20, "ip") == 20 and resolve_pca_components(None, "ip") is None
    with pytest.raises(ValueError, match="cnn3d: pca_components"):
        resolve_pca_components("thirty", "ip")


def test_pca_components_parse_from_command_line_strings() -> None:
    from hsibench.methods.registry import resolve_config

    assert resolve_config("cnn3d", overrides={"pca_components": "15"}).pca_components == 15
    assert resolve_config("cnn3d", overrides={"pca_components": "none"}).pca_components is None
    assert resolve_config("ssftt").pca_components == 30  # the published SSFTT code: 30 on every scene


def test_hybridsn_checkpoint_keeps_the_resolved_component_count(demo: Protocol, tmp_path: Path) -> None:
    split = make_split(demo, seed=demo.seeds[0])
    task = build_task(demo, split)
    method = create_method("cnn3d", RunContext(seed=split.seed), preset="paper", overrides={"epochs": 1})
    method.adapt(task)
    assert method.pca_components == 15  # demo_target is not Indian Pines
    method.save(tmp_path / "cnn3d.pt")
    fresh = create_method("cnn3d", RunContext(seed=split.seed), preset="smoke")  # smoke preset says 13
    fresh.load(tmp_path / "cnn3d.pt")
    assert fresh.pca_components == 15
    coords = split.test.coords[:50]
    np.testing.assert_array_equal(fresh.predict(task.target, coords), method.predict(task.target, coords))


def test_ssftt_tokenizer_is_drawn_as_the_published_code_draws_it() -> None:
    """The official code calls xavier_normal_ on (1, L, 64) and (1, 64, 64) tensors: same numbers, same std."""
    from hsibench.methods.ssftt import GaussianTokenizer, published_tokenizer_std

    assert published_tokenizer_std(4, 64) == pytest.approx(0.0791, abs=1e-4)  # not 0.171 of a 2-D (4, 64)
    assert published_tokenizer_std(64, 64) == pytest.approx(0.0219, abs=1e-4)  # not 0.125 of a 2-D (64, 64)
    torch.manual_seed(0)
    official_a, official_v = torch.empty(1, 4, 64), torch.empty(1, 64, 64)
    torch.nn.init.xavier_normal_(official_a)
    torch.nn.init.xavier_normal_(official_v)
    torch.manual_seed(0)
    tokenizer = GaussianTokenizer(64, 4)
    assert torch.equal(tokenizer.token_weights.data, official_a[0])
    assert torch.equal(tokenizer.value_weights.data, official_v[0])
    draws = [GaussianTokenizer(64, 4) for _ in range(50)]
    token_std = torch.cat([t.token_weights.data.flatten() for t in draws]).std().item()
    value_std = torch.cat([t.value_weights.data.flatten() for t in draws]).std().item()
    assert token_std == pytest.approx(0.0791, rel=0.05) and value_std == pytest.approx(0.0219, rel=0.05)


def test_pca_refuses_fewer_pixels_than_it_needs() -> None:
    from hsibench.methods.spectral_layers import PrincipalComponents, TooFewPixelsError

    pixels = np.random.default_rng(0).normal(size=(10, 12)).astype(np.float32)
    with pytest.raises(TooFewPixelsError, match="target_x: a PCA to 10 components needs more than 10 pixels"):
        PrincipalComponents(12, 10).fit(pixels, seed=0, scene="target_x")
    assert bool(PrincipalComponents(12, 9).fit(pixels, seed=0).fitted)


def test_reductions_fit_on_the_statistics_pixels_only(demo: Protocol) -> None:
    """Under ``train`` statistics the PCA reads support-patch pixels only; under ``scene`` every pixel, with the
    subsample drawn as before (the same pixels as sampling the scene's spectra)."""
    from hsibench.methods.spectral_layers import statistics_pixels

    split = make_split(demo, seed=demo.seeds[0])
    scene_task = build_task(demo, split)
    patches = scene_task.target.patches
    everything = statistics_pixels(patches, scene_task.statistics_coords(), None, np.random.default_rng(0))
    np.testing.assert_array_equal(everything, patches.valid_pixels().numpy())
    subset = statistics_pixels(patches, scene_task.statistics_coords(), 100, np.random.default_rng([1, 1]))
    expected = np.sort(np.random.default_rng([1, 1]).choice(len(everything), 100, replace=False))
    np.testing.assert_array_equal(subset, everything[expected])
    train_task = build_task(demo.with_overrides(normalisation="train"), split)
    coords = train_task.statistics_coords()
    np.testing.assert_array_equal(statistics_pixels(train_task.target.patches, coords, None, np.random.default_rng(0)),
                                  train_task.target.patches.spectra(coords).numpy())
