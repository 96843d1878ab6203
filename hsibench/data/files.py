"""A scene read from files: the :class:`SceneSource` behind every real scene of ``catalog.py``.

The facts (files, hashes, keys, dropped bands, class names) are data given by the catalog; this
class only knows how to turn verified files into a :class:`Scene`. The ground truth loads on its
own, so splits can be made where only the small label files exist.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hsibench.data import storage
from hsibench.data.errors import HsibenchDataError, SceneFileError
from hsibench.data.matfile import read_array_file
from hsibench.data.registry import SceneInfo
from hsibench.data.scene import GroundTruth, Scene
from hsibench.data.storage import RemoteFile


@dataclass(frozen=True, eq=False)
class FileScene:
    """A scene whose cube and labels come from (sha256-checked) files.

    ``cube_files`` are alternatives (e.g. a GeoTIFF or the user's .npy conversion of it): the first
    one present is read. ``ground_truth_files`` are merged into one map (Houston 2013's labels are
    its official train ∪ test maps). ``dropped_bands`` are 1-based, as papers list them, and make a
    derived scene (Salinas-A corrected from the raw Salinas-A cube). ``optional_official_maps`` are
    added when present and skipped otherwise (Pavia U's community train/test maps, which
    have no public download). ``documented_counts`` are the per-class pixel counts the publishers document;
    tests compare them with the real files where ``counts_verified``.
    """

    info: SceneInfo
    cube_files: tuple[RemoteFile, ...]
    ground_truth_files: tuple[RemoteFile, ...]
    official_maps: Mapping[str, RemoteFile] = field(default_factory=dict)
    optional_official_maps: Mapping[str, RemoteFile] = field(default_factory=dict)
    dropped_bands: tuple[int, ...] = ()
    documented_counts: Mapping[str, Mapping[int, int]] = field(default_factory=dict)  # map name → id → pixels
    counts_verified: bool = False

    def __post_init__(self) -> None:
        # SceneInfo.files (what `hsibench data list/verify` look at) is derived from the roles, so a
        # dataclasses.replace() of the roles can never leave it stale
        object.__setattr__(self, "info", dataclasses.replace(self.info, files=self.all_files()))

    # --- which files --------------------------------------------------------------------------------

    def ground_truth_roles(self) -> tuple[RemoteFile, ...]:
        return _unique((*self.ground_truth_files, *self.official_maps.values()))

    def all_files(self) -> tuple[RemoteFile, ...]:
        return _unique((*self.cube_files, *self.ground_truth_roles(), *self.optional_official_maps.values()))

    def ground_truth_available(self) -> bool:
        """True when the labels load without network (the cube may be absent)."""
        return all(_has_good_copy(remote) for remote in self.ground_truth_roles())

    def is_available(self) -> bool:
        """True when the whole scene loads without network."""
        return self.ground_truth_available() and any(_has_good_copy(remote) for remote in self.cube_files)

    def file_roles(self, ground_truth_only: bool = False) -> list[tuple[RemoteFile, ...]]:
        """What a load needs: each ground-truth file, then the cube (any one of its alternatives)."""
        roles = [(remote,) for remote in self.ground_truth_roles()]
        return roles if ground_truth_only else [*roles, self.cube_files]

    def fetch(self, ground_truth_only: bool = False) -> list[tuple[RemoteFile, Path]]:
        """(file, verified local path) of every needed file, downloading what is allowed; an error
        names every file still missing at once."""
        return storage.fetch_all(self.file_roles(ground_truth_only), self.info.name)

    # --- loading ------------------------------------------------------------------------------------

    def load_ground_truth(self) -> GroundTruth:
        self.fetch(ground_truth_only=True)
        return self._read_ground_truth()[0]

    def load(self) -> Scene:
        *_, (cube_file, cube_path) = self.fetch()  # every file first, so one error names all that are missing
        ground_truth, labels_read = self._read_ground_truth()
        cube = self._read_cube(cube_file, cube_path)
        try:
            scene = Scene(self.info.name, cube, ground_truth, metadata=self._metadata(cube_path))
        except ValueError as error:
            raise SceneFileError(
                f"{error}. Cube file: {cube_path}; ground-truth file(s): {labels_read.describe(self.ground_truth_files)}"
            ) from error
        if scene.cube.shape != tuple(self.info.shape):
            raise SceneFileError(
                f"{cube_path}: cube of scene {self.info.name!r} is {_size(scene.cube.shape)} after loading, "
                f"the registry expects {_size(self.info.shape)}; is it the right file?"
            )
        return scene

    def _read_ground_truth(self) -> tuple[GroundTruth, _LabelReader]:
        read = _LabelReader(self.info.name)
        labels = read.merged(self.ground_truth_files)
        # an absent optional map is skipped; a present but damaged one is an error like any other file
        present_optional = {name: remote for name, remote in self.optional_official_maps.items()
                            if storage.present_copies(remote)}
        maps = {}
        for name, remote in {**self.official_maps, **present_optional}.items():
            maps[name] = read.one(remote)
            _require_same_shape(labels, maps[name], f"ground truth {read.describe(self.ground_truth_files)}",
                                f"official {name!r} map {read.describe((remote,))}")
        try:
            ground_truth = GroundTruth(self.info.name, labels, dict(self.info.class_names), official_maps=maps)
        except ValueError as error:
            raise SceneFileError(f"{error} (files: {read.describe(self.ground_truth_files)})") from error
        return ground_truth, read

    def _read_cube(self, remote: RemoteFile, path: Path) -> np.ndarray:
        cube = read_array_file(path, remote.key, dtype=np.float32)  # (H, W, B) float32
        if cube.ndim != 3:
            raise SceneFileError(f"{path}: variable {remote.key!r} has shape {cube.shape}, expected (H, W, bands)")
        if not self.dropped_bands:
            return cube
        return np.ascontiguousarray(cube[:, :, kept_band_indices(cube.shape[2], self.dropped_bands)])

    def _metadata(self, cube_path: Path) -> dict:
        derived = {"derived_by_dropping_bands_1based": list(self.dropped_bands)} if self.dropped_bands else {}
        return {
            "title": self.info.title,
            "sensor": self.info.sensor,
            "spectral_range_nm": self.info.spectral_range_nm,
            "cube_file": str(cube_path),
            **derived,
        }


def kept_band_indices(band_count: int, dropped_1based: tuple[int, ...]) -> np.ndarray:
    """0-based indices of the bands left after dropping the 1-based ``dropped_1based``."""
    out_of_range = [band for band in dropped_1based if not 1 <= band <= band_count]
    if out_of_range:
        raise SceneFileError(f"bands {out_of_range} cannot be dropped from a cube of {band_count} bands")
    return np.setdiff1d(np.arange(band_count), np.asarray(dropped_1based) - 1)


class _LabelReader:
    """Reads each label file of one load once, remembering the path it came from."""

    def __init__(self, scene: str) -> None:
        self.scene = scene
        self.paths: dict[RemoteFile, Path] = {}
        self._maps: dict[RemoteFile, np.ndarray] = {}

    def one(self, remote: RemoteFile) -> np.ndarray:
        if remote not in self._maps:
            path = storage.fetch(remote, self.scene)
            self.paths[remote] = path
            self._maps[remote] = labels_from_array(read_array_file(path, remote.key), path)
        return self._maps[remote]

    def merged(self, remotes: tuple[RemoteFile, ...]) -> np.ndarray:
        """Union of label maps; two maps giving one pixel different classes is an error."""
        labels = self.one(remotes[0]).copy()
        for remote in remotes[1:]:
            other = self.one(remote)
            _require_same_shape(labels, other, self.describe(remotes[:1]), str(self.paths[remote]))
            conflict = (labels != 0) & (other != 0) & (labels != other)
            if conflict.any():
                raise SceneFileError(f"{self.describe(remotes)}: {int(conflict.sum())} pixels have different classes")
            labels = np.where(labels == 0, other, labels)
        return labels

    def describe(self, remotes: tuple[RemoteFile, ...]) -> str:
        return ", ".join(str(self.paths.get(remote, remote.name)) for remote in remotes)


def labels_from_array(values: np.ndarray, path: Path) -> np.ndarray:
    """A 2-D int64 label map; MATLAB often stores labels as double, which must hold whole numbers ≥ 0."""
    if values.ndim != 2:
        raise SceneFileError(f"{path}: a label map must be 2-D (H, W), got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.integer):
        if not (np.all(np.isfinite(values)) and np.all(values == np.round(values))):
            raise SceneFileError(f"{path}: label map holds non-integer values")
    labels = values.astype(np.int64)
    if labels.min(initial=0) < 0:
        raise SceneFileError(f"{path}: label map holds negative class ids")
    return labels


def _require_same_shape(first: np.ndarray, second: np.ndarray, first_name: str, second_name: str) -> None:
    if first.shape[:2] != second.shape[:2]:
        raise SceneFileError(
            f"{first_name} is {_size(first.shape)} but {second_name} is {_size(second.shape)}; "
            "they must cover the same pixels (are both files of the same scene?)"
        )


def _has_good_copy(remote: RemoteFile) -> bool:
    try:
        return storage.locate(remote) is not None
    except HsibenchDataError:  # only a bad copy: not available
        return False


def _unique(remotes: tuple[RemoteFile, ...]) -> tuple[RemoteFile, ...]:
    return tuple(dict.fromkeys(remotes))


def _size(shape: tuple[int, ...]) -> str:
    return "×".join(str(extent) for extent in shape)
