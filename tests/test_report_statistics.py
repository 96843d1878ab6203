"""The signed-rank p computed without scipy equals scipy's ``wilcoxon(method="auto")`` in each of its three regimes."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from scipy.stats import wilcoxon

from hsibench.report.statistics import FLIPS_MAX_PAIRS, PAIRED_TEST, paired_wilcoxon, signed_rank_p


def scipy_p(differences: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(wilcoxon(differences, zero_method="wilcox", alternative="two-sided").pvalue)


def samples(kind: str, rng: np.random.Generator, count: int) -> np.ndarray:
    if kind == "distinct":  # the exact distribution
        return rng.normal(size=count)
    if kind == "ties":  # rounded accuracies tie often: all sign flips up to 13, the normal approximation beyond
        return np.round(rng.normal(size=count), 1)
    differences = rng.normal(0.5, 1.0, size=count)  # zeros: seeds where two methods score alike
    differences[: count // 3] = 0.0
    return differences


@pytest.mark.parametrize("kind", ["distinct", "ties", "zeros"])
def test_p_matches_scipy(kind: str) -> None:
    rng = np.random.default_rng(7)
    for count in [*range(3, 20), 30, 49, 50, 51, 70] * 8:
        differences = samples(kind, rng, count)
        if not differences.any():
            continue
        assert signed_rank_p(differences) == pytest.approx(scipy_p(differences), rel=1e-12, abs=1e-15), differences


def test_ten_seeds_with_ties_use_every_sign_flip_and_are_fast() -> None:
    differences = np.array([1.5, 1.5, -0.5, 2.0, 2.0, 2.0, 3.0, -1.0, 0.0, 4.0])  # ties and a zero
    assert len(differences) <= FLIPS_MAX_PAIRS and "2ⁿ sign flips" in PAIRED_TEST
    assert signed_rank_p(differences) == pytest.approx(scipy_p(differences), rel=1e-12)
    started = time.perf_counter()
    for _ in range(200):
        signed_rank_p(differences)
    assert time.perf_counter() - started < 1.0  # scipy's permutation test takes ~0.1 s for each one


def test_all_zero_differences_and_single_pairs() -> None:
    assert signed_rank_p(np.zeros(4)) == 1.0
    assert paired_wilcoxon({1: 1.0, 2: 2.0}, {1: 1.0, 2: 2.0}) == (1.0, 2)
    assert paired_wilcoxon({1: 1.0}, {1: 2.0}) == (None, 1)
    with pytest.raises(ValueError, match="NaN"):
        signed_rank_p(np.array([1.0, np.nan]))
