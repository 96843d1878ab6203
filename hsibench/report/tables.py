"""The paper's tables, built from grouped records: main comparison, ablation, and accuracy vs a swept key.

Every number is a mean ± std over seeds of per-trial scores read from records; the caption
states the std kind, the seeds, the test, its correction for multiple tests and what the marks mean.
Accuracies are percentages and Cohen's κ is shown ×100 (the row or column says "κ ×100", the
caption says it in words), as papers print it; a record stores κ as a fraction.
Rows and columns are keyed by registry and raw class names; headers show display names (:mod:`.display`).
A table's stars are read together, so its family of tests is the whole table: every p-value is
Holm-adjusted over all the paired tests the table runs (:func:`holm_marked`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from hsibench.data.registry import SCENES
from hsibench.protocol.protocol import identity_scenes
from hsibench.report.collect import Group, ReportError, sortable
from hsibench.report.display import class_display_name, method_display_name
from hsibench.report.multiple_testing import HOLM, holm_adjust
from hsibench.report.provenance import provenance_phrase
from hsibench.report.statistics import PAIRED_TEST, STD_KINDS, paired_wilcoxon, smallest_attainable_p, summarise
from hsibench.report.table_model import Cell, Table
from hsibench.runner.record_schema import TrialRecord

PROPOSED_METHOD = "s2former"
DEFAULT_ALPHA = 0.05

Extractor = Callable[[TrialRecord], float | None]


@dataclass(frozen=True)
class Metric:
    label: str
    extract: Extractor


def _scaled(key: str) -> Extractor:
    return lambda record: None if getattr(record, key) is None else 100.0 * getattr(record, key)


OVERALL = Metric("OA (%)", _scaled("overall_accuracy"))
AVERAGE = Metric("AA (%)", _scaled("average_accuracy"))
KAPPA = Metric("κ ×100", _scaled("kappa"))  # Cohen's kappa as a percentage, as papers print it
KAPPA_PHRASE = "κ: Cohen's kappa ×100."
SUMMARY_METRICS = {"OA": OVERALL, "AA": AVERAGE, "kappa": KAPPA}


def class_metric(class_id: int, name: str) -> Metric:
    def extract(record: TrialRecord) -> float | None:
        for entry in record.per_class:
            if entry.class_id == class_id and entry.accuracy is not None:
                return 100.0 * entry.accuracy
        return None

    return Metric(name, extract)


def class_metrics(groups: list[Group]) -> list[Metric]:
    """One metric per class present in any record, by ascending class id."""
    names: dict[int, str] = {}
    for group in groups:
        for record in group.by_seed.values():
            for entry in record.per_class:
                names.setdefault(entry.class_id, entry.name)
    return [class_metric(class_id, names[class_id]) for class_id in sorted(names)]


Rows = list[tuple[str, list[Cell]]]


def measure(groups: list[Group], metrics: list[Metric], reference: Group | None, ddof: int,
            decimals: int) -> list[list[Cell]]:
    """cells[group][metric]: mean ± std over seeds; the unadjusted p against ``reference``; best mean per metric in
    bold. Significance waits for :func:`holm_marked`, which needs every test of the table.

    "Best" compares means as printed (rounded to ``decimals``), so ties that look equal are all bold.
    """
    cells: list[list[Cell]] = []
    for group in groups:
        row = []
        for metric in metrics:
            values = group.values(metric.extract)
            if not values:
                row.append(Cell(None))
                continue
            summary = summarise(list(values.values()), ddof)
            p_value = None
            if reference is not None and group is not reference:
                p_value, _ = paired_wilcoxon(reference.values(metric.extract), values)
            row.append(Cell(summary.mean, summary.std, summary.count, p_unadjusted=p_value))
        cells.append(row)
    for column in range(len(metrics)):
        means = [round(row[column].mean, decimals) for row in cells if row[column].mean is not None]
        if len(means) < 2:
            continue  # nothing to compare against
        for row in cells:
            row[column].bold = row[column].mean is not None and round(row[column].mean, decimals) == max(means)
    return cells


def tested(rows: Rows) -> list[Cell]:
    """The table's family: every cell that got a paired test, in reading order."""
    return [cell for _, cells in rows for cell in cells if cell.p_unadjusted is not None]


def holm_marked(rows: Rows, alpha: float) -> Rows:
    """``rows`` with each tested cell's ``p_value`` Holm-adjusted over the whole table and ``significant`` set to
    adjusted p < ``alpha``, so the chance of any false star in the table stays below ``alpha``."""
    adjusted = iter(holm_adjust([cell.p_unadjusted for cell in tested(rows)]))

    def mark(cell: Cell) -> Cell:
        if cell.p_unadjusted is None:
            return cell
        p_value = next(adjusted)
        return replace(cell, p_value=p_value, significant=p_value < alpha)

    return [(label, [mark(cell) for cell in cells]) for label, cells in rows]


def _seed_phrase(groups: list[Group]) -> str:
    counts = sorted({len(g.by_seed) for g in groups})
    if len(counts) == 1:
        return f"{counts[0]} seed{'s' if counts[0] != 1 else ''}"
    detail = ", ".join(f"{g.display_name}{'' if g.sweep_value is None else f'@{g.sweep_value}'}: {len(g.by_seed)}"
                       for g in groups)
    return f"{counts[0]}–{counts[-1]} seeds ({detail})"


def _std_phrase(ddof: int) -> str:
    kind = {v: k for k, v in STD_KINDS.items()}[ddof]
    return f"{kind} standard deviation (ddof = {ddof})"


def _significance_phrase(reference: str | None, groups: list[Group], alpha: float, tests: int) -> str:
    """The test, the correction and its family size ``tests``; and, when too few seeds make every star impossible
    (the smallest adjusted p is ``tests`` times the smallest exact p), that fact rather than an empty table of stars."""
    if reference is None:
        return "No significance test (the proposed method has no records here)."
    reference_groups = [g for g in groups if g.method == reference]
    shown = reference_groups[0].display_name if reference_groups else method_display_name(reference)
    if tests == 0:
        return f"No significance test (no method shares two seeds with {shown} here)."
    pairs = max((len(set(g.by_seed) & set(r.by_seed)) for g in groups for r in reference_groups
                 if g is not r and g.sweep_value == r.sweep_value), default=0)
    text = (f"*: differs from {shown} at Holm-adjusted p < {alpha:g} ({PAIRED_TEST}; "
            f"{HOLM} over the {tests} paired test{'s' if tests != 1 else ''} of this table).")
    if pairs and tests * smallest_attainable_p(pairs) >= alpha:
        text += f" With at most {pairs} paired seeds and {tests} tests no difference can reach adjusted p < {alpha:g}."
    return text


def _unlabeled_target_phrase(groups: list[Group]) -> str:
    """Names the methods whose fine-tuning read the target's unlabeled pixels (empty when none did)."""
    methods = sorted({g.display_name for g in groups if g.fine_tunes_on_target})
    if not methods:
        return ""
    return (f"Transductive fine-tuning: {', '.join(methods)} ran with daft_unlabeled = True, so during fine-tuning "
            "DAFT also read unlabeled target pixels, every valid one including the test pixels' spectra "
            "(never their labels).")


def _derived_label_phrase(groups: list[Group]) -> str:
    """The label note of every scene with derived (not surveyed) labels that a record's protocol names, as source or
    target — looked up by name in the scene registry (facts only, no file), with the options the protocol set."""
    notes: dict[str, str] = {}
    for record in (record for group in groups for record in group.by_seed.values()):
        for region in identity_scenes(record.protocol or {}):
            name = region.get("scene")
            if name not in SCENES or name in notes:
                continue
            info = SCENES.get(name).info
            if info.labels == "derived":
                changed = {key: value for key, value in (region.get("options") or {}).items()
                           if info.options.get(key) != value}  # the note describes the defaults
                options = ", ".join(f"{key} = {value}" for key, value in sorted(changed.items()))
                notes[name] = info.label_note + (f" Here {name} was loaded with {options}." if options else "")
    return " ".join(notes[name] for name in sorted(notes))


def _caption(title: str, groups: list[Group], ddof: int, reference: str | None, alpha: float,
             bold_along: str = "row", *, tests: int, kappa: bool = False) -> str:
    """The caption; ``tests`` is the size of the table's family (:func:`tested`); ``kappa``: the table shows κ."""
    parts = [f"{title}: mean ± {_std_phrase(ddof)} over {_seed_phrase(groups)}."]
    if kappa:
        parts.append(KAPPA_PHRASE)
    if len({g.method for g in groups}) > 1:  # with one method there is nothing to rank or test
        parts += [f"Bold: best mean per {bold_along}.", _significance_phrase(reference, groups, alpha, tests)]
    if any(g.uses_source_labels for g in groups):
        parts.append("†: uses source-domain labels.")
    transductive = sorted({g.display_name for g in groups if g.pretrains_on_target})
    if transductive:
        parts.append(f"Transductive self-supervision: {', '.join(transductive)} pretrained on the target scene's own "
                     "pixels (without their labels), because this protocol's source is its target.")
    fine_tuned = _unlabeled_target_phrase(groups)
    if fine_tuned:
        parts.append(fine_tuned)
    derived = _derived_label_phrase(groups)
    if derived:
        parts.append(derived)
    parts.append(provenance_phrase([record for group in groups for record in group.by_seed.values()]))
    return " ".join(parts)


def _reference(groups: list[Group], proposed: str | None) -> Group | None:
    return next((g for g in groups if g.method == proposed), None)


def _require(groups: list[Group], what: str) -> None:
    if not groups:
        raise ReportError(f"no ok records match the {what}; run the trials first (`hsibench run …`) "
                          "or check --protocol, --out, --mode and --preset")


def _method_titles(groups: list[Group]) -> dict[str, str]:
    return {g.method: g.display_name for g in groups}


def main_table(groups: list[Group], protocol_name: str, proposed: str | None = PROPOSED_METHOD, ddof: int = 1,
               alpha: float = DEFAULT_ALPHA, decimals: int = 2, label: str | None = None,
               metric: str | None = None) -> Table:
    """Classes, then OA, AA and κ as rows (or only ``metric``'s row, so the Holm family is that row's tests: the
    one comparison a reader looks for, declared before the numbers); one column per method, in group order."""
    _require(groups, f"main table of protocol {protocol_name}")
    classes = [] if metric else class_metrics(groups)
    metrics = [SUMMARY_METRICS[metric]] if metric else classes + [OVERALL, AVERAGE, KAPPA]
    reference = _reference(groups, proposed)
    cells = measure(groups, metrics, reference, ddof, decimals)
    rows = holm_marked([(metric.label, [cells[g][m] for g in range(len(groups))]) for m, metric in enumerate(metrics)],
                       alpha)
    return Table(
        name=f"main-{metric}" if metric else "main", corner="Metric" if metric else "Class",
        columns=[g.method for g in groups], rows=rows, decimals=decimals,
        column_marks={g.method: "†" for g in groups if g.uses_source_labels},
        separators=set() if metric else {len(metrics) - 3},
        column_titles=_method_titles(groups),
        row_titles={metric.label: class_display_name(metric.label) for metric in classes},
        label=label,
        caption=_caption(f"{metrics[0].label} on {protocol_name}" if metric else
                         f"Per-class accuracy, OA, AA (%) and Cohen's κ ×100 on {protocol_name}", groups, ddof,
                         reference.method if reference else None, alpha, tests=len(tested(rows))),
    )


def ablation_table(groups: list[Group], protocol_name: str, full: str = PROPOSED_METHOD, ddof: int = 1,
                   alpha: float = DEFAULT_ALPHA, decimals: int = 2, label: str | None = None,
                   metric: str | None = None) -> Table:
    """One row per variant (the full model first), OA/AA/κ columns (or only ``metric``'s, so the table's Holm
    family is that metric's tests alone: a pre-declared single-metric ablation); marks against the full model."""
    _require(groups, f"ablation variants of {full} on protocol {protocol_name}")
    metrics = [SUMMARY_METRICS[metric]] if metric else [OVERALL, AVERAGE, KAPPA]
    reference = _reference(groups, full)
    cells = measure(groups, metrics, reference, ddof, decimals)
    rows = holm_marked([(group.method, cells[g]) for g, group in enumerate(groups)], alpha)
    shown = reference.display_name if reference else method_display_name(full)
    return Table(
        name=f"ablation-{metric}" if metric else "ablation", corner="Variant", columns=[m.label for m in metrics],
        decimals=decimals, rows=rows,
        row_titles=_method_titles(groups), label=label,
        caption=_caption(f"Ablation of {shown} on {protocol_name}, "
                         + (metrics[0].label if metric else "OA, AA (%) and Cohen's κ ×100"), groups, ddof,
                         reference.method if reference else None, alpha, bold_along="column",
                         tests=len(tested(rows))),
    )


def sweep_table(groups: list[Group], protocol_name: str, key: str, metric: str = "OA",
                proposed: str | None = PROPOSED_METHOD, ddof: int = 1, alpha: float = DEFAULT_ALPHA,
                decimals: int = 2, label: str | None = None) -> Table:
    """One row per value of ``key`` (e.g. shots k), one column per method; cells are ``metric``."""
    _require(groups, f"{key} sweep on protocol {protocol_name}")
    chosen = SUMMARY_METRICS[metric]
    methods = list(dict.fromkeys(g.method for g in groups))
    values = sorted({g.sweep_value for g in groups}, key=sortable)
    rows = []
    for value in values:
        at_value = {g.method: g for g in groups if g.sweep_value == value}
        present = [at_value[m] for m in methods if m in at_value]
        cells = measure(present, [chosen], _reference(present, proposed), ddof, decimals)
        by_method = {group.method: cells[i][0] for i, group in enumerate(present)}
        rows.append((f"{key} = {value}", [by_method.get(m, Cell(None)) for m in methods]))
    rows = holm_marked(rows, alpha)  # one family across every row of the sweep
    has_reference = any(g.method == proposed for g in groups)
    return Table(
        name=key if key != "shots" else "shots", corner=key, columns=methods, rows=rows, decimals=decimals,
        column_marks={m: "†" for m in methods if any(g.uses_source_labels for g in groups if g.method == m)},
        column_titles=_method_titles(groups), label=label,
        caption=_caption(f"{chosen.label} against {key} on {protocol_name}", groups, ddof,
                         proposed if has_reference else None, alpha, tests=len(tested(rows)),
                         kappa=chosen is KAPPA),
    )
