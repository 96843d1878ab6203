"""The two plain data types every layer above works with: a ground-truth map and a scene.

A split needs only the ground truth, so the two are separate: exporting a split must work
when only the (small) ground-truth file of a scene is available. An unlabeled scene (a source for
self-supervised pretraining) still has a ground truth: all zeros and no class names, so every
shape, crop and split path works unchanged and simply finds no labeled pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class GroundTruth:
    """A labelled map of one scene.

    ``labels`` holds the scene's own class ids (``0`` = unlabeled); ``class_names`` maps every
    id that may occur to its name. Ids need not be contiguous (Salinas-A keeps Salinas' ids
    1, 10…14), which is why methods work with class *indices* made by :meth:`class_ids`.
    """

    scene: str
    labels: np.ndarray  # (H, W) integer, 0 = unlabeled
    class_names: dict[int, str]
    # Extra official maps, e.g. Houston 2013's {"train": (H, W), "test": (H, W)}.
    official_maps: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.labels.ndim != 2:
            raise ValueError(f"{self.scene}: ground truth must be 2-D (H, W), got shape {self.labels.shape}")
        unknown = sorted(set(np.unique(self.labels).tolist()) - set(self.class_names) - {0})
        if unknown:
            raise ValueError(f"{self.scene}: ground truth holds class ids {unknown} with no registered name")

    @classmethod
    def unlabeled(cls, scene: str, shape: tuple[int, int]) -> GroundTruth:
        """The ground truth of a scene without labels: every pixel 0, no classes."""
        return cls(scene=scene, labels=np.zeros(shape, np.int64), class_names={})

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.labels.shape[0]), int(self.labels.shape[1]))

    @property
    def labeled(self) -> bool:
        """False for an unlabeled scene (no class names at all)."""
        return bool(self.class_names)

    def class_ids(self) -> list[int]:
        """Ids of the classes present in the map, ascending (the order class indices follow)."""
        present = np.unique(self.labels)
        return [int(c) for c in present if c != 0]

    def class_counts(self) -> dict[int, int]:
        ids, counts = np.unique(self.labels[self.labels != 0], return_counts=True)
        return {int(i): int(n) for i, n in zip(ids, counts)}

    def crop(self, rows: slice, cols: slice, name: str | None = None) -> GroundTruth:
        return GroundTruth(
            scene=name or self.scene,
            labels=self.labels[rows, cols],
            class_names=self.class_names,
            official_maps={k: v[rows, cols] for k, v in self.official_maps.items()},
        )


@dataclass(frozen=True)
class Scene:
    """A hyperspectral cube with its ground truth.

    ``cube`` is float32 (H, W, B) in the file's units (radiance or reflectance counts);
    normalisation belongs to the protocol, not the scene. ``wavelengths_nm`` are the (B,) band
    centres (float64; ``None`` where unknown), not necessarily ascending (AVIRIS' spectrometers
    overlap). ``valid_mask`` (H, W) bool marks the pixels that may be a patch centre or a
    pretraining sample (``None``: every pixel), e.g. MUUFL Gulfport's image outside its mask.
    """

    name: str
    cube: np.ndarray  # (H, W, B) float32
    ground_truth: GroundTruth
    metadata: dict = field(default_factory=dict)
    wavelengths_nm: np.ndarray | None = None  # (B,) float64
    valid_mask: np.ndarray | None = None  # (H, W) bool

    def __post_init__(self) -> None:
        if self.cube.ndim != 3:
            raise ValueError(f"{self.name}: cube must be 3-D (H, W, B), got shape {self.cube.shape}")
        if self.cube.shape[:2] != self.ground_truth.shape:
            raise ValueError(
                f"{self.name}: cube is {self.cube.shape[0]}×{self.cube.shape[1]} pixels but its ground truth is "
                f"{self.ground_truth.shape[0]}×{self.ground_truth.shape[1]}; they must cover the same pixels "
                "(check that the cube and ground-truth files belong to the same scene)"
            )
        if self.wavelengths_nm is not None:
            wavelengths = np.asarray(self.wavelengths_nm, np.float64)
            if wavelengths.shape != (self.cube.shape[2],):
                raise ValueError(f"{self.name}: {wavelengths.size} wavelengths for a cube of {self.cube.shape[2]} "
                                 "bands; there must be one band centre per band")
            object.__setattr__(self, "wavelengths_nm", wavelengths)
        if self.valid_mask is not None:
            mask = np.asarray(self.valid_mask)
            if mask.shape != self.cube.shape[:2]:
                raise ValueError(f"{self.name}: valid mask is {mask.shape}, the cube {self.cube.shape[:2]} pixels")
            object.__setattr__(self, "valid_mask", mask.astype(bool, copy=False))

    @property
    def bands(self) -> int:
        return int(self.cube.shape[2])

    @property
    def labels(self) -> np.ndarray:
        return self.ground_truth.labels

    @property
    def class_names(self) -> dict[int, str]:
        return self.ground_truth.class_names

    @property
    def labeled(self) -> bool:
        """False for an unlabeled scene (a ground truth with no classes)."""
        return self.ground_truth.labeled

    def crop(self, rows: slice, cols: slice, name: str | None = None) -> Scene:
        """A rectangular part of the scene (a copy, so the parent can be freed); the bands stay the same."""
        new_name = name or self.name
        return Scene(
            name=new_name,
            cube=np.ascontiguousarray(self.cube[rows, cols]),
            ground_truth=self.ground_truth.crop(rows, cols, new_name),
            metadata={**self.metadata, "crop": {"rows": [rows.start, rows.stop], "cols": [cols.start, cols.stop]}},
            wavelengths_nm=self.wavelengths_nm,
            valid_mask=None if self.valid_mask is None else self.valid_mask[rows, cols].copy(),
        )
