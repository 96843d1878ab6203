"""Loading a protocol's source or target: a whole registered scene, or a rectangular region of it.

A region is cropped *before* anything else (normalisation, padding), so nothing outside it is ever
read: patches at its border see padding, not the neighbouring region. A region's scene options
(``options = { purity = 0.7 }``) reach the scene's ``load(**options)``.
"""

from __future__ import annotations

from hsibench.data import GroundTruth, Scene, load_ground_truth, load_scene
from hsibench.protocol.protocol import SceneRegion


def region_ground_truth(region: SceneRegion) -> GroundTruth:
    gt = load_ground_truth(region.scene, **region.option_values) if region.options else load_ground_truth(region.scene)
    if region.is_whole:
        return gt
    rows, cols = region.slices(*gt.shape)
    return gt.crop(rows, cols, region.label())


def region_scene(region: SceneRegion) -> Scene:
    scene = load_scene(region.scene, **region.option_values) if region.options else load_scene(region.scene)
    if region.is_whole:
        return scene
    rows, cols = region.slices(*scene.ground_truth.shape)
    return scene.crop(rows, cols, region.label())
