"""Data layer: scenes that verify themselves, a local mirror, and generated scenes.

Names are imported on first use (PEP 562), so a module that needs only :mod:`hsibench.data.storage`
(the CLI's ``--mirror`` option, ``hsibench --help``) loads neither the scene registry nor numpy.
"""

from hsibench.lazy import lazy_exports

_NAMES = {
    "ChecksumMismatchError": "errors", "HsibenchDataError": "errors", "SceneFileError": "errors",
    "SceneNotAvailableError": "errors", "SceneOptionError": "errors", "UnknownSceneError": "errors",
    "LABEL_KINDS": "registry", "SceneInfo": "registry", "SceneSource": "registry", "get_scene_source": "registry",
    "load_ground_truth": "registry", "load_scene": "registry", "register_scene": "registry",
    "scene_names": "registry",
    "GroundTruth": "scene", "Scene": "scene",
}


__getattr__ = lazy_exports(__name__, {name: f"hsibench.data.{module}" for name, module in _NAMES.items()})


__all__ = sorted(_NAMES)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
