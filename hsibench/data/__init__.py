"""Data layer: scenes that verify themselves, a local mirror, and generated scenes."""

from hsibench.data.errors import (
    ChecksumMismatchError,
    HsibenchDataError,
    SceneFileError,
    SceneNotAvailableError,
    UnknownSceneError,
)
from hsibench.data.registry import (
    SceneInfo,
    SceneSource,
    get_scene_source,
    load_ground_truth,
    load_scene,
    register_scene,
    scene_names,
)
from hsibench.data.scene import GroundTruth, Scene

__all__ = [
    "ChecksumMismatchError",
    "GroundTruth",
    "HsibenchDataError",
    "Scene",
    "SceneFileError",
    "SceneInfo",
    "SceneNotAvailableError",
    "SceneSource",
    "UnknownSceneError",
    "get_scene_source",
    "load_ground_truth",
    "load_scene",
    "register_scene",
    "scene_names",
]
