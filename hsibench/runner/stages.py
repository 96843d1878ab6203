"""The shared-pretraining stage: each distinct source pretraining runs once, before the trials that need it.

Ten seeds of a protocol (or eight ablation variants that share a pretraining config) would
otherwise race to pretrain the same model. The runner asks every trial's method for its
``pretraining_key(source)``; each distinct key not yet in the content-addressed cache becomes one
stage job that calls ``prepare`` once, so every trial's own ``prepare`` merely loads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hsibench.methods import create_method
from hsibench.methods.pretraining_cache import PretrainingCache
from hsibench.runner.curves import CurveRecorder
from hsibench.runner.layout import ResultsLayout
from hsibench.runner.records import write_json_atomically
from hsibench.runner.source_domains import source_domain
from hsibench.runner.spec import ResolvedTrial, TrialSpec, resolve
from hsibench.runner.trial import Progress, trial_context, utc_now


@dataclass(frozen=True)
class PretrainingJob:
    key: str
    trial: ResolvedTrial  # the first trial that needs this pretraining; its method and seed run it
    trials: tuple[str, ...]  # run ids of every trial sharing it

    @property
    def spec(self) -> TrialSpec:
        return self.trial.spec


def plan_pretraining(trials: list[ResolvedTrial]) -> tuple[list[PretrainingJob], dict[str, str]]:
    """(jobs to run, run id → pretraining key) for trials whose method pretrains and whose key is not cached."""
    by_key: dict[str, list[ResolvedTrial]] = {}
    key_of: dict[str, str] = {}
    for trial in trials:
        if not trial.entry.info.pretrains:
            continue  # no source stage at all: don't load the source scene for it
        method = create_method(trial.spec.method, trial_context(trial), trial.spec.preset, config=trial.config)
        key = method.pretraining_key(source_domain(trial.protocol, method.info.uses_source_labels, trial.spec.method))
        if key is None:
            continue
        key_of[trial.run_id] = key
        if not PretrainingCache(method.context.cache_dir).contains(key):
            by_key.setdefault(key, []).append(trial)
    jobs = [PretrainingJob(key, group[0], tuple(t.run_id for t in group)) for key, group in by_key.items()]
    return jobs, key_of


def run_pretraining(spec: TrialSpec, key: str, progress: Progress | None = None,
                    resolved: ResolvedTrial | None = None) -> dict[str, Any]:
    """Run one stage job (``prepare`` fills the cache) and return its record; raises on failure."""
    started, clock = utc_now(), time.perf_counter()
    resolved = resolved or resolve(spec)
    curves = CurveRecorder(progress)
    context = trial_context(resolved, curves)
    method = create_method(spec.method, context, spec.preset, config=resolved.config)
    source = source_domain(resolved.protocol, method.info.uses_source_labels, spec.method)
    actual_key = method.pretraining_key(source)
    if actual_key != key:
        raise RuntimeError(f"{spec.method}: pretraining key changed between planning ({key}) and running "
                           f"({actual_key}); the method's pretraining_key must depend only on its config and source")
    method.prepare(source)
    record = {"key": key, "method": spec.method, "seed": spec.seed, "preset": spec.preset,
              "protocol_name": resolved.protocol.name, "started_at": started, "finished_at": utc_now(),
              "seconds": time.perf_counter() - clock, "device": str(context.device), "cache_dir": str(context.cache_dir),
              "precision": resolved.precision, "code": method.code_digest(), "curves": curves.to_dict()}
    write_json_atomically(ResultsLayout(Path(spec.out_dir)).pretraining_record_path(resolved.protocol.name, key), record)
    return record
