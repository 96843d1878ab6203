"""The tuning trainable without Ray: it scores validation pixels, forwards validation checks, never reads test labels;
and the search is refused, before Ray starts, when it cannot be run honestly or at all."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from hsibench.errors import HsibenchError
from hsibench.methods.registry import ConfigError, UnknownMethodError
from hsibench.protocol import LabeledPixels
from hsibench.tuning import trainable
from hsibench.tuning.errors import TuningError
from hsibench.tuning.trainable import TuneRequest, evaluate_settings, without_test
from hsibench.tuning.tuner import TrialOutcome, best_outcome, plan_search

SVM_SETTINGS = [{"c": 0.5, "gamma": 2.0**-10}, {"c": 100.0, "gamma": 2.0**-6}, {"c": 5000.0, "gamma": 0.3}]


def svm_request(tmp_path: Path, seeds: tuple[int, ...] = (11, 12)) -> TuneRequest:
    return plan_search("svm", "demo_dev", trials=3, seeds=list(seeds), cache_dir=tmp_path / "cache").request


def scores(request: TuneRequest) -> list[dict]:
    return [evaluate_settings(request, settings, lambda report: None) for settings in SVM_SETTINGS]


def _same_scores(first: list[dict], second: list[dict]) -> None:
    for one, other in zip(first, second):
        assert one["validation_accuracy_per_seed"] == other["validation_accuracy_per_seed"]


def test_the_final_report_is_the_mean_validation_accuracy_over_the_seeds(tmp_path: Path) -> None:
    reports: list[dict] = []
    final = evaluate_settings(svm_request(tmp_path), SVM_SETTINGS[1], reports.append)
    assert reports == [final] and final["final"] is True  # an SVM has no epochs: one report, at the end
    assert len(final["validation_accuracy_per_seed"]) == 2
    assert final["validation_accuracy"] == pytest.approx(np.mean(final["validation_accuracy_per_seed"]))
    assert 0.0 <= final["validation_accuracy"] <= 1.0
    assert "test" not in " ".join(final)


def test_every_validation_check_of_a_training_loop_is_forwarded(tmp_path: Path) -> None:
    request = plan_search("cnn3d", "demo_dev", trials=1, seeds=[11], cache_dir=tmp_path / "cache").request
    reports: list[dict] = []
    evaluate_settings(request, {"epochs": 20, "learning_rate": 1e-3}, reports.append)
    intermediate, final = reports[:-1], reports[-1]
    assert [report["epoch"] for report in intermediate] == [10, 20]  # validation_interval 10 (methods/validation.py)
    assert all(not report["final"] and 0 <= report["validation_accuracy"] <= 1 for report in intermediate)
    assert final["final"] and final["epoch"] == 20


def test_shuffled_or_constant_test_labels_change_no_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The poison test: the split's test labels turned to garbage leave every validation score as it was."""
    request = svm_request(tmp_path)
    honest = scores(request)
    original = trainable.make_split
    for poison in (lambda labels: np.full_like(labels, labels.max()), lambda labels: np.random.default_rng(0).permutation(labels)):
        def poisoned(*args, poison=poison, **kwargs):
            split = original(*args, **kwargs)
            return dataclasses.replace(split, test=LabeledPixels(split.test.coords, poison(split.test.labels)))

        monkeypatch.setattr(trainable, "make_split", poisoned)
        _same_scores(scores(request), honest)


class _UnreadableTestPixels:
    """Stands in for the test subset: any read of its labels fails the test."""

    coords = np.zeros((0, 2), np.int64)

    @property
    def labels(self):
        raise AssertionError("a tuning trial read the test labels")

    def __len__(self) -> int:
        raise AssertionError("a tuning trial looked at the test subset")


def test_a_trial_never_reads_the_test_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    request = svm_request(tmp_path, seeds=(11,))
    original = trainable.make_split
    monkeypatch.setattr(trainable, "make_split", lambda *a, **k: dataclasses.replace(original(*a, **k),
                                                                                      test=_UnreadableTestPixels()))
    assert evaluate_settings(request, SVM_SETTINGS[0], lambda report: None)["final"]


def test_what_a_trial_hands_on_has_no_test_pixels() -> None:
    from hsibench.protocol import load_protocol, make_split

    split = make_split(load_protocol("demo_dev"), 11)
    assert len(split.test) > 0
    stripped = without_test(split)
    assert len(stripped.test) == 0
    assert stripped.support == split.support and stripped.validation == split.validation


def test_the_request_travels_as_plain_data(tmp_path: Path) -> None:
    request = svm_request(tmp_path)
    assert TuneRequest.from_dict(request.to_dict()) == request
    assert request.method_overrides == {"search": False}  # the space's Fixed key: SVM's own grid off
    assert request.spec(11, {"c": 3.0}).method_overrides == {"search": False, "c": 3.0}


def test_the_best_trial_is_the_best_finished_one_and_the_first_on_ties() -> None:
    outcomes = [TrialOutcome("t0", {"c": 1}, 0.8, True), TrialOutcome("t1", {"c": 2}, 0.95, False),
                TrialOutcome("t2", {"c": 3}, 0.9, True), TrialOutcome("t3", {"c": 4}, 0.9, True)]
    assert best_outcome(outcomes).trial_id == "t2"
    with pytest.raises(TuningError, match="no trial of the search finished; the first error: boom"):
        best_outcome([TrialOutcome("t0", {}, None, False, error="boom")])


# --- refused before Ray starts ----------------------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "error", "message"), [
    ({"method": "svn"}, UnknownMethodError, "unknown method 'svn'.*Valid names: .*svm"),
    ({"protocol": "demo"}, TuningError, "protocol 'demo' has no validation pixels.*validation_per_class=3"),
    ({"overrides": {"split_mode": "clean"}, "protocol": "demo"}, TuningError, "no validation pixels"),
    ({"trials": 0}, TuningError, "--trials must be at least 1"),
    ({"keys": ["kernel"]}, ConfigError, "kernel is not a searched key"),
    ({"method": "cnn3d", "overrides": {"epochs": "0"}}, ConfigError, "epochs=0 leaves no training budget"),
    ({"scheduler": "hyperband"}, TuningError, "unknown scheduler 'hyperband'; valid: asha, fifo"),
    ({"search": "grid"}, TuningError, "unknown search 'grid'; valid: random, optuna"),
    ({"overrides": {"c": "1", "gamma": "0.1"}}, TuningError, "nothing to search"),
    ({"protocol": "demo_devv"}, HsibenchError, "unknown protocol 'demo_devv'. Did you mean demo_dev"),
])
def test_a_search_that_cannot_run_is_refused_with_a_clear_error(arguments: dict, error: type, message: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray was started"))
    values = {"method": "svm", "protocol": "demo_dev", "trials": 2, **arguments}
    with pytest.raises(error, match=message):
        plan_search(**values)


def test_optuna_is_asked_for_only_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "optuna" else real(name, *a))
    with pytest.raises(TuningError, match=r"--search optuna needs the 'optuna' package.*pip install optuna"):
        plan_search("svm", "demo_dev", search="optuna")
