"""Executors run stage jobs and trials; each is registered by name (``--executor local|ray``).

Every executor runs the same :func:`~hsibench.runner.trial.execute_trial`, which writes the
records, so executors differ only in where and how many trials run at once. An executor returns
the errors of trials that ended *without* writing a record (a worker that died), keyed by the
trial's position in the list it was given.
"""

from __future__ import annotations

import abc
import functools
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hsibench.errors import HsibenchError
from hsibench.methods import resolve_device
from hsibench.registry import Registry, UnknownNameError
from hsibench.runner.progress import ProgressBoard, describe_record, fan_out
from hsibench.runner.spec import ResolvedTrial
from hsibench.runner.stages import PretrainingJob, run_pretraining
from hsibench.runner.training_loggers import create_training_loggers, final_scores, pretraining_run, trial_run
from hsibench.runner.trial import execute_trial


class UnknownExecutorError(UnknownNameError):
    """An executor name that is not registered."""


class ResourceRequestError(HsibenchError, RuntimeError):
    """Asked for resources (GPUs, CPUs) the machine or cluster does not have."""


@dataclass(frozen=True)
class ExecutorOptions:
    """Where and how trials run; the Ray-only options are ignored by the local executor."""

    results_dir: Path
    cache_dir: Path | None = None  # the pretraining cache: on a joined cluster, checked to be shared like results_dir
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    address: str | None = None  # an existing Ray cluster ("auto", "ray://host:10001"); None = start one here
    worker_env: dict[str, str] = field(default_factory=dict)  # environment every worker must see
    device: str = "auto"  # the trials' --device, checked before anything starts
    retries: int = 2  # Ray: reruns of a trial or pretraining whose worker or node was lost (never of a raising one)
    max_concurrent: int | None = None  # Ray: at most this many trials at once (None: as many as resources allow)
    keep_tune_dir: bool = False  # Ray: keep Tune's own storage (logs, experiment state) under the results folder
    loggers: tuple[str, ...] = ()  # training loggers (--logger tensorboard|mlflow), see runner/training_loggers.py
    plugins: tuple[str, ...] = ()  # Ray, joined cluster: plugin modules shipped to the workers through runtime_env
    memory_per_trial_mb: float | None = None  # Ray: memory each trial requests (None: estimated, runner/memory.py; 0: none)
    share_scenes: bool = True  # Ray: each scene cube once per node in the object store, not once per trial


class Executor(abc.ABC):
    def __init__(self, options: ExecutorOptions) -> None:
        self.options = options
        self.training_loggers = create_training_loggers(options.loggers, options.results_dir)

    def preflight(self) -> None:
        """Cheap checks before any work (seconds before Ray would start): GPUs asked for must exist."""
        check_local_gpus(self.options.gpus_per_trial)
        if self.options.device.startswith("cuda"):
            resolve_device(self.options.device)

    @abc.abstractmethod
    def start(self) -> None:
        """Acquire resources; raise :class:`ResourceRequestError` at once when a request cannot be met."""

    def admit(self, trials: list[ResolvedTrial]) -> None:  # noqa: B027 — optional hook
        """After :meth:`start`, before any work: refuse (:class:`ResourceRequestError`) trials no node can hold."""

    @abc.abstractmethod
    def run_stage(self, jobs: list[PretrainingJob], board: ProgressBoard) -> dict[str, str]:
        """Run every pretraining job; return key → error message for the ones that failed."""

    @abc.abstractmethod
    def run_trials(self, trials: list[ResolvedTrial], board: ProgressBoard) -> dict[int, str]:
        """Run every trial (each writes its record); return index → error for trials that left no record."""

    def close(self) -> None:
        """Release what :meth:`start` acquired (subclasses call this too: it closes the loggers)."""
        self.training_loggers.close()


#: executors by name; Ray's module (and Ray) is imported only when the ray executor is asked for
EXECUTORS: Registry[Callable[[ExecutorOptions], Executor]] = Registry(
    "executor", {"local": "hsibench.runner.executors", "ray": "hsibench.runner.ray_executor"},
    error=UnknownExecutorError)


def register_executor(name: str):
    return EXECUTORS.decorator(name)


def create_executor(name: str, options: ExecutorOptions) -> Executor:
    return EXECUTORS.get(name)(options)


#: ``HSIBENCH_STARTUP_TRACE=1``: print, once per process, the seconds from process start to the first trial
#: (and to the first shared pretraining) on stderr — what ``benchmarks/bench_startup.py`` measures
STARTUP_TRACE_ENV = "HSIBENCH_STARTUP_TRACE"
STARTUP_MARKER = "hsibench-startup:"
_traced: set[str] = set()


def seconds_since_process_start() -> float | None:
    """Wall seconds since this process started (Linux: ``/proc/self/stat`` starttime, 10 ms ticks); ``None`` elsewhere."""
    try:
        with open("/proc/self/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()  # after the parenthesised name, which may hold spaces
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat(5): clock ticks after boot
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def trace_startup(event: str, detail: str = "") -> None:
    """With ``HSIBENCH_STARTUP_TRACE=1``: one stderr line the first time ``event`` happens in this process."""
    if event in _traced or os.environ.get(STARTUP_TRACE_ENV, "") in ("", "0"):
        return
    _traced.add(event)
    seconds = seconds_since_process_start()
    when = "unknown seconds (no /proc)" if seconds is None else f"{seconds:.3f} s"
    print(f"\n{STARTUP_MARKER} {event} at {when} since process start"
          + (f" ({detail})" if detail else ""), file=sys.stderr, flush=True)


def count_local_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_local_gpus(gpus_per_trial: float) -> None:
    """Fail before anything starts when GPUs are asked for on a machine that has none."""
    if gpus_per_trial > 0 and count_local_gpus() == 0:
        raise ResourceRequestError(
            f"--gpus-per-trial {gpus_per_trial:g} asks for GPUs, but this machine has no CUDA GPU. "
            "Use --gpus-per-trial 0 (the default) to run on the CPU, or --address to join a Ray cluster with GPUs."
        )


@register_executor("local")
class LocalExecutor(Executor):
    """Trials one after another in this process: for debugging, and for machines without Ray."""

    def start(self) -> None:
        """Nothing to acquire: trials run in this process."""

    def run_stage(self, jobs: list[PretrainingJob], board: ProgressBoard) -> dict[str, str]:
        errors: dict[str, str] = {}
        loggers = self.training_loggers
        for job in jobs:
            board.note(f"pretraining {job.key[:12]} ({job.spec.method}, shared by {len(job.trials)} trial(s)) …")
            trace_startup("first pretraining", job.spec.method)
            board.started(job.key, f"pretraining {job.key[:12]}")
            run = pretraining_run(job.key, job.trial)
            loggers.start(run)
            try:
                record = run_pretraining(job.spec, job.key, resolved=job.trial,
                                         progress=fan_out(functools.partial(board.update, job.key), loggers.watch(run)))
                board.note(f"pretraining {job.key[:12]} done in {record['seconds']:.1f} s")
                loggers.finish(run, {})
            except Exception as error:  # recorded on every trial that needed it
                errors[job.key] = f"{type(error).__name__}: {error}"
                loggers.finish(run, {}, ok=False)
            finally:
                board.forget(job.key)
        return errors

    def run_trials(self, trials: list[ResolvedTrial], board: ProgressBoard) -> dict[int, str]:
        loggers = self.training_loggers
        for index, trial in enumerate(trials):
            key, run = str(index), trial_run(trial)
            trace_startup("first trial", trial.spec.label)  # the moment `hsibench run` reaches its first trial
            board.started(key, trial.spec.label)
            loggers.start(run)
            record = execute_trial(trial.spec, progress=fan_out(functools.partial(board.update, key), loggers.watch(run)),
                                   resolved=trial)
            loggers.finish(run, final_scores(record), record.ok)
            board.finished(key, record.ok, describe_record(record))
        return {}
