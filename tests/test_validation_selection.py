"""Epoch selection on validation pixels (methods/validation.py): the same rule for every method that trains in epochs.

Unit tests of the selection itself, then every deep method on the demo protocol with a validation carve-out:
each reports ``validation_accuracy`` through its progress callback (what ``hsibench tune``'s scheduler reads),
none does without validation pixels, and checking does not perturb training (selection with one check, after
the last epoch, predicts exactly what no selection predicts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from hsibench.methods import RunContext, create_method
from hsibench.methods.catalog import BUILTIN_METHODS
from hsibench.methods.validation import CheckpointSelection, label_accuracy, validation_selection
from hsibench.protocol import build_source_domain, build_task, load_protocol, make_split


class Constant(nn.Module):
    """A one-weight model: its "prediction" is whatever the test scripts, its state the weight."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))


def scripted_selection(accuracies: dict[int, float], epochs: int, interval: int) -> tuple[CheckpointSelection, Constant]:
    """A selection whose model's weight is set to the epoch before each check and whose accuracy is scripted."""
    model = Constant()
    labels = np.zeros(10, np.int64)

    def predict(coords: np.ndarray) -> np.ndarray:
        correct = round(accuracies[int(model.weight.item())] * len(labels))
        return np.where(np.arange(len(labels)) < correct, 0, 1)

    return CheckpointSelection(model, predict, np.zeros((10, 2), np.int64), label_accuracy(labels), interval, epochs), model


def run_scripted(selection: CheckpointSelection, model: Constant, epochs: int) -> list[dict[str, float]]:
    reports = []
    for epoch in range(1, epochs + 1):
        with torch.no_grad():
            model.weight.fill_(epoch)
        reports.append(selection.after_epoch(epoch))
    return reports


def test_checks_every_interval_and_after_the_last_epoch() -> None:
    selection, model = scripted_selection({e: 0.5 for e in range(1, 8)}, epochs=7, interval=3)
    reports = run_scripted(selection, model, 7)
    assert [epoch for epoch, _ in selection.history] == [3, 6, 7]
    assert [bool(r) for r in reports] == [False, False, True, False, False, True, True]
    assert reports[2] == {"validation_accuracy": 0.5}


def test_keeps_the_best_epoch_and_the_earliest_on_ties() -> None:
    accuracies = {2: 0.3, 4: 0.8, 6: 0.8, 8: 0.6}
    selection, model = scripted_selection({**{e: 0.0 for e in range(1, 9)}, **accuracies}, epochs=8, interval=2)
    run_scripted(selection, model, 8)
    assert selection.chosen_epoch == 4 and selection.best_accuracy == pytest.approx(0.8)
    selection.restore()
    assert model.weight.item() == 4  # the state of epoch 4 is back, not the last one
    assert selection.summary()["history"] == [(2, 0.3), (4, 0.8), (6, 0.8), (8, 0.6)]


def test_no_selection_without_validation_pixels_or_when_switched_off() -> None:
    protocol = load_protocol("demo")
    task = build_task(protocol, make_split(protocol, seed=protocol.seeds[0]))
    assert len(task.validation_coords) == 0
    assert validation_selection(task, Constant(), lambda c: c, True, 10, 100) is None
    carved = load_protocol("demo").with_overrides(split_mode="clean", validation_per_class=2)
    with_validation = build_task(carved, make_split(carved, seed=carved.seeds[0]))
    assert validation_selection(with_validation, Constant(), lambda c: c, False, 10, 100) is None
    assert validation_selection(with_validation, Constant(), lambda c: c, True, 10, 100) is not None
    with pytest.raises(ValueError, match="validation_interval"):
        validation_selection(with_validation, Constant(), lambda c: c, True, 0, 100)


#: on top of `smoke`: a few epochs, a check every 2 (DCFSL counts episodes)
SHORT: dict[str, dict[str, Any]] = {
    "cnn3d": {"epochs": 4, "validation_interval": 2},
    "ssftt": {"epochs": 4, "validation_interval": 2},
    "finetune": {"pretrain_max_steps": 3, "epochs": 4, "validation_interval": 2},
    "mae": {"pretrain_steps": 3, "epochs": 4, "validation_interval": 2},
    "dcfsl": {"episodes": 4, "validation_interval": 2},
    "s2former": {"pretrain_steps": 3, "finetune_epochs": 4, "daft_steps": 2, "validation_interval": 2},
}
#: every base method that trains in epochs (svm has none: its C and γ come from cross-validation on the support set)
EPOCH_METHODS = [name for name, entry in BUILTIN_METHODS.items() if entry.base is None and name != "svm"]


def test_every_epoch_method_is_covered() -> None:
    assert sorted(SHORT) == sorted(EPOCH_METHODS)


def adapted(name: str, overrides: dict[str, Any], validation_per_class: int, cache_dir: Path
            ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """(test predictions, progress updates) of one smoke trial on demo (clean split) with that many validation pixels."""
    protocol = load_protocol("demo").with_overrides(split_mode="clean", validation_per_class=validation_per_class)
    split = make_split(protocol, seed=protocol.seeds[0])
    updates: list[dict[str, Any]] = []
    context = RunContext(seed=split.seed, cache_dir=cache_dir, progress=lambda **info: updates.append(info))
    method = create_method(name, context, preset="smoke", overrides={**SHORT[name], **overrides})
    method.prepare(build_source_domain(protocol, grant_labels=method.info.uses_source_labels))
    task = build_task(protocol, split, scene=None)
    method.adapt(task)
    return method.predict(task.target, split.test.coords), updates


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pretraining")


@pytest.mark.parametrize("name", EPOCH_METHODS)
def test_every_method_reports_validation_accuracy_when_the_task_has_validation_pixels(name: str, cache_dir: Path) -> None:
    _, updates = adapted(name, {}, validation_per_class=2, cache_dir=cache_dir)
    checked = [u for u in updates if "validation_accuracy" in u]
    assert [u["epoch"] for u in checked] == [2, 4], f"{name}: validation checks at {[u['epoch'] for u in checked]}"
    assert all(0.0 <= u["validation_accuracy"] <= 1.0 for u in checked)
    _, silent = adapted(name, {"select_on_validation": False}, validation_per_class=2, cache_dir=cache_dir)
    assert not any("validation_accuracy" in u for u in silent)


@pytest.mark.parametrize("name", ["cnn3d", "s2former", "dcfsl"])
def test_checking_does_not_perturb_training(name: str, cache_dir: Path) -> None:
    """One check after the last epoch selects the last state: the predictions equal those without selection."""
    checked, _ = adapted(name, {"validation_interval": 1000}, validation_per_class=2, cache_dir=cache_dir)
    unchecked, _ = adapted(name, {"select_on_validation": False}, validation_per_class=2, cache_dir=cache_dir)
    np.testing.assert_array_equal(checked, unchecked)
