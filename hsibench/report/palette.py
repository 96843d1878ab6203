"""Class colours for maps: a qualitative palette of 20 colours, every pair far apart in CIELAB.

The first ten are matplotlib's ``tab10`` (familiar, and already distinct: their closest pair, purple and pink,
is ΔE*ab ≈ 27.7 apart). The other ten were picked greedily, each the candidate farthest from every colour chosen
so far, from a grid of moderate-chroma CIELAB colours (L* 30–80, C* 30–75, every 10° of hue) inside the sRGB gamut,
so that no colour is neon and none comes close to the white page of the unlabeled background. ``tab20`` was not
used: its light/dark pairs (blue and light blue…) are too close to tell apart on a map. The list is written out so
it never changes with a library version; :func:`min_pairwise_delta_e` checks its spacing (a test pins it).

Colour of class id c is ``CLASS_COLOURS[(c - 1) % 20]``: fixed by id, so a class looks the same in every figure.
Id 0 (unlabeled) is the page's white, :data:`BACKGROUND`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap, to_rgb

CLASS_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#f9ba78", "#59640f", "#a7d2a2", "#ffb2be", "#bec2fb", "#0a5136", "#7f2154", "#e21c7a", "#2a36ae", "#3de09e",
)
BACKGROUND = "#ffffff"  # unlabeled pixels, and predictions masked outside the labeled ones
FRAME = "#b0b0b0"  # the thin outline that shows a panel's extent on the white page

#: line and marker styles for methods in curves (colour and shape both differ, so grey print still separates them)
METHOD_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


def class_colour(class_id: int) -> str:
    return BACKGROUND if class_id == 0 else CLASS_COLOURS[(class_id - 1) % len(CLASS_COLOURS)]


def class_colormap(max_class_id: int) -> ListedColormap:
    """A colormap indexed directly by class id (0…max)."""
    return ListedColormap([class_colour(c) for c in range(max_class_id + 1)])


def class_rgb_table(max_class_id: int) -> np.ndarray:
    """(max + 1, 3) floats: row c is class c's colour, so ``table[labels]`` paints a label map."""
    return np.asarray([to_rgb(class_colour(c)) for c in range(max_class_id + 1)], float)


def srgb_to_lab(colours: list[str] | tuple[str, ...]) -> np.ndarray:
    """(n, 3) CIELAB (D65 white) of sRGB colours given as matplotlib colour strings."""
    rgb = np.asarray([to_rgb(c) for c in colours], float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]])
    xyz = linear @ to_xyz.T / np.array([0.95047, 1.0, 1.08883])
    delta = 6 / 29
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def delta_e(first: str, second: str) -> float:
    """CIE76 colour difference ΔE*ab (about 2.3 is just noticeable; over 20 is a different colour)."""
    lab = srgb_to_lab([first, second])
    return float(np.linalg.norm(lab[0] - lab[1]))


def min_pairwise_delta_e(colours: list[str] | tuple[str, ...] = CLASS_COLOURS) -> float:
    lab = srgb_to_lab(colours)
    distances = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    return float(distances.min())
