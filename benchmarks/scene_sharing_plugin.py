"""A generated scene large enough that its cube dominates a trial's memory (for bench_scene_sharing only).

Loaded as a ``--plugin`` so every Ray worker registers it too; generating it stands in for reading
a real scene's file, which each worker does once per scene without sharing.
"""

from __future__ import annotations

import dataclasses

from hsibench.data import register_scene, scene_names
from hsibench.data.synthetic import DEMO_TARGET, SyntheticScene

LARGE_SCENE = "bench_large"
#: 400 × 400 × 160 float32 = 97.7 MB, about Salinas' size (512 × 217 × 204 = 86.5 MB)
SPEC = dataclasses.replace(DEMO_TARGET, height=400, width=400, bands=160, region_scale=20.0)

if LARGE_SCENE not in scene_names():
    register_scene(SyntheticScene(LARGE_SCENE, "Generated 400×400×160 scene for the scene-sharing benchmark", SPEC))
