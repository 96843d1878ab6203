"""The SVM's model selection: no more fits than DeepHyperX's grid, the choice GridSearchCV would make, support only.

DeepHyperX's ``SVM_grid`` searches 20 points with 5-fold CV; ``svm``'s default grid must not need more
SVM fits (points × folds + the refit), counted here on the fits that actually happen. The search is
hsibench's own loop (one scaler per fold): it must choose what scikit-learn's ``GridSearchCV`` over the
same pipeline and folds chooses, ties included. The choice lies inside the grid, and it depends on the
support pixels only: a trial whose test pixels' spectra are replaced by noise chooses the same (C, γ)
and fits the same SVM. Random spectra, a few seconds in all; the accuracy of grids on real trials is
``benchmarks/bench_svm_grid.py``'s.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from hsibench.methods import RunContext, create_method
from hsibench.methods.svm import SVMConfig, fit_support_vector_machine, search_fit_count, search_folds
from hsibench.protocol import Domain, FewShotTask

DEEPHYPERX_POINTS, DEEPHYPERX_FOLDS = 20, 5  # SVM_GRID_PARAMS: 12 RBF + 5 linear + 3 polynomial; GridSearchCV's cv=5


def support_set(seed: int, classes: int = 6, shots: int = 5, bands: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """A few-shot support set like a protocol's: ``shots`` noisy spectra around each class's random mean."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), shots)
    means = rng.normal(size=(classes, bands))
    return (means[labels] + rng.normal(scale=0.8, size=(len(labels), bands))).astype(np.float32), labels


def count_svc_fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real_fit = SVC.fit

    def counting_fit(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 — a pass-through wrapper
        calls.append(1)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(SVC, "fit", counting_fit)
    return calls


def test_default_grid_fits_no_more_svms_than_deephyperx(monkeypatch: pytest.MonkeyPatch) -> None:
    config = SVMConfig()
    spectra, labels = support_set(0)
    assert search_folds(labels, config) == DEEPHYPERX_FOLDS  # 5 shots: the search runs with all 5 folds
    budget = DEEPHYPERX_POINTS * DEEPHYPERX_FOLDS + 1  # DeepHyperX's fits, its refit included
    assert search_fit_count(labels, config) <= budget
    calls = count_svc_fits(monkeypatch)
    _, chosen = fit_support_vector_machine(spectra, labels, config, seed=0)
    assert chosen["chosen_by"] == "5-fold CV on the support set"
    assert len(calls) == search_fit_count(labels, config) <= budget


def test_without_a_search_there_is_one_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    spectra, labels = support_set(1, shots=2)  # below min_per_class_for_search
    calls = count_svc_fits(monkeypatch)
    _, chosen = fit_support_vector_machine(spectra, labels, SVMConfig(), seed=0)
    assert chosen["chosen_by"] == "fixed defaults" and len(calls) == search_fit_count(labels, SVMConfig()) == 1


@pytest.mark.parametrize("seed", range(4))
def test_search_chooses_what_gridsearchcv_chooses(seed: int) -> None:
    """Same CV numbers, same tie-break (the first best point, C outer and γ inner), same refitted SVM."""
    config = SVMConfig()
    spectra, labels = support_set(seed)
    estimator, chosen = fit_support_vector_machine(spectra, labels, config, seed=seed)
    folds = StratifiedKFold(n_splits=search_folds(labels, config), shuffle=True, random_state=seed)
    reference = GridSearchCV(make_pipeline(StandardScaler(), SVC(kernel="rbf")),
                             {"svc__C": list(config.c_grid), "svc__gamma": list(config.gamma_grid)}, cv=folds)
    reference.fit(spectra, labels)
    assert (chosen["C"], chosen["gamma"]) == (reference.best_params_["svc__C"], reference.best_params_["svc__gamma"])
    assert chosen["cv_accuracy"] == reference.best_score_
    assert chosen["cv_tied_points"] == int((reference.cv_results_["rank_test_score"] == 1).sum())
    np.testing.assert_array_equal(estimator[-1].dual_coef_, reference.best_estimator_[-1].dual_coef_)


@pytest.mark.parametrize("seed", range(3))
def test_chosen_parameters_are_grid_points(seed: int) -> None:
    config = SVMConfig()
    spectra, labels = support_set(seed)
    estimator, chosen = fit_support_vector_machine(spectra, labels, config, seed=seed)
    assert chosen["C"] in config.c_grid and chosen["gamma"] in config.gamma_grid
    assert (estimator[-1].C, estimator[-1].gamma) == (chosen["C"], chosen["gamma"])
    assert 0.0 <= chosen["cv_accuracy"] <= 1.0
    assert 1 <= chosen["cv_tied_points"] <= len(config.c_grid) * len(config.gamma_grid)


class CubePatches:
    """A stand-in for a domain's patch sampler that serves spectra of an (H, W, B) cube and records what is read."""

    def __init__(self, cube: np.ndarray) -> None:
        self.cube, self.read = cube, []
        self.height, self.width, self.bands = cube.shape
        self.valid_mask = None

    def spectra(self, coords: np.ndarray) -> torch.Tensor:
        coords = np.asarray(coords)
        self.read.append(coords.copy())
        return torch.from_numpy(self.cube[coords[:, 0], coords[:, 1]])


def test_selection_reads_only_the_support_pixels() -> None:
    """Test pixels replaced by loud noise: the same pixels read, the same (C, γ), the same SVM."""
    height, width, classes, shots = 12, 10, 4, 5
    spectra, labels = support_set(7, classes=classes, shots=shots, bands=30)
    rng = np.random.default_rng(3)
    support_coords = np.argwhere(np.ones((height, width), bool))[rng.choice(height * width, len(labels), replace=False)]
    clean = rng.normal(size=(height, width, 30)).astype(np.float32)
    clean[support_coords[:, 0], support_coords[:, 1]] = spectra
    poisoned = (rng.normal(scale=50.0, size=clean.shape) + 9.0).astype(np.float32)  # every pixel but the support
    poisoned[support_coords[:, 0], support_coords[:, 1]] = spectra

    fitted = []
    for cube in (clean, poisoned):
        patches = CubePatches(cube)
        task = FewShotTask(target=Domain("cube", patches), support_coords=support_coords, support_labels=labels,
                           validation_coords=np.zeros((0, 2), np.int64), validation_labels=np.zeros(0, np.int64),
                           class_ids=tuple(range(1, classes + 1)), class_names=tuple(map(str, range(classes))), seed=5)
        method = create_method("svm", RunContext(seed=5))
        method.adapt(task)
        assert len(patches.read) == 1
        np.testing.assert_array_equal(patches.read[0], support_coords)  # the support pixels, nothing else
        fitted.append(method)
    first, second = fitted
    assert first.fit_details["chosen_by"] == "5-fold CV on the support set"
    assert first.fit_details == second.fit_details
    np.testing.assert_array_equal(first.estimator[-1].dual_coef_, second.estimator[-1].dual_coef_)
    np.testing.assert_array_equal(first.estimator[-1].support_, second.estimator[-1].support_)


def test_smoke_preset_still_searches_its_small_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    from hsibench.methods import resolve_config

    config = resolve_config("svm", "smoke")
    assert dataclasses.asdict(config)["c_grid"] == (1.0, 100.0)
    spectra, labels = support_set(2)
    calls = count_svc_fits(monkeypatch)
    _, chosen = fit_support_vector_machine(spectra, labels, config, seed=0)
    assert chosen["C"] in config.c_grid and chosen["gamma"] in config.gamma_grid
    assert len(calls) == 2 * 2 * 5 + 1
