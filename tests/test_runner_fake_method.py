"""Tiny methods registered for the runner and report tests, so they never wait for a real model.

Other runner tests import this module (``from test_runner_fake_method import …``) and pass its
path as a plugin, so Ray workers and subprocesses register the same methods.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from hsibench.methods import Method, register_method
from hsibench.methods.pretraining_cache import PretrainingCache, domain_digest, pretraining_key
from hsibench.protocol import Domain, FewShotTask, load_protocol

PLUGIN = str(Path(__file__).resolve())
CENTROID = "test-runner-centroid"
PRETRAINED = "test-runner-pretrained-centroid"
COMPUTATIONS_LOG = "test-runner-computations.log"  # one line per actual pretraining, in the cache folder


@dataclass
class CentroidConfig:
    """``fail_seed``: raise in adapt for that seed (failure handling); ``sleep_s``: slow each trial down;
    ``die_once``: a marker path: the first process to reach adapt (or prepare) for a seed creates
    ``<die_once>-<stage>-<seed>`` and kills itself with SIGKILL, as a lost Ray worker or node would."""

    fail_seed: int = -1
    sleep_s: float = 0.0
    shrink: float = 0.0  # pulls centroids towards the global mean; a swept "hyper-parameter"
    die_once: str = ""


def die_once(marker: str, stage: str, seed: int) -> None:
    """Simulate a worker lost mid-trial: SIGKILL (no cleanup, no record) the first time this stage runs."""
    if not marker:
        return
    flag = Path(f"{marker}-{stage}-{seed}")
    if not flag.exists():
        flag.touch()
        os.kill(os.getpid(), signal.SIGKILL)


PRESETS = {"paper": {}, "cpu": {}, "smoke": {}}


@register_method(CENTROID, family="classical", uses_source_labels=False, pretrains=False, reference="test only",
                 config=CentroidConfig, presets=PRESETS)
class NearestCentroid(Method):
    """Nearest class centroid of centre spectra: deterministic and instant."""

    def adapt(self, task: FewShotTask) -> None:
        if task.seed == self.config.fail_seed:
            raise RuntimeError(f"deliberate failure for seed {task.seed}")
        for epoch in range(1, 3):
            self.context.progress(stage="adapt", epoch=epoch, epochs=2, loss=1.0 / epoch,
                                  **({"validation_accuracy": 0.75} if epoch == 2 else {}))
        die_once(self.config.die_once, "adapt", task.seed)
        time.sleep(self.config.sleep_s)
        spectra = task.target.patches.spectra(task.support_coords).numpy()  # (n, B)
        centroids = np.stack([spectra[task.support_labels == k].mean(0) for k in range(task.num_classes)])
        self.centroids = (1 - self.config.shrink) * centroids + self.config.shrink * centroids.mean(0)

    def predict(self, domain: Domain, coords: np.ndarray) -> np.ndarray:
        spectra = domain.patches.spectra(coords).numpy()  # (n, B)
        distances = ((spectra[:, None, :] - self.centroids[None]) ** 2).sum(-1)  # (n, K)
        return distances.argmin(1)

    def state_dict(self) -> dict:
        return {"centroids": self.centroids}

    def load_state_dict(self, state: dict) -> None:
        self.centroids = state["centroids"]


@register_method(PRETRAINED, family="proposed", uses_source_labels=True, pretrains=True, reference="test only",
                 config=CentroidConfig, presets=PRESETS)
class PretrainedCentroid(NearestCentroid):
    """The centroid method behind a (trivial) cached source pretraining, to test the shared stage."""

    def pretraining_key(self, source: Domain) -> str | None:
        return pretraining_key(PRETRAINED, domain_digest(source.patches.padded), asdict(self.config), 0,
                               self.code_digest())

    def prepare(self, source: Domain) -> None:
        def compute() -> dict:
            die_once(self.config.die_once, "prepare", self.context.seed)
            self.context.progress(stage="pretrain", epoch=1, epochs=1, loss=0.5)
            with open(Path(self.context.cache_dir) / COMPUTATIONS_LOG, "a") as log:
                log.write(f"{self.context.seed}\n")
            return {"source_mean": float(source.patches.padded.mean())}

        self.source_state, _ = PretrainingCache(self.context.cache_dir).get_or_compute(self.pretraining_key(source), compute)


def test_fake_centroid_beats_chance_on_demo(tmp_path: Path) -> None:
    """The stand-in is a real classifier: on the demo scenes it must do better than guessing."""
    from hsibench.methods import RunContext, create_method
    from hsibench.protocol import build_task, make_split
    from hsibench.protocol.task import class_index

    protocol = load_protocol("demo")
    split = make_split(protocol, protocol.seeds[0])
    task = build_task(protocol, split)
    method = create_method(CENTROID, RunContext(seed=split.seed, cache_dir=tmp_path), preset="smoke")
    method.adapt(task)
    accuracy = (method.predict(task.target, split.test.coords) == class_index(task.class_ids, split.test.labels)).mean()
    assert accuracy > 1.5 / task.num_classes


def test_fake_failure_switch(tmp_path: Path) -> None:
    from hsibench.methods import RunContext, create_method
    from hsibench.protocol import build_task, make_split

    protocol = load_protocol("demo")
    split = make_split(protocol, protocol.seeds[0])
    method = create_method(CENTROID, RunContext(seed=split.seed, cache_dir=tmp_path), overrides={"fail_seed": split.seed})
    with pytest.raises(RuntimeError, match="deliberate"):
        method.adapt(build_task(protocol, split))


def test_domain_digest_is_hashed_once_per_source_tensor_and_again_after_a_change(monkeypatch) -> None:
    import hsibench.methods.pretraining_cache as cache

    calls = []
    real = cache.array_digest
    monkeypatch.setattr(cache, "array_digest", lambda array: calls.append(1) or real(array))
    padded = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    first = domain_digest(padded)
    assert domain_digest(padded) == first and len(calls) == 1
    padded[0, 0, 0] = 99.0  # an in-place change bumps the version counter: hashed again, new digest
    assert domain_digest(padded) != first and len(calls) == 2
    assert domain_digest(padded.clone()) == domain_digest(padded)  # equal data, equal digest
