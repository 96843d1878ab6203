"""The scene registry: one name → one :class:`SceneSource` that knows how to produce the scene.

Real scenes (files verified by sha256, see ``catalog.py``) and generated scenes (see
``synthetic.py``) register the same way, so protocols and methods never care which is which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from hsibench.data.errors import UnknownSceneError
from hsibench.data.scene import GroundTruth, Scene
from hsibench.registry import Registry


@dataclass(frozen=True)
class SceneInfo:
    """Facts shown by ``hsibench data list`` / ``info``; no file access needed."""

    name: str
    title: str
    shape: tuple[int, int, int]  # (H, W, B) as loaded
    class_names: dict[int, str]
    sensor: str = ""
    spectral_range_nm: tuple[float, float] | None = None
    licence: str = ""
    citation: str = ""
    access: str = "download"  # "download" | "registration" | "generated"
    notes: str = ""
    files: tuple = field(default_factory=tuple)  # the files it needs (RemoteFile of storage.py)


@runtime_checkable
class SceneSource(Protocol):
    """Anything that can produce a scene by name."""

    info: SceneInfo

    def load_ground_truth(self) -> GroundTruth:
        """The labels only: cheap, and enough for splits."""

    def load(self) -> Scene:
        """Cube and labels."""

    def is_available(self) -> bool:
        """True when loading would need no network."""


#: every scene; the built-in ones are declared in these modules (imported on the first lookup)
SCENES: Registry[SceneSource] = Registry("scene", ("hsibench.data.catalog", "hsibench.data.synthetic"),
                                         error=UnknownSceneError)


def register_scene(source: SceneSource) -> SceneSource:
    return SCENES.register(source.info.name, source)


def scene_names() -> list[str]:
    return SCENES.names()


def get_scene_source(name: str) -> SceneSource:
    return SCENES.get(name)


def load_scene(name: str) -> Scene:
    return get_scene_source(name).load()


def load_ground_truth(name: str) -> GroundTruth:
    return get_scene_source(name).load_ground_truth()
