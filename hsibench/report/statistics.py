"""Summaries over seeds and the paired test against the proposed method.

Standard deviation: sample (``ddof = 1``) by default; the DCFSL code reports the population std
(``ddof = 0``), so both are offered and every caption says which. Significance: the two-sided
Wilcoxon signed-rank test on per-seed values, paired by seed over the seeds both methods ran — a
rank test, because ten accuracies are too few to trust normality. Seeds where the two methods
score alike carry no sign, so they are dropped before ranking (scipy's ``zero_method="wilcox"``).

The p-value is the one ``scipy.stats.wilcoxon(method="auto")`` gives, computed here without scipy
in microseconds rather than scipy's 0.1 s a test (its tie branch runs a generic permutation test,
and a table runs a hundred tests):

- no ties and no zero differences, n ≤ 50: the exact null distribution of the signed-rank sum W⁺
  (counted by dynamic programming over the integer ranks);
- ties or zero differences, n ≤ 13 seeds: exact too, the distribution of W⁺ over all 2ⁿ sign flips
  of the (average) ranks — the permutation distribution scipy enumerates in that case;
- otherwise: the normal approximation of W⁺ with the tie correction of its variance and no
  continuity correction (scipy's ``method="asymptotic"`` at its default ``correction=False``).

A test checks these against scipy on random, tied and zero-laden samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

STD_KINDS = {"sample": 1, "population": 0}

ZERO_METHOD = "wilcox"  # drop zero differences before ranking (scipy's default)
EXACT_MAX_PAIRS = 50  # without ties: the exact null distribution up to here (scipy's limit), the normal one beyond
FLIPS_MAX_PAIRS = 13  # with ties or zeros: all 2^n sign flips up to here (scipy's limit), the normal one beyond

#: what :func:`paired_wilcoxon` does, in the words every caption uses (kept next to the code it describes)
PAIRED_TEST = ("two-sided Wilcoxon signed-rank test on per-seed values, paired by seed over the seeds both methods ran; "
               f"seeds with a zero difference are dropped before ranking, as scipy's zero_method = {ZERO_METHOD} does, "
               "and p = 1 where the two agree on every seed; exact p from the signed-rank distribution, or, with tied "
               f"differences, from all 2ⁿ sign flips of the average ranks up to n = {FLIPS_MAX_PAIRS} seeds and the "
               "tie-corrected normal approximation beyond")


@dataclass(frozen=True)
class Summary:
    mean: float
    std: float | None  # None when undefined (a single seed with the sample std)
    count: int


def summarise(values: list[float], ddof: int = 1) -> Summary:
    if not values:
        raise ValueError("no values to summarise")
    array = np.asarray(values, float)
    std = float(array.std(ddof=ddof)) if len(array) > ddof else None
    return Summary(float(array.mean()), std, len(array))


def paired_wilcoxon(reference: dict[int, float], other: dict[int, float]) -> tuple[float | None, int]:
    """(two-sided p, number of paired seeds); p is ``None`` with fewer than two common seeds.

    Equal values on every seed give p = 1: there is no difference to detect. Otherwise seeds with equal values
    are dropped (``ZERO_METHOD``) and the test runs on the remaining differences (:func:`signed_rank_p`).
    """
    common = sorted(set(reference) & set(other))
    if len(common) < 2:
        return None, len(common)
    differences = np.asarray([reference[s] - other[s] for s in common], float)
    if np.allclose(differences, 0.0):
        return 1.0, len(common)
    return signed_rank_p(differences), len(common)


def signed_rank_p(differences: np.ndarray) -> float:
    """Two-sided p of the Wilcoxon signed-rank test of ``differences`` (zeros dropped), as
    ``scipy.stats.wilcoxon(differences, zero_method="wilcox", method="auto")`` computes it; see the module docstring."""
    differences = np.asarray(differences, float)
    if np.isnan(differences).any():
        raise ValueError("differences must not contain NaN")
    zeros = int(np.count_nonzero(differences == 0))
    nonzero = differences[differences != 0]
    count = len(nonzero)
    if count == 0:
        return 1.0
    ranks, tie_sizes = _average_ranks(np.abs(nonzero))
    # ranks are whole or half numbers: doubled, every sum below is an exact integer
    doubled = np.rint(2 * ranks).astype(np.int64)
    observed = int(doubled[nonzero > 0].sum())  # 2·W⁺
    tied = bool((tie_sizes > 1).any())
    if not tied and not zeros and count <= EXACT_MAX_PAIRS:
        return _exact_p(count, observed // 2)
    if (tied or zeros) and len(differences) <= FLIPS_MAX_PAIRS:
        return _sign_flip_p(doubled, observed)
    return _normal_p(count, observed / 2, tie_sizes)


def _average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1-based ranks with ties given their average rank, size of each group of equal values)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, len(values)])
    average = starts + (sizes + 1) / 2.0  # the mean of 1-based ranks start+1 … start+size
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(average, sizes)
    return ranks, sizes


def _exact_p(count: int, statistic: int) -> float:
    """Exact two-sided p of W⁺ = ``statistic`` with ranks 1…``count``: the number of sign patterns giving each sum,
    counted one rank at a time (subset-sum dynamic programming), over 2^count."""
    total = count * (count + 1) // 2
    ways = np.zeros(total + 1, dtype=np.float64)  # exact: at most 2^50 < 2^53
    ways[0] = 1.0
    for rank in range(1, count + 1):
        ways[rank:] = ways[rank:] + ways[:-rank].copy()
    cumulative = np.cumsum(ways) / 2.0**count
    lower = cumulative[statistic]  # P(W⁺ ≤ w)
    upper = 1.0 - (cumulative[statistic - 1] if statistic > 0 else 0.0)  # P(W⁺ ≥ w)
    return float(min(1.0, 2.0 * min(lower, upper)))


def _sign_flip_p(doubled_ranks: np.ndarray, observed: int) -> float:
    """Exact two-sided p of 2·W⁺ = ``observed`` over every one of the 2^n sign flips of the (doubled) ranks."""
    count = len(doubled_ranks)
    patterns = (np.arange(2**count)[:, None] >> np.arange(count)) & 1  # [2^n, n]: 1 = positive
    null = patterns @ doubled_ranks  # [2^n]
    lower = np.count_nonzero(null <= observed) / len(null)
    upper = np.count_nonzero(null >= observed) / len(null)
    return float(min(1.0, 2.0 * min(lower, upper)))


def _normal_p(count: int, statistic: float, tie_sizes: np.ndarray) -> float:
    """Two-sided p of the normal approximation of W⁺ with the tie-corrected variance (no continuity correction,
    as scipy's default ``correction=False``)."""
    mean = count * (count + 1) / 4.0
    tie_correction = float(np.sum(tie_sizes.astype(float) ** 3 - tie_sizes))
    spread = math.sqrt((count * (count + 1) * (2 * count + 1) - tie_correction / 2) / 24.0)
    z = (statistic - mean) / spread
    return float(min(1.0, math.erfc(abs(z) / math.sqrt(2.0))))


def smallest_attainable_p(pairs: int) -> float:
    """The smallest two-sided p the exact signed-rank test can give with ``pairs`` pairs (2 / 2^n)."""
    return min(1.0, 2.0 / 2**pairs)


#: what :func:`paired_interval` gives, in a caption's words
PAIRED_INTERVAL = "Student-t interval of the mean paired difference over the seeds (sample std, n − 1 degrees of freedom)"


def paired_interval(differences: list[float], level: float = 0.95) -> tuple[float, float] | None:
    """The ``level`` confidence interval of the mean of per-seed paired ``differences``; ``None`` below two seeds.

    Equal differences on every seed give a zero-width interval at that value.
    """
    from scipy.stats import t

    values = np.asarray(differences, float)
    if len(values) < 2:
        return None
    mean = float(values.mean())
    half = float(t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return mean - half, mean + half
