"""The classification-maps figure: the ground truth, then each method's map of one seed, sized by the scene's shape.

Layout: every panel has the scene's aspect ratio and the grid (rows × columns) is the one that makes the panels
largest within a page's text width and a height limit, so a tall scene (Salinas-A's halves, 83 × 43) gets one
row of tall panels and a square one two rows of larger panels — never fixed-width cells with wide gaps. The
figure is exactly as wide as its panels. The class legend sits below in 9 pt, in as many columns as fit.

What is painted: a map is scored only on labeled pixels, so by default (``mask_unlabeled=True``) a prediction is
drawn only where the ground truth has a label and the rest is the page's white, as on the ground truth — the
reader compares like with like and no unverifiable "prediction" of unlabeled background is shown. Pass
``mask_unlabeled=False`` for the full-scene map. The support pixels of the seed (the k labeled pixels per class
a method was given) are marked on the ground truth with small white dots; they are recovered from the record's
protocol and seed and drawn only when the recovered split has the record's split fingerprint.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.textpath import TextPath

from hsibench.report.collect import Group, ReportError
from hsibench.report.display import class_display_name
from hsibench.report.figure_style import FONT_SIZE, TEXT_WIDTH, TITLE_SIZE, display_name, save_figure
from hsibench.report.palette import BACKGROUND, FRAME, class_colour, class_rgb_table
from hsibench.runner.record_schema import TrialRecord

log = logging.getLogger(__name__)

MAX_GRID_HEIGHT = 3.6  # inches: the panels' rows together (titles included) stay below this
PANEL_GAP = 0.06  # inches between panels
LINE = FONT_SIZE * 1.3 / 72  # inches: one line of 9 pt text
TITLE_HEIGHT = 0.06  # inches: a figure title's line spacing beyond its text


@dataclass(frozen=True)
class MapGrid:
    """Panels in ``rows`` × ``columns``; each ``panel_width`` × ``panel_height`` inches (the scene's aspect),
    centred in a cell ``cell_width`` wide (wider than the panel only where a title needs the room)."""

    rows: int
    columns: int
    panel_width: float
    panel_height: float
    title_height: float  # inches above each panel for its title lines
    cell_width: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "cell_width", max(self.cell_width, self.panel_width))

    @property
    def width(self) -> float:
        return self.columns * self.cell_width + (self.columns - 1) * PANEL_GAP

    @property
    def height(self) -> float:
        return self.rows * (self.panel_height + self.title_height) + (self.rows - 1) * PANEL_GAP


def map_grid(shape: tuple[int, int], panels: int, max_width: float = TEXT_WIDTH,
             max_height: float = MAX_GRID_HEIGHT, title_lines: int = 2, columns: int | None = None,
             label_width: float = 0.0) -> MapGrid:
    """The grid with the largest panels of a scene of ``shape`` (rows, cols) that fits ``max_width`` × ``max_height``.

    Ties go to fewer rows. ``columns`` forces the number of columns (the panel size still fits the limits);
    ``label_width`` is the widest panel title (inches): a cell is widened to it, and a grid whose cells cannot be
    is taken only when no grid's can (titles would collide).
    """
    if panels < 1:
        raise ValueError("a map figure needs at least one panel")
    height, width = shape
    aspect = height / width
    title_height = title_lines * LINE + 0.02
    best: tuple[bool, float, MapGrid] | None = None
    for count in [columns] if columns else range(1, panels + 1):
        rows = math.ceil(panels / count)
        cell_width = (max_width - (count - 1) * PANEL_GAP) / count
        room = (max_height - rows * title_height - (rows - 1) * PANEL_GAP) / rows  # the tallest a panel may be
        panel_width = min(cell_width, max(room, 0.05) / aspect)
        titles_fit = label_width <= cell_width  # else the titles would run into each other
        grid = MapGrid(rows, count, panel_width, panel_width * aspect, title_height, min(cell_width, label_width))
        if best is None or (titles_fit, panel_width) > (best[0], best[1] * (1 + 1e-9)):
            best = (titles_fit, panel_width, grid)
    return best[2]


def map_file(record: TrialRecord) -> Path | None:
    if not record.map_file or record.path is None:
        return None
    return record.path.parent / record.map_file


def shown_prediction(prediction: np.ndarray, ground_truth: np.ndarray, mask_unlabeled: bool = True) -> np.ndarray:
    """The class ids a map panel paints: with ``mask_unlabeled`` 0 (the background) wherever the ground truth is
    unlabeled, since no score checks a prediction there; else the full-scene prediction."""
    return np.where(ground_truth > 0, prediction, 0) if mask_unlabeled else prediction


def support_coordinates(record: TrialRecord, ground_truth: np.ndarray) -> np.ndarray | None:
    """(n, 2) (row, col) of the record's support pixels, re-drawn from its protocol and seed on ``ground_truth``.

    ``None`` when the split cannot be re-drawn from the map alone (official training maps) or when the re-drawn
    split's fingerprint differs from the record's: a marker must never sit where no support pixel was.
    """
    from hsibench.protocol.split import clean_split, legacy_split

    protocol, summary = record.protocol or {}, record.split
    if summary is None or protocol.get("support_from", "labels") != "labels":
        return None
    mode = summary.mode or protocol.get("split_mode", "legacy")
    short_classes = protocol.get("short_classes", "error")
    state = np.random.get_state()  # the legacy split seeds NumPy's global generator; leave it as it was
    try:
        if mode == "legacy":
            split = legacy_split(ground_truth, summary.shots, record.seed, short_classes=short_classes)
        else:
            split = clean_split(ground_truth, summary.shots, record.seed, None,
                                int(protocol.get("validation_per_class", 0)), int(protocol.get("spatial_buffer", 0)),
                                short_classes)
    except ValueError as error:
        log.warning("%s seed %s: support pixels not marked (%s)", record.method, record.seed, error)
        return None
    finally:
        np.random.set_state(state)
    if split.fingerprint != summary.fingerprint:
        log.warning("%s seed %s: the support pixels re-drawn from the map do not match the record's split; "
                    "not marked", record.method, record.seed)
        return None
    return split.support.coords


@dataclass(frozen=True)
class _Panel:
    label: str
    image: np.ndarray  # (H, W) class ids, 0 = unlabeled / masked
    record: TrialRecord | None = None


def _panel_title(panel: _Panel, show_accuracy: bool) -> str:
    """The method's name, and under it (``show_accuracy``) the OA of this seed's record."""
    if not show_accuracy or panel.record is None:
        return panel.label
    accuracy = panel.record.overall_accuracy
    return panel.label + "\n" + (f"OA {100 * accuracy:.1f} %" if accuracy is not None else "OA –")


def _painted(image: np.ndarray, top: int) -> np.ndarray:
    """(H, W, 3) RGB of a class-id map."""
    return class_rgb_table(top)[np.clip(image, 0, top)]


def _text_width(text: str, size: float = FONT_SIZE) -> float:
    """Inches the text takes in the default font at ``size`` points."""
    return TextPath((0, 0), text, size=size).get_extents().width / 72


def _legend_handles(names: dict[int, str], ground_truth: np.ndarray, support: np.ndarray | None, shots: int | None) -> list:
    handles: list = [Patch(facecolor=class_colour(c), edgecolor="none", label=class_display_name(names[c]))
                     for c in sorted(names)]
    if (ground_truth == 0).any():
        handles.append(Patch(facecolor=BACKGROUND, edgecolor=FRAME, linewidth=0.5, label="unlabeled (not scored)"))
    if support is not None and len(support):
        label = "support pixel" + (f" ({shots} per class)" if shots else "")
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=4, markerfacecolor="white",
                              markeredgecolor="black", markeredgewidth=0.7, label=label))
    return handles


def _fitted_legend(figure: Figure, handles: list, width: float):
    """The class legend at the figure's bottom, in as many columns as fit ``width`` inches (measured, not guessed)."""
    renderer = FigureCanvasAgg(figure).get_renderer()
    for columns in range(len(handles), 0, -1):
        legend = figure.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=columns,
                               fontsize=FONT_SIZE, frameon=False, handlelength=1.2, handletextpad=0.5,
                               columnspacing=1.2, borderaxespad=0.1)
        if columns == 1 or legend.get_window_extent(renderer).width / figure.dpi <= width:
            return legend
        legend.remove()
    raise AssertionError("unreachable")


def maps_figure(groups: list[Group], seed: int, folder: Path, title: str = "", stem: str = "", *,
                mask_unlabeled: bool = True, mark_support: bool = True, show_accuracy: bool = True,
                max_width: float = TEXT_WIDTH, max_height: float = MAX_GRID_HEIGHT,
                columns: int | None = None) -> list[Path]:
    """Ground truth, then each method's map for ``seed`` (see the module docstring for the defaults' reasons).

    ``mask_unlabeled``: paint predictions only on labeled pixels; ``mark_support``: dot the support pixels on the
    ground truth; ``show_accuracy``: the seed's OA under each method's name; ``max_width`` / ``max_height``: the
    limits (inches) the panel grid must fit; ``columns``: force the grid's number of columns.
    """
    panels: list[_Panel] = []
    names: dict[int, str] = {}
    ground_truth = None
    first_record = None
    for group in groups:
        record = group.by_seed.get(seed)
        path = map_file(record) if record else None
        if path is None or not path.is_file():
            log.warning("%s: no map saved for seed %s (rerun it with --save-maps --force)", group.method, seed)
            continue
        with np.load(path) as data:
            prediction, truth = data["prediction"], data["ground_truth"]
            names.update(zip(data["class_ids"].tolist(), data["class_names"].tolist()))
        if ground_truth is None:
            ground_truth, first_record = truth, record
        elif truth.shape != ground_truth.shape or not np.array_equal(truth, ground_truth):
            raise ReportError(f"{group.method}: its map's ground truth differs from {first_record.method}'s "
                              f"({path}); the records are of different scenes or regions")
        if prediction.shape != truth.shape:
            raise ReportError(f"{path}: prediction {prediction.shape} and ground truth {truth.shape} differ in shape")
        shown = shown_prediction(prediction, truth, mask_unlabeled)
        panels.append(_Panel(display_name(group.method, group.base), shown, record))
    if ground_truth is None:
        raise ReportError(f"no classification maps saved for seed {seed}; maps are saved for seed 1330 by default "
                          "or for every seed with `hsibench run … --save-maps`")
    panels.insert(0, _Panel("Ground\ntruth" if show_accuracy else "Ground truth", ground_truth))
    support = support_coordinates(first_record, ground_truth) if mark_support else None
    top = int(max(int(panel.image.max()) for panel in panels))

    titles = [_panel_title(panel, show_accuracy) for panel in panels]
    title_lines = max(title.count("\n") + 1 for title in titles)
    label_width = max(_text_width(line) for title in titles for line in title.split("\n")) + 0.04
    grid = map_grid(ground_truth.shape, len(panels), max_width, max_height, title_lines, columns, label_width)
    handles = _legend_handles(names, ground_truth, support,
                              first_record.split.shots if first_record.split else None)
    heading = (TITLE_SIZE / 72 + TITLE_HEIGHT) if title else 0.0
    figure = Figure(figsize=(grid.width, 1.0))
    legend = _fitted_legend(figure, handles, grid.width)
    legend_height = legend.get_window_extent(figure.canvas.get_renderer()).height / figure.dpi + 0.06
    figure_width, figure_height = grid.width, heading + grid.height + legend_height
    figure.set_size_inches(figure_width, figure_height)  # the legend stays anchored at the bottom

    pixel_points = grid.panel_width * 72 / ground_truth.shape[1]  # one scene pixel, in points
    for index, (panel, title_text) in enumerate(zip(panels, titles)):
        row, column = divmod(index, grid.columns)
        in_row = min(grid.columns, len(panels) - row * grid.columns)
        indent = (grid.columns - in_row) * (grid.cell_width + PANEL_GAP) / 2  # a short last row is centred
        left = indent + column * (grid.cell_width + PANEL_GAP) + (grid.cell_width - grid.panel_width) / 2
        top_edge = figure_height - heading - row * (grid.panel_height + grid.title_height + PANEL_GAP) - grid.title_height
        bottom = top_edge - grid.panel_height
        axis = figure.add_axes((left / figure_width, bottom / figure_height,
                                grid.panel_width / figure_width, grid.panel_height / figure_height))
        axis.imshow(_painted(panel.image, top), interpolation="nearest", aspect="auto")
        axis.set_xticks([])
        axis.set_yticks([])
        for spine in axis.spines.values():
            spine.set_color(FRAME)
            spine.set_linewidth(0.5)
        axis.set_title(title_text, fontsize=FONT_SIZE, pad=2, linespacing=1.1)
        if panel.record is None and support is not None and len(support):
            size = max(3.5, 1.6 * pixel_points)
            axis.scatter(support[:, 1], support[:, 0], s=size**2, marker="o", facecolors="white",
                         edgecolors="black", linewidths=0.6, zorder=3, clip_on=False)
    if title:
        figure.suptitle(title, fontsize=TITLE_SIZE, y=1.0 - 0.02 / figure_height, va="top")
    return save_figure(figure, folder, stem or f"maps-seed{seed}")
