"""Holm–Bonferroni adjustment against values computed by hand and by R's ``p.adjust(p, method = "holm")``."""

from __future__ import annotations

import pytest

from hsibench.report.multiple_testing import holm_adjust


@pytest.mark.parametrize(("raw", "adjusted"), [
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") → 0.03 0.06 0.06 0.02
    ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
    # the running maximum: 3·0.01 = 0.03 > 2·0.011, so the second smallest is lifted to 0.03
    ([0.011, 0.01, 0.5], [0.03, 0.03, 0.5]),
    # capped at 1, ties share a value
    ([0.4, 0.4, 0.9], [1.0, 1.0, 1.0]),
    ([0.02], [0.02]),
    ([], []),
])
def test_holm_adjusted_values(raw: list[float], adjusted: list[float]) -> None:
    assert holm_adjust(raw) == pytest.approx(adjusted)


def test_holm_is_never_smaller_than_raw_and_keeps_the_order() -> None:
    raw = [0.001, 0.2, 0.04, 0.03, 0.5, 0.0005]
    adjusted = holm_adjust(raw)
    assert all(a >= r for a, r in zip(adjusted, raw))
    by_raw = [adjusted[i] for i in sorted(range(len(raw)), key=raw.__getitem__)]
    assert by_raw == sorted(by_raw)


def test_a_p_value_outside_the_unit_interval_is_named() -> None:
    with pytest.raises(ValueError, match="got 1.5"):
        holm_adjust([0.1, 1.5])
