"""A user's own cube for ``hsibench predict``: a ``.mat`` variable, a ``.npy`` array or a GeoTIFF, with an optional
ground-truth map, read into a :class:`~hsibench.data.Scene`.

The arrays are read with the data layer's readers (:mod:`hsibench.data.matfile`: scipy or h5py for ``.mat``, so
a v7.3 file works; a missing key lists the keys the file holds). A cube is ``(H, W, B)``, bands last; a ``.mat``
or ``.npy`` cube saved bands first is turned with ``bands_first=True`` (a GeoTIFF's band-sequential layout is
recognised by the reader). A ``.npy`` cube stays memory-mapped and its dtype is kept, so prediction, which reads
it in row tiles, never holds a float32 copy of a large cube; a ``.mat`` cube is read whole (scipy has no partial
reads). Pixels with a non-finite value in any band (NaN no-data) are no sample: they form the scene's valid mask
and get label 0 in the map.

This module lives in the runner layer on purpose: the data and protocol layers are part of every record's and
every cached pretraining's code fingerprint, and reading a user's file for prediction changes no benchmark number.

``GeoTIFF`` needs the optional ``tifffile`` package; its georeferencing tags are kept
(:attr:`UserCube.geotiff_tags`) so the label map can be written back as a GeoTIFF on the same grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hsibench.data import GroundTruth, Scene, SceneFileError
from hsibench.data.matfile import mat_keys, read_array_file

#: suffixes a cube or ground-truth file may have
CUBE_SUFFIXES = (".mat", ".npy", ".tif", ".tiff")
TIFF_SUFFIXES = (".tif", ".tiff")
#: GeoTIFF tags that place an image on the ground: model pixel scale, tie points, transformation, GeoKeys
GEOTIFF_TAGS = (33550, 33922, 34264, 34735, 34736, 34737)
#: rows z-checked for non-finite values at a time (bounds the temporary of a memory-mapped cube)
_FINITE_ROWS = 256


class UserCubeError(SceneFileError):
    """A user's cube or ground-truth file that cannot be used as given; the message says what to change."""


@dataclass(frozen=True)
class UserCube:
    """A cube read for prediction: the scene, where it came from, and (GeoTIFF) its georeferencing."""

    scene: Scene
    path: Path
    key: str | None
    ground_truth_path: Path | None = None
    geotiff_tags: tuple[tuple[int, int, int, object], ...] = field(default=())  # (code, dtype, count, value)

    @property
    def is_geotiff(self) -> bool:
        return self.path.suffix.lower() in TIFF_SUFFIXES

    @property
    def labeled(self) -> bool:
        return self.ground_truth_path is not None


def _check_suffix(path: Path, what: str) -> None:
    if not path.is_file():
        raise UserCubeError(f"{what} {path} does not exist")
    if path.suffix.lower() not in CUBE_SUFFIXES:
        raise UserCubeError(f"{what} {path}: cannot read {path.suffix!r} files; give a {', '.join(CUBE_SUFFIXES)} file "
                            "(e.g. np.save('cube.npy', cube) with the cube as (height, width, bands))")


def _read(path: Path, key: str | None, what: str, option: str) -> np.ndarray:
    """One array of a file; a .mat file with several variables and no key names them, with the option to give."""
    if path.suffix.lower() == ".mat":
        keys = mat_keys(path)
        if key is None and len(keys) != 1:
            raise UserCubeError(f"{what} {path} holds {len(keys)} variables ({', '.join(keys) or 'none'}); "
                                f"name the one to use with {option} KEY")
        if key is not None and key not in keys:
            raise UserCubeError(f"{what} {path} has no variable {key!r}; it holds: {', '.join(keys) or 'none'} "
                                f"(give one of them with {option})")
    if path.suffix.lower() != ".mat" and key is not None:
        raise UserCubeError(f"{option} {key!r} names a variable of a .mat file, but {path} is a "
                            f"{path.suffix} file with one array; leave {option} out")
    return read_array_file(path, key)


def read_cube_array(path: Path | str, key: str | None = None, bands_first: bool = False) -> np.ndarray:
    """The ``(H, W, B)`` cube of ``path`` (a memory map for ``.npy``, the file's own dtype)."""
    path = Path(path)
    _check_suffix(path, "cube")
    cube = _read(path, key, "cube file", "--key")
    if cube.ndim != 3:
        hint = (" (a 2-D array is one band or a label map: is --key the cube's variable?)" if cube.ndim == 2 else "")
        raise UserCubeError(f"{path}{f' [{key}]' if key else ''}: a cube must be 3-D (height, width, bands), "
                            f"got shape {cube.shape}{hint}")
    if bands_first:
        cube = np.moveaxis(cube, 0, -1)
    if not (np.issubdtype(cube.dtype, np.number) and not np.issubdtype(cube.dtype, np.complexfloating)):
        raise UserCubeError(f"{path}: the cube holds {cube.dtype} values; it must hold real numbers")
    return cube


def read_label_array(path: Path | str, key: str | None, shape: tuple[int, int]) -> np.ndarray:
    """An ``(H, W)`` map of integer class ids (0 = unlabeled) matching a cube of ``shape`` pixels."""
    path = Path(path)
    _check_suffix(path, "ground truth")
    labels = np.squeeze(_read(path, key, "ground-truth file", "--gt-key"))
    if labels.ndim != 2:
        raise UserCubeError(f"ground truth {path}: a label map must be 2-D (height, width), got shape {labels.shape}")
    if labels.shape != tuple(shape):
        raise UserCubeError(f"ground truth {path} is {labels.shape[0]}×{labels.shape[1]} pixels but the cube is "
                            f"{shape[0]}×{shape[1]}; they must cover the same pixels")
    if np.issubdtype(labels.dtype, np.floating):
        if not np.all(np.isfinite(labels)) or not np.array_equal(labels, np.round(labels)):
            raise UserCubeError(f"ground truth {path}: class ids must be whole numbers (0 = unlabeled)")
    elif not np.issubdtype(labels.dtype, np.integer) and labels.dtype != bool:
        raise UserCubeError(f"ground truth {path}: holds {labels.dtype} values, not integer class ids")
    labels = np.asarray(labels, np.int64)
    if labels.min(initial=0) < 0:
        raise UserCubeError(f"ground truth {path}: negative class ids {sorted(set(labels[labels < 0].tolist()))[:5]}; "
                            "0 marks unlabeled pixels, classes are 1, 2, …")
    return labels


def finite_mask(cube: np.ndarray) -> np.ndarray | None:
    """``(H, W)`` True where every band is finite; ``None`` when all are (the common case: no mask at all)."""
    if np.issubdtype(cube.dtype, np.integer):
        return None
    mask = np.empty(cube.shape[:2], bool)
    for row in range(0, cube.shape[0], _FINITE_ROWS):
        mask[row: row + _FINITE_ROWS] = np.isfinite(cube[row: row + _FINITE_ROWS]).all(axis=-1)
    if mask.all():
        return None
    if not mask.any():
        raise UserCubeError("every pixel of the cube has a non-finite value (NaN or inf) in some band; nothing to "
                            "classify")
    return mask


def read_geotiff_tags(path: Path) -> tuple[tuple[int, int, int, object], ...]:
    """The georeferencing tags of a GeoTIFF's first page, as ``tifffile.imwrite(extratags=…)`` takes them."""
    import tifffile  # the cube was just read with it

    with tifffile.TiffFile(path) as tiff:
        tags = tiff.pages[0].tags
        kept = []
        for code in GEOTIFF_TAGS:
            tag = tags.get(code)
            if tag is not None:
                kept.append((code, int(tag.dtype), int(tag.count), tag.value))
    return tuple(kept)


def read_user_cube(path: Path | str, key: str | None = None, gt: Path | str | None = None,
                   gt_key: str | None = None, class_names: dict[int, str] | None = None,
                   bands_first: bool = False, wavelengths_nm: np.ndarray | None = None) -> UserCube:
    """A user's cube (and optional ground truth) as a :class:`Scene` named after the file.

    ``class_names`` name the ground truth's ids (the model's classes); an id without a name is called
    ``class <id>``. Without ``gt`` the scene is unlabeled (every pixel 0).
    """
    path = Path(path)
    cube = read_cube_array(path, key, bands_first)
    shape = (int(cube.shape[0]), int(cube.shape[1]))
    name = path.stem if key is None else f"{path.stem}[{key}]"
    if gt is None:
        ground_truth = GroundTruth.unlabeled(name, shape)
    else:
        labels = read_label_array(Path(gt), gt_key, shape)
        names = dict(class_names or {})
        names.update({int(c): f"class {int(c)}" for c in np.unique(labels) if c and int(c) not in names})
        ground_truth = GroundTruth(scene=name, labels=labels, class_names=names)
    if wavelengths_nm is not None and len(wavelengths_nm) != cube.shape[2]:
        raise UserCubeError(f"{len(wavelengths_nm)} wavelengths were given for a cube of {cube.shape[2]} bands "
                            f"({path}); give one band centre (nm) per band")
    scene = Scene(name=name, cube=cube, ground_truth=ground_truth, metadata={"file": str(path), "key": key},
                  wavelengths_nm=wavelengths_nm, valid_mask=finite_mask(cube))
    tags = read_geotiff_tags(path) if path.suffix.lower() in TIFF_SUFFIXES else ()
    return UserCube(scene, path, key, Path(gt) if gt is not None else None, tags)


def read_wavelengths(path: Path | str, key: str | None = None) -> np.ndarray:
    """Band centres in nm, one per band: a text/CSV file (numbers separated by commas, spaces or lines), a
    ``.npy`` array, or a ``.mat`` variable (``key``)."""
    path = Path(path)
    if not path.is_file():
        raise UserCubeError(f"wavelength file {path} does not exist")
    if path.suffix.lower() in (".mat", ".npy"):
        values = np.asarray(_read(path, key, "wavelength file", "--wavelengths-key"), np.float64).ravel()
    else:
        text = path.read_text().replace(",", " ").replace(";", " ")
        try:
            values = np.asarray([float(word) for word in text.split()], np.float64)
        except ValueError as error:
            raise UserCubeError(f"wavelength file {path}: expected numbers (nm), one per band: {error}") from None
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise UserCubeError(f"wavelength file {path}: expected finite band centres in nm, one per band")
    if values.max() < 30:  # micrometres (0.4–2.5) are a common way to write them
        raise UserCubeError(f"wavelength file {path}: the values ({values.min():g}–{values.max():g}) look like µm; "
                            "give nanometres (multiply by 1000)")
    return values


def resample_cube(cube: np.ndarray, from_nm: np.ndarray, to_nm: np.ndarray, scene: str = "the cube",
                  rows_per_chunk: int = 64) -> np.ndarray:
    """The cube linearly interpolated from its band centres ``from_nm`` onto ``to_nm`` (float32, new array).

    Refuses centres outside the cube's range (no extrapolation): the message names the range it lacks.
    A band centre between two of the cube's is the distance-weighted mean of those two bands; a centre equal
    to one of the cube's takes that band exactly.
    """
    from_nm, to_nm = np.asarray(from_nm, np.float64), np.asarray(to_nm, np.float64)
    order = np.argsort(from_nm, kind="stable")
    centres = from_nm[order]
    outside = to_nm[(to_nm < centres[0] - 1e-6) | (to_nm > centres[-1] + 1e-6)]
    if len(outside):
        raise UserCubeError(
            f"{scene}'s bands cover {centres[0]:.1f}–{centres[-1]:.1f} nm, but the model needs band centres from "
            f"{to_nm.min():.1f} to {to_nm.max():.1f} nm ({len(outside)} of {len(to_nm)} lie outside, "
            f"{outside.min():.1f}–{outside.max():.1f} nm); resampling cannot make bands the sensor did not record")
    right = np.clip(np.searchsorted(centres, to_nm, side="left"), 1, len(centres) - 1)
    left = right - 1
    span = centres[right] - centres[left]
    weight = np.where(span > 0, (to_nm - centres[left]) / np.where(span > 0, span, 1.0), 0.0).clip(0.0, 1.0)
    exact = np.isclose(to_nm, centres[left], atol=1e-9)
    weight[exact] = 0.0
    matrix = np.zeros((len(centres), len(to_nm)), np.float64)  # sorted bands → model bands
    matrix[left, np.arange(len(to_nm))] += 1.0 - weight
    matrix[right, np.arange(len(to_nm))] += weight
    matrix = matrix.astype(np.float32)
    out = np.empty((*cube.shape[:2], len(to_nm)), np.float32)
    for row in range(0, cube.shape[0], rows_per_chunk):
        chunk = np.asarray(cube[row: row + rows_per_chunk], np.float32)[..., order]
        out[row: row + rows_per_chunk] = chunk @ matrix
    return out
