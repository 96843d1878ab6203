"""Holm–Bonferroni adjustment of a family of p-values.

A table runs one Wilcoxon test per (method, row) against the proposed method — up to 6 × 9 of
them — so at p < 0.05 some "significant" marks are expected by chance alone. Holm's step-down
procedure (Holm, Scand. J. Statist. 1979) controls the family-wise error rate at the level like
Bonferroni does, under any dependence between the tests, but rejects at least as often. Written
by hand (ten lines) so the report layer needs no statsmodels; it matches R's ``p.adjust(p, "holm")``.
"""

from __future__ import annotations

HOLM = "Holm–Bonferroni"


def holm_adjust(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given: ``min(1, max_{j ≤ i} (m − j + 1) · p_(j))`` for the i-th smallest.

    Comparing an adjusted p with the level is Holm's procedure at that level; the running maximum keeps the
    adjusted values in the order of the raw ones, so a smaller raw p never gets a larger adjusted p.
    """
    for p_value in p_values:
        if not 0.0 <= p_value <= 1.0:
            raise ValueError(f"a p-value must lie in [0, 1], got {p_value!r}")
    count = len(p_values)
    order = sorted(range(count), key=lambda i: p_values[i])
    adjusted = [0.0] * count
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (count - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
