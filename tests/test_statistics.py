"""The paired test the captions describe: zero differences dropped, as the caption says, p = 1 on a tie everywhere."""

from __future__ import annotations

import pytest
from scipy.stats import wilcoxon

from hsibench.report.statistics import PAIRED_TEST, paired_wilcoxon

# per-seed differences chosen so that dropping the zero (seed 1) and keeping it (zsplit, pratt) give different p
DIFFERENCES = [0.0, 4.0, 5.0, -2.0, -1.0, 6.0, 3.0, 1.0]
OTHER = {seed: 90.0 for seed in range(1, len(DIFFERENCES) + 1)}
REFERENCE = {seed: 90.0 + difference for seed, difference in zip(OTHER, DIFFERENCES)}


def test_zero_differences_are_dropped_before_ranking() -> None:
    p_value, pairs = paired_wilcoxon(REFERENCE, OTHER)
    nonzero = [REFERENCE[s] - OTHER[s] for s in REFERENCE if REFERENCE[s] != OTHER[s]]
    assert pairs == len(DIFFERENCES)  # the seed count keeps the tied seed
    assert p_value == pytest.approx(wilcoxon(nonzero).pvalue)  # the test itself does not
    for kept in ("zsplit", "pratt"):
        assert p_value != pytest.approx(wilcoxon(DIFFERENCES, zero_method=kept).pvalue)
    assert "seeds with a zero difference are dropped before ranking" in PAIRED_TEST


def test_equal_on_every_seed_is_p_one_and_one_common_seed_is_no_test() -> None:
    assert paired_wilcoxon(REFERENCE, dict(REFERENCE)) == (1.0, len(DIFFERENCES))
    assert "p = 1 where the two agree on every seed" in PAIRED_TEST
    assert paired_wilcoxon(REFERENCE, {1: 50.0, 99: 60.0}) == (None, 1)
