"""S²Former as a method: registry variants, config errors, demo trials, determinism, cache, checkpoints."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from hsibench.methods import RunContext, create_method, get_method_entry, method_names, resolve_config
from hsibench.methods.registry import ConfigError
from hsibench.methods.s2former import method as s2former_method
from hsibench.protocol import build_source_domain, build_task, load_protocol, make_split, protocol_names
from hsibench.protocol.task import class_index

# even smaller than the smoke preset: these tests are about mechanics, not accuracy
FAST = {"pretrain_samples": 256, "pretrain_epochs": 1, "finetune_epochs": 4}

needs_demo = pytest.mark.skipif("demo" not in protocol_names(), reason="the demo protocol is not available yet")


@pytest.mark.parametrize("variant", [name for name in method_names() if name.startswith("s2former-")])
@pytest.mark.parametrize("preset", ["paper", "cpu", "smoke"])
def test_every_variant_differs_from_the_full_model_in_exactly_its_keys(variant: str, preset: str) -> None:
    full = dataclasses.asdict(resolve_config("s2former", preset))
    ablated = dataclasses.asdict(resolve_config(variant, preset))
    fixed = get_method_entry(variant).fixed
    assert fixed, f"{variant} fixes no key"
    assert {k for k in full if full[k] != ablated[k]} == set(fixed)
    assert all(ablated[k] == v for k, v in fixed.items())


def test_the_ablation_table_is_registered_with_the_documented_cross_attention_mapping() -> None:
    assert {n for n in method_names() if n.startswith("s2former")} == {"s2former", *s2former_method.ABLATIONS}
    # spa2spe = information flows spatial → spectral = the spectral branch attends to the spatial one
    assert get_method_entry("s2former-spa2spe").fixed == {"cross_attention": "spectral_from_spatial"}
    assert get_method_entry("s2former-spe2spa").fixed == {"cross_attention": "spatial_from_spectral"}
    assert get_method_entry("s2former-no-pretrain").info.pretrains is False
    info = get_method_entry("s2former").info
    assert (info.family, info.uses_source_labels, info.pretrains) == ("proposed", False, True)
    assert "2601.18088" in info.reference


def test_every_key_is_overridable_from_strings_like_the_cli() -> None:
    config = resolve_config("s2former", "smoke", {"cross_attention": "none", "fdc": "off", "pretrain_samples": "none",
                                                  "mask_ratio": "0.75", "fdc_axes": "both", "band_alignment": "pca"})
    assert (config.cross_attention, config.fdc, config.pretrain_samples, config.mask_ratio) == ("none", False, None, 0.75)
    assert (config.fdc_axes, config.band_alignment) == ("both", "pca")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"cross_attention": "sideways"}, "must be one of"),
    ({"mask_ratio": 1.0}, "mask_ratio"),
    ({"spectral_groups": 7}, "divisible by spectral_groups"),
    ({"heads": 5}, "divisible by heads"),
    ({"decoder_heads": 3}, "decoder_dim"),
    ({"pretrain_samples": 0}, "pretrain_samples"),
    ({"daft_momentum": 1.0}, "daft_momentum"),
])
def test_bad_config_values_are_explained(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config("s2former", "paper", overrides)


@pytest.fixture(scope="module")
def demo() -> dict:
    protocol = load_protocol("demo")
    source = build_source_domain(protocol, grant_labels=False)
    splits = [make_split(protocol, seed) for seed in protocol.seeds[:2]]
    return {"protocol": protocol, "source": source, "splits": splits, "tasks": [build_task(protocol, s) for s in splits]}


def run_trial(demo: dict, cache: Path, which: int = 0, name: str = "s2former", preset: str = "smoke",
              overrides: dict | None = None):
    split, task = demo["splits"][which], demo["tasks"][which]
    method = create_method(name, RunContext(seed=split.seed, cache_dir=cache), preset=preset, overrides=overrides)
    method.prepare(demo["source"])
    method.adapt(task)
    return method, method.predict(task.target, split.test.coords)


def accuracy(demo: dict, which: int, predicted: np.ndarray) -> float:
    split, task = demo["splits"][which], demo["tasks"][which]
    return float(np.mean(predicted == class_index(task.class_ids, split.test.labels)))


@needs_demo
def test_smoke_pretraining_lowers_the_loss_and_the_model_beats_chance_on_demo(demo: dict, tmp_path: Path) -> None:
    method, predicted = run_trial(demo, tmp_path)
    record = method.pretrained["record"]
    assert record["final_loss"] < 0.9 * record["initial_loss"]
    chance = 1 / demo["tasks"][0].num_classes
    assert accuracy(demo, 0, predicted) > 2 * chance


@needs_demo
def test_the_pretraining_cache_is_shared_by_a_trial_with_another_seed(demo: dict, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = run_trial(demo, tmp_path, 0, overrides=FAST)
    assert first.pretraining_computed is True
    monkeypatch.setattr(s2former_method, "pretrain", lambda *a, **k: pytest.fail("pretraining ran a second time"))
    second, _ = run_trial(demo, tmp_path, 1, overrides=FAST)
    assert second.context.seed != first.context.seed
    assert second.pretraining_computed is False
    assert all(torch.equal(second.pretrained["encoder"][k], v) for k, v in first.pretrained["encoder"].items())


@needs_demo
def test_concurrent_trials_pretrain_once(demo: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_pretrain = s2former_method.pretrain

    def counted(*args, **kwargs):
        calls.append(1)
        return real_pretrain(*args, **kwargs)

    monkeypatch.setattr(s2former_method, "pretrain", counted)
    methods = [create_method("s2former", RunContext(seed=s.seed, cache_dir=tmp_path), "smoke", FAST)
               for s in demo["splits"]]
    threads = [threading.Thread(target=m.prepare, args=(demo["source"],)) for m in methods]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(m.pretraining_computed for m in methods) == [False, True]


@needs_demo
def test_the_pretraining_key_covers_pretraining_keys_only(demo: dict, tmp_path: Path) -> None:
    key = lambda seed=1, **changes: create_method("s2former", RunContext(seed=seed, cache_dir=tmp_path), "smoke",
                                                  changes).pretraining_key(demo["source"])
    assert key(seed=1) == key(seed=2)  # the trial seed is not in it
    assert key(finetune_lr="0.1") == key() and key(daft="off") == key()
    assert key(pretrain_seed="1") != key() and key(mask_ratio="0.25") != key() and key(fdc="off") != key()
    assert key(pretrain="off") is None


@needs_demo
def test_same_seed_gives_identical_weights_and_predictions(demo: dict, tmp_path: Path) -> None:
    first, first_predicted = run_trial(demo, tmp_path / "a", overrides=FAST)
    second, second_predicted = run_trial(demo, tmp_path / "b", overrides=FAST)  # pretrains again, independently
    assert second.pretraining_computed is True
    for name, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[name]), name
    assert np.array_equal(first_predicted, second_predicted)


@needs_demo
def test_checkpoint_save_and_load_give_identical_outputs(demo: dict, tmp_path: Path) -> None:
    method, predicted = run_trial(demo, tmp_path, overrides=FAST)
    method.save(tmp_path / "trial.pt")
    restored = create_method("s2former", RunContext(seed=0, cache_dir=tmp_path), "smoke", FAST)
    restored.load(tmp_path / "trial.pt")
    split, task = demo["splits"][0], demo["tasks"][0]
    assert np.array_equal(restored.predict(task.target, split.test.coords), predicted)
    patches = task.target.patches.gather(split.test.coords[:50])
    with torch.no_grad():
        assert torch.equal(restored.model(patches), method.model(patches))


@needs_demo
@pytest.mark.parametrize("overrides", [
    {"band_alignment": "pca", "daft_unlabeled": True},
    {"cross_attention": "none", "fdc_axes": "both", "masking": False, "daft_align": "mse", "spectral_mask_ratio": 0.5},
])
def test_options_run_end_to_end(demo: dict, tmp_path: Path, overrides: dict) -> None:
    _, predicted = run_trial(demo, tmp_path, overrides={**FAST, **overrides})
    assert predicted.shape == (len(demo["splits"][0].test.coords),)
    assert predicted.min() >= 0 and predicted.max() < demo["tasks"][0].num_classes


@needs_demo
def test_validation_pixels_choose_the_epoch_and_test_pixels_never_do(demo: dict, tmp_path: Path) -> None:
    protocol = demo["protocol"].with_overrides(split_mode="clean", validation_per_class=2)
    split = make_split(protocol, protocol.seeds[0])
    task = build_task(protocol, split)
    method = create_method("s2former-no-pretrain", RunContext(seed=split.seed, cache_dir=tmp_path), "smoke",
                           {"finetune_epochs": 6, "validation_interval": 2})
    method.adapt(task)
    record = method.finetuning_record
    assert [epoch for epoch, _ in record.validation_accuracy] == [2, 4, 6]
    best = max(acc for _, acc in record.validation_accuracy)
    assert record.chosen_epoch == next(epoch for epoch, acc in record.validation_accuracy if acc == best)


@needs_demo
def test_misuse_is_explained(demo: dict, tmp_path: Path) -> None:
    method = create_method("s2former", RunContext(seed=1, cache_dir=tmp_path), "smoke")
    with pytest.raises(RuntimeError, match="prepare"):
        method.adapt(demo["tasks"][0])
    with pytest.raises(RuntimeError, match="adapt"):
        method.predict(demo["tasks"][0].target, np.zeros((1, 2), np.int64))
    trained, _ = run_trial(demo, tmp_path, name="s2former-no-pretrain", overrides={"finetune_epochs": 1})
    with pytest.raises(ValueError, match="bands"):
        trained.predict(demo["source"], np.zeros((1, 2), np.int64))


@needs_demo
def test_daft_unlabeled_draws_only_valid_target_pixels(demo: dict, tmp_path: Path) -> None:
    task = dataclasses.replace(demo["tasks"][0])
    patches = task.target.patches
    mask = np.zeros((patches.height, patches.width), dtype=bool)
    mask[: patches.height // 2] = True
    mask[task.support_coords[:, 0], task.support_coords[:, 1]] = True
    patches.valid_mask, centres, original = mask, [], patches.gather

    def spy(coords):
        centres.append(np.asarray(coords).reshape(-1, 2).copy())
        return original(coords)

    patches.gather = spy
    try:
        method = create_method("s2former-no-pretrain", RunContext(seed=1, cache_dir=tmp_path), "smoke",
                               {"finetune_epochs": 3, "daft_unlabeled": True})
        method.adapt(task)
    finally:
        patches.gather, patches.valid_mask = original, None
    drawn = np.concatenate(centres)
    assert len(drawn) > len(task.support_coords)
    assert mask[drawn[:, 0], drawn[:, 1]].all(), "DAFT drew an unlabeled pixel outside the target's valid mask"
