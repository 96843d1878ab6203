"""Reading one array out of a scene file: MATLAB v5 (scipy), v7.3 (HDF5, h5py), .npy, GeoTIFF.

Every failure becomes a :class:`SceneFileError` naming the file, since "could not read bytes"
from deep inside scipy does not tell a user which of a scene's files is damaged.

Memory: only the requested variable is read (``variable_names=[key]``), and the conversion to
``dtype`` writes straight into the final C-ordered array — no intermediate float64 copy — so
loading an int16 cube peaks near its int16 size plus its float32 size.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from hsibench.data.errors import SceneFileError

# MATLAB v7.3 files keep these HDF5 groups for internal bookkeeping; they are not variables.
_HDF5_INTERNAL = ("#refs#", "#subsystem#")


def read_array_file(path: Path, key: str | None, dtype: np.dtype | type | None = None) -> np.ndarray:
    """Read the array ``key`` from ``path`` (the reader is chosen by the file's suffix)."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise SceneFileError(f"{path}: cannot read {path.suffix!r} files; supported: {', '.join(sorted(_READERS))}")
    return reader(path, key, dtype)


def read_mat_array(path: Path, key: str | None, dtype: np.dtype | type | None = None) -> np.ndarray:
    """The variable ``key`` of a .mat file (``None``: the file's only variable), as MATLAB shows it.

    A struct variable yields its first field (Chikusei's ground truth is such a struct).
    """
    if h5py.is_hdf5(path):
        return _read_hdf5_mat(path, key, dtype)
    return _read_v5_mat(path, key, dtype)


def mat_keys(path: Path) -> list[str]:
    """Names of the variables in a .mat file (v5 or v7.3)."""
    if h5py.is_hdf5(path):
        with _open_hdf5(path) as file:
            return _hdf5_variables(file)
    try:
        return [name for name, _shape, _class in scipy.io.whosmat(str(path))]
    except Exception as error:  # noqa: BLE001 — any parse failure means the file is damaged
        raise _unreadable(path, error) from error


def _read_v5_mat(path: Path, key: str | None, dtype) -> np.ndarray:
    key = key or _only_variable(path, mat_keys(path))
    try:
        content = scipy.io.loadmat(str(path), variable_names=[key])
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 — truncated or corrupt: scipy raises OSError, IndexError, zlib.error…
        raise _unreadable(path, error) from error
    if key not in content:
        raise _missing_key(path, key, mat_keys(path))
    value = content.pop(key)
    if value.dtype.names:  # a MATLAB struct: (1, 1) record array of fields
        value = value[value.dtype.names[0]][0, 0]
    return _converted(value, dtype)


def _read_hdf5_mat(path: Path, key: str | None, dtype) -> np.ndarray:
    with _open_hdf5(path) as file:
        variables = _hdf5_variables(file)
        key = key or _only_variable(path, variables)
        if key not in variables:
            raise _missing_key(path, key, variables)
        node = file[key]
        if isinstance(node, h5py.Group):  # a MATLAB struct: its fields are the group's members
            node = node[_first_struct_field(node)]
        try:
            return _read_transposed(node, dtype)
        except OSError as error:  # h5py's error for truncated or damaged data
            raise _unreadable(path, error) from error


def _read_transposed(dataset: h5py.Dataset, dtype) -> np.ndarray:
    """MATLAB writes column-major, so HDF5 shows every array with its axes reversed.

    Reading one leading slab at a time into the reversed, C-ordered result bounds the extra
    memory to one slab (the Chikusei cube would otherwise need a full float64 copy).
    """
    if dataset.ndim < 3:
        return _converted(dataset[()].T, dtype)
    result = np.empty(dataset.shape[::-1], dtype=dtype or dataset.dtype)
    for index in range(dataset.shape[0]):
        result[..., index] = dataset[index].T
    return result


def _first_struct_field(group: h5py.Group) -> str:
    """MATLAB records the struct's field order in the ``MATLAB_fields`` attribute; h5py lists members
    alphabetically, so that attribute decides which field is "first"."""
    fields = group.attrs.get("MATLAB_fields")
    if fields is not None and len(fields):
        return b"".join(np.asarray(fields[0]).tolist()).decode()
    members = list(group.keys())
    if not members:
        raise SceneFileError(f"{group.file.filename}: struct {group.name!r} has no fields")
    return members[0]


def _open_hdf5(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except Exception as error:  # noqa: BLE001
        raise _unreadable(path, error) from error


def _hdf5_variables(file: h5py.File) -> list[str]:
    return [name for name in file.keys() if name not in _HDF5_INTERNAL]


def _read_npy(path: Path, key: str | None, dtype) -> np.ndarray:
    try:
        value = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as error:  # noqa: BLE001
        raise _unreadable(path, error) from error
    return _converted(value, dtype)


def _read_tiff(path: Path, key: str | None, dtype) -> np.ndarray:
    """A (Geo)TIFF cube, bands last. Needs the optional ``tifffile`` package."""
    try:
        import tifffile
    except ImportError:
        raise SceneFileError(
            f"{path}: reading a GeoTIFF needs the `tifffile` package (`pip install tifffile`), "
            f"or convert the cube once to {path.with_suffix('.npy').name} (H, W, bands) and put that next to it"
        ) from None
    try:
        value = tifffile.imread(path)
    except Exception as error:  # noqa: BLE001
        raise _unreadable(path, error) from error
    if value.ndim == 3 and value.shape[0] < min(value.shape[1:]):  # band-sequential layout (B, H, W)
        value = np.moveaxis(value, 0, -1)
    return _converted(value, dtype)


def _converted(value: np.ndarray, dtype) -> np.ndarray:
    # one pass: cast and reorder (MATLAB's Fortran order → C order) into a single new array
    return np.asarray(value, dtype=dtype, order="C") if dtype is not None else np.asarray(value)


def _only_variable(path: Path, variables: list[str]) -> str:
    if len(variables) != 1:
        raise SceneFileError(f"{path}: expected exactly one variable, found {variables or 'none'}; rename or re-save it")
    return variables[0]


def _missing_key(path: Path, key: str, present: list[str]) -> SceneFileError:
    return SceneFileError(
        f"{path}: no variable {key!r}; the file holds {present or 'no variables'}. "
        "Is it the right file (compare its sha256 with `hsibench data verify`)?"
    )


def _unreadable(path: Path, error: Exception) -> SceneFileError:
    return SceneFileError(
        f"{path}: cannot be read as a scene file ({type(error).__name__}: {error}); "
        "it is probably truncated or corrupt — delete it and fetch it again"
    )


_READERS: dict[str, Callable[[Path, str | None, np.dtype | type | None], np.ndarray]] = {
    ".mat": read_mat_array,
    ".npy": _read_npy,
    ".tif": _read_tiff,
    ".tiff": _read_tiff,
}
