"""Few-shot splits of a target ground-truth map: the ``legacy`` and ``clean`` selections.

``legacy`` reproduces, pixel for pixel, the selection of the published DCFSL code (Li et al.,
TGRS 2022), so numbers stay comparable with the literature: the legacy global NumPy generator
is seeded, labeled pixels are listed in row-major order, and each class's positions (ascending
class id) are shuffled as a Python list; the first ``k`` are support, the rest test; the test
list is shuffled once more. ``clean`` draws from a fresh ``numpy.random.default_rng(seed)``,
may carve out validation pixels, and may drop test pixels near a support pixel (a spatial
buffer, against patch overlap).
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


def _buffer_mask(shape: tuple[int, int], centres: np.ndarray, radius: int) -> np.ndarray:
    """True on every pixel within Chebyshev distance ``radius`` of a centre (a patch's footprint)."""
    mask = np.zeros(shape, bool)
    for row, col in centres:
        mask[max(row - radius, 0): row + radius + 1, max(col - radius, 0): col + radius + 1] = True
    return mask


def clean_split(labels: np.ndarray, shots: int, seed: int, class_names: dict[int, str] | None = None,
                validation_per_class: int = 0, spatial_buffer: int = 0, short_classes: str = "error") -> Split:
    """A fully seeded split with an optional validation carve-out and spatial buffer."""
    class_names = class_names or {}
    rng = np.random.default_rng(seed)
    coords, ids = _class_positions(labels)
    support_index, validation_index, test_index, skipped = [], [], [], []
    for class_id in sorted(set(ids.tolist())):
        positions = rng.permutation(np.flatnonzero(ids == class_id))
        take = _take_count(class_id, len(positions), shots + validation_per_class, short_classes, class_names)
        if take is None:
            skipped.append(class_id)
            continue
        n_support = min(shots, take)
        support_index.append(positions[:n_support])
        validation_index.append(positions[n_support:take])
        test_index.append(positions[take:])
    def gather(parts: list[np.ndarray]) -> LabeledPixels:
        index = np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
        return LabeledPixels(coords[index], ids[index])
    support, validation, test = gather(support_index), gather(validation_index), gather(test_index)
    excluded = 0
    if spatial_buffer > 0 and len(test):
        near = _buffer_mask(labels.shape, support.coords, spatial_buffer)[test.coords[:, 0], test.coords[:, 1]]
        excluded = int(near.sum())
        test = LabeledPixels(test.coords[~near], test.labels[~near])
    return Split(support=support, validation=validation, test=test, mode="clean", seed=seed, shots=shots,
                 excluded_by_buffer=excluded, skipped_classes=tuple(skipped))
