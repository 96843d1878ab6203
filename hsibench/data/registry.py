"""The scene registry: one name → one :class:`SceneSource` that knows how to produce the scene.

Real scenes (files verified by sha256, see ``catalog.py``) and generated scenes (see
``synthetic.py``) register the same way, so protocols and methods never care which is which.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from hsibench.data.errors import UnknownSceneError
from hsibench.data.scene import GroundTruth, Scene


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


_SCENES: dict[str, SceneSource] = {}


def register_scene(source: SceneSource) -> SceneSource:
    name = source.info.name
    if name in _SCENES:
        raise ValueError(f"scene {name!r} is registered twice")
    _SCENES[name] = source
    return source


def _ensure_catalog_loaded() -> None:
    # Registration happens on import of these modules; importing here keeps
    # `get_scene("pu")` working without the caller knowing where scenes are declared.
    from hsibench.data import catalog, synthetic  # noqa: F401


def scene_names() -> list[str]:
    _ensure_catalog_loaded()
    return sorted(_SCENES)


def get_scene_source(name: str) -> SceneSource:
    _ensure_catalog_loaded()
    try:
        return _SCENES[name]
    except KeyError:
        close = difflib.get_close_matches(name, _SCENES, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownSceneError(
            f"unknown scene {name!r}.{hint} Valid names: {', '.join(sorted(_SCENES))}"
        ) from None


def load_scene(name: str) -> Scene:
    return get_scene_source(name).load()


def load_ground_truth(name: str) -> GroundTruth:
    return get_scene_source(name).load_ground_truth()
