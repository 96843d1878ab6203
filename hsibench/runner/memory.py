"""How much memory a trial needs, estimated before it runs, so Ray places no more trials on a node than fit.

The estimate, in MB (2**20 bytes), from the trial's scenes and model, without reading a file:

    memory = worker + Σ over the scenes it loads (cube + padded) + model

- ``worker`` = :data:`WORKER_MB` (910): the resident size of a Ray worker process after importing torch,
  timm, scikit-learn, Ray and hsibench's methods, measured on this project's CPU machines;
- ``cube`` = H·W·B·4 bytes of each scene as loaded (float32, the whole scene even when the protocol
  uses a region of it) — 0 when the executor shares the cube through Ray's object store (one
  read-only copy per node, counted once by the object store, not per trial);
- ``padded`` = (h + 2r)(w + 2r)·B·4 bytes: the patch sampler's normalised, padded copy of the region
  used (r = patch_size // 2), which every trial holds for itself (its statistics are its own);
- the scenes are the target and, for a method that reads the source (it pretrains or uses source
  labels), every source region;
- ``model`` = :data:`MODEL_MB` by kind of method: 256 MB for classical (fitted in scikit-learn) methods
  and 1,024 MB for neural ones — parameters, optimiser state, activations of a training batch and the
  inference batches, set from the peak resident memory of this project's committed Salinas-A trials
  (cpu and paper presets: svm 0.97–1.1 GB, deep baselines and S²Former 1.0–2.0 GB, i.e. ≤ 1.1 GB
  above the worker).

A user whose trials need more (a large model on a large scene) sets ``--memory-per-trial MB``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hsibench.data import get_scene_source
from hsibench.protocol.protocol import SceneRegion
from hsibench.runner.source_domains import needs_source
from hsibench.runner.spec import ResolvedTrial

MB = 2**20
WORKER_MB = 910
MODEL_MB = {"classical": 256}
NEURAL_MODEL_MB = 1024


@dataclass(frozen=True)
class MemoryEstimate:
    worker_mb: float
    cube_mb: float
    padded_mb: float
    model_mb: float

    @property
    def total_mb(self) -> float:
        return self.worker_mb + self.cube_mb + self.padded_mb + self.model_mb

    def describe(self) -> str:
        return (f"{self.total_mb:,.0f} MB (worker {self.worker_mb:,.0f} + scene cubes {self.cube_mb:,.0f} + padded "
                f"copies {self.padded_mb:,.0f} + model {self.model_mb:,.0f})")


def _scene_megabytes(region: SceneRegion, patch_size: int) -> tuple[float, float]:
    """(cube as loaded, padded copy of the region) of one scene region, from the registry's shape alone."""
    height, width, bands = get_scene_source(region.scene).info.shape
    rows, cols = region.slices(height, width)
    h, w = len(range(height)[rows]), len(range(width)[cols])
    radius = patch_size // 2
    return height * width * bands * 4 / MB, (h + 2 * radius) * (w + 2 * radius) * bands * 4 / MB


def estimate_trial_memory(trial: ResolvedTrial, cubes_shared: bool = False) -> MemoryEstimate:
    """The memory one trial needs (see the module's formula); ``cubes_shared``: the cubes come from the object store."""
    protocol, info = trial.protocol, trial.entry.info
    regions = [protocol.target, *(protocol.sources if needs_source(info) else ())]
    sizes = [_scene_megabytes(region, protocol.patch_size) for region in regions]
    cube = 0.0 if cubes_shared else sum(size[0] for size in sizes)
    return MemoryEstimate(WORKER_MB, cube, sum(size[1] for size in sizes), MODEL_MB.get(info.family, NEURAL_MODEL_MB))
