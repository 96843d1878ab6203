"""One trial and batches of trials with the local executor: records, metrics, run ids, failures, the pretraining stage."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from test_runner_fake_method import CENTROID, COMPUTATIONS_LOG, PLUGIN, PRETRAINED

from hsibench.cli import main
from hsibench.protocol import load_protocol, make_split
from hsibench.runner import (
    ExecutorOptions,
    ResourceRequestError,
    TrialSettings,
    TrialSpec,
    create_executor,
    load_records,
    plan_trials,
    resolve,
    run_campaign,
    run_trial,
    score_predictions,
    split_overrides,
)

SEEDS = [1330, 1220, 1336]


def settings(tmp_path: Path, **changes) -> TrialSettings:
    values = {"out_dir": tmp_path / "results", "cache_dir": tmp_path / "cache", "preset": "smoke",
              "plugins": (PLUGIN,), "threads": 1}
    return TrialSettings(**{**values, **changes})


def local_campaign(specs: list[TrialSpec], out_dir: Path, **options):
    return run_campaign(specs, create_executor("local", ExecutorOptions(results_dir=out_dir, **options)), live=False)


# --- metrics ------------------------------------------------------------------------------------


def test_scores_match_hand_computation() -> None:
    truth = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    predicted = np.array([0, 0, 0, 1, 1, 0, 2, 2, 2, 0])
    scores = score_predictions(truth, predicted, 3)
    assert scores.overall_accuracy == pytest.approx(7 / 10)
    assert scores.per_class_accuracy == pytest.approx((3 / 4, 1 / 2, 3 / 4))
    assert scores.average_accuracy == pytest.approx((3 / 4 + 1 / 2 + 3 / 4) / 3)
    # κ = (p_o − p_e) / (1 − p_e) with p_e from the marginals: truth (4, 2, 4), predictions (5, 2, 3)
    expected_agreement = (4 * 5 + 2 * 2 + 4 * 3) / 100
    assert scores.kappa == pytest.approx((0.7 - expected_agreement) / (1 - expected_agreement))
    assert scores.confusion.tolist() == [[3, 1, 0], [1, 1, 0], [1, 0, 3]]


def test_class_without_test_pixels_is_left_out_of_average_accuracy() -> None:
    scores = score_predictions(np.array([0, 0, 2]), np.array([0, 1, 2]), 3)
    assert scores.per_class_accuracy == (0.5, None, 1.0)
    assert scores.average_accuracy == pytest.approx(0.75)


@pytest.mark.parametrize(("truth", "predicted", "message"), [
    ([0, 1], [0], "equally long"),
    ([], [], "no test pixels"),
    ([0, 1], [0, 3], "class indices"),
])
def test_bad_predictions_are_refused(truth, predicted, message) -> None:
    with pytest.raises(ValueError, match=message):
        score_predictions(np.array(truth, int), np.array(predicted, int), 2)


# --- overrides and run ids --------------------------------------------------------------------


@pytest.mark.parametrize(("pairs", "protocol_side", "method_side"), [
    ({"shots": "3", "mask_ratio": "0.5"}, {"shots": "3"}, {"mask_ratio": "0.5"}),
    ({"split_mode": "clean", "spatial_buffer": "2"}, {"split_mode": "clean", "spatial_buffer": "2"}, {}),
    ({"method.patch_size": "5", "protocol.shots": "2"}, {"shots": "2"}, {"patch_size": "5"}),
])
def test_set_keys_go_to_protocol_or_method(pairs, protocol_side, method_side) -> None:
    assert split_overrides(pairs) == (protocol_side, method_side)


def _spec(**changes) -> TrialSpec:
    values = {"method": CENTROID, "protocol": "demo", "seed": 1330, "preset": "smoke", "plugins": (PLUGIN,)}
    return TrialSpec(**{**values, **changes})


@pytest.mark.parametrize(("change", "same"), [
    ({"seed": 1220}, False),
    ({"method_overrides": {"shrink": "0.5"}}, False),
    ({"protocol_overrides": {"shots": "3"}}, False),
    ({"protocol_overrides": {"shots": "5"}}, True),  # the protocol's own value: the same trial
    ({"device": "cpu", "threads": 2, "save_map": True, "out_dir": "/elsewhere"}, True),  # where/how, not what
])
def test_run_id_covers_what_determines_the_result(change, same) -> None:
    assert (resolve(_spec()).run_id == resolve(_spec(**change)).run_id) is same


def test_unknown_protocol_key_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cannot be overridden"):
        resolve(_spec(protocol_overrides={"seeds": "1"}))


# --- one trial ------------------------------------------------------------------------------------


def test_trial_record_is_complete_and_scored_on_the_protocol_split(tmp_path: Path) -> None:
    spec = _spec(out_dir=str(tmp_path), cache_dir=str(tmp_path / "cache"), save_map=True)
    record = run_trial(spec)
    protocol = load_protocol("demo")
    split = make_split(protocol, 1330)
    assert record["status"] == "ok"
    assert record["split"]["fingerprint"] == split.fingerprint
    assert record["split"]["test"] == len(split.test) == sum(c["test_pixels"] for c in record["per_class"])
    assert np.asarray(record["confusion_matrix"]).sum() == len(split.test)
    assert np.trace(np.asarray(record["confusion_matrix"])) / len(split.test) == pytest.approx(record["overall_accuracy"])
    for key in ("kappa", "average_accuracy", "timings", "versions", "peak_memory_mb", "host", "config", "protocol",
                "uses_source_labels", "device", "predictions_sha256"):
        assert key in record
    assert {"prepare_s", "adapt_s", "predict_s", "scene_map_s", "pretraining_stage_s"} <= set(record["timings"])
    with np.load(tmp_path / "demo" / "runs" / record["map_file"]) as saved:
        assert saved["prediction"].shape == saved["ground_truth"].shape == (48, 48)
        assert set(np.unique(saved["prediction"])) <= set(c["class_id"] for c in record["per_class"])


# --- batches --------------------------------------------------------------------------------------


def test_failing_trial_is_recorded_and_the_others_go_on(tmp_path: Path) -> None:
    specs = plan_trials([CENTROID], "demo", SEEDS, settings(tmp_path), fixed={"fail_seed": "1220"})
    result = local_campaign(specs, tmp_path / "results")
    assert result.exit_code == 1
    assert sorted(r["status"] for r in result.records) == ["failed", "ok", "ok"]
    failed = result.failed[0]
    assert failed["seed"] == 1220 and "deliberate failure" in failed["error"]["traceback"]

    rerun = local_campaign(specs, tmp_path / "results")  # ok trials are skipped, the failed one runs again
    assert rerun.skipped == 2 and rerun.ran == 1
    assert len(list((tmp_path / "results" / "demo" / "runs").glob("*.json"))) == 3  # overwritten, not added


def test_shared_pretraining_runs_once_for_all_seeds(tmp_path: Path) -> None:
    specs = plan_trials([PRETRAINED], "demo", SEEDS, settings(tmp_path))
    result = local_campaign(specs, tmp_path / "results")
    assert result.exit_code == 0
    assert (tmp_path / "cache" / COMPUTATIONS_LOG).read_text().split() == ["1330"]
    assert len({r["pretraining_key"] for r in result.records}) == 1
    assert len(list((tmp_path / "results" / "demo" / "pretraining").glob("*.json"))) == 1
    assert all(r["timings"]["pretraining_stage_s"] is not None for r in result.records)


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_gpu_request_without_gpus_fails_at_once(tmp_path: Path, executor: str) -> None:
    import ray

    specs = plan_trials([CENTROID], "demo", [1330], settings(tmp_path))
    started = time.perf_counter()
    with pytest.raises(ResourceRequestError, match="no CUDA GPU"):
        run_campaign(specs, create_executor(executor, ExecutorOptions(results_dir=tmp_path, gpus_per_trial=0.5)))
    assert time.perf_counter() - started < 2.0
    assert not ray.is_initialized()
    assert not (tmp_path / "demo").exists()


def test_run_command_exits_non_zero_naming_the_failed_trial(tmp_path: Path, capsys) -> None:
    code = main(["run", "--method", CENTROID, "--protocol", "demo", "--plugin", PLUGIN, "--executor", "local",
                 "--out", str(tmp_path), "--cache", str(tmp_path / "cache"), "--preset", "smoke",
                 "--seeds", "1330,1220", "--set", "fail_seed=1220", "--no-maps"])
    captured = capsys.readouterr()
    assert code == 1
    assert f"FAILED {CENTROID} seed 1220" in captured.err and "deliberate failure" in captured.err
    assert [json.loads(p.read_text())["status"] for p in sorted((tmp_path / "demo" / "runs").glob("*.json"))]


def test_records_listing(tmp_path: Path, capsys) -> None:
    local_campaign(plan_trials([CENTROID], "demo", SEEDS[:2], settings(tmp_path, maps="none")), tmp_path / "results")
    assert main(["results", "ls", "--out", str(tmp_path / "results"), "--protocol", "demo"]) == 0
    output = capsys.readouterr().out
    assert output.count(CENTROID) == 2 and "1330" in output and "1220" in output
    assert len(load_records(tmp_path / "results", "demo")) == 2


# --- progress display -----------------------------------------------------------------------------


@pytest.mark.parametrize("live", [False, True])
def test_progress_board_counts_trials(live: bool) -> None:
    import io

    from hsibench.runner.progress import ProgressBoard

    stream = io.StringIO()
    board = ProgressBoard(2, stream=stream, live=live)
    board.started("a", "m/seed 1")
    board.update("a", stage="adapt", epoch=3, epochs=10, loss=0.5)
    board.finished("a", {"status": "ok", "overall_accuracy": 0.5, "average_accuracy": 0.4, "kappa": 0.3,
                         "timings": {"total_s": 1.0}})
    board.finished("b", {"status": "failed", "error": {"type": "RuntimeError", "message": "boom"}}, "m/seed 2")
    board.close()
    output = stream.getvalue()
    assert board.finished_count == 2 and board.failed == ["m/seed 2"]
    assert "FAILED m/seed 2  RuntimeError: boom" in output
    assert ("[1/2] ok" in output) is not live  # CI logs: one line per trial; a terminal: a bar


def test_progress_is_throttled_but_stage_changes_pass() -> None:
    from hsibench.runner.progress import ThrottledProgress

    sent: list[dict] = []
    progress = ThrottledProgress(sent.append, interval=60.0)
    for epoch in range(5):
        progress(stage="pretrain", epoch=epoch, epochs=5)
    progress(stage="adapt", epoch=0, epochs=5)
    assert [update["stage"] for update in sent] == ["pretrain", "adapt"]
