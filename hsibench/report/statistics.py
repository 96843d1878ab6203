"""Summaries over seeds and the paired test against the proposed method.

Standard deviation: sample (``ddof = 1``) by default; the DCFSL code reports the population std
(``ddof = 0``), so both are offered and every caption says which. Significance: the two-sided
Wilcoxon signed-rank test (scipy) on per-seed values, paired by seed over the seeds both
methods ran — a rank test, because ten accuracies are too few to trust normality. Seeds where
the two methods score alike carry no sign, so they are dropped before ranking (scipy's
``zero_method="wilcox"``, its default, set explicitly so the caption's claim is pinned here).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.stats import wilcoxon

STD_KINDS = {"sample": 1, "population": 0}

ZERO_METHOD = "wilcox"  # drop zero differences before ranking (scipy's default)

#: what :func:`paired_wilcoxon` does, in the words every caption uses (kept next to the code it describes)
PAIRED_TEST = ("two-sided Wilcoxon signed-rank test on per-seed values, paired by seed over the seeds both methods ran; "
               f"seeds with a zero difference are dropped before ranking, as scipy's zero_method = {ZERO_METHOD} does, "
               "and p = 1 where the two agree on every seed")


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
    are dropped (``ZERO_METHOD``) and the test runs on the remaining differences.
    """
    common = sorted(set(reference) & set(other))
    if len(common) < 2:
        return None, len(common)
    differences = np.asarray([reference[s] - other[s] for s in common], float)
    if np.allclose(differences, 0.0):
        return 1.0, len(common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about ties and small samples; the caption states n
        p_value = float(wilcoxon(differences, zero_method=ZERO_METHOD, alternative="two-sided").pvalue)
    return (None if math.isnan(p_value) else p_value), len(common)


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
