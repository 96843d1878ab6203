"""The Ray executor: trials as one Ray Tune grid, shared pretrainings as Ray tasks before it.

By default Ray starts inside the command on this machine (the cores Ray itself detects, cgroup
limits included; no dashboard, quiet logs, one CPU per trial), always a fresh one: a cluster
file left behind by an earlier crash is never joined by accident. ``--address`` (or
``RAY_ADDRESS``) joins an existing cluster instead; only then are the environment the data layer
reads (mirror, cache, offline) and the ``--plugin`` modules (see :mod:`~hsibench.runner.plugin_shipping`)
handed to the workers through ``runtime_env`` — workers of a cluster started here inherit this
process's environment and folders, so no runtime-env setup is paid.

A trial or shared pretraining whose worker or node is lost is run again, up to ``retries``
times (a trial that *raises* writes a failed record and is never retried: its error is data).
Records are written atomically, so a lost attempt leaves no torn file. ``max_concurrent`` caps
the trials running at once. Tune's own files go to a scratch folder under the results folder,
removed afterwards unless ``keep_tune_dir`` (our records are written by the trials themselves).
On a multi-node cluster the results folder (``--out``) and the pretraining cache (``--cache``)
must be on a filesystem every node sees, since workers write records and checkpoints there.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import ray
from ray import tune
from ray.tune.logger import LoggerCallback
from ray.util.queue import Queue

from hsibench.data import load_scene
from hsibench.data.preloaded import SceneKey, preloaded_scenes, scene_key
from hsibench.runner.executors import (
    Executor,
    ExecutorOptions,
    ResourceRequestError,
    check_local_gpus,
    register_executor,
    trace_startup,
)
from hsibench.runner.layout import ResultsLayout
from hsibench.runner.memory import MB, estimate_trial_memory
from hsibench.runner.plugin_shipping import plugin_runtime_env
from hsibench.runner.progress import BatchedProgress, ProgressBoard, describe_record, unpack_points
from hsibench.runner.ray_orphans import end_orphans_before_starting_ray
from hsibench.runner.records import read_record
from hsibench.runner.shared_folders import check_shared_folders
from hsibench.runner.source_domains import needs_source
from hsibench.runner.spec import ResolvedTrial, TrialSpec
from hsibench.runner.stages import PretrainingJob, run_pretraining
from hsibench.runner.training_loggers import (
    LoggedRun,
    TrainingLoggers,
    final_scores,
    pretraining_run,
    trial_run,
)
from hsibench.runner.trial import execute_trial

# Tune's own console output and per-trial logger files are noise next to our display and records. Ray's
# distributed tqdm replaces builtins.print in the driver once a worker's error or log line reaches it (a
# lost worker does that); Tune then cannot pickle a callback that holds print, so that patch is off.
QUIET_TUNE_ENV = {"RAY_AIR_NEW_OUTPUT": "0", "RAY_CHDIR_TO_TRIAL_DIR": "0", "RAY_TQDM_PATCH_PRINT": "0"}
PROGRESS_KEYS = ("stage", "epoch", "epochs", "loss")
#: how every hsibench command talks to Ray: our display and records, not Ray's log stream
QUIET_INIT = {"log_to_driver": False, "configure_logging": True, "logging_level": logging.ERROR}


def quiet_tune_environment() -> None:
    for key, value in QUIET_TUNE_ENV.items():
        os.environ.setdefault(key, value)


def start_local_ray(num_cpus: int | None = None) -> None:
    """A fresh Ray on this machine, as every command that starts its own does (run, ablate, sweep, audit, tune).

    ``address="local"`` never joins a cluster whose address file an earlier crash left behind; without
    ``num_cpus`` Ray counts the cores itself (cgroup limits included); the raylet started here passes this
    process's environment on to every worker it forks, so no ``runtime_env`` is paid for. Agents a killed
    earlier run left behind are ended first."""
    quiet_tune_environment()
    end_orphans_before_starting_ray()
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **QUIET_INIT)


def shared_scene_refs(trials: list[ResolvedTrial]) -> dict[SceneKey, ray.ObjectRef]:
    """Each scene the trials load, loaded once here and put in Ray's object store (one copy per node, read-only)."""
    refs: dict[SceneKey, ray.ObjectRef] = {}
    for trial in trials:
        regions = [trial.protocol.target, *(trial.protocol.sources if needs_source(trial.entry.info) else ())]
        for region in regions:
            key = scene_key(region.scene, region.option_values)
            if key not in refs:
                refs[key] = ray.put(load_scene(region.scene, **region.option_values))
    return refs


def _shared_scenes(refs: dict[SceneKey, ray.ObjectRef] | None) -> Any:
    """On a worker: the shared scenes mapped zero-copy from the node's object store, answering ``load_scene``."""
    return preloaded_scenes({key: ray.get(ref) for key, ref in (refs or {}).items()})


def tune_trial(config: dict[str, Any], scene_refs: dict[SceneKey, ray.ObjectRef] | None = None) -> None:
    """The Tune function trainable: one trial; its epochs reported to Tune as they come, its record written here.

    Every epoch's values reach the driver (batched, see :class:`BatchedProgress`): each report's
    top-level ``stage``/``epoch``/``loss``/``validation_accuracy`` are the latest (what Tune's result
    grid, dataframes and its own loggers see), ``points`` all of them. The last report carries the
    test scores (``overall_accuracy``, ``average_accuracy``, ``kappa``), the status and the record's path.
    """
    spec = TrialSpec.from_dict(config["spec"])
    progress = BatchedProgress(lambda info: tune.report({"progress": 1, **info}))
    with _shared_scenes(scene_refs):
        record = execute_trial(spec, progress)
    progress.flush()
    scores = final_scores(record)
    tune.report({"progress": 0, "status": record.status, "record_path": str(record.path), **scores})


def _spec_key(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True, default=str)


def _pretrain_task(spec: dict[str, Any], key: str, updates: Queue,
                   scene_refs: dict[SceneKey, ray.ObjectRef] | None = None) -> dict[str, Any]:
    """One shared pretraining on a worker; its epoch progress goes to the driver through ``updates``."""
    progress = BatchedProgress(lambda info: updates.put_nowait((key, info)))
    try:
        with _shared_scenes(scene_refs):
            return run_pretraining(TrialSpec.from_dict(spec), key, progress=progress)
    finally:
        progress.flush()


def _drain(updates: Queue, board: ProgressBoard, loggers: TrainingLoggers, runs: dict[str, LoggedRun]) -> None:
    while not updates.empty():
        key, info = updates.get_nowait()
        board.update(key, **{k: info.get(k) for k in PROGRESS_KEYS})
        loggers.log_points(runs[key], unpack_points(info))


class _LoggersCallback(LoggerCallback):
    """Tune's logger-callback hook feeding hsibench's training loggers on the driver (the same as locally)."""

    def __init__(self, loggers: TrainingLoggers, runs: dict[str, LoggedRun]) -> None:
        self.loggers, self.runs = loggers, runs  # runs: spec key → logger run

    def _run(self, trial) -> LoggedRun:
        return self.runs[_spec_key(trial.config["spec"])]

    def log_trial_start(self, trial) -> None:
        self.loggers.start(self._run(trial))

    def log_trial_result(self, iteration, trial, result) -> None:
        run = self._run(trial)
        self.loggers.log_points(run, unpack_points(result))
        if "record_path" in result:
            record = read_record(result["record_path"])
            self.loggers.finish(run, final_scores(record), bool(record and record.ok))


class _BoardCallback(tune.Callback):
    """Feeds Tune's events into the progress board on the driver."""

    def __init__(self, board: ProgressBoard) -> None:
        self.board = board

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        label = TrialSpec.from_dict(trial.config["spec"]).label
        trace_startup("first trial", f"{label}, on a Ray worker")  # HSIBENCH_STARTUP_TRACE=1, as seen by the driver
        self.board.started(trial.trial_id, label)

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        if result.get("progress"):
            self.board.update(trial.trial_id, **{k: result.get(k) for k in PROGRESS_KEYS})
        elif "record_path" in result:
            record = read_record(result["record_path"])
            if record is None:
                self.board.finished(trial.trial_id, False, f"UnreadableRecord: {result['record_path']}")
            else:
                self.board.finished(trial.trial_id, record.ok, describe_record(record))

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        self.board.note(f"{TrialSpec.from_dict(trial.config['spec']).label}: its Ray worker was lost; "
                        "running it again (--retries)")

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.board.finished(trial.trial_id, False, "WorkerError: the Ray worker ended without writing a record")


@register_executor("ray")
class RayExecutor(Executor):
    def __init__(self, options: ExecutorOptions) -> None:
        super().__init__(options)
        self._started_ray = False
        self.result_grid: tune.ResultGrid | None = None
        self._memory_mb: dict[str, float] = {}  # run id → the memory its trial requests
        self._scene_refs: dict[SceneKey, ray.ObjectRef] | None = None

    def _address(self) -> str | None:
        return self.options.address or os.environ.get("RAY_ADDRESS")

    def preflight(self) -> None:
        """Checked here before paying Ray's start-up; a cluster's resources are checked once joined."""
        if self.options.device.startswith("cuda") and self.options.gpus_per_trial <= 0:
            raise ResourceRequestError(f"--device {self.options.device} needs --gpus-per-trial > 0 under Ray "
                                       "(a trial without a GPU share sees no GPU)")
        if not self._address() and not ray.is_initialized():
            check_local_gpus(self.options.gpus_per_trial)

    def start(self) -> None:
        address = self._address()
        quiet_tune_environment()
        if not ray.is_initialized():
            if address:
                # plugins and out-of-tree method modules travel too: a node need not have the driver's folders
                runtime_env = {"env_vars": {**self.options.worker_env, **QUIET_TUNE_ENV},
                               **plugin_runtime_env(self.options.plugins)}
                ray.init(address=address, runtime_env=runtime_env, **QUIET_INIT)
                folders = {"--out": self.options.results_dir, "--cache": self.options.cache_dir}
                check_shared_folders({option: Path(folder) for option, folder in folders.items() if folder})
            else:
                for key, value in self.options.worker_env.items():
                    os.environ.setdefault(key, value)
                start_local_ray()
            self._started_ray = True
        self._check_resources(ray.cluster_resources())

    def _check_resources(self, available: dict[str, float]) -> None:
        wanted = {"CPU": self.options.cpus_per_trial, "GPU": self.options.gpus_per_trial}
        summary = ", ".join(f"{k}={available.get(k, 0):g}" for k in ("CPU", "GPU"))
        for resource, amount in wanted.items():
            if amount > available.get(resource, 0):
                flag = "--gpus-per-trial" if resource == "GPU" else "--cpus-per-trial"
                raise ResourceRequestError(
                    f"{flag} {amount:g} asks for more {resource}s per trial than the Ray cluster has ({summary}). "
                    f"Lower {flag}" + (", or --address a cluster with GPUs." if resource == "GPU" else "."))

    def _resources(self) -> dict[str, float]:
        return {"num_cpus": self.options.cpus_per_trial, "num_gpus": self.options.gpus_per_trial}

    def admit(self, trials: list[ResolvedTrial]) -> None:
        """Each trial's memory request (estimated, or ``memory_per_trial_mb``), refused when no node could hold it."""
        fixed = self.options.memory_per_trial_mb
        estimates = {t.run_id: (fixed, f"{fixed:,.0f} MB (--memory-per-trial)") if fixed is not None else
                     ((e := estimate_trial_memory(t, self.options.share_scenes)).total_mb, e.describe()) for t in trials}
        self._memory_mb = {run_id: megabytes for run_id, (megabytes, _) in estimates.items()}
        largest = max((node["Resources"].get("memory", 0) / MB for node in ray.nodes() if node.get("Alive")), default=0)
        if largest <= 0:  # a cluster that offers no memory resource at all: nothing to request or check
            self._memory_mb = {}
        for trial in trials:
            megabytes, how = estimates[trial.run_id]
            if 0 < largest < megabytes:
                raise ResourceRequestError(
                    f"{trial.spec.label} needs {how}, but the largest Ray node offers {largest:,.0f} MB of memory to "
                    "tasks. Join a cluster with bigger nodes (--address), or set --memory-per-trial MB if the "
                    "estimate is too high for your trials (0 asks for no memory at all)")
        if self.options.share_scenes and trials:
            self._scene_refs = shared_scene_refs(trials)

    def _memory_bytes(self, trial: ResolvedTrial) -> int:
        return int(self._memory_mb.get(trial.run_id, 0) * MB)

    def run_stage(self, jobs: list[PretrainingJob], board: ProgressBoard) -> dict[str, str]:
        if not jobs:
            return {}
        # max_retries reruns a task whose worker died; an exception in prepare is not retried (retry_exceptions off)
        task = ray.remote(_pretrain_task).options(**self._resources(), max_retries=self.options.retries,
                                                  memory=max(self._memory_bytes(job.trial) for job in jobs) or None)
        # a small actor (no CPU held): workers put their epoch progress, the driver shows it while it waits
        updates = Queue(actor_options={"num_cpus": 0})
        pending = {task.remote(job.spec.to_dict(), job.key, updates, self._scene_refs): job for job in jobs}
        board.note(f"pretraining: {len(jobs)} shared pretraining(s) on Ray before the trials …")
        loggers, runs = self.training_loggers, {job.key: pretraining_run(job.key, job.trial) for job in jobs}
        for job in jobs:
            board.started(job.key, f"pretraining {job.key[:12]}")
            loggers.start(runs[job.key])
        errors: dict[str, str] = {}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                _drain(updates, board, loggers, runs)
                if not done:
                    continue
                job = pending.pop(done[0])
                board.forget(job.key)
                try:
                    record = ray.get(done[0])
                    board.note(f"pretraining {job.key[:12]} ({job.spec.method}) done in {record['seconds']:.1f} s")
                except Exception as error:  # a RayTaskError wraps the worker's exception and traceback
                    errors[job.key] = str(error)
        finally:
            _drain(updates, board, loggers, runs)  # progress sent just before a task ended may arrive after it
            updates.shutdown()
            for key, run in runs.items():
                loggers.finish(run, {}, ok=key not in errors)
        return errors

    def run_trials(self, trials: list[ResolvedTrial], board: ProgressBoard) -> dict[int, str]:
        if not trials:
            return {}
        specs = [trial.spec for trial in trials]  # plain data travels to the workers; each resolves its spec once
        scratch = ResultsLayout(self.options.results_dir).new_scratch_dir("ray-tune")
        if self.options.keep_tune_dir:
            board.note(f"Tune's own files (logs, experiment state for Tuner.restore) are kept in {scratch}")
        memory = {_spec_key(trial.spec.to_dict()): self._memory_bytes(trial) for trial in trials}
        base = {"cpu": self.options.cpus_per_trial, "gpu": self.options.gpus_per_trial}

        def resources(config: dict[str, Any]) -> dict[str, float]:  # each trial's own memory request
            return {**base, "memory": memory[_spec_key(config["spec"])]}

        callbacks: list[tune.Callback] = [_BoardCallback(board)]
        if self.training_loggers:
            runs = {_spec_key(trial.spec.to_dict()): trial_run(trial) for trial in trials}
            callbacks.append(_LoggersCallback(self.training_loggers, runs))
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(tune_trial, scene_refs=self._scene_refs), resources),
            param_space={"spec": tune.grid_search([spec.to_dict() for spec in specs])},
            # reused actors keep torch, sklearn, timm, the method modules and the loaded scenes imported: each worker
            # process imports them once, not once per trial (tests/test_startup.py counts the trials' pids)
            tune_config=tune.TuneConfig(trial_dirname_creator=lambda trial: trial.trial_id, reuse_actors=True,
                                        max_concurrent_trials=self.options.max_concurrent),
            run_config=tune.RunConfig(name="trials", storage_path=str(scratch), verbose=0,
                                      callbacks=callbacks,
                                      failure_config=tune.FailureConfig(max_failures=self.options.retries)),
        )
        try:
            grid = self.result_grid = tuner.fit()  # kept for Python callers: per-epoch metrics and final scores
        finally:
            if not self.options.keep_tune_dir:
                shutil.rmtree(scratch, ignore_errors=True)
        position = {_spec_key(spec.to_dict()): index for index, spec in enumerate(specs)}
        errors: dict[int, str] = {}
        for result in grid:
            if result.error is not None:
                errors[position[_spec_key(result.config["spec"])]] = f"{type(result.error).__name__}: {result.error}"
        return errors

    def close(self) -> None:
        super().close()
        self._scene_refs = None  # the driver's references: the object store frees the cubes
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False
