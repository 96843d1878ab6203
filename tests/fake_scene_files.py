"""Small deterministic fake scene files in the real formats, for tests that must never download.

MATLAB v5 files are written by scipy; v7.3 files the way MATLAB writes them: HDF5 with a
512-byte header block, every array stored with its axes reversed (column-major), and a struct as
a group whose field order is in the ``MATLAB_fields`` attribute.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from hsibench.data.files import FileScene
from hsibench.data.registry import SceneInfo
from hsibench.data.storage import RemoteFile

FAKE_CLASS_NAMES = {1: "one", 2: "two", 3: "three"}


def fake_cube(height: int = 6, width: int = 5, bands: int = 8, dtype=np.int16) -> np.ndarray:
    values = np.arange(height * width * bands) % 1000  # distinct along every axis, so transposes show
    return values.reshape(height, width, bands).astype(dtype)


def fake_labels(height: int = 6, width: int = 5) -> np.ndarray:
    return (np.arange(height * width).reshape(height, width) % 4).astype(np.uint8)  # 0 = unlabeled, 1..3


def write_v5(path: Path, variables: dict[str, np.ndarray]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, variables, do_compression=True)
    return path


def write_v73(path: Path, variables: dict[str, np.ndarray], structs: dict[str, dict[str, np.ndarray]] = {}) -> Path:  # noqa: B006
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", userblock_size=512) as file:
        for name, value in variables.items():
            file.create_dataset(name, data=np.asarray(value).T)  # column-major: axes reversed
        for name, fields in structs.items():
            group = file.create_group(name)
            for field_name, value in fields.items():
                group.create_dataset(field_name, data=np.asarray(value).T)
            field_chars = np.empty(len(fields), dtype=object)  # one variable-length char array per field
            for index, field_name in enumerate(fields):
                field_chars[index] = np.frombuffer(field_name.encode(), dtype="S1")
            group.attrs.create("MATLAB_fields", field_chars, dtype=h5py.vlen_dtype(np.dtype("S1")))
    with open(path, "r+b") as file:
        file.write(b"MATLAB 7.3 MAT-file, written by tests/fake_scene_files.py".ljust(116))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def remote_for(path: Path, key: str | None, subdir: str = "", urls: tuple[str, ...] = ()) -> RemoteFile:
    """The registry facts of a fake file (its true hash and size)."""
    return RemoteFile(path.name, sha256(path), path.stat().st_size, key, urls=urls, mirror_subdir=subdir)


def fake_scene(mirror: Path, cube: np.ndarray | None = None, labels: np.ndarray | None = None, **options) -> FileScene:
    """A FileScene over fake ``cube.mat``/``gt.mat`` written into ``mirror`` (``options`` go to FileScene)."""
    cube = fake_cube() if cube is None else cube
    labels = fake_labels() if labels is None else labels
    cube_file = remote_for(write_v5(mirror / "fake_cube.mat", {"cube": cube}), "cube")
    gt_file = remote_for(write_v5(mirror / "fake_gt.mat", {"gt": labels}), "gt")
    kept_bands = cube.shape[2] - len(options.get("dropped_bands", ()))
    info = SceneInfo(name="fake", title="fake scene", shape=(*cube.shape[:2], kept_bands), class_names=FAKE_CLASS_NAMES)
    return FileScene(info=info, cube_files=(cube_file,), ground_truth_files=(gt_file,), **options)
