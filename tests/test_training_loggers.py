"""Epoch curves in records and the training loggers (--logger tensorboard|mlflow) under the local executor.

The Ray executor's curves and TensorBoard files are checked equal to the local executor's in
test_runner_ray.py.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest
from tensorboard_events import scalars
from test_runner_fake_method import CENTROID, PLUGIN

from hsibench.runner import ExecutorOptions, TrialSettings, create_executor, plan_trials, run_campaign
from hsibench.runner.curves import CurveRecorder
from hsibench.runner.training_loggers import LoggedRun, TensorBoardLogger, UnknownLoggerError, create_training_loggers


def test_curves_keep_every_epoch_column_wise_with_gaps_and_non_finite_values_as_none() -> None:
    shown: list[dict] = []
    curves = CurveRecorder(lambda **info: shown.append(info))
    curves(stage="fit", epoch=1, epochs=3, loss=0.9)
    curves(stage="fit", epoch=2, epochs=3, loss=float("nan"), validation_accuracy=0.5)
    curves(stage="fit", epoch=3, epochs=3, loss=0.4, note="text is not a value", flag=True)
    curves(stage="predict")  # no epoch: displayed, not a curve point
    assert len(shown) == 4
    stored = curves.to_dict()
    assert stored == {"fit": {"epochs": 3, "epoch": [1, 2, 3], "loss": [0.9, None, 0.4],
                              "validation_accuracy": [None, 0.5, None]}}
    curves(stage="fit", epoch=4, loss=0.3)
    assert stored["fit"]["epoch"] == [1, 2, 3], "to_dict is a copy"


def _local_campaign(root: Path, loggers: tuple[str, ...]):
    settings = TrialSettings(out_dir=root, cache_dir=root / "cache", preset="smoke", plugins=(PLUGIN,), threads=1)
    specs = plan_trials([CENTROID], "demo", [1330, 1220], settings)
    executor = create_executor("local", ExecutorOptions(results_dir=root, loggers=loggers))
    return run_campaign(specs, executor, stream=io.StringIO(), live=False)


def test_local_tensorboard_logs_every_epoch_and_the_final_scores(tmp_path: Path) -> None:
    result = _local_campaign(tmp_path, ("tensorboard",))
    assert result.exit_code == 0
    logged = scalars(tmp_path / "demo" / "logs")
    assert sorted(logged) == sorted(record.name for record in result.records)
    for record in result.records:
        assert record.curves["adapt"]["loss"] == [1.0, 0.5]
        tags = logged[record.name]
        assert tags["adapt/loss"] == [(1, 1.0), (2, 0.5)] and tags["adapt/validation_accuracy"] == [(2, 0.75)]
        assert {tag: values[0][1] for tag, values in tags.items() if tag.startswith("test/")} == pytest.approx(
            {"test/overall_accuracy": record.overall_accuracy, "test/average_accuracy": record.average_accuracy,
             "test/kappa": record.kappa})


def test_local_mlflow_logs_the_same_points(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow's own file store, so the test needs no database
    result = _local_campaign(tmp_path, ("mlflow",))
    assert result.exit_code == 0
    client = MlflowClient()
    experiment = client.get_experiment_by_name("hsibench-demo")
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == sorted(record.name for record in result.records)
    for record in result.records:
        run = runs[record.name]
        assert run.info.status == "FINISHED" and run.data.params["method"] == CENTROID
        assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "adapt/loss")] == [(1, 1.0), (2, 0.5)]
        assert run.data.metrics["test/overall_accuracy"] == pytest.approx(record.overall_accuracy)


def test_an_unknown_logger_is_refused_with_the_valid_names(tmp_path: Path) -> None:
    with pytest.raises(UnknownLoggerError, match="tensorboard"):
        create_training_loggers(["tensorbored"], tmp_path)


def test_a_tensorboard_logger_survives_tunes_pickling_with_writers_open(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path)
    run = LoggedRun("m-seed1-x", "demo", "m/seed 1")
    logger.log(run, "fit", 1, {"loss": 0.5})
    copy = pickle.loads(pickle.dumps(logger))  # Tune pickles its callbacks into the experiment state
    copy.log(run, "fit", 2, {"loss": 0.25})
    logger.close()
    copy.close()
    assert scalars(tmp_path / "demo" / "logs")["m-seed1-x"]["fit/loss"] == [(1, 0.5), (2, 0.25)]
