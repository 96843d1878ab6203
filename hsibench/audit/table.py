"""The audit's one table: per method, each habit's paired change in OA, then what a single seed would report.

Markdown and LaTeX go through the report layer's renderers (a :class:`~hsibench.report.table_model.Table` whose
interval, p and explanation cells are words); the CSV is the audit's own long format, one line per row with
every number at full precision, for anyone who wants to redo the statistics.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from hsibench.audit.effects import (
    GAIN_POINTS,
    NO_DIFFERENCE_P,
    HabitEffect,
    MethodPair,
    SingleSeedSpread,
)
from hsibench.audit.habits import HABITS, ONE_SEED
from hsibench.report.display import latex_label
from hsibench.report.provenance import provenance_phrase
from hsibench.report.statistics import PAIRED_INTERVAL, PAIRED_TEST, Summary
from hsibench.report.table_model import Cell, Table
from hsibench.runner.record_schema import TrialRecord

COLUMNS = ["Reference OA (%)", "With the habit OA (%)", "ΔOA (points)", "95 % CI", "Wilcoxon p", "What it did"]


@dataclass(frozen=True)
class AuditFindings:
    """Everything the table and the figure show, computed once from the records."""

    protocol_label: str  # e.g. "sa_a_r2l (clean reference: split_mode = clean, …)"
    reference_phrase: str
    effects: list[HabitEffect]
    spreads: list[SingleSeedSpread]
    pairs: list[MethodPair]
    not_applicable: dict[tuple[str, str], str]
    records: list[TrialRecord]


def _p_text(p_value: float | None) -> str:
    if p_value is None:
        return "–"
    return f"{p_value:.3f}" if p_value >= 0.001 else f"{p_value:.1e}"


def _signed(value: float) -> str:
    return f"{value:+.2f}".replace("-", "−")


def _summary_cell(summary: Summary) -> Cell:
    return Cell(summary.mean, summary.std, summary.count)


def _words(text: str) -> Cell:
    return Cell(None, note=text)


def _effect_row(effect: HabitEffect) -> tuple[str, list[Cell]]:
    interval = effect.interval
    interval_text = f"[{_signed(interval[0])}, {_signed(interval[1])}]" if interval else "–"
    return (f"{effect.method}: {HABITS.get(effect.habit).title}",
            [_summary_cell(effect.reference), _summary_cell(effect.with_habit), _words(_signed(effect.change)),
             _words(interval_text), _words(_p_text(effect.p_value)), _words(effect.detail)])


def _spread_row(spread: SingleSeedSpread) -> tuple[str, list[Cell]]:
    (low_seed, low), (high_seed, high) = spread.lowest, spread.highest
    mean = spread.over_seeds.mean
    return (f"{spread.method}: one seed instead of {spread.over_seeds.count}",
            [_summary_cell(spread.over_seeds), _words(f"{low:.2f} … {high:.2f} (seeds {low_seed}, {high_seed})"),
             _words(f"{_signed(low - mean)} … {_signed(high - mean)}"), _words("–"), _words("–"),
             _words(f"two runs of this one method, one seed each, differ by ≥ {GAIN_POINTS:g} point in "
                    f"{100 * spread.equal_methods_chance:.0f} % of {spread.seed_pairs} seed pairs")])


def _pair_row(pair: MethodPair) -> tuple[str, list[Cell]]:
    n = len(pair.seeds)
    verdict = (f"the two differ over {n} seeds (p < {NO_DIFFERENCE_P:g}), so single-seed gains are expected"
               if pair.differ else
               f"no difference over {n} seeds (p ≥ {NO_DIFFERENCE_P:g}), yet one is ahead by ≥ {GAIN_POINTS:g} "
               f"point on {100 * pair.single_seed_chance:.0f} % of single seeds")
    return (f"{pair.second} − {pair.first}: one seed",
            [_words("–"), _words("–"), _words(_signed(pair.change)), _words("–"), _words(_p_text(pair.p_value)),
             _words(verdict)])


def _caption(findings: AuditFindings) -> str:
    left_out = "; ".join(f"{HABITS.get(habit).title} for {method} ({why})"
                         for (method, habit), why in sorted(findings.not_applicable.items()))
    seeds = sorted({seed for effect in findings.effects for seed in effect.seeds})
    parts = [
        f"Evaluation habits audited on {findings.protocol_label}, over {len(seeds)} paired seeds.",
        findings.reference_phrase,
        "Each habit row switches one habit on, alone, on the same seeds and splits: ΔOA is the mean per-seed "
        f"change (habit − reference), its interval the {PAIRED_INTERVAL}, and p the {PAIRED_TEST}.",
        f"The one-seed rows read the reference's own seeds: the range a single-seed report could show, and how "
        f"often one seed puts a method {GAIN_POINTS:g} point ahead where the seeds together show no difference.",
        f"Not run: {left_out}." if left_out else "",
        provenance_phrase(findings.records),
    ]
    return " ".join(part for part in parts if part)


def audit_table(findings: AuditFindings) -> Table:
    rows: list[tuple[str, list[Cell]]] = []
    separators: set[int] = set()
    methods = list(dict.fromkeys([e.method for e in findings.effects] + [s.method for s in findings.spreads]))
    for method in methods:
        if rows:
            separators.add(len(rows))
        rows += [_effect_row(effect) for effect in findings.effects if effect.method == method]
        rows += [_spread_row(spread) for spread in findings.spreads if spread.method == method]
    if findings.pairs:
        separators.add(len(rows))
        rows += [_pair_row(pair) for pair in findings.pairs]
    protocol = next((record.protocol_name for record in findings.records if record.protocol_name), "")
    return Table("audit", _caption(findings), "Method: habit", list(COLUMNS), rows, separators=separators,
                 label=latex_label("audit", protocol) if protocol else None)


CSV_FIELDS = ("method", "habit", "seeds", "reference_mean", "reference_std", "habit_mean", "habit_std", "change",
              "interval_low", "interval_high", "p_value", "detail")


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def audit_csv(findings: AuditFindings) -> str:
    """Long format: one line per habit effect, single-seed spread and method pair, numbers at full precision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for e in findings.effects:
        low, high = e.interval or (None, None)
        writer.writerow([e.method, e.habit, " ".join(map(str, e.seeds)), _number(e.reference.mean),
                         _number(e.reference.std), _number(e.with_habit.mean), _number(e.with_habit.std),
                         _number(e.change), _number(low), _number(high), _number(e.p_value), e.detail])
    for s in findings.spreads:
        writer.writerow([s.method, ONE_SEED, s.over_seeds.count, _number(s.over_seeds.mean), _number(s.over_seeds.std),
                         "", "", "", _number(s.lowest[1] - s.over_seeds.mean), _number(s.highest[1] - s.over_seeds.mean),
                         "", f"P(|OA_i - OA_j| >= {GAIN_POINTS:g}) over {s.seed_pairs} seed pairs = "
                             f"{s.equal_methods_chance!r}"])
    for p in findings.pairs:
        writer.writerow([f"{p.second} - {p.first}", ONE_SEED, " ".join(map(str, p.seeds)), "", "", "", "",
                         _number(p.change), "", "", _number(p.p_value),
                         f"share of single seeds with |difference| >= {GAIN_POINTS:g} = {p.single_seed_chance!r}"])
    return buffer.getvalue()
