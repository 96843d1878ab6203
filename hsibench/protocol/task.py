"""From a protocol and a seed to what a method may see: the source view(s), the target :class:`Domain` and a :class:`FewShotTask`.

This is where the rules of honest evaluation are enforced by construction:
- the target's labels are never handed to a method, only the support (and validation) pixels';
- the source's labels are handed over only when the method declares it uses them, and never
  when source and target are the same scene (they would be target labels), when the source has
  none, or when several sources are pooled;
- test labels stay with the runner, which scores predictions.

A protocol with several ``sources`` gives a :class:`PooledSource`: one :class:`Domain` per scene,
each z-scored over its own (valid) pixels, never over the pool — the scenes' units differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hsibench.data import Scene
from hsibench.protocol.normalise import normalisation_statistics
from hsibench.protocol.patches import PatchSampler
from hsibench.protocol.protocol import Protocol, SceneRegion, SourceLabelsRefused, check_source_labels
from hsibench.protocol.regions import region_scene
from hsibench.protocol.split import Split, footprint_mask

__all__ = ["Domain", "FewShotTask", "PooledSource", "Source", "SourceLabelsRefused", "build_source_domain",
           "build_sources", "build_task", "class_index", "source_domains", "target_class_ids"]


@dataclass(frozen=True)
class Domain:
    """A normalised scene as a method sees it.

    ``label_map`` is ``None`` unless labels were granted; when granted it holds class indices
    0…K−1 (``-1`` = unlabeled, and every pixel outside the valid mask) in the order of ``class_names``.
    ``wavelengths_nm`` are the (B,) band centres (``None`` where the scene has none); the valid-pixel
    mask lives with the patches (:attr:`valid_mask`, :meth:`valid_coords`).
    """

    name: str
    patches: PatchSampler
    class_names: tuple[str, ...] = ()
    label_map: np.ndarray | None = None
    wavelengths_nm: np.ndarray | None = None

    @property
    def bands(self) -> int:
        return self.patches.bands

    @property
    def valid_mask(self) -> np.ndarray | None:
        return self.patches.valid_mask

    def valid_coords(self) -> np.ndarray:
        """The pixels that may be patch centres or pretraining samples (every pixel without a mask)."""
        return self.patches.valid_coords()

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
    index back to the scene's own id. ``normalisation`` is the protocol's statistics mode: it decides
    which target pixels a method may fit statistics on (:meth:`statistics_coords`).
    """

    target: Domain
    support_coords: np.ndarray  # (n, 2)
    support_labels: np.ndarray  # (n,)
    validation_coords: np.ndarray
    validation_labels: np.ndarray
    class_ids: tuple[int, ...]
    class_names: tuple[str, ...]
    seed: int
    normalisation: str = "scene"

    @property
    def num_classes(self) -> int:
        return len(self.class_ids)

    def statistics_coords(self) -> np.ndarray:
        """The target pixels (n, 2) whose spectra a fitted statistic (PCA, a band adapter) may use.

        Under ``scene`` (and ``none``) statistics the protocol already reads every valid target pixel (the
        z-score), so a method may too. Under ``train`` only what the method sees anyway: every pixel inside a
        support patch (the support pixels and their neighbours; a test pixel far from every support pixel
        never enters), row-major and without duplicates.
        """
        if self.normalisation != "train":
            return self.target.valid_coords()
        patches = self.target.patches
        covered = footprint_mask((patches.height, patches.width), np.asarray(self.support_coords), patches.radius)
        if patches.valid_mask is not None:
            covered &= patches.valid_mask
        return np.argwhere(covered).astype(np.int64)


def class_index(class_ids: list[int] | tuple[int, ...], labels: np.ndarray) -> np.ndarray:
    """Map scene ids to indices 0…K−1 in the order of ``class_ids``."""
    lookup = {c: i for i, c in enumerate(class_ids)}
    return np.asarray([lookup[int(v)] for v in labels], np.int64)


def target_class_ids(split: Split) -> tuple[int, ...]:
    """The classes a trial is scored on: those with support pixels, ascending."""
    return tuple(sorted(set(split.support.labels.tolist())))


@dataclass(frozen=True, eq=False)
class PooledSource:
    """Several source scenes a self-supervised method pretrains on together (a protocol's ``sources``).

    Each :class:`Domain` keeps its own band count, wavelengths, valid mask and z-score; how their pixels
    meet one encoder (per-scene adapters, or a common wavelength grid) is the method's business. Never
    labeled: methods that use source labels refuse several sources.
    """

    domains: tuple[Domain, ...]

    def __post_init__(self) -> None:
        if len(self.domains) < 2:
            raise ValueError("a pooled source needs at least two domains (one source is a Domain)")

    @property
    def name(self) -> str:
        return " + ".join(domain.name for domain in self.domains)

    @property
    def patch_size(self) -> int:
        return self.domains[0].patches.patch_size


#: what ``Method.prepare`` receives: one source domain, or several pooled
Source = Domain | PooledSource


def source_domains(source: Source) -> tuple[Domain, ...]:
    """The domains of a source, in protocol order (one for a single source)."""
    return source.domains if isinstance(source, PooledSource) else (source,)


def build_source_domain(protocol: Protocol, grant_labels: bool, scene: Scene | None = None,
                        method: str | None = None, region: SceneRegion | None = None) -> Domain:
    """One source scene (``region``, default the protocol's first source), z-scored over its own valid pixels;
    labels only when granted and legitimate (``method`` names who asked, for the refusal's message)."""
    region = region if region is not None else protocol.source
    if grant_labels:
        check_source_labels(protocol, method or "(uses source labels)")
    scene = scene if scene is not None else region_scene(region)
    statistics = normalisation_statistics(scene.cube, "scene", valid_mask=scene.valid_mask)
    label_map = None
    class_names: tuple[str, ...] = ()
    if grant_labels:
        ids = scene.ground_truth.class_ids()
        lookup = np.full(int(scene.labels.max()) + 1, -1, np.int64)
        lookup[ids] = np.arange(len(ids))
        label_map = lookup[scene.labels]
        if scene.valid_mask is not None:
            label_map[~scene.valid_mask] = -1
        class_names = tuple(scene.class_names[i] for i in ids)
    patches = PatchSampler(scene.cube, protocol.patch_size, protocol.padding, statistics, valid_mask=scene.valid_mask)
    return Domain(scene.name, patches, class_names, label_map, scene.wavelengths_nm)


def build_sources(protocol: Protocol, grant_labels: bool, method: str | None = None,
                  domain: Callable[[SceneRegion], Domain] | None = None) -> Source:
    """The protocol's source: one :class:`Domain`, or a :class:`PooledSource` of one per listed scene.

    ``domain(region)`` builds (or reuses: the runner keeps recent ones) the domain of one source region;
    by default :func:`build_source_domain`. Labels are granted to a single source only.
    """
    if grant_labels:
        check_source_labels(protocol, method or "(uses source labels)")  # before any scene is loaded
    make = domain or (lambda region: build_source_domain(protocol, grant_labels, method=method, region=region))
    domains = tuple(make(region) for region in protocol.sources)
    return domains[0] if len(domains) == 1 else PooledSource(domains)


def build_task(protocol: Protocol, split: Split, scene: Scene | None = None) -> FewShotTask:
    """The target side of a trial; test labels are not part of it."""
    scene = scene if scene is not None else region_scene(protocol.target)
    train_coords = split.support.coords if protocol.normalisation == "train" else None
    statistics = normalisation_statistics(scene.cube, protocol.normalisation, train_coords, valid_mask=scene.valid_mask)
    ids = target_class_ids(split)
    names = tuple(scene.class_names[i] for i in ids)
    patches = PatchSampler(scene.cube, protocol.patch_size, protocol.padding, statistics, valid_mask=scene.valid_mask)
    domain = Domain(scene.name, patches, names, wavelengths_nm=scene.wavelengths_nm)
    return FewShotTask(
        target=domain,
        support_coords=split.support.coords,
        support_labels=class_index(ids, split.support.labels),
        validation_coords=split.validation.coords,
        validation_labels=class_index(ids, split.validation.labels),
        class_ids=ids,
        class_names=names,
        seed=split.seed,
        normalisation=protocol.normalisation,
    )
