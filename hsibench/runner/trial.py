"""One trial, from a plain :class:`TrialSpec` to a :class:`TrialRecord`: the same code under every executor.

``run_trial`` does the work and returns the record of a successful trial (raising on failure);
``execute_trial`` wraps it for executors: it never raises, writes the record (``ok`` or
``failed`` with the traceback) atomically, and returns it. The runner alone holds the test
labels: the method gets the support set, predicts test coordinates, and is scored here. A
method that uses neither a source pretraining nor source labels never loads the source scene.
"""

from __future__ import annotations

import hashlib
import os
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hsibench.methods import RunContext, create_method, resolve_device
from hsibench.methods.training import check_precision, numpy_only_seeding_active, seed_everything
from hsibench.protocol import build_task, make_split
from hsibench.protocol.regions import region_scene
from hsibench.protocol.task import class_index, target_class_ids
from hsibench.provenance import code_fingerprint
from hsibench.provenance.machine import describe_machine
from hsibench.runner.audit_modes import (
    RNG_CHAINING,
    TEST_CHECKPOINT,
    AuditModeError,
    probe_detail,
    test_checkpoint_probe,
)
from hsibench.runner.curves import CurveRecorder
from hsibench.runner.environment import package_versions, peak_memory_megabytes
from hsibench.runner.layout import ResultsLayout, default_pretraining_cache
from hsibench.runner.metrics import score_predictions
from hsibench.runner.record_schema import (
    STATUS_FAILED,
    STATUS_OK,
    ClassScore,
    CodeProvenance,
    ErrorDetail,
    SplitSummary,
    TrialRecord,
)
from hsibench.runner.records import save_map_atomically, write_record
from hsibench.runner.saved_models import save_trial_model
from hsibench.runner.source_domains import needs_source, source_domain
from hsibench.runner.spec import ResolvedTrial, TrialSpec, config_dict, protocol_identity, resolve

Progress = Callable[..., None]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _silent(**_: Any) -> None:
    return None


def record_path(resolved: ResolvedTrial) -> Path:
    return ResultsLayout(Path(resolved.spec.out_dir)).record_path(resolved.protocol.name, resolved.record_name)


def apply_determinism(deterministic: bool) -> None:
    """``torch.use_deterministic_algorithms`` (and cuDNN without autotuning) for a deterministic trial.

    Threads are fixed by the spec either way; determinism makes reruns bit-identical on the same
    hardware, thread count and torch build — never across different CPUs or GPUs.
    """
    if deterministic:  # cuBLAS needs a fixed workspace for deterministic matrix products (read at its first use)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # only when it changes something: the call imports torch._inductor's config (torch._dynamo, sympy: ~1.6 s of a
    # process's first trial on a 2-core EPYC) even to switch off what is already off
    if deterministic or torch.are_deterministic_algorithms_enabled():
        torch.use_deterministic_algorithms(deterministic, warn_only=False)
    torch.backends.cudnn.benchmark = not deterministic and torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic = deterministic


def trial_context(resolved: ResolvedTrial, progress: Progress | None = None) -> RunContext:
    """Seed every generator and build the method's context; done at the start of every trial and stage.

    Refuses a precision the trial's device cannot run (bf16 on a CPU without amx_bf16/avx512_bf16, fp16 on the CPU)
    before anything trains."""
    spec = resolved.spec
    seed_everything(spec.seed)
    torch.set_num_threads(max(1, spec.threads))
    apply_determinism(spec.deterministic)
    device = resolve_device(spec.device)
    check_precision(resolved.precision, device)
    return RunContext(seed=spec.seed, device=device, precision=resolved.precision,
                      cache_dir=Path(spec.cache_dir or default_pretraining_cache()), progress=progress or _silent)


def code_provenance(resolved: ResolvedTrial) -> CodeProvenance:
    """The fingerprint of the code behind this trial's numbers (its method's files and the layers under it)."""
    module = resolved.entry.method_class.__module__
    fingerprint = code_fingerprint(module)
    return CodeProvenance(fingerprint.digest, fingerprint.shared_digest, module, fingerprint.files,
                          fingerprint.git_commit, fingerprint.git_dirty)


def _header(resolved: ResolvedTrial, status: str) -> TrialRecord:
    """The part of a record known before the trial runs (also in failed records)."""
    spec, info = resolved.spec, resolved.entry.info
    return TrialRecord(
        run_id=resolved.run_id, status=status, method=spec.method, seed=spec.seed, spec=spec.to_dict(),
        method_base=resolved.entry.base, family=info.family, uses_source_labels=info.uses_source_labels,
        pretrains=info.pretrains, preset=spec.preset, method_overrides=spec.method_overrides,
        protocol_overrides=spec.protocol_overrides, preset_file=spec.preset_file, audit=spec.audit,
        config=config_dict(resolved.config),
        protocol_name=resolved.protocol.name, protocol=protocol_identity(resolved.protocol),
        code=code_provenance(resolved), versions=package_versions())


def _predictions_digest(predictions: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(predictions, np.int64).tobytes()).hexdigest()


def _stage_seconds(out_dir: Path, protocol_name: str, key: str | None) -> float | None:
    """How long the shared pretraining this trial loaded took when it ran (``None``: no stage, or made elsewhere)."""
    import json

    path = ResultsLayout(out_dir).pretraining_record_path(protocol_name, key) if key else None
    if path is None or not path.is_file():
        return None
    return json.loads(path.read_text()).get("seconds")


def run_trial(spec: TrialSpec, progress: Progress | None = None, resolved: ResolvedTrial | None = None) -> TrialRecord:
    """Run one trial and return its ``ok`` record (the full-scene map, when asked for, is written beside it).

    ``resolved`` saves resolving the spec again when the caller has done it (the local executor).
    """
    started, wall_start = utc_now(), time.perf_counter()
    resolved = resolved or resolve(spec)
    if spec.audit == RNG_CHAINING and not numpy_only_seeding_active():
        raise AuditModeError(f"{spec.label}: an {RNG_CHAINING!r} trial runs only inside its chain, in seed order "
                             "(hsibench.runner.chain.run_chained, which `hsibench audit` uses)")
    curves = CurveRecorder(progress)  # every epoch the method reports, kept for the record
    context = trial_context(resolved, curves)
    protocol = resolved.protocol
    timings: dict[str, float | None] = {}

    target_scene = region_scene(protocol.target)
    split = make_split(protocol, spec.seed, ground_truth=target_scene.ground_truth)
    if spec.audit == TEST_CHECKPOINT:  # the audited habit: the method keeps its best checkpoint on test pixels
        context.checkpoint_probe = test_checkpoint_probe(
            split.test.coords, class_index(target_class_ids(split), split.test.labels))
    method = create_method(spec.method, context, spec.preset, config=resolved.config)
    pretraining_key = None
    clock = time.perf_counter()
    if needs_source(method.info):
        source = source_domain(protocol, grant_labels=method.info.uses_source_labels, method=spec.method)
        pretraining_key = method.pretraining_key(source)
        method.prepare(source)
        del source
    timings["prepare_s"] = time.perf_counter() - clock

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

    record = _header(resolved, STATUS_OK)
    if spec.save_map:
        clock = time.perf_counter()
        scene_indices = method.predict(task.target, task.target.patches.all_coords())
        class_ids = np.asarray(task.class_ids, np.int16)
        prediction_map = class_ids[np.asarray(scene_indices)].reshape(task.target.shape)
        path = ResultsLayout(Path(spec.out_dir)).map_path(protocol.name, resolved.record_name)
        save_map_atomically(path, prediction=prediction_map,
                            ground_truth=target_scene.ground_truth.labels.astype(np.int16),
                            class_ids=class_ids, class_names=np.asarray(task.class_names))
        record.map_file = path.name
        timings["scene_map_s"] = time.perf_counter() - clock
    if spec.save_model:  # the adapted model, for `hsibench predict` on other cubes (beside the record, atomically)
        record.model_file = save_trial_model(method, task, resolved, target_scene, split).name
    timings["total_s"] = time.perf_counter() - wall_start
    timings["pretraining_stage_s"] = _stage_seconds(Path(spec.out_dir), protocol.name, pretraining_key)

    record.started_at, record.finished_at = started, utc_now()
    record.machine = describe_machine(torch.get_num_threads(), str(context.device), resolved.precision,
                                      spec.deterministic)
    record.overall_accuracy, record.average_accuracy = scores.overall_accuracy, scores.average_accuracy
    record.kappa = scores.kappa
    record.per_class = tuple(
        ClassScore(int(class_id), name, accuracy, int(test_counts[index]), int(support_counts[index]))
        for index, (class_id, name, accuracy) in enumerate(zip(task.class_ids, task.class_names,
                                                               scores.per_class_accuracy)))
    record.confusion_matrix = np.asarray(scores.confusion).tolist()
    record.predictions_sha256 = _predictions_digest(predicted)
    record.split = SplitSummary(split.fingerprint, split.mode, split.shots, len(split.support), len(split.validation),
                                len(split.test), split.excluded_by_buffer, tuple(split.skipped_classes))
    record.timings, record.pretraining_key = timings, pretraining_key
    record.budget = method.training_budget()
    record.curves = curves.to_dict()
    if context.checkpoint_probe is not None:
        record.audit_detail = probe_detail(context.checkpoint_probe)
    record.peak_memory_mb = {"process_rss": peak_memory_megabytes(),
                             "cuda": torch.cuda.max_memory_allocated() / 2**20 if context.device.type == "cuda" else None}
    return record


def failed_record(spec: TrialSpec, error: BaseException | str, resolved: ResolvedTrial | None = None,
                  started: str | None = None, error_type: str = "NoRecord") -> TrialRecord:
    """The record of a trial that raised, or never reported (``error`` then says why)."""
    if isinstance(error, BaseException):
        detail = ErrorDetail(type(error).__name__, str(error), "".join(traceback.format_exception(error)))
    else:
        detail = ErrorDetail(error_type, error)
    if resolved is not None:
        record = _header(resolved, STATUS_FAILED)
    else:  # the spec itself could not be resolved (unknown method, bad protocol file…)
        record = TrialRecord(run_id=hashlib.sha256(repr(sorted(spec.to_dict().items())).encode()).hexdigest()[:16],
                             status=STATUS_FAILED, method=spec.method, seed=spec.seed, spec=spec.to_dict(),
                             preset=spec.preset, preset_file=spec.preset_file, audit=spec.audit,
                             versions=package_versions())
    record.error, record.started_at, record.finished_at = detail, started, utc_now()
    return record


def write_trial_record(spec: TrialSpec, record: TrialRecord) -> Path:
    protocol_name = record.protocol_name or Path(spec.protocol).stem
    return write_record(ResultsLayout(Path(spec.out_dir)).record_path(protocol_name, record.name), record)


def execute_trial(spec: TrialSpec, progress: Progress | None = None,
                  resolved: ResolvedTrial | None = None) -> TrialRecord:
    """Run a trial and write its record, ``ok`` or ``failed``; never raises except on interruption."""
    started = utc_now()
    try:
        record = run_trial(spec, progress, resolved)
    except Exception as error:  # a failing trial is data, not a crash: the other trials go on
        if resolved is None:
            try:
                resolved = resolve(spec)
            except Exception:
                resolved = None
        record = failed_record(spec, error, resolved, started)
    record.path = write_trial_record(spec, record)
    return record
