"""Figures from records: classification maps beside the ground truth, accuracy against a swept key, the ablation.

Drawn with matplotlib's object API on the Agg canvas (no display, no global backend switch), saved as PNG (300
dpi) and PDF at print size. Class colours are fixed by class id (:mod:`.palette`), so a scene's classes look the
same in every figure and every run; the maps live in :mod:`.figure_maps`.

- ``sweep_figure``: one line per method, mean ± standard deviation over seeds at each value, the methods nudged
  sideways a little so that error bars at one value do not hide each other (the ticks stay at the true values).
- ``ablation_figure``: a dot plot on an axis zoomed to the data. Left, each variant's OA (mean ± standard
  deviation over seeds); right, its paired change against the full model — the mean of the per-seed differences
  with its 95 % Student-t interval — and a star where the ablation table marks a significant difference (the same
  Holm-adjusted Wilcoxon tests), so the figure and the table never disagree.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hsibench.report.collect import Group, ReportError, sortable
from hsibench.report.figure_maps import map_file, map_grid, maps_figure, support_coordinates  # noqa: F401
from hsibench.report.figure_style import (  # noqa: F401
    FIGURE_FORMATS,
    FONT_SIZE,
    TEXT_WIDTH,
    TITLE_SIZE,
    display_name,
    save_figure,
    seeds_phrase,
    spread_phrase,
    variant_label,
)
from hsibench.report.palette import (  # noqa: F401
    BACKGROUND,
    CLASS_COLOURS,
    METHOD_MARKERS,
    class_colormap,
    class_colour,
)
from hsibench.report.statistics import paired_interval, smallest_attainable_p, summarise
from hsibench.report.tables import DEFAULT_ALPHA, OVERALL, SUMMARY_METRICS

log = logging.getLogger(__name__)

COLUMN_WIDTH = 3.5  # inches: one column of a two-column page

#: axis labels of swept keys, in words; other keys are shown with spaces for underscores
KEY_LABELS = {
    "shots": "labeled pixels per class (shots)",
    "mask_ratio": "mask ratio",
    "patch_size": "patch size (pixels)",
    "spatial_buffer": "spatial buffer (pixels)",
}

INTERVAL_LEVEL = 0.95


def key_label(key: str) -> str:
    return KEY_LABELS.get(key, key.replace("_", " "))


def method_colour(index: int) -> str:
    """The ``index``-th method's colour in curves: the palette's first ten (tab10), in order."""
    return CLASS_COLOURS[index % 10]


def _wrapped(text: str, width_inches: float, size: float = FONT_SIZE) -> str:
    """``text`` broken into lines that fit ``width_inches`` at ``size`` points (about 0.5 em per character)."""
    return "\n".join(textwrap.wrap(text, max(20, int(width_inches * 72 / (0.55 * size))), break_on_hyphens=False))


def sweep_offsets(count: int, spacing: float) -> list[float]:
    """Sideways nudges of ``count`` methods at one x value: symmetric about 0, together within ±12 % of the
    spacing between neighbouring values, so each method's bar is seen and no point moves toward the next value."""
    if count <= 1:
        return [0.0]
    step = min(0.08, 0.24 / (count - 1)) * spacing
    return [(index - (count - 1) / 2) * step for index in range(count)]


def sweep_figure(groups: list[Group], key: str, folder: Path, metric: str = "OA", ddof: int = 1,
                 title: str = "", stem: str = "", *, width: float = COLUMN_WIDTH, height: float = 2.8,
                 offset: bool = True) -> list[Path]:
    """``metric`` against the swept key, one line per method; error bars: standard deviation over seeds.

    ``offset``: nudge the methods sideways so overlapping error bars stay readable (ticks at the true values).
    """
    if not groups:
        raise ReportError(f"no records of a {key} sweep; run `hsibench sweep --set {key}=…` first")
    chosen = SUMMARY_METRICS[metric]
    methods = list(dict.fromkeys(g.method for g in groups))
    values = sorted({g.sweep_value for g in groups}, key=sortable)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    positions = {v: (float(v) if numeric else float(i)) for i, v in enumerate(values)}
    gaps = np.diff(sorted(positions.values()))
    spacing = float(gaps.min()) if len(gaps) else 1.0
    nudges = sweep_offsets(len(methods), spacing) if offset else [0.0] * len(methods)

    outside = len(methods) > 3  # more lines than an empty corner holds: the legend goes beside the axes
    figure = Figure(figsize=(width + (1.1 if outside else 0.0), height), layout="constrained")
    axis = figure.subplots()
    counts = []
    for index, method in enumerate(methods):
        points = sorted((g for g in groups if g.method == method), key=lambda g: sortable(g.sweep_value))
        summaries = [summarise(list(g.values(chosen.extract).values()), ddof) for g in points]
        counts += [s.count for s in summaries]
        axis.errorbar([positions[g.sweep_value] + nudges[index] for g in points], [s.mean for s in summaries],
                      yerr=[s.std or 0.0 for s in summaries], marker=METHOD_MARKERS[index % len(METHOD_MARKERS)],
                      markersize=4, linewidth=1.2, elinewidth=0.9, capsize=2.5, color=method_colour(index),
                      label=display_name(method, points[0].base))
    axis.set_xticks([positions[v] for v in values], [str(v) for v in values])
    if numeric and all(isinstance(v, int) for v in values) and len(values) > 12:
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel(key_label(key).capitalize(), fontsize=FONT_SIZE)
    axis.set_ylabel(chosen.label, fontsize=FONT_SIZE)
    axis.tick_params(labelsize=FONT_SIZE)
    axis.grid(alpha=0.3, linewidth=0.5)
    axis.spines[["top", "right"]].set_visible(False)
    if outside:
        figure.legend(loc="outside right upper", fontsize=FONT_SIZE, frameon=False)
    else:
        axis.legend(fontsize=FONT_SIZE, frameon=False)
    words = (f"{chosen.label.split(' (')[0]} against {key_label(key).split(' (')[0]}\n"
             f"mean ± {spread_phrase(ddof)} over {seeds_phrase(counts)}")
    axis.set_title(title or words, fontsize=FONT_SIZE)
    return save_figure(figure, folder, stem or key)


def _table_significance(groups: list[Group], full: str, ddof: int, alpha: float) -> tuple[dict[str, bool], int]:
    """(method → whether the ablation table stars its OA against ``full``, the number of tests in the table's
    Holm family), so that the figure's marks are the table's."""
    from hsibench.report.tables import ablation_table

    table = ablation_table(groups, "", full, ddof, alpha)
    column = table.columns.index(OVERALL.label) if OVERALL.label in table.columns else 0
    tests = sum(cell.p_value is not None for _, cells in table.rows for cell in cells)
    if {label for label, _ in table.rows} == {g.method for g in groups}:
        by_label = {label: cells[column].significant for label, cells in table.rows}
        return {g.method: by_label[g.method] for g in groups}, tests
    return {g.method: cells[column].significant for g, (_, cells) in zip(groups, table.rows)}, tests  # group order


def _padded(low: float, high: float, fraction: float = 0.08) -> tuple[float, float]:
    pad = max((high - low) * fraction, 0.25)
    return low - pad, high + pad


def ablation_figure(groups: list[Group], folder: Path, ddof: int = 1, title: str = "", stem: str = "", *,
                    full: str | None = None, alpha: float = DEFAULT_ALPHA, width: float = TEXT_WIDTH) -> list[Path]:
    """A dot plot: each variant's OA (mean ± standard deviation over seeds), and its paired change against the
    full model (mean per-seed difference, 95 % t interval; ★ where the ablation table marks it significant).

    ``full``: the reference variant (default: the first group, as the ablation lists the full model first).
    Both axes are zoomed to the data: the differences are a few points, which an axis from 0 to 100 would flatten.
    """
    if not groups:
        raise ReportError("no ablation records; run `hsibench ablate --protocol …` first")
    reference = next((g for g in groups if g.method == full), None) if full else groups[0]
    if reference is None:
        raise ReportError(f"no records of the full model {full} among the ablation variants")
    full = reference.method
    reference_values = reference.values(OVERALL.extract)
    summaries = [summarise(list(g.values(OVERALL.extract).values()), ddof) for g in groups]
    significant, tests = _table_significance(groups, full, ddof, alpha) if len(groups) > 1 else ({}, 0)

    changes: list[tuple[float, tuple[float, float] | None, int] | None] = []
    for group in groups:
        if group is reference:
            changes.append(None)
            continue
        values = group.values(OVERALL.extract)
        common = sorted(set(values) & set(reference_values))
        differences = [values[s] - reference_values[s] for s in common]
        if not differences:
            changes.append(None)
            continue
        changes.append((float(np.mean(differences)), paired_interval(differences, INTERVAL_LEVEL), len(common)))

    rows = len(groups)
    figure = Figure(figsize=(width, 0.26 * rows + 1.25), layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": (1, 1.15)})
    positions = np.arange(rows)
    dark, accent = "#333333", CLASS_COLOURS[0]
    for position, group, summary in zip(positions, groups, summaries):
        colour = dark if group is reference else accent
        left.errorbar(summary.mean, position, xerr=summary.std or 0.0, fmt="o", markersize=4.5, capsize=2.5,
                      elinewidth=1.0, color=colour)
    left.axvline(summaries[groups.index(reference)].mean, color=dark, linewidth=0.7, linestyle=":")
    low = min(s.mean - (s.std or 0.0) for s in summaries)
    high = max(s.mean + (s.std or 0.0) for s in summaries)
    left.set_xlim(*_padded(low, high))
    left.set_xlabel(OVERALL.label, fontsize=FONT_SIZE)
    left.set_title(f"OA: mean ± {spread_phrase(ddof)}", fontsize=FONT_SIZE)

    ends = [0.0]
    for position, group, change in zip(positions, groups, changes):
        if change is None:
            if group is reference:
                right.text(0.0, position, "  reference", va="center", ha="left", fontsize=FONT_SIZE - 1, color=dark)
            continue
        mean, interval, _ = change
        low_end, high_end = interval or (mean, mean)
        ends += [low_end, high_end]
        marked = significant.get(group.method, False)
        right.errorbar(mean, position, xerr=[[mean - low_end], [high_end - mean]], fmt="o", markersize=4.5,
                       capsize=2.5, elinewidth=1.0, color=accent, markerfacecolor=accent if marked else "white")
        if marked:
            right.annotate("*", (high_end, position), xytext=(3, -1), textcoords="offset points", va="center",
                           fontsize=FONT_SIZE + 2, color=dark)
    right.axvline(0.0, color=dark, linewidth=0.8)
    low, high = _padded(min(ends), max(ends))
    right.set_xlim(low, high + 0.04 * (high - low))  # room for a star at the right end
    right.set_xlabel("Change in OA against the full model (points)", fontsize=FONT_SIZE)
    right.set_title(f"Paired change: mean and {INTERVAL_LEVEL:.0%} interval".replace("%", " %"), fontsize=FONT_SIZE)

    left.set_yticks(positions, [variant_label(g.method, full, g.base) for g in groups])
    left.set_ylim(rows - 0.5, -0.5)  # the full model on top
    for axis in (left, right):
        axis.tick_params(labelsize=FONT_SIZE)
        axis.grid(axis="x", alpha=0.3, linewidth=0.5)
        axis.spines[["top", "right"]].set_visible(False)
    counts = [s.count for s in summaries]
    pairs = [change[2] for change in changes if change is not None]
    paired = "" if not pairs or pairs == [min(counts)] * len(pairs) else f" (over {seeds_phrase(pairs)} both ran)"
    note = (f"Over {seeds_phrase(counts)}. Change: the mean of the per-seed differences from the full model{paired}, "
            f"with its {INTERVAL_LEVEL:.0%} Student-t interval. Filled and *: differs from the full model at "
            f"Holm-adjusted p < {alpha:g} (two-sided Wilcoxon signed-rank test, as in the ablation table).")
    if pairs and tests and tests * smallest_attainable_p(max(pairs)) >= alpha:
        note += f" With {seeds_phrase([max(pairs)])} and {tests} tests no difference can reach it."
    note = note.replace("%", " %")
    figure.supxlabel(_wrapped(note, width, FONT_SIZE - 1), fontsize=FONT_SIZE - 1, color="#444444")
    protocol = next((r.protocol_name for r in reference.by_seed.values() if r.protocol_name), None)
    heading = title or f"Ablation of {display_name(full)}" + (f" on {protocol}" if protocol else "")
    figure.suptitle(heading, fontsize=TITLE_SIZE)
    return save_figure(figure, folder, stem or "ablation")
