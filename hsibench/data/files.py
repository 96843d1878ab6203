"""A scene read from files: the :class:`SceneSource` behind every real scene of ``catalog.py``.

The facts (files, hashes, keys, layouts, dropped bands, wavelengths, class names) are data given by
the catalog; this class only knows how to turn verified files into a :class:`Scene`. The ground
truth loads on its own, so splits can be made where only the small label files exist.

Three kinds of labels: label maps in files (surveyed ground truth); labels *derived* from abundance
maps stored in the cube file (Jasper Ridge: arg-max abundance where it reaches the ``purity``
option); and none (an unlabeled scene, whose ground truth is all zeros and needs no file).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hsibench.data import storage
from hsibench.data.errors import HsibenchDataError, SceneFileError
from hsibench.data.matfile import read_array_file
from hsibench.data.registry import OptionCheck, SceneInfo, resolve_options
from hsibench.data.scene import GroundTruth, Scene
from hsibench.data.storage import RemoteFile
from hsibench.data.wavelengths import FileWavelengths, NominalWavelengths

#: how a variable's axes map to the image: rows × columns × bands (what most .mat scenes store) …
LAYOUT_HWB = "rows×cols×bands"
#: … or bands × pixels with the pixels in MATLAB's column-major order (the unmixing benchmarks' ``Y``)
LAYOUT_BANDS_BY_PIXELS = "bands×pixels (column-major)"
LAYOUTS = (LAYOUT_HWB, LAYOUT_BANDS_BY_PIXELS)


def to_image(values: np.ndarray, layout: str, height: int, width: int, path: Path, key: str | None) -> np.ndarray:
    """(H, W, B) C-ordered from a variable stored in ``layout``."""
    if layout == LAYOUT_HWB:
        if values.ndim != 3:
            raise SceneFileError(f"{path}: variable {key!r} has shape {values.shape}, expected (H, W, bands)")
        return values
    if layout == LAYOUT_BANDS_BY_PIXELS:
        if values.ndim != 2 or values.shape[1] != height * width:
            raise SceneFileError(f"{path}: variable {key!r} has shape {values.shape}, expected (bands, "
                                 f"{height}×{width} = {height * width} pixels)")
        # pixel p is (row p % H, column p // H): MATLAB's reshape(Y', H, W, B)
        return np.ascontiguousarray(values.T.reshape(height, width, values.shape[0], order="F"))
    raise ValueError(f"unknown layout {layout!r}; known: {LAYOUTS}")


def check_purity(value: Any) -> str | None:
    """A purity is a number in (0, 1]: the smallest largest-abundance a pixel needs to be labeled."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < float(value) <= 1:
        return "purity must be a number in (0, 1] (the least abundance of a pixel's dominant material)"
    return None


@dataclass(frozen=True)
class AbundanceLabels:
    """Labels derived from per-pixel abundance maps in the cube file.

    A pixel gets the class of its largest abundance (class ids 1…K in the file's material order) when
    that abundance is at least the scene option ``purity``; every other pixel stays unlabeled (0).
    ``key`` holds the (K, pixels) or (H, W, K) abundances in ``layout``.
    """

    key: str
    layout: str = LAYOUT_BANDS_BY_PIXELS

    def labels(self, abundances: np.ndarray, purity: float) -> np.ndarray:
        """(H, W) int64 labels of (H, W, K) abundances."""
        dominant = abundances.argmax(axis=-1) + 1
        return np.where(abundances.max(axis=-1) >= purity, dominant, 0).astype(np.int64)


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

    ``cube_layout`` is how the cube variable's axes map to the image (:data:`LAYOUTS`) and
    ``cube_dtype`` its type as read from the file (a documented fact the tests check). ``wavelengths``
    gives the band centres: nominal ones known at registration, or a variable of the cube file.
    ``valid_mask_key`` names a variable of the cube file marking the valid pixels. Where the file
    lists the sensor band numbers it kept (``band_numbers_key``), they must equal ``band_numbers``.
    With ``abundance_labels`` the labels are derived from the cube file (``ground_truth_files`` is
    then empty); with neither, the scene is unlabeled. ``option_checks`` validate the values of the
    scene's options (``info.options`` holds their defaults); ``label_note_template`` is the label
    note with the options as placeholders, so a scene loaded with other options says what it holds.
    """

    info: SceneInfo
    cube_files: tuple[RemoteFile, ...]
    ground_truth_files: tuple[RemoteFile, ...] = ()
    official_maps: Mapping[str, RemoteFile] = field(default_factory=dict)
    optional_official_maps: Mapping[str, RemoteFile] = field(default_factory=dict)
    dropped_bands: tuple[int, ...] = ()
    documented_counts: Mapping[str, Mapping[int, int]] = field(default_factory=dict)  # map name → id → pixels
    counts_verified: bool = False
    cube_layout: str = LAYOUT_HWB
    cube_dtype: str = ""
    wavelengths: NominalWavelengths | FileWavelengths | None = None
    valid_mask_key: str | None = None
    band_numbers_key: str | None = None
    band_numbers: tuple[int, ...] = ()
    abundance_labels: AbundanceLabels | None = None
    label_note_template: str = ""  # the label note with the options filled in, e.g. "purity ≥ {purity:g}"
    option_checks: Mapping[str, OptionCheck] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.cube_layout not in LAYOUTS:
            raise ValueError(f"{self.info.name}: unknown cube layout {self.cube_layout!r}; known: {LAYOUTS}")
        if self.abundance_labels is not None and self.ground_truth_files:
            raise ValueError(f"{self.info.name}: labels come either from label files or from abundances, not both")
        expected_labels = "derived" if self.abundance_labels else "survey" if self.ground_truth_files else "none"
        if self.abundance_labels is not None:
            if "purity" not in self.info.options:
                raise ValueError(f"{self.info.name}: labels derived from abundances need a `purity` option default")
            object.__setattr__(self, "option_checks", {"purity": check_purity, **self.option_checks})
        if self.info.labels != expected_labels:
            raise ValueError(f"{self.info.name}: SceneInfo.labels is {self.info.labels!r} but the files make "
                             f"{expected_labels!r} labels")
        if isinstance(self.wavelengths, NominalWavelengths) and len(self.wavelengths.values_nm) != self.info.shape[2]:
            raise ValueError(f"{self.info.name}: {len(self.wavelengths.values_nm)} nominal wavelengths for "
                             f"{self.info.shape[2]} bands")
        # SceneInfo.files (what `hsibench data list/verify` look at) and the wavelength facts are derived
        # from the roles, so a dataclasses.replace() of the roles can never leave them stale
        derived: dict[str, Any] = {"files": self.all_files()}
        if self.wavelengths is not None:
            derived["wavelength_source"] = self.wavelengths.source
        if isinstance(self.wavelengths, NominalWavelengths):
            derived["spectral_range_nm"] = self.wavelengths.range_nm
        if self.label_note_template:
            derived["label_note"] = self.label_note(self.info.options)
        object.__setattr__(self, "info", dataclasses.replace(self.info, **derived))

    # --- which files --------------------------------------------------------------------------------

    def ground_truth_roles(self) -> tuple[RemoteFile, ...]:
        """The files the labels need: label maps, the cube file for derived labels, none if unlabeled."""
        if self.abundance_labels is not None:
            return self.cube_files[:1]
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

    def label_note(self, options: Mapping[str, Any]) -> str:
        """What the labels are, for scenes loaded with ``options`` (empty for surveyed labels)."""
        return self.label_note_template.format(**options) if self.label_note_template else self.info.label_note

    def resolved_options(self, **options: Any) -> dict[str, Any]:
        """The scene's options with their defaults, checked (an error names the option and what is valid)."""
        return resolve_options(self.info, options, self.option_checks)

    def load_ground_truth(self, **options: Any) -> GroundTruth:
        resolved = self.resolved_options(**options)
        self.fetch(ground_truth_only=True)
        return self._read_ground_truth(resolved)[0]

    def load(self, **options: Any) -> Scene:
        resolved = self.resolved_options(**options)
        *_, (cube_file, cube_path) = self.fetch()  # every file first, so one error names all that are missing
        ground_truth, labels_read = self._read_ground_truth(resolved)
        cube = self._read_cube(cube_file, cube_path)
        if cube.shape != tuple(self.info.shape):
            raise SceneFileError(
                f"{cube_path}: cube of scene {self.info.name!r} is {_size(cube.shape)} after loading, "
                f"the registry expects {_size(self.info.shape)}; is it the right file?"
            )
        self._check_band_numbers(cube_file, cube_path)
        try:
            scene = Scene(self.info.name, cube, ground_truth, metadata=self._metadata(cube_path, resolved),
                          wavelengths_nm=self._read_wavelengths(cube_file, cube_path),
                          valid_mask=self._read_valid_mask(cube_file, cube_path))
        except ValueError as error:
            raise SceneFileError(
                f"{error}. Cube file: {cube_path}; ground-truth file(s): {labels_read.describe(self.ground_truth_files)}"
            ) from error
        return scene

    def _read_ground_truth(self, options: Mapping[str, Any]) -> tuple[GroundTruth, _LabelReader]:
        read = _LabelReader(self.info.name)
        if self.abundance_labels is not None:
            return self._derived_ground_truth(options), read
        if not self.ground_truth_files:
            return GroundTruth.unlabeled(self.info.name, tuple(self.info.shape[:2])), read
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

    def _derived_ground_truth(self, options: Mapping[str, Any]) -> GroundTruth:
        assert self.abundance_labels is not None
        remote = self.cube_files[0]
        path = storage.fetch(remote, self.info.name)
        height, width = self.info.shape[:2]
        abundances = to_image(read_array_file(path, self.abundance_labels.key, dtype=np.float64),
                              self.abundance_labels.layout, height, width, path, self.abundance_labels.key)
        if abundances.shape[2] != len(self.info.class_names):
            raise SceneFileError(f"{path}: {abundances.shape[2]} abundance maps in {self.abundance_labels.key!r}, "
                                 f"the registry names {len(self.info.class_names)} materials")
        labels = self.abundance_labels.labels(abundances, float(options["purity"]))
        return GroundTruth(self.info.name, labels, dict(self.info.class_names))

    def _read_cube(self, remote: RemoteFile, path: Path) -> np.ndarray:
        values = read_array_file(path, remote.key, dtype=np.float32)
        cube = to_image(values, self.cube_layout, *self.info.shape[:2], path, remote.key)  # (H, W, B) float32
        if not self.dropped_bands:
            return cube
        return np.ascontiguousarray(cube[:, :, kept_band_indices(cube.shape[2], self.dropped_bands)])

    def _read_wavelengths(self, remote: RemoteFile, path: Path) -> np.ndarray | None:
        if isinstance(self.wavelengths, NominalWavelengths):
            return np.asarray(self.wavelengths.values_nm, np.float64)
        if self.wavelengths is None:
            return None
        values = read_array_file(path, self.wavelengths.key, dtype=np.float64).ravel()
        if self.dropped_bands:
            values = values[kept_band_indices(values.size, self.dropped_bands)]
        if values.size != self.info.shape[2]:
            raise SceneFileError(f"{path}: variable {self.wavelengths.key!r} holds {values.size} band centres "
                                 f"(after dropping bands), the cube has {self.info.shape[2]} bands")
        return values

    def _read_valid_mask(self, remote: RemoteFile, path: Path) -> np.ndarray | None:
        if self.valid_mask_key is None:
            return None
        mask = read_array_file(path, self.valid_mask_key)
        if mask.shape != tuple(self.info.shape[:2]):
            raise SceneFileError(f"{path}: valid-pixel mask {self.valid_mask_key!r} is {_size(mask.shape)}, "
                                 f"the cube {_size(self.info.shape[:2])}")
        return mask != 0

    def _check_band_numbers(self, remote: RemoteFile, path: Path) -> None:
        if self.band_numbers_key is None:
            return
        listed = tuple(int(band) for band in read_array_file(path, self.band_numbers_key).ravel())
        if listed != self.band_numbers:
            raise SceneFileError(f"{path}: the kept band numbers in {self.band_numbers_key!r} are not the registered "
                                 f"ones ({len(listed)} listed, {len(self.band_numbers)} registered), so the "
                                 "registered wavelengths would be wrong; is it the right file?")

    def _metadata(self, cube_path: Path, options: Mapping[str, Any]) -> dict:
        derived = {"derived_by_dropping_bands_1based": list(self.dropped_bands)} if self.dropped_bands else {}
        return {
            "title": self.info.title,
            "sensor": self.info.sensor,
            "spectral_range_nm": self.info.spectral_range_nm,
            "wavelength_source": self.info.wavelength_source,
            "labels": self.info.labels,
            **({"label_note": self.label_note(options)} if self.info.label_note else {}),
            **({"options": dict(options)} if options else {}),
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
