"""One trial, from a plain :class:`TrialSpec` to a record: the same code under every executor.

``run_trial`` does the work and returns the record of a successful trial (raising on failure);
``execute_trial`` wraps it for executors: it never raises, writes the record (``ok`` or
``failed`` with the traceback) atomically, and returns it. The runner alone holds the test
labels: the method gets the support set, predicts test coordinates, and is scored here.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hsibench.methods import RunContext, create_method, resolve_device
from hsibench.methods.training import seed_everything
from hsibench.protocol import build_source_domain, build_task, make_split
from hsibench.protocol.regions import region_scene
from hsibench.protocol.task import class_index
from hsibench.runner.environment import git_commit, host_description, package_versions, peak_memory_megabytes
from hsibench.runner.layout import ResultsLayout, default_pretraining_cache
from hsibench.runner.metrics import score_predictions
from hsibench.runner.records import RECORD_SCHEMA, STATUS_FAILED, STATUS_OK, save_map_atomically, write_json_atomically
from hsibench.runner.spec import ResolvedTrial, TrialSpec, config_dict, protocol_identity, resolve

Progress = Callable[..., None]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _silent(**_: Any) -> None:
    return None


def record_path(resolved: ResolvedTrial) -> Path:
    return ResultsLayout(Path(resolved.spec.out_dir)).record_path(resolved.protocol.name, resolved.record_name)


def trial_context(spec: TrialSpec, progress: Progress | None = None) -> RunContext:
    """Seed every generator and build the method's context; done at the start of every trial and stage."""
    seed_everything(spec.seed)
    torch.set_num_threads(max(1, spec.threads))
    return RunContext(seed=spec.seed, device=resolve_device(spec.device),
                      cache_dir=Path(spec.cache_dir or default_pretraining_cache()), progress=progress or _silent)


def _record_header(resolved: ResolvedTrial) -> dict[str, Any]:
    """The part of a record known before the trial runs (also in failed records)."""
    spec, info = resolved.spec, resolved.entry.info
    return {
        "schema": RECORD_SCHEMA, "run_id": resolved.run_id, "method": spec.method, "method_base": resolved.entry.base,
        "family": info.family, "uses_source_labels": info.uses_source_labels, "pretrains": info.pretrains,
        "preset": spec.preset, "method_overrides": spec.method_overrides, "protocol_overrides": spec.protocol_overrides,
        "config": config_dict(resolved.config), "protocol_name": resolved.protocol.name,
        "protocol": protocol_identity(resolved.protocol), "seed": spec.seed, "spec": spec.to_dict(),
        "versions": package_versions(), "git_commit": git_commit(),
        "host": host_description(),
    }


def _predictions_digest(predictions: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(predictions, np.int64).tobytes()).hexdigest()


def _stage_seconds(out_dir: Path, protocol_name: str, key: str | None) -> float | None:
    """How long the shared pretraining this trial loaded took when it ran (``None``: no stage, or made elsewhere)."""
    path = ResultsLayout(out_dir).pretraining_record_path(protocol_name, key) if key else None
    if path is None or not path.is_file():
        return None
    return json.loads(path.read_text()).get("seconds")


def run_trial(spec: TrialSpec, progress: Progress | None = None) -> dict[str, Any]:
    """Run one trial and return its ``ok`` record (the full-scene map, when asked for, is written beside it)."""
    started, wall_start = utc_now(), time.perf_counter()
    resolved = resolve(spec)
    context = trial_context(spec, progress)
    protocol = resolved.protocol
    timings: dict[str, float] = {}

    target_scene = region_scene(protocol.target)
    split = make_split(protocol, spec.seed, ground_truth=target_scene.ground_truth)
    method = create_method(spec.method, context, spec.preset, config=resolved.config)
    source = build_source_domain(protocol, grant_labels=method.info.uses_source_labels,
                                 scene=region_scene(protocol.source))
    pretraining_key = method.pretraining_key(source)

    clock = time.perf_counter()
    method.prepare(source)
    timings["prepare_s"] = time.perf_counter() - clock
    del source

    task = build_task(protocol, split, scene=target_scene)
    clock = time.perf_counter()
    method.adapt(task)
    timings["adapt_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    predicted = np.asarray(method.predict(task.target, split.test.coords), np.int64)
    timings["predict_s"] = time.perf_counter() - clock

    truth = class_index(task.class_ids, split.test.labels)  # test labels: the runner's, never the method's
    scores = score_predictions(truth, predicted, task.num_classes)
    support_counts = np.bincount(task.support_labels, minlength=task.num_classes)
    test_counts = np.bincount(truth, minlength=task.num_classes)

    record = _record_header(resolved)
    map_file = None
    if spec.save_map:
        clock = time.perf_counter()
        scene_indices = method.predict(task.target, task.target.patches.all_coords())
        class_ids = np.asarray(task.class_ids, np.int16)
        prediction_map = class_ids[np.asarray(scene_indices)].reshape(task.target.shape)
        path = ResultsLayout(Path(spec.out_dir)).map_path(protocol.name, resolved.record_name)
        save_map_atomically(path, prediction=prediction_map,
                            ground_truth=target_scene.ground_truth.labels.astype(np.int16),
                            class_ids=class_ids, class_names=np.asarray(task.class_names))
        map_file = path.name
        timings["scene_map_s"] = time.perf_counter() - clock
    timings["total_s"] = time.perf_counter() - wall_start
    timings["pretraining_stage_s"] = _stage_seconds(Path(spec.out_dir), protocol.name, pretraining_key)

    record.update({
        "status": STATUS_OK, "started_at": started, "finished_at": utc_now(),
        "overall_accuracy": scores.overall_accuracy, "average_accuracy": scores.average_accuracy,
        "kappa": scores.kappa,
        "per_class": [
            {"class_id": int(class_id), "name": name, "accuracy": accuracy,
             "test_pixels": int(test_counts[index]), "support_pixels": int(support_counts[index])}
            for index, (class_id, name, accuracy) in enumerate(zip(task.class_ids, task.class_names,
                                                                   scores.per_class_accuracy))
        ],
        "confusion_matrix": scores.confusion,
        "predictions_sha256": _predictions_digest(predicted),
        "split": {"fingerprint": split.fingerprint, "mode": split.mode, "shots": split.shots,
                  "support": len(split.support), "validation": len(split.validation), "test": len(split.test),
                  "excluded_by_buffer": split.excluded_by_buffer, "skipped_classes": list(split.skipped_classes)},
        "timings": timings, "pretraining_key": pretraining_key, "map_file": map_file,
        "device": str(context.device), "threads": torch.get_num_threads(),
        "peak_memory_mb": {"process_rss": peak_memory_megabytes(),
                           "cuda": torch.cuda.max_memory_allocated() / 2**20 if context.device.type == "cuda" else None},
    })
    return record


def failed_record(spec: TrialSpec, error: BaseException | str, resolved: ResolvedTrial | None = None,
                  started: str | None = None, error_type: str = "NoRecord") -> dict[str, Any]:
    """The record of a trial that raised, or never reported (``error`` then says why)."""
    if isinstance(error, BaseException):
        detail = {"type": type(error).__name__, "message": str(error),
                  "traceback": "".join(traceback.format_exception(error))}
    else:
        detail = {"type": error_type, "message": error, "traceback": ""}
    header = _record_header(resolved) if resolved is not None else {
        "schema": RECORD_SCHEMA, "method": spec.method, "seed": spec.seed, "spec": spec.to_dict(),
        "run_id": hashlib.sha256(repr(sorted(spec.to_dict().items())).encode()).hexdigest()[:16],
        "versions": package_versions(), "host": host_description()}
    return {**header, "status": STATUS_FAILED, "error": detail, "started_at": started, "finished_at": utc_now()}


def write_record(spec: TrialSpec, record: dict[str, Any]) -> Path:
    resolved_name = f"{record['method']}-seed{record['seed']}-{record['run_id']}"
    protocol_name = record.get("protocol_name") or Path(spec.protocol).stem
    return write_json_atomically(ResultsLayout(Path(spec.out_dir)).record_path(protocol_name, resolved_name), record)


def execute_trial(spec: TrialSpec, progress: Progress | None = None) -> dict[str, Any]:
    """Run a trial and write its record, ``ok`` or ``failed``; never raises except on interruption."""
    started = utc_now()
    try:
        record = run_trial(spec, progress)
    except Exception as error:  # a failing trial is data, not a crash: the other trials go on
        try:
            resolved = resolve(spec)
        except Exception:
            resolved = None
        record = failed_record(spec, error, resolved, started)
    record["record_path"] = str(write_record(spec, record))
    return record
