"""Figures from records: classification maps beside the ground truth, accuracy vs a swept key, ablation bars.

Drawn with matplotlib's object API on the Agg canvas (no display, no global backend switch),
saved as PNG and PDF. Class colours are fixed by class id, so a scene's classes look the same
in every figure and every run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from hsibench.report.collect import Group, ReportError, sortable
from hsibench.report.statistics import summarise
from hsibench.report.tables import OVERALL, SUMMARY_METRICS
from hsibench.runner.record_schema import TrialRecord

log = logging.getLogger(__name__)

# Colour of class id c is CLASS_COLOURS[(c - 1) % len]; id 0 (unlabeled) is black.
CLASS_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5", "#393b79",
)
BACKGROUND = "#000000"
FIGURE_FORMATS = ("png", "pdf")


def class_colour(class_id: int) -> str:
    return BACKGROUND if class_id == 0 else CLASS_COLOURS[(class_id - 1) % len(CLASS_COLOURS)]


def class_colormap(max_class_id: int) -> ListedColormap:
    """A colormap indexed directly by class id (0…max)."""
    return ListedColormap([class_colour(c) for c in range(max_class_id + 1)])


def save_figure(figure: Figure, folder: Path, stem: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    paths = []
    for extension in FIGURE_FORMATS:
        path = folder / f"{stem}.{extension}"
        figure.savefig(path, dpi=150, bbox_inches="tight")
        paths.append(path)
    return paths


def map_file(record: TrialRecord) -> Path | None:
    if not record.map_file or record.path is None:
        return None
    return record.path.parent / record.map_file


def maps_figure(groups: list[Group], seed: int, folder: Path, title: str = "", stem: str = "") -> list[Path]:
    """Ground truth, then each method's full-scene map for ``seed``, with a class legend."""
    panels: list[tuple[str, np.ndarray]] = []
    names: dict[int, str] = {}
    ground_truth = None
    for group in groups:
        record = group.by_seed.get(seed)
        path = map_file(record) if record else None
        if path is None or not path.is_file():
            log.warning("%s: no map saved for seed %s (rerun it with --save-maps --force)", group.method, seed)
            continue
        with np.load(path) as data:
            panels.append((group.method, data["prediction"]))
            ground_truth = data["ground_truth"] if ground_truth is None else ground_truth
            names.update(zip(data["class_ids"].tolist(), data["class_names"].tolist()))
    if ground_truth is None:
        raise ReportError(f"no classification maps saved for seed {seed}; maps are saved for seed 1330 by default "
                          "or for every seed with `hsibench run … --save-maps`")
    panels.insert(0, ("Ground truth", ground_truth))
    top = int(max(int(image.max()) for _, image in panels))
    colormap = class_colormap(top)
    figure = Figure(figsize=(2.6 * len(panels), 3.2), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for axis, (label, image) in zip(axes, panels):
        axis.imshow(image, cmap=colormap, vmin=0, vmax=top, interpolation="nearest")
        axis.set_title(label, fontsize=9)
        axis.set_axis_off()
    handles = [Patch(facecolor=class_colour(c), edgecolor="none", label=f"{c} {names[c]}") for c in sorted(names)]
    figure.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    if title:
        figure.suptitle(title, fontsize=10)
    return save_figure(figure, folder, stem or f"maps-seed{seed}")


def sweep_figure(groups: list[Group], key: str, folder: Path, metric: str = "OA", ddof: int = 1,
                 title: str = "", stem: str = "") -> list[Path]:
    """``metric`` against the swept key, one line per method, error bars = std over seeds."""
    if not groups:
        raise ReportError(f"no records of a {key} sweep; run `hsibench sweep --set {key}=…` first")
    chosen = SUMMARY_METRICS[metric]
    figure = Figure(figsize=(5.0, 3.6))
    axis = figure.subplots()
    for method in dict.fromkeys(g.method for g in groups):
        points = sorted((g for g in groups if g.method == method), key=lambda g: sortable(g.sweep_value))
        summaries = [summarise(list(g.values(chosen.extract).values()), ddof) for g in points]
        axis.errorbar([g.sweep_value for g in points], [s.mean for s in summaries],
                      yerr=[s.std or 0.0 for s in summaries], marker="o", capsize=3, label=method)
    if all(isinstance(g.sweep_value, int) for g in groups):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel(key)
    axis.set_ylabel(chosen.label)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(title or f"{chosen.label} vs {key} (error bars: std, ddof = {ddof})", fontsize=9)
    return save_figure(figure, folder, stem or key)


def ablation_figure(groups: list[Group], folder: Path, ddof: int = 1, title: str = "", stem: str = "") -> list[Path]:
    """One bar per variant: OA mean with std error bars."""
    if not groups:
        raise ReportError("no ablation records; run `hsibench ablate --protocol …` first")
    summaries = [summarise(list(g.values(OVERALL.extract).values()), ddof) for g in groups]
    figure = Figure(figsize=(1.0 + 0.8 * len(groups), 3.6))
    axis = figure.subplots()
    positions = np.arange(len(groups))
    axis.bar(positions, [s.mean for s in summaries], yerr=[s.std or 0.0 for s in summaries], capsize=3,
             color=[class_colour(i + 1) for i in range(len(groups))])
    axis.set_xticks(positions, [g.method for g in groups], rotation=35, ha="right", fontsize=8)
    axis.set_ylabel(OVERALL.label)
    axis.set_ylim(0.0, 100.0)  # bars from zero: a cut axis would exaggerate the differences
    axis.grid(axis="y", alpha=0.3)
    axis.set_title(title or f"Ablation (error bars: std, ddof = {ddof})", fontsize=9)
    return save_figure(figure, folder, stem or "ablation")
