"""Classification scores of one trial: OA, AA, Cohen's κ, per-class accuracy, confusion matrix.

Scores are computed by the runner only, on test pixels whose labels no method ever received. They are read off
one confusion matrix in NumPy, with scikit-learn's formulas (``accuracy_score``, ``recall_score``,
``cohen_kappa_score``; tests/test_runner_trials.py checks equality with them): importing ``sklearn.metrics``
(and the pandas it pulls in) would cost every trial's process 1.3–2.9 s before its first trial on 2 cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scores:
    overall_accuracy: float  # share of test pixels correct
    average_accuracy: float  # mean per-class recall
    kappa: float | None  # None when undefined (a single class in truth and prediction)
    per_class_accuracy: tuple[float | None, ...]  # recall per class index; None for a class with no test pixel
    confusion: np.ndarray  # (K, K) rows = truth, columns = prediction


def score_predictions(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> Scores:
    """Scores of ``predicted`` class indices (n,) against ``truth`` (n,), both in 0…K−1."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if truth.shape != predicted.shape or truth.ndim != 1:
        raise ValueError(f"truth {truth.shape} and predictions {predicted.shape} must be two equally long vectors")
    if len(truth) == 0:
        raise ValueError("no test pixels to score; the split left the test set empty")
    for name, values in (("predictions", predicted), ("test labels", truth)):
        out_of_range = values[(values < 0) | (values >= num_classes)]
        if len(out_of_range):
            raise ValueError(f"{name} must be class indices 0…{num_classes - 1}; "
                             f"got {sorted(set(out_of_range.tolist()))[:5]}")
    confusion = np.bincount(truth * num_classes + predicted, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)
    counts = confusion.sum(axis=1)
    correct = np.diag(confusion)
    per_class = tuple(float(correct[i] / counts[i]) if counts[i] else None for i in range(num_classes))
    present = [r for r in per_class if r is not None]
    return Scores(
        overall_accuracy=float(correct.sum() / len(truth)),
        average_accuracy=float(np.mean(present)),
        kappa=cohen_kappa(confusion),
        per_class_accuracy=per_class,
        confusion=confusion,
    )


def cohen_kappa(confusion: np.ndarray) -> float | None:
    """κ = 1 − Σ w·C / Σ w·E, w = 1 − I, E = outer(column sums, row sums) / n — scikit-learn's
    ``cohen_kappa_score`` term for term and in its order (so equal to the last bit); ``None`` where it is
    undefined (one class in truth and prediction)."""
    confusion = confusion.astype(np.float64)
    column_sums, row_sums = confusion.sum(axis=0), confusion.sum(axis=1)
    expected = np.outer(column_sums, row_sums) / np.sum(column_sums)
    weights = np.ones(confusion.shape, dtype=np.float64)
    np.fill_diagonal(weights, 0)
    denominator = np.sum(weights * expected)
    if denominator == 0:
        return None
    return float(1 - np.sum(weights * confusion) / denominator)
