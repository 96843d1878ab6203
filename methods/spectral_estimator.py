"""The base of pixel-wise classical methods: a scikit-learn estimator fitted on the support pixels' spectra.

Such a method differs from another only in its estimator and in how that estimator's
hyper-parameters are chosen (:meth:`SpectralEstimatorMethod.fit_estimator`). The rest is the
same and lives here: the support spectra in; the requested pixels' spectra out in batches of
``config.prediction_batch_size`` (spectra only: no patch is ever gathered); a checkpoint that is
the fitted estimator itself (scikit-learn objects pickle with ``torch.save``).
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from hsibench.methods.base import Method, RunContext
from hsibench.protocol import Domain, FewShotTask


class SpectralEstimatorMethod(Method):
    """A method that classifies each pixel's spectrum alone with a fitted scikit-learn estimator.

    Subclasses implement :meth:`fit_estimator`; their config has a ``prediction_batch_size``. scikit-learn
    computes in float64 whatever ``--precision`` asks, so these trials are fp32 trials.
    """

    follows_precision = False

    def __init__(self, config: Any, context: RunContext) -> None:
        super().__init__(config, context)
        self.estimator: Any = None  # a fitted scikit-learn estimator (anything with ``predict``)
        self.fit_details: dict = {}  # how it was fitted (e.g. the hyper-parameters a search chose)
        self.bands = 0

    @abc.abstractmethod
    def fit_estimator(self, spectra: np.ndarray, labels: np.ndarray) -> tuple[Any, dict]:
        """(fitted estimator, plain-data details) for support spectra (n, B) and class indices (n,)."""

    def adapt(self, task: FewShotTask) -> None:
        spectra = task.target.patches.spectra(task.support_coords).numpy()
        self.estimator, self.fit_details = self.fit_estimator(spectra, np.asarray(task.support_labels))
        self.bands = task.target.bands
        self.context.progress(stage="fit", epoch=1, epochs=1, loss=float("nan"))

    def predict(self, domain: Domain, coords: np.ndarray) -> np.ndarray:
        name = self.info.name
        if self.estimator is None:
            raise RuntimeError(f"{name}: predict() before adapt() or load()")
        if domain.bands != self.bands:
            raise ValueError(f"{name}: fitted on {self.bands} bands, but {domain.name} has {domain.bands}")
        coords = np.asarray(coords)
        predictions = np.empty(len(coords), np.int64)
        step = self.config.prediction_batch_size
        for start in range(0, len(coords), step):  # bounded memory whatever the scene size
            batch = coords[start: start + step]
            predictions[start: start + len(batch)] = self.estimator.predict(domain.patches.spectra(batch).numpy())
        return predictions

    def state_dict(self) -> dict:
        if self.estimator is None:
            raise RuntimeError(f"{self.info.name}: nothing to save before adapt()")
        return {"estimator": self.estimator, "fit_details": dict(self.fit_details), "bands": self.bands}

    def load_state_dict(self, state: dict) -> None:
        self.estimator, self.fit_details, self.bands = state["estimator"], dict(state["fit_details"]), int(state["bands"])
