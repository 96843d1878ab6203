"""What every figure shares: sizes in a paper's units, file output, method names and captions in words.

Sizes are inches at print size (a double-column page's text is about 7 in wide), so 9 pt text stays 9 pt when the
PDF is placed at 100 %. PNGs are written at 300 dpi, PDFs as vector graphics (maps as embedded images).
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hsibench.report.display import method_display_name

FIGURE_FORMATS = ("png", "pdf")
PNG_DPI = 300
TEXT_WIDTH = 7.0  # inches: a double-column page's text width, the widest a figure gets by default
FONT_SIZE = 9  # points: labels, ticks, legends
TITLE_SIZE = 10  # points: a figure's title


def display_name(method: str, base: str | None = None) -> str:
    """How a figure names a method: as the tables' headers do (:func:`~hsibench.report.display.method_display_name`)."""
    return method_display_name(method, base)


def variant_label(variant: str, full: str, base: str | None = None) -> str:
    """A variant's name without the full model's in front (``w/o DAFT``, not ``S²Former w/o DAFT``)."""
    if variant == full:
        return f"{display_name(full)} (full model)"
    name, prefix = display_name(variant, base), display_name(full)
    for separator in (" ", ", "):
        if name.startswith(prefix + separator):
            return name[len(prefix) + len(separator):]
    return name


def spread_phrase(ddof: int) -> str:
    """``standard deviation`` (the sample one, what a reader assumes) or ``population standard deviation``."""
    return "standard deviation" if ddof == 1 else "population standard deviation"


def seeds_phrase(counts: list[int]) -> str:
    """``10 seeds``, ``1 seed`` or ``8–10 seeds`` for the seed counts of what a figure shows."""
    low, high = min(counts), max(counts)
    if low == high:
        return f"{low} seed{'s' if low != 1 else ''}"
    return f"{low}–{high} seeds"


def save_figure(figure: Figure, folder: Path, stem: str) -> list[Path]:
    """``folder/stem.png`` (300 dpi) and ``folder/stem.pdf``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    paths = []
    for extension in FIGURE_FORMATS:
        path = folder / f"{stem}.{extension}"
        figure.savefig(path, dpi=PNG_DPI, bbox_inches="tight", pad_inches=0.03)
        paths.append(path)
    return paths
