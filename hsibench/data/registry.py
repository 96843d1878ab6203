"""The scene registry: one name → one :class:`SceneSource` that knows how to produce the scene.

Real scenes (files verified by sha256, see ``catalog.py``) and generated scenes (see
``synthetic.py``) register the same way, so protocols and methods never care which is which.
A scene may take options (Jasper Ridge's label ``purity``): ``load_scene("jr", purity=0.6)``; the
defaults are in :attr:`SceneInfo.options`, and an unknown option or a bad value is a
:class:`~hsibench.data.errors.SceneOptionError` naming the scene, the option and what is valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from hsibench.data.errors import SceneOptionError, UnknownSceneError
from hsibench.data.preloaded import preloaded
from hsibench.data.scene import GroundTruth, Scene
from hsibench.registry import Registry

#: what a scene's labels are: a field survey, computed (e.g. from unmixing abundances), or none at all
LABEL_KINDS = ("survey", "derived", "none")


@dataclass(frozen=True)
class SceneInfo:
    """Facts shown by ``hsibench data list`` / ``info``; no file access needed.

    ``labels`` says where the labels come from (one of :data:`LABEL_KINDS`); where they are
    ``"derived"``, ``label_note`` is the sentence every table or figure built on them must show.
    ``spectral_range_nm`` is the range of the band centres as loaded, ``wavelength_source`` where the
    centres come from (the file, or a nominal sensor table). ``options`` are the scene's options with
    their defaults.
    """

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
    labels: str = "survey"  # "survey" | "derived" | "none"
    label_note: str = ""
    wavelength_source: str = ""
    options: dict = field(default_factory=dict)  # option name → default value

    def __post_init__(self) -> None:
        if self.labels not in LABEL_KINDS:
            raise ValueError(f"scene {self.name!r}: labels must be one of {LABEL_KINDS}, got {self.labels!r}")
        if self.labels == "derived" and not self.label_note:
            raise ValueError(f"scene {self.name!r}: derived labels need a label_note saying how they were made")
        if self.labels == "none" and self.class_names:
            raise ValueError(f"scene {self.name!r}: an unlabeled scene has no class names")

    @property
    def labeled(self) -> bool:
        return self.labels != "none"


@runtime_checkable
class SceneSource(Protocol):
    """Anything that can produce a scene by name."""

    info: SceneInfo

    def load_ground_truth(self, **options: Any) -> GroundTruth:
        """The labels only: cheap, and enough for splits."""

    def load(self, **options: Any) -> Scene:
        """Cube and labels."""

    def is_available(self) -> bool:
        """True when loading would need no network."""


#: a check of one option value: ``None`` when valid, else what a valid value is
OptionCheck = Callable[[Any], "str | None"]


def resolve_options(info: SceneInfo, options: Mapping[str, Any],
                    checks: Mapping[str, OptionCheck] | None = None) -> dict[str, Any]:
    """The scene's defaults updated by ``options``, each value checked; a clear error otherwise."""
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        valid = (", ".join(f"{name} (default {value!r})" for name, value in info.options.items())
                 if info.options else "none: it takes no options")
        raise SceneOptionError(f"scene {info.name!r} has no option {', '.join(map(repr, unknown))}; "
                               f"its options are {valid}")
    resolved = {**info.options, **options}
    for name, check in (checks or {}).items():
        problem = check(resolved[name])
        if problem:
            raise SceneOptionError(f"scene {info.name!r}: option {name}={resolved[name]!r} is not valid: {problem}")
    return resolved


#: every scene; the built-in ones are declared in these modules (imported on the first lookup)
SCENES: Registry[SceneSource] = Registry("scene", ("hsibench.data.catalog", "hsibench.data.synthetic"),
                                         error=UnknownSceneError)


def register_scene(source: SceneSource) -> SceneSource:
    return SCENES.register(source.info.name, source)


def scene_names() -> list[str]:
    return SCENES.names()


def get_scene_source(name: str) -> SceneSource:
    return SCENES.get(name)


def load_scene(name: str, **options: Any) -> Scene:
    """The scene, from its source — or, inside :func:`~hsibench.data.preloaded.preloaded_scenes`, ready-made."""
    scene = preloaded(name, options)
    return scene if scene is not None else get_scene_source(name).load(**options)


def load_ground_truth(name: str, **options: Any) -> GroundTruth:
    scene = preloaded(name, options)
    return scene.ground_truth if scene is not None else get_scene_source(name).load_ground_truth(**options)
