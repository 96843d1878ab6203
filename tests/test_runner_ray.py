"""The Ray executor: the same trials give the same records as the local executor (one Ray start for the module)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import ray
from tensorboard_events import scalars
from test_runner_fake_method import CENTROID, COMPUTATIONS_LOG, PLUGIN, PRETRAINED

from hsibench.runner import (
    ExecutorOptions,
    ResourceRequestError,
    TrialSettings,
    create_executor,
    plan_trials,
    run_campaign,
)
from hsibench.runner.campaign import resolve_unique
from hsibench.runner.progress import ProgressBoard
from hsibench.runner.stages import plan_pretraining

pytestmark = pytest.mark.slow  # starts Ray

COMPARED_FIELDS = ("overall_accuracy", "average_accuracy", "kappa", "per_class", "confusion_matrix",
                   "predictions_sha256", "split", "run_id", "pretraining_key", "config", "protocol", "code", "curves")


@pytest.fixture(scope="module")
def ray_cluster():
    """Ray on two CPUs, with the test environment (offline, mirror, cache) handed to its workers."""
    names = ("HSIBENCH_OFFLINE", "HSIBENCH_MIRROR", "HSIBENCH_CACHE", "OMP_NUM_THREADS")
    env = {name: os.environ[name] for name in names if name in os.environ}
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield
    ray.shutdown()


def _run(executor: str, root: Path, **options):
    settings = TrialSettings(out_dir=root, cache_dir=root / "cache", preset="smoke", plugins=(PLUGIN,), threads=1)
    specs = plan_trials([CENTROID, PRETRAINED], "demo", [1330, 1220], settings)
    board = io.StringIO()
    runner = create_executor(executor, ExecutorOptions(results_dir=root, **options))
    result = run_campaign(specs, runner, stream=board, live=False)
    return result, board.getvalue(), runner


def test_ray_and_local_executors_write_identical_records_and_logs(ray_cluster, tmp_path: Path) -> None:
    local, _, _ = _run("local", tmp_path / "local", loggers=("tensorboard",))
    remote, progress, ray_executor = _run("ray", tmp_path / "ray", loggers=("tensorboard",))
    assert local.exit_code == remote.exit_code == 0
    by_trial = {(r.method, r.seed): r for r in remote.records}
    assert len(by_trial) == len(local.records) == 4
    for record in local.records:
        other = by_trial[(record.method, record.seed)]
        for field in COMPARED_FIELDS:
            assert getattr(record, field) == getattr(other, field), field
        assert record.code.recorded  # and the same code fingerprint, found by the driver and by a worker
        assert (record.machine.cpu_model, record.machine.threads) == (other.machine.cpu_model, other.machine.threads)
        assert other.path is not None and other.path.parent == tmp_path / "ray" / "demo" / "runs"
    assert (tmp_path / "ray" / "cache" / COMPUTATIONS_LOG).read_text().split() == ["1330"]  # the stage ran once
    assert progress.count("ok ") == 4  # one plain line per finished trial
    assert not any((tmp_path / "ray" / "tmp").iterdir()), "Tune's scratch folder is removed"
    # the epoch curves the method reported, in the record, in TensorBoard and in Tune's result grid
    assert all(r.curves["adapt"] == {"epochs": 2, "epoch": [1, 2], "loss": [1.0, 0.5],
                                     "validation_accuracy": [None, 0.75]} for r in remote.records)
    logged = {executor: scalars(tmp_path / executor / "demo" / "logs") for executor in ("local", "ray")}
    assert logged["local"] == logged["ray"] and len(logged["ray"]) == 4 + 1  # 4 trials, 1 shared pretraining
    for record in remote.records:
        tags = logged["ray"][record.name]
        assert tags["adapt/loss"] == [(1, 1.0), (2, 0.5)] and tags["adapt/validation_accuracy"] == [(2, 0.75)]
        assert tags["test/overall_accuracy"] == [(0, pytest.approx(record.overall_accuracy))]
    key = next(record.pretraining_key for record in remote.records if record.pretraining_key)
    assert logged["ray"][f"pretraining-{key}"]["pretrain/loss"] == [(1, 0.5)]
    frame = ray_executor.result_grid.get_dataframe()
    assert sorted(frame["overall_accuracy"]) == pytest.approx(sorted(r.overall_accuracy for r in remote.records))
    assert all("loss" in result.metrics_dataframe for result in ray_executor.result_grid)


def test_resource_request_beyond_the_cluster_fails_before_any_trial(ray_cluster, tmp_path: Path) -> None:
    with pytest.raises(ResourceRequestError, match="more GPUs per trial than the Ray cluster has"):
        # a local GPU check cannot apply to a joined cluster; the cluster's resources are checked instead
        executor = create_executor("ray", ExecutorOptions(results_dir=tmp_path, gpus_per_trial=1))
        executor.start()
    assert not (tmp_path / "demo").exists()


class _RecordingBoard(ProgressBoard):
    def __init__(self) -> None:
        super().__init__(0, stream=io.StringIO(), live=False)
        self.updates: list[dict] = []

    def update(self, key: str, **info) -> None:
        self.updates.append(info)
        super().update(key, **info)


def test_shared_pretraining_on_ray_shows_its_epoch_progress_on_the_driver(ray_cluster, tmp_path: Path) -> None:
    settings = TrialSettings(out_dir=tmp_path, cache_dir=tmp_path / "cache", preset="smoke", plugins=(PLUGIN,), threads=1)
    jobs, _ = plan_pretraining(resolve_unique(plan_trials([PRETRAINED], "demo", [1330], settings)))
    executor, board = create_executor("ray", ExecutorOptions(results_dir=tmp_path)), _RecordingBoard()
    executor.start()
    assert executor.run_stage(jobs, board) == {}
    assert {"stage": "pretrain", "epoch": 1, "epochs": 1, "loss": 0.5} in board.updates
    assert not board.running, "the stage's entry leaves the board when it ends"


def test_a_trial_no_node_can_hold_is_refused_up_front_with_the_numbers(ray_cluster, tmp_path: Path) -> None:
    settings = TrialSettings(out_dir=tmp_path, cache_dir=tmp_path / "cache", preset="smoke", plugins=(PLUGIN,), threads=1)
    specs = plan_trials([CENTROID], "demo", [1330], settings)
    executor = create_executor("ray", ExecutorOptions(results_dir=tmp_path, memory_per_trial_mb=10**9))
    with pytest.raises(ResourceRequestError, match=r"needs 1,000,000,000 MB \(--memory-per-trial\), but the largest "
                                                   r"Ray node offers [\d,]+ MB"):
        run_campaign(specs, executor, stream=io.StringIO(), live=False)
    assert not (tmp_path / "demo" / "runs").exists(), "refused before any trial ran"
    executor = create_executor("ray", ExecutorOptions(results_dir=tmp_path))
    executor.start()
    executor.admit(resolve_unique(specs))  # the estimate fits this machine: no error, and a request is made
    assert executor._memory_mb and all(mb > 900 for mb in executor._memory_mb.values())
