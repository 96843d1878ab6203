"""Scenes handed to this process ready-made, so ``load_scene`` does not read their files again.

The Ray executor loads each scene a campaign needs once on the driver and puts it in Ray's
object store; every worker on a node then maps the same read-only arrays (zero-copy) instead of
reading and holding its own copy. Inside :func:`preloaded_scenes` those scenes answer
``load_scene(name, **options)`` for the same name and options; everything else loads as usual.
The arrays may be read-only: nothing downstream writes into a scene's cube (the patch sampler
writes its own padded copy), and a read-only cube makes any code that tried fail loudly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from hsibench.data.scene import Scene

SceneKey = tuple[str, tuple[tuple[str, Any], ...]]

_PRELOADED: dict[SceneKey, Scene] = {}


def scene_key(name: str, options: Mapping[str, Any]) -> SceneKey:
    """The key of ``load_scene(name, **options)``: the name and the options it was called with, sorted."""
    return name, tuple(sorted(options.items()))


def preloaded(name: str, options: Mapping[str, Any]) -> Scene | None:
    return _PRELOADED.get(scene_key(name, options))


@contextmanager
def preloaded_scenes(scenes: Mapping[SceneKey, Scene]) -> Iterator[None]:
    """Within the block, ``load_scene`` answers these keys from ``scenes`` (restored afterwards)."""
    before = dict(_PRELOADED)
    _PRELOADED.update(scenes)
    try:
        yield
    finally:
        _PRELOADED.clear()
        _PRELOADED.update(before)
