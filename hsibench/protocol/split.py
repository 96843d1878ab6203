"""Few-shot splits of a target ground-truth map: the ``legacy`` and ``clean`` selections.

``legacy`` reproduces, pixel for pixel, the selection of the published DCFSL code (Li et al.,
TGRS 2022), so numbers stay comparable with the literature: the legacy global NumPy generator
is seeded, labeled pixels are listed in row-major order, and each class's positions (ascending
class id) are shuffled as a Python list; the first ``k`` are support, the rest test; the test
list is shuffled once more. ``clean`` draws from a fresh ``numpy.random.default_rng(seed)``,
may carve out validation pixels, and may drop test pixels near a labeled pixel (a spatial
buffer, against patch overlap).

The spatial buffer of radius ``b`` protects the test set from every pixel a method is shown
with its label, support *and* validation: a test pixel within Chebyshev distance ``b`` of either
is dropped (counted in ``excluded_by_buffer``). Validation pixels are drawn, per class, from the
pixels farther than ``b`` from every support pixel first, so that validation scores are not
flattered by patches that contain support pixels and so that validation pixels sit where test
pixels sit (also farther than ``b`` from support). A class with too few such pixels takes the
rest of its validation pixels from those near support rather than getting fewer: a small class
keeps its full validation count (and the overlap is then validation–support only, never
test–labeled). With ``b = 0`` or no validation this is the plain seeded draw, unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from hsibench.errors import HsibenchError

SPLIT_MODES = ("legacy", "clean")
SHORT_CLASS_POLICIES = ("error", "cap", "skip")


class SplitError(HsibenchError, ValueError):
    """A split that cannot be made as asked (e.g. k larger than a class)."""


@dataclass(frozen=True)
class LabeledPixels:
    """Pixels of one subset: 0-based (row, col) in the unpadded scene and the scene's own label ids."""

    coords: np.ndarray  # (n, 2) int64
    labels: np.ndarray  # (n,) int64, scene ids (never 0)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @staticmethod
    def empty() -> LabeledPixels:
        return LabeledPixels(np.zeros((0, 2), np.int64), np.zeros((0,), np.int64))


@dataclass(frozen=True)
class Split:
    support: LabeledPixels
    validation: LabeledPixels
    test: LabeledPixels
    mode: str
    seed: int
    shots: int
    excluded_by_buffer: int = 0
    skipped_classes: tuple[int, ...] = ()

    @property
    def fingerprint(self) -> str:
        return split_fingerprint(self)

    def subsets(self) -> dict[str, LabeledPixels]:
        return {"support": self.support, "val": self.validation, "test": self.test}


def split_fingerprint(split: Split) -> str:
    """sha256 over each subset's sorted (row, col, label) triples: order-independent, pixel-exact."""
    digest = hashlib.sha256()
    for name, pixels in split.subsets().items():
        triples = np.column_stack([pixels.coords, pixels.labels]).astype(np.int64)
        order = np.lexsort((triples[:, 1], triples[:, 0])) if len(triples) else np.zeros(0, int)
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(triples[order]).tobytes())
    return digest.hexdigest()


def _class_positions(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-major coordinates of the labeled pixels and their labels, as ``numpy.nonzero`` lists them."""
    rows, cols = np.nonzero(labels)
    return np.column_stack([rows, cols]).astype(np.int64), labels[rows, cols].astype(np.int64)


def _take_count(class_id: int, available: int, wanted: int, policy: str, class_names: dict[int, str]) -> int | None:
    """How many pixels of a class go to support; ``None`` means skip the class."""
    if available > wanted:
        return wanted
    name = class_names.get(class_id, str(class_id))
    if policy == "cap":
        # keep at least one test pixel so the class is still evaluated
        return max(available - 1, 0) if available > 1 else None
    if policy == "skip":
        return None
    raise SplitError(
        f"class {class_id} ({name}) has {available} labeled pixels, but {wanted} support pixels per class "
        "were asked for and at least one must remain for testing. Lower `shots`, or set "
        "`short_classes = \"cap\"` (take all but one) or `\"skip\"` (drop the class) in the protocol."
    )


def legacy_split(labels: np.ndarray, shots: int, seed: int, class_names: dict[int, str] | None = None,
                 short_classes: str = "error") -> Split:
    """The DCFSL selection, reproduced with the same generator and call order."""
    class_names = class_names or {}
    coords, ids = _class_positions(labels)
    np.random.seed(seed)  # the published code's global generator, on purpose
    support_index: list[int] = []
    test_index: list[int] = []
    skipped: list[int] = []
    for class_id in range(1, int(labels.max()) + 1):
        positions = [int(j) for j in np.flatnonzero(ids == class_id)]
        if not positions:
            continue
        np.random.shuffle(positions)
        take = _take_count(class_id, len(positions), shots, short_classes, class_names)
        if take is None:
            skipped.append(class_id)
            continue
        support_index += positions[:take]
        test_index += positions[take:]
    np.random.shuffle(test_index)
    support, test = np.asarray(support_index, np.int64), np.asarray(test_index, np.int64)
    return Split(
        support=LabeledPixels(coords[support], ids[support]),
        validation=LabeledPixels.empty(),
        test=LabeledPixels(coords[test], ids[test]),
        mode="legacy", seed=seed, shots=shots, skipped_classes=tuple(skipped),
    )


def footprint_mask(shape: tuple[int, int], centres: np.ndarray, radius: int) -> np.ndarray:
    """True on every pixel within Chebyshev distance ``radius`` of a centre (a patch's footprint)."""
    mask = np.zeros(shape, bool)
    for row, col in centres:
        mask[max(row - radius, 0): row + radius + 1, max(col - radius, 0): col + radius + 1] = True
    return mask


def apply_spatial_buffer(test: LabeledPixels, labeled: list[LabeledPixels], shape: tuple[int, int],
                         radius: int) -> tuple[LabeledPixels, int]:
    """``test`` without its pixels within Chebyshev ``radius`` of any ``labeled`` pixel, and how many were dropped.

    ``labeled`` is every subset a method sees with labels (support and validation): a test patch that overlaps
    any of them would let the method be scored on pixels it was shown.
    """
    if radius <= 0 or not len(test):
        return test, 0
    centres = np.concatenate([pixels.coords for pixels in labeled]) if labeled else np.zeros((0, 2), np.int64)
    near = footprint_mask(shape, centres, radius)[test.coords[:, 0], test.coords[:, 1]]
    return LabeledPixels(test.coords[~near], test.labels[~near]), int(near.sum())


def _far_first(positions: np.ndarray, coords: np.ndarray, near_support: np.ndarray) -> np.ndarray:
    """``positions`` with those outside the support buffer first, each part in its drawn (seeded) order."""
    near = near_support[coords[positions, 0], coords[positions, 1]]
    return positions[np.argsort(near, kind="stable")]


def clean_split(labels: np.ndarray, shots: int, seed: int, class_names: dict[int, str] | None = None,
                validation_per_class: int = 0, spatial_buffer: int = 0, short_classes: str = "error") -> Split:
    """A fully seeded split with an optional validation carve-out and spatial buffer (see the module docstring).

    Support is the first ``shots`` of each class's seeded permutation; validation the next
    ``validation_per_class`` of the rest, those farther than ``spatial_buffer`` from all support taken first;
    test the remainder, minus the pixels within ``spatial_buffer`` of any support or validation pixel.
    """
    class_names = class_names or {}
    rng = np.random.default_rng(seed)
    coords, ids = _class_positions(labels)
    drawn: list[tuple[np.ndarray, int, int]] = []  # per class: seeded permutation, support count, labeled count
    skipped = []
    for class_id in sorted(set(ids.tolist())):
        positions = rng.permutation(np.flatnonzero(ids == class_id))
        take = _take_count(class_id, len(positions), shots + validation_per_class, short_classes, class_names)
        if take is None:
            skipped.append(class_id)
            continue
        drawn.append((positions, min(shots, take), take))

    def gather(parts: list[np.ndarray]) -> LabeledPixels:
        index = np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
        return LabeledPixels(coords[index], ids[index])

    support = gather([positions[:n_support] for positions, n_support, _ in drawn])
    near_support = footprint_mask(labels.shape, support.coords, spatial_buffer) if spatial_buffer > 0 \
        else np.zeros(labels.shape, bool)
    validation_index, test_index = [], []
    for positions, n_support, take in drawn:
        rest = _far_first(positions[n_support:], coords, near_support)
        validation_index.append(rest[:take - n_support])
        test_index.append(rest[take - n_support:])
    validation, test = gather(validation_index), gather(test_index)
    test, excluded = apply_spatial_buffer(test, [support, validation], labels.shape, spatial_buffer)
    return Split(support=support, validation=validation, test=test, mode="clean", seed=seed, shots=shots,
                 excluded_by_buffer=excluded, skipped_classes=tuple(skipped))
