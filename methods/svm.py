"""``svm`` — an RBF support vector machine on the support pixels' standardised spectra.

Reference: F. Melgani, L. Bruzzone, "Classification of Hyperspectral Remote Sensing Images With
Support Vector Machines", IEEE TGRS 42(8), 2004 — the classical pixel-wise baseline: each pixel's
spectrum alone (no neighbourhood), an RBF kernel, C and γ chosen by cross-validation.

Here: scikit-learn's ``SVC`` (one-vs-one, as libSVM) behind a ``StandardScaler`` fitted on the
support spectra (the protocol's z-score stays; this only rescales bands by the support's spread, as
an SVM pipeline usually does, and reads no pixel but the support's). When every class has at least
``min_per_class_for_search`` support pixels, (C, γ) is chosen by ``GridSearchCV`` with
stratified k-fold cross-validation *on the support set only* (k = min(``cv_folds``, smallest
class size)); otherwise the fixed ``c`` and ``gamma`` are used. The target's test pixels never
enter the choice.

Deviations (README, "Methods"):
- The grid is ours (the paper searched per data set; its grid is not given for these scenes):
  C ∈ 10^{−1…4}, γ ∈ 2^{−12, −10, …, 0}, which brackets scikit-learn's ``"scale"`` heuristic
  (γ ≈ 1/B for standardised spectra, B ≈ 100–200).
- Trained on the few-shot support set (the paper had hundreds of labelled pixels per class), so
  the cross-validation folds are tiny, and below ``min_per_class_for_search`` pixels per class
  there is no search at all: C = ``c`` = 100 and γ = scikit-learn's ``"scale"``, our choice.
- Inputs are the protocol's z-scored spectra (standardised again on the support set): every method
  of a table sees the same normalised cube; the paper's own preprocessing is not reproduced.

The method shell (support spectra in, batched prediction, the fitted pipeline as the checkpoint) is
:class:`~hsibench.methods.spectral_estimator.SpectralEstimatorMethod`; this file is the SVM's
config and fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from hsibench.methods.registry import register_method
from hsibench.methods.spectral_estimator import SpectralEstimatorMethod


@dataclass
class SVMConfig:
    c: float = 100.0  # the penalty C when there is no search
    gamma: float | None = None  # the RBF γ when there is no search; None = scikit-learn's "scale"
    search: bool = True
    min_per_class_for_search: int = 3
    cv_folds: int = 5
    c_grid: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
    gamma_grid: tuple[float, ...] = (2.0**-12, 2.0**-10, 2.0**-8, 2.0**-6, 2.0**-4, 2.0**-2, 1.0)
    prediction_batch_size: int = 65536


def fit_support_vector_machine(spectra: np.ndarray, labels: np.ndarray, config: SVMConfig,
                               seed: int) -> tuple[Pipeline, dict]:
    """The fitted pipeline and how (C, γ) were chosen."""
    pipeline = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=config.c,
                                                   gamma="scale" if config.gamma is None else config.gamma))
    smallest_class = int(np.bincount(labels).min())
    if not config.search or smallest_class < max(config.min_per_class_for_search, 2):
        pipeline.fit(spectra, labels)
        return pipeline, {"C": config.c, "gamma": config.gamma, "chosen_by": "fixed defaults"}
    folds = StratifiedKFold(n_splits=min(config.cv_folds, smallest_class), shuffle=True, random_state=seed % 2**32)
    search = GridSearchCV(pipeline, {"svc__C": list(config.c_grid), "svc__gamma": list(config.gamma_grid)}, cv=folds)
    search.fit(spectra, labels)
    chosen = {"C": search.best_params_["svc__C"], "gamma": search.best_params_["svc__gamma"],
              "chosen_by": f"{folds.get_n_splits()}-fold CV on the support set", "cv_accuracy": search.best_score_}
    return search.best_estimator_, chosen


@register_method(
    "svm", family="classical", uses_source_labels=False, pretrains=False,
    reference="Melgani & Bruzzone, IEEE TGRS 2004, Classification of Hyperspectral Remote Sensing Images With "
              "Support Vector Machines",
    config=SVMConfig,
    presets={"smoke": {"c_grid": (1.0, 100.0), "gamma_grid": (2.0**-8, 2.0**-4)}},
)
class SupportVectorMachine(SpectralEstimatorMethod):
    """RBF SVM on each support pixel's standardised spectrum; C and γ by cross-validation on the support set."""

    config: SVMConfig

    def fit_estimator(self, spectra: np.ndarray, labels: np.ndarray) -> tuple[Pipeline, dict]:
        return fit_support_vector_machine(spectra, labels, self.config, self.context.seed)
