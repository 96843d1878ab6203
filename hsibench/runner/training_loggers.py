"""Training loggers (``--logger tensorboard``, ``--logger mlflow``): curves people can watch while a campaign runs.

One hook for both executors, on the driver: the local executor calls it from each trial's
progress callback, the Ray executor from a Tune :class:`~ray.tune.logger.LoggerCallback` fed by the
trials' reports (and from the pretraining stage's progress queue). So a run directory looks the
same whichever executor made it, and no worker needs write access to anything but ``--out``.

What is logged, per trial (run name = the record's file stem, ``<method>-seed<seed>-<run id>``)
and per shared pretraining (``pretraining-<key>``):

- ``<stage>/<value>`` at step = the method's epoch counter: ``adapt/loss``, ``finetune/loss``,
  ``finetune/validation_accuracy`` (only where the task has validation pixels), ``pretrain/loss``,
  ``episodes/loss`` …, the same points the record keeps in ``curves``;
- at the end, ``test/overall_accuracy``, ``test/average_accuracy``, ``test/kappa`` (fractions, κ as
  a fraction too) once, at step 0: scored by the runner after training, never seen by the method;
- the run's parameters (method, seed, preset, protocol, the resolved config) as text (TensorBoard)
  or params (MLflow).

TensorBoard event files go to ``<out>/<protocol>/logs/<run name>/`` (``tensorboard --logdir
<out>/<protocol>/logs``), written with tensorboardX (which ``ray[tune]`` installs). MLflow logs to
the tracking URI MLflow itself is configured with (``MLFLOW_TRACKING_URI``), experiment
``hsibench-<protocol>``; MLflow is optional (``pip install mlflow-skinny``).
"""

from __future__ import annotations

import abc
import itertools
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hsibench.errors import HsibenchError
from hsibench.registry import Registry, UnknownNameError
from hsibench.runner.curves import DESCRIPTIVE_KEYS, curve_point
from hsibench.runner.record_schema import TrialRecord
from hsibench.runner.spec import ResolvedTrial, config_dict

#: the scores a finished trial's logger run ends with (fractions, as in the record)
FINAL_SCORES = ("overall_accuracy", "average_accuracy", "kappa")


class UnknownLoggerError(UnknownNameError):
    """A ``--logger`` name that is not registered."""


class LoggerUnavailableError(HsibenchError, RuntimeError):
    """A logger whose package is not installed."""


@dataclass(frozen=True)
class LoggedRun:
    """One trial or pretraining as a logger run."""

    name: str  # the record's file stem, or pretraining-<key>
    protocol: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)


class TrainingLogger(abc.ABC):
    """Receives the runs of a campaign: their start, each curve point, their final scores."""

    def __init__(self, results_dir: Path) -> None:
        self.results_dir = Path(results_dir)

    @abc.abstractmethod
    def start(self, run: LoggedRun) -> None:
        """A run begins (called again for a run retried after a lost worker: continue it)."""

    @abc.abstractmethod
    def log(self, run: LoggedRun, stage: str, epoch: int, values: dict[str, float | None]) -> None:
        """One reported epoch; ``None`` values (not finite, or not reported then) are skipped."""

    @abc.abstractmethod
    def finish(self, run: LoggedRun, scores: dict[str, float], ok: bool = True) -> None:
        """The run ended (``ok`` False: it failed); ``scores`` holds a successful trial's test scores."""

    def close(self) -> None:  # noqa: B027 — optional hook
        """Flush and release everything."""


LOGGERS: Registry[type[TrainingLogger]] = Registry("logger", {"tensorboard": "hsibench.runner.training_loggers",
                                                             "mlflow": "hsibench.runner.training_loggers"},
                                                   error=UnknownLoggerError)


_WRITER_NUMBERS = itertools.count()


def trial_run(trial: ResolvedTrial) -> LoggedRun:
    spec = trial.spec
    params = {"method": spec.method, "seed": spec.seed, "preset": spec.preset, "protocol": trial.protocol.name,
              "audit": spec.audit, "config": config_dict(trial.config)}
    return LoggedRun(trial.record_name, trial.protocol.name, spec.label, params)


def pretraining_run(key: str, trial: ResolvedTrial) -> LoggedRun:
    spec = trial.spec
    params = {"method": spec.method, "seed": spec.seed, "preset": spec.preset, "protocol": trial.protocol.name,
              "key": key}
    return LoggedRun(f"pretraining-{key}", trial.protocol.name, f"pretraining {key[:12]} ({spec.method})", params)


def final_scores(record: TrialRecord | None) -> dict[str, float]:
    """The test scores a logger run ends with; empty for a failed (or missing) record."""
    if record is None or not record.ok:
        return {}
    return {name: float(getattr(record, name)) for name in FINAL_SCORES if getattr(record, name) is not None}


def log_dir(results_dir: Path, run: LoggedRun) -> Path:
    return Path(results_dir) / run.protocol / "logs" / run.name


@LOGGERS.decorator("tensorboard")
class TensorBoardLogger(TrainingLogger):
    """tensorboardX event files, one folder per run."""

    def __init__(self, results_dir: Path) -> None:
        super().__init__(results_dir)
        from tensorboardX import SummaryWriter  # installed with ray[tune]

        self._writer_class = SummaryWriter
        self._writers: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles its callbacks (for ``Tuner.restore``); open writers hold a queue and a thread, so
        they stay behind and a restored logger opens new event files in the same run folders."""
        return {**self.__dict__, "_writers": {}}

    def _writer(self, run: LoggedRun) -> Any:
        if run.name not in self._writers:
            # a suffix of its own: two writers of one run in one second (a restored logger) must not share a file
            suffix = f".{os.getpid()}.{next(_WRITER_NUMBERS)}"
            self._writers[run.name] = self._writer_class(logdir=str(log_dir(self.results_dir, run)), flush_secs=5,
                                                         filename_suffix=suffix)
        return self._writers[run.name]

    def start(self, run: LoggedRun) -> None:
        self._writer(run).add_text("run/params", f"```\n{json.dumps(run.params, indent=1, default=str)}\n```", 0)

    def log(self, run: LoggedRun, stage: str, epoch: int, values: dict[str, float | None]) -> None:
        writer = self._writer(run)
        for name, value in values.items():
            if value is not None:
                writer.add_scalar(f"{stage}/{name}", value, epoch)

    def finish(self, run: LoggedRun, scores: dict[str, float], ok: bool = True) -> None:
        writer = self._writer(run)
        for name, value in scores.items():
            writer.add_scalar(f"test/{name}", value, 0)
        writer.flush()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


@LOGGERS.decorator("mlflow")
class MLflowLogger(TrainingLogger):
    """One MLflow run per trial or pretraining, in experiment ``hsibench-<protocol>``."""

    def __init__(self, results_dir: Path) -> None:
        super().__init__(results_dir)
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise LoggerUnavailableError("--logger mlflow needs MLflow: pip install mlflow-skinny "
                                         "(or choose --logger tensorboard)") from None
        self._client = MlflowClient()
        self._run_ids: dict[str, str] = {}

    def _experiment(self, protocol: str) -> str:
        name = f"hsibench-{protocol}"
        experiment = self._client.get_experiment_by_name(name)
        return experiment.experiment_id if experiment else self._client.create_experiment(name)

    def start(self, run: LoggedRun) -> None:
        if run.name in self._run_ids:
            return
        created = self._client.create_run(self._experiment(run.protocol), run_name=run.name)
        self._run_ids[run.name] = created.info.run_id
        for key, value in flat_params(run.params).items():
            self._client.log_param(created.info.run_id, key, value)

    def log(self, run: LoggedRun, stage: str, epoch: int, values: dict[str, float | None]) -> None:
        self.start(run)
        for name, value in values.items():
            if value is not None:
                self._client.log_metric(self._run_ids[run.name], f"{stage}/{name}", value, step=epoch)

    def finish(self, run: LoggedRun, scores: dict[str, float], ok: bool = True) -> None:
        self.start(run)
        for name, value in scores.items():
            self._client.log_metric(self._run_ids[run.name], f"test/{name}", value, step=0)
        self._client.set_terminated(self._run_ids[run.name], status="FINISHED" if ok else "FAILED")


def flat_params(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested parameters as MLflow's flat ``a.b`` keys with string values (MLflow caps a value at 6000 chars)."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_params(value, f"{name}."))
        else:
            flat[name] = str(value)[:6000]
    return flat


class TrainingLoggers:
    """The loggers a campaign asked for, called as one (none asked for: every call does nothing)."""

    def __init__(self, loggers: Iterable[TrainingLogger] = ()) -> None:
        self.loggers = list(loggers)

    def __bool__(self) -> bool:
        return bool(self.loggers)

    def start(self, run: LoggedRun) -> None:
        for logger in self.loggers:
            logger.start(run)

    def log_points(self, run: LoggedRun, points: Iterable[dict[str, Any]]) -> None:
        """Points as :class:`~hsibench.runner.progress.BatchedProgress` and the record's ``curves`` carry them."""
        for point in points:
            values = {k: v for k, v in point.items() if k not in DESCRIPTIVE_KEYS}
            for logger in self.loggers:
                logger.log(run, str(point.get("stage") or "train"), int(point["epoch"]), values)

    def log_curves(self, run: LoggedRun, curves: dict[str, dict[str, Any]]) -> None:
        """Every point of a record's (or pretraining record's) column-wise ``curves``."""
        for stage, columns in curves.items():
            names = [k for k, v in columns.items() if isinstance(v, list) and k != "epoch"]
            points = ({"stage": stage, "epoch": epoch, **{k: columns[k][i] for k in names}}
                      for i, epoch in enumerate(columns.get("epoch", [])))
            self.log_points(run, points)

    def finish(self, run: LoggedRun, scores: dict[str, float], ok: bool = True) -> None:
        for logger in self.loggers:
            logger.finish(run, scores, ok)

    def watch(self, run: LoggedRun) -> Callable[..., None]:
        """A progress callback (the local executor's) that logs every reported epoch of ``run``."""
        def progress(**info: Any) -> None:
            if self.loggers and info.get("epoch") is not None:
                self.log_points(run, [curve_point(info)])
        return progress

    def close(self) -> None:
        for logger in self.loggers:
            logger.close()


def create_training_loggers(names: Iterable[str], results_dir: Path) -> TrainingLoggers:
    return TrainingLoggers(LOGGERS.get(name)(results_dir) for name in names)


def logger_names() -> list[str]:
    return LOGGERS.names()
