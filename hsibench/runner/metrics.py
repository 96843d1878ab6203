"""Classification scores of one trial, from sklearn: OA, AA, Cohen's κ, per-class accuracy, confusion matrix.

Scores are computed by the runner only, on test pixels whose labels no method ever received.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, recall_score


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
    out_of_range = predicted[(predicted < 0) | (predicted >= num_classes)]
    if len(out_of_range):
        raise ValueError(f"predictions must be class indices 0…{num_classes - 1}; got {sorted(set(out_of_range.tolist()))[:5]}")
    labels = list(range(num_classes))
    counts = np.bincount(truth, minlength=num_classes)
    recall = recall_score(truth, predicted, labels=labels, average=None, zero_division=0)
    per_class = tuple(float(r) if counts[i] else None for i, r in enumerate(recall))
    present = [r for r in per_class if r is not None]
    kappa = cohen_kappa_score(truth, predicted, labels=labels)
    return Scores(
        overall_accuracy=float(accuracy_score(truth, predicted)),
        average_accuracy=float(np.mean(present)),
        kappa=None if math.isnan(kappa) else float(kappa),
        per_class_accuracy=per_class,
        confusion=confusion_matrix(truth, predicted, labels=labels),
    )
