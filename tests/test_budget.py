"""Budget parity (methods/budget.py): S²Former and MAE spend the same in every preset, stated in samples and steps."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hsibench.methods import RunContext, create_method
from hsibench.methods.budget import BUDGETS, TransferBudget
from hsibench.methods.registry import resolve_config
from hsibench.methods.s2former.pretraining import pretraining_updates
from hsibench.protocol import build_source_domain, load_protocol


@pytest.mark.parametrize("preset", sorted(BUDGETS))
def test_s2former_and_mae_get_the_same_budget_in_every_preset(preset: str) -> None:
    s2former, mae = resolve_config("s2former", preset), resolve_config("mae", preset)
    budget = BUDGETS[preset]
    assert (s2former.pretrain_steps, s2former.pretrain_batch_size) == (mae.pretrain_steps, mae.pretrain_batch_size) \
        == (budget.pretrain_steps, budget.pretrain_batch_size)
    assert (s2former.finetune_epochs, s2former.finetune_batch_size, s2former.finetune_lr) \
        == (mae.epochs, mae.batch_size, mae.learning_rate)
    # one fine-tuning recipe: AdamW, the same weight decay on weight matrices only, warm-up + cosine from above 0
    assert mae.optimizer == "adamw" and mae.lr_schedule == "warmup_cosine"
    assert s2former.weight_decay == mae.weight_decay
    assert s2former.weight_decay_on_norms is mae.weight_decay_on_norms is False
    assert s2former.warmup_fraction == mae.warmup_fraction and s2former.warmup_start_factor == mae.warmup_start_factor


def test_the_cpu_budget_in_samples_and_steps() -> None:
    assert BUDGETS["cpu"].pretrain_samples_seen == 38_400
    assert "300 steps × 128 = 38,400 source samples" in BUDGETS["cpu"].describe()


def test_a_budget_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="pretrain_steps must be >= 1"):
        TransferBudget(0, 128, 100, 32, 5e-4)
    with pytest.raises(Exception, match="pretrain_steps must be >= 1"):
        resolve_config("s2former", "cpu", {"pretrain_steps": 0})


def test_pretraining_updates_follow_steps_not_the_source_size() -> None:
    config = resolve_config("s2former", "cpu")
    assert pretraining_updates(config, 3_569) == pretraining_updates(config, 200_000) == 300
    by_epochs = dataclasses.replace(config, pretrain_steps=None, pretrain_epochs=4, pretrain_batch_size=64)
    assert pretraining_updates(by_epochs, 3_569) == 4 * 56


def test_s2former_pretraining_runs_exactly_its_steps(tmp_path) -> None:
    updates: list[dict] = []
    context = RunContext(seed=0, cache_dir=tmp_path, progress=lambda **info: updates.append(info))
    method = create_method("s2former", context, preset="smoke", overrides={"pretrain_steps": 7, "pretrain_batch_size": 16})
    method.prepare(build_source_domain(load_protocol("demo"), grant_labels=False))
    pretraining = [u for u in updates if u["stage"] == "pretrain"]
    assert pretraining[-1]["epoch"] == pretraining[-1]["epochs"] == 7


def test_weight_decay_groups_spare_norms_biases_and_tokens() -> None:
    from hsibench.methods.optimization import weight_decay_groups
    from hsibench.methods.s2former.model import DecoderShape, EncoderShape, S2FormerEncoder, S2FormerMaskedAutoencoder

    model = S2FormerMaskedAutoencoder(torch.nn.Identity(), S2FormerEncoder(EncoderShape(3, 8, 16, 1, 2, 2.0, 0.0, 2)), 8,
                                      DecoderShape(16, 1, 2))
    groups = weight_decay_groups(model, 0.05)
    decayed = {id(p) for g in groups if g["weight_decay"] > 0 for p in g["params"]}
    names = {name for name, p in model.named_parameters() if id(p) in decayed}
    assert "mask_token" not in names and "encoder.spectral_pos" not in names
    assert not any(name.endswith(".bias") or "norm" in name for name in names)
    assert "encoder.spatial_embed.weight" in names


def test_every_method_states_what_it_spent(tmp_path) -> None:
    """``training_budget()`` after adapt: samples and updates, what the runner writes into the record."""
    from hsibench.protocol import build_task, make_split

    protocol = load_protocol("demo")
    split = make_split(protocol, seed=protocol.seeds[0])
    spent = {}
    for name, overrides in {"s2former": {"pretrain_steps": 3, "finetune_epochs": 2},
                            "mae": {"pretrain_steps": 3, "epochs": 2}, "cnn3d": {"epochs": 2},
                            "dcfsl": {"episodes": 2}}.items():
        method = create_method(name, RunContext(seed=0, cache_dir=tmp_path), preset="smoke", overrides=overrides)
        method.prepare(build_source_domain(protocol, grant_labels=method.info.uses_source_labels))
        task = build_task(protocol, split)
        method.adapt(task)
        spent[name] = method.training_budget()
    support = len(split.support.coords)
    assert spent["s2former"] == {"pretrain_steps": 3, "pretrain_batch_size": 64, "pretrain_samples_seen": 192,
                                 "finetune_epochs": 2, "finetune_batch_size": 32,
                                 "finetune_updates": 2 * -(-support // 32)}
    assert spent["mae"]["pretrain_samples_seen"] == 192 and spent["mae"]["finetune_epochs"] == 2
    assert spent["cnn3d"]["finetune_updates"] == 2 * max(1, support // spent["cnn3d"]["finetune_batch_size"])
    assert spent["dcfsl"] == {"episodes": 2}
