"""From a protocol and a seed to what a method may see: two :class:`Domain` views and a :class:`FewShotTask`.

This is where the rules of honest evaluation are enforced by construction:
- the target's labels are never handed to a method, only the support (and validation) pixels';
- the source's labels are handed over only when the method declares it uses them, and never
  when source and target are the same scene (they would be target labels);
- test labels stay with the runner, which scores predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hsibench.data import Scene
from hsibench.errors import HsibenchError
from hsibench.protocol.normalise import normalisation_statistics
from hsibench.protocol.patches import PatchSampler
from hsibench.protocol.protocol import Protocol
from hsibench.protocol.regions import region_scene
from hsibench.protocol.split import Split


class SourceLabelsRefused(HsibenchError, ValueError):
    """A method that uses source labels was asked to run where those labels are target labels."""


@dataclass(frozen=True)
class Domain:
    """A normalised scene as a method sees it.

    ``label_map`` is ``None`` unless labels were granted; when granted it holds class indices
    0…K−1 (``-1`` = unlabeled) in the order of ``class_names``.
    """

    name: str
    patches: PatchSampler
    class_names: tuple[str, ...] = ()
    label_map: np.ndarray | None = None

    @property
    def bands(self) -> int:
        return self.patches.bands

    @property
    def shape(self) -> tuple[int, int]:
        return (self.patches.height, self.patches.width)

    def labeled_pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """(coords (n, 2), class indices (n,)) of every labeled pixel; only when labels were granted."""
        if self.label_map is None:
            raise PermissionError(f"{self.name}: labels were not granted to this method")
        rows, cols = np.nonzero(self.label_map >= 0)
        return np.column_stack([rows, cols]).astype(np.int64), self.label_map[rows, cols].astype(np.int64)


@dataclass(frozen=True)
class FewShotTask:
    """The target side of one trial: the domain (no labels), the support set and optional validation set.

    ``support_labels`` / ``validation_labels`` are class indices 0…K−1; ``class_ids`` maps an
    index back to the scene's own id.
    """

    target: Domain
    support_coords: np.ndarray  # (n, 2)
    support_labels: np.ndarray  # (n,)
    validation_coords: np.ndarray
    validation_labels: np.ndarray
    class_ids: tuple[int, ...]
    class_names: tuple[str, ...]
    seed: int

    @property
    def num_classes(self) -> int:
        return len(self.class_ids)


def class_index(class_ids: list[int] | tuple[int, ...], labels: np.ndarray) -> np.ndarray:
    """Map scene ids to indices 0…K−1 in the order of ``class_ids``."""
    lookup = {c: i for i, c in enumerate(class_ids)}
    return np.asarray([lookup[int(v)] for v in labels], np.int64)


def target_class_ids(split: Split) -> tuple[int, ...]:
    """The classes a trial is scored on: those with support pixels, ascending."""
    return tuple(sorted(set(split.support.labels.tolist())))


def build_source_domain(protocol: Protocol, grant_labels: bool, scene: Scene | None = None) -> Domain:
    """The source scene, z-scored over its own pixels; labels only when granted and legitimate."""
    if grant_labels and protocol.source.overlaps(protocol.target):
        raise SourceLabelsRefused(
            f"protocol {protocol.name!r}: source {protocol.source.label()} overlaps target {protocol.target.label()}, "
            "so source labels would be target labels. Methods that use source labels "
            "cannot run on this protocol; choose a protocol with a separate source scene or region."
        )
    scene = scene if scene is not None else region_scene(protocol.source)
    statistics = normalisation_statistics(scene.cube, "scene")
    label_map = None
    class_names: tuple[str, ...] = ()
    if grant_labels:
        ids = scene.ground_truth.class_ids()
        lookup = np.full(int(scene.labels.max()) + 1, -1, np.int64)
        lookup[ids] = np.arange(len(ids))
        label_map = lookup[scene.labels]
        class_names = tuple(scene.class_names[i] for i in ids)
    patches = PatchSampler(scene.cube, protocol.patch_size, protocol.padding, statistics)
    return Domain(scene.name, patches, class_names, label_map)


def build_task(protocol: Protocol, split: Split, scene: Scene | None = None) -> FewShotTask:
    """The target side of a trial; test labels are not part of it."""
    scene = scene if scene is not None else region_scene(protocol.target)
    train_coords = split.support.coords if protocol.normalisation == "train" else None
    statistics = normalisation_statistics(scene.cube, protocol.normalisation, train_coords)
    ids = target_class_ids(split)
    names = tuple(scene.class_names[i] for i in ids)
    domain = Domain(scene.name, PatchSampler(scene.cube, protocol.patch_size, protocol.padding, statistics), names)
    return FewShotTask(
        target=domain,
        support_coords=split.support.coords,
        support_labels=class_index(ids, split.support.labels),
        validation_coords=split.validation.coords,
        validation_labels=class_index(ids, split.validation.labels),
        class_ids=ids,
        class_names=names,
        seed=split.seed,
    )
