"""Data layer: scenes that verify themselves, a local mirror, and generated scenes."""

from hsibench.data.errors import (
    ChecksumMismatchError,
    HsibenchDataError,
    SceneFileError,
    SceneNotAvailableError,
    SceneOptionError,
    UnknownSceneError,
)
from hsibench.data.registry import (
    LABEL_KINDS,
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
    "LABEL_KINDS",
    "ChecksumMismatchError",
    "GroundTruth",
    "HsibenchDataError",
    "Scene",
    "SceneFileError",
    "SceneInfo",
    "SceneNotAvailableError",
    "SceneOptionError",
    "SceneSource",
    "UnknownSceneError",
    "get_scene_source",
    "load_ground_truth",
    "load_scene",
    "register_scene",
    "scene_names",
]
