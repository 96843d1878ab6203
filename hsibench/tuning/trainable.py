"""One sampled config, scored on validation pixels only: the Ray Tune function trainable of ``hsibench tune``.

For each seed of the search it builds what :func:`~hsibench.runner.trial.run_trial` builds — the
resolved config (preset, then the user's fixed ``--set`` keys, then the sampled ones), the protocol's
split, the source when the method needs one, the :class:`~hsibench.protocol.FewShotTask` — and runs
``prepare`` and ``adapt``. The differences are the point of tuning honestly:

- the split's test subset is replaced by an empty one *before* anything else sees the split
  (:func:`without_test`), so no code below can read a test label, and no test metric is computed;
- the score is the accuracy of ``predict`` on the task's validation pixels, for every method (an SVM
  has no epochs, but it predicts);
- every progress update of a training loop that carries ``validation_accuracy`` (the loops check
  validation every few epochs, methods/validation.py) is forwarded to Tune, so a scheduler such as
  ASHA can stop a poor config early; the last report of a trial holds the mean over its seeds and
  ``final = True``.

:func:`evaluate_settings` takes the report function as an argument, so it runs (and is tested)
without Ray; :func:`tune_trainable` is the thin Ray entry point.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hsibench.methods import create_method
from hsibench.protocol import LabeledPixels, Split, build_task, make_split
from hsibench.protocol.regions import region_scene
from hsibench.runner.source_domains import needs_source, source_domain
from hsibench.runner.spec import TrialSpec, resolve
from hsibench.runner.trial import trial_context

Report = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TuneRequest:
    """Everything but the sampled settings that a trial of the search needs, as plain (Ray-portable) data."""

    method: str
    protocol: str  # a shipped protocol name or a TOML path (absolute: workers may start elsewhere)
    preset: str
    seeds: tuple[int, ...]
    method_overrides: dict[str, Any] = field(default_factory=dict)  # --set method keys and the space's Fixed keys
    protocol_overrides: dict[str, Any] = field(default_factory=dict)
    cache_dir: str = ""
    device: str = "cpu"
    threads: int = 1
    plugins: tuple[str, ...] = ()
    precision: str = "fp32"  # what every trial of the search computes in (tune at the precision you evaluate in)

    def spec(self, seed: int, settings: dict[str, Any]) -> TrialSpec:
        """The trial of one seed with ``settings`` on top of the fixed overrides."""
        return TrialSpec(method=self.method, protocol=self.protocol, seed=seed, preset=self.preset,
                         method_overrides={**self.method_overrides, **settings},
                         protocol_overrides=dict(self.protocol_overrides), cache_dir=self.cache_dir,
                         device=self.device, threads=self.threads, plugins=self.plugins, precision=self.precision)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["seeds"], data["plugins"] = list(self.seeds), list(self.plugins)
        return data

    @staticmethod
    def from_dict(data: dict[str, Any]) -> TuneRequest:
        return TuneRequest(**{**data, "seeds": tuple(data["seeds"]), "plugins": tuple(data.get("plugins", ()))})


def without_test(split: Split) -> Split:
    """The split with its test subset emptied: what a tuning trial may hand on (support and validation)."""
    return dataclasses.replace(split, test=LabeledPixels.empty())


def validation_accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Share of validation pixels predicted right (classes have equal validation counts: OA ≈ AA here)."""
    return float(np.mean(np.asarray(predicted, np.int64) == np.asarray(labels, np.int64)))


def seed_validation_accuracy(spec: TrialSpec, report: Report) -> tuple[float, int | None]:
    """Prepare, adapt and score one seed on validation pixels; returns (accuracy, last epoch a loop reported)."""
    resolved = resolve(spec)
    last_epoch: list[int | None] = [None]

    def progress(**info: Any) -> None:
        if info.get("validation_accuracy") is None:
            return
        last_epoch[0] = info.get("epoch")
        report({"validation_accuracy": float(info["validation_accuracy"]), "epoch": info.get("epoch"),
                "stage": info.get("stage"), "seed": spec.seed, "final": False})

    context = trial_context(resolved, progress)
    protocol = resolved.protocol
    target_scene = region_scene(protocol.target)
    split = without_test(make_split(protocol, spec.seed, ground_truth=target_scene.ground_truth))
    method = create_method(spec.method, context, spec.preset, config=resolved.config)
    if needs_source(method.info):
        method.prepare(source_domain(protocol, grant_labels=method.info.uses_source_labels, method=spec.method))
    task = build_task(protocol, split, scene=target_scene)
    if len(task.validation_coords) == 0:
        raise ValueError(f"protocol {protocol.name!r} gave seed {spec.seed} no validation pixels to score")
    method.adapt(task)
    predicted = method.predict(task.target, task.validation_coords)
    return validation_accuracy(predicted, task.validation_labels), last_epoch[0]


def evaluate_settings(request: TuneRequest, settings: dict[str, Any], report: Report) -> dict[str, Any]:
    """Score ``settings`` on every seed of ``request``; the final report (also returned) holds the mean."""
    started = time.perf_counter()
    per_seed: list[float] = []
    epoch = None
    for seed in request.seeds:
        accuracy, epoch = seed_validation_accuracy(request.spec(seed, settings), report)
        per_seed.append(accuracy)
    final = {"validation_accuracy": float(np.mean(per_seed)), "validation_accuracy_per_seed": per_seed,
             "epoch": epoch if epoch is not None else 0, "final": True, "seconds": time.perf_counter() - started}
    report(final)
    return final


def plain_settings(config: dict[str, Any]) -> dict[str, Any]:
    """Sampled values as Python scalars (a sampler may hand back ``numpy.int64``, which JSON and TOML refuse)."""
    return {key: value.item() if isinstance(value, np.generic) else value for key, value in config.items()}


def tune_trainable(config: dict[str, Any], request: dict[str, Any]) -> None:
    """The Ray Tune function trainable: ``config`` is the sampled settings, ``request`` the rest (plain data)."""
    from ray import tune

    evaluate_settings(TuneRequest.from_dict(request), plain_settings(config), tune.report)
