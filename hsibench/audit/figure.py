"""The audit's one figure: each habit's paired OA change with its 95 % interval, one panel per method.

A dot and bar per habit (the mean change and its interval), and for the single seed the range of what one seed
would have reported around the seeds' mean — drawn as a bar without a dot, since it is a spread, not an effect.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from hsibench.audit.habits import HABITS
from hsibench.audit.table import AuditFindings
from hsibench.report.figures import FONT_SIZE, TITLE_SIZE, class_colour, display_name, save_figure


def audit_figure(findings: AuditFindings, folder: Path, stem: str = "audit") -> list[Path]:
    methods = list(dict.fromkeys([e.method for e in findings.effects] + [s.method for s in findings.spreads]))
    if not methods:
        raise ValueError("no audit effects to draw")
    habits = list(dict.fromkeys(e.habit for e in findings.effects))  # one row per habit, the same in every panel
    labels = [HABITS.get(habit).title for habit in habits]
    if findings.spreads:
        labels.append(f"one seed instead of {findings.spreads[0].over_seeds.count} (range)")
    figure = Figure(figsize=(1.6 + 3.2 * len(methods), 0.45 * len(labels) + 1.4), layout="constrained")
    axes = figure.subplots(1, len(methods), sharex=True, sharey=True, squeeze=False)[0]
    for axis, method in zip(axes, methods):
        for effect in (e for e in findings.effects if e.method == method):
            position = habits.index(effect.habit)
            low, high = effect.interval or (effect.change, effect.change)
            axis.errorbar(effect.change, position, xerr=[[effect.change - low], [high - effect.change]], fmt="o",
                          capsize=3, color=class_colour(position + 1))
        spread = next((s for s in findings.spreads if s.method == method), None)
        if spread is not None:
            mean = spread.over_seeds.mean
            axis.hlines(len(habits), spread.lowest[1] - mean, spread.highest[1] - mean, color="#7f7f7f", linewidth=4)
        axis.axvline(0.0, color="black", linewidth=0.8)
        axis.grid(axis="x", alpha=0.3)
        axis.set_xlabel("Change in OA against the clean reference (points)", fontsize=FONT_SIZE)
        axis.set_title(display_name(method), fontsize=FONT_SIZE)
        axis.tick_params(labelsize=FONT_SIZE)
        axis.spines[["top", "right"]].set_visible(False)
    axes[0].set_yticks(range(len(labels)), labels, fontsize=FONT_SIZE)
    axes[0].set_ylim(len(labels) - 0.5, -0.5)  # first habit on top
    figure.suptitle(f"Evaluation habits on {findings.protocol_label}: mean paired change over seeds, 95 % interval",
                    fontsize=TITLE_SIZE)
    return save_figure(figure, folder, stem)
