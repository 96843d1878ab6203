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
    RECORD_SCHEMA,
    ExecutorOptions,
    ResourceRequestError,
    TrialSettings,
    TrialSpec,
    create_executor,
    execute_trial,
    load_records,
    plan_trials,
    resolve,
    run_campaign,
    run_trial,
    score_predictions,
    split_overrides,
)
from hsibench.runner.progress import describe_record
from hsibench.runner.record_schema import ErrorDetail, TrialRecord
from hsibench.runner.records import read_record, write_record

SEEDS = [1330, 1220, 1336]


def settings(tmp_path: Path, **changes) -> TrialSettings:
    values = {"out_dir": tmp_path / "results", "cache_dir": tmp_path / "cache", "preset": "smoke",
              "plugins": (PLUGIN,), "threads": 1}
    return TrialSettings(**{**values, **changes})


def local_campaign(specs: list[TrialSpec], out_dir: Path, **options):
    return run_campaign(specs, create_executor("local", ExecutorOptions(results_dir=out_dir, **options)), live=False)


# --- metrics ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_scores_equal_scikit_learns_to_the_last_bit(seed: int) -> None:
    from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, recall_score

    generator = np.random.default_rng(seed)
    classes = int(generator.integers(2, 9))
    truth = generator.integers(0, classes, size=int(generator.integers(5, 400)))
    predicted = np.where(generator.random(len(truth)) < 0.7, truth, generator.integers(0, classes, size=len(truth)))
    if seed == 0:
        truth[truth == classes - 1] = 0  # a class without test pixels: no recall for it, AA over the others
    scores = score_predictions(truth, predicted, classes)
    labels = list(range(classes))
    assert scores.overall_accuracy == accuracy_score(truth, predicted)
    assert scores.kappa == cohen_kappa_score(truth, predicted, labels=labels)
    np.testing.assert_array_equal(scores.confusion, confusion_matrix(truth, predicted, labels=labels))
    recall = recall_score(truth, predicted, labels=labels, average=None, zero_division=0)
    present = np.bincount(truth, minlength=classes) > 0
    assert [r for r in scores.per_class_accuracy if r is not None] == list(recall[present])
    assert scores.per_class_accuracy.count(None) == int((~present).sum())


def test_kappa_is_none_where_it_is_undefined() -> None:
    assert score_predictions(np.zeros(4, int), np.zeros(4, int), 3).kappa is None
    with pytest.raises(ValueError, match="test labels must be class indices"):
        score_predictions(np.array([0, 5]), np.array([0, 1]), 3)


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
    assert record.status == "ok" and record.ok and record.schema == RECORD_SCHEMA
    assert record.split.fingerprint == split.fingerprint
    assert record.split.test == len(split.test) == sum(c.test_pixels for c in record.per_class)
    assert np.asarray(record.confusion_matrix).sum() == len(split.test)
    assert np.trace(np.asarray(record.confusion_matrix)) / len(split.test) == pytest.approx(record.overall_accuracy)
    for name in ("kappa", "average_accuracy", "timings", "versions", "peak_memory_mb", "config", "protocol",
                 "predictions_sha256", "machine"):
        assert getattr(record, name) not in (None, {}, ""), name
    assert record.uses_source_labels is False
    assert record.machine.hostname and record.machine.device == "cpu"  # the old top-level host and device
    assert record.code.recorded and record.code.shared_digest
    assert {"prepare_s", "adapt_s", "predict_s", "scene_map_s", "pretraining_stage_s"} <= set(record.timings)
    with np.load(tmp_path / "demo" / "runs" / record.map_file) as saved:
        assert saved["prediction"].shape == saved["ground_truth"].shape == (48, 48)
        assert set(np.unique(saved["prediction"])) <= set(c.class_id for c in record.per_class)
    written = write_record(tmp_path / "copy.json", record)
    assert read_record(written, strict=True) == record  # the schema-2 JSON gives back the same record


def test_a_record_states_the_budget_the_trial_spent(tmp_path: Path) -> None:
    """Samples and updates, as the method counted them (Method.training_budget), survive the JSON round trip."""
    spec = TrialSpec(method="mae", protocol="demo", seed=1330, preset="smoke", out_dir=str(tmp_path),
                     cache_dir=str(tmp_path / "cache"), method_overrides={"pretrain_steps": 3, "epochs": 2})
    record = run_trial(spec)
    assert record.budget["pretrain_steps"] == 3
    assert record.budget["pretrain_samples_seen"] == 3 * record.budget["pretrain_batch_size"]
    assert record.budget["finetune_epochs"] == 2 and record.budget["finetune_updates"] >= 2
    written = write_record(tmp_path / "copy.json", record)
    assert read_record(written, strict=True).budget == record.budget


@pytest.fixture
def restore_determinism():
    """Trials switch torch's deterministic mode for the whole process: put it back as it was."""
    import torch

    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark,
              torch.backends.cudnn.deterministic)
    yield
    torch.use_deterministic_algorithms(before[0])
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = before[1:]


@pytest.mark.parametrize("deterministic", [True, False])
def test_a_deterministic_trial_runs_with_deterministic_algorithms_and_records_it(
        tmp_path: Path, deterministic: bool, restore_determinism) -> None:
    import torch

    torch.use_deterministic_algorithms(not deterministic)  # the trial sets the mode, whatever it was before
    seen: list[bool] = []
    spec = _spec(out_dir=str(tmp_path), cache_dir=str(tmp_path / "cache"), deterministic=deterministic)
    # the fake method reports progress from inside adapt: the mode as the method's own code runs
    record = execute_trial(spec, progress=lambda **_: seen.append(torch.are_deterministic_algorithms_enabled()))
    assert record.ok, describe_record(record)
    assert seen and set(seen) == {deterministic}
    assert record.machine.deterministic is deterministic and record.spec["deterministic"] is deterministic
    assert read_record(record.path, strict=True).machine.deterministic is deterministic


def test_a_record_states_the_machine_that_made_it(tmp_path: Path) -> None:
    import torch

    record = execute_trial(_spec(out_dir=str(tmp_path), cache_dir=str(tmp_path / "cache"), threads=1))
    assert record.ok, describe_record(record)
    on_disk = json.loads(record.path.read_text())
    assert on_disk["schema"] == RECORD_SCHEMA
    machine = on_disk["machine"]
    assert isinstance(machine["cpu_model"], str) and machine["cpu_model"]
    assert machine["threads"] == 1  # the spec's threads, as torch ran them
    assert machine["torch_version"] == torch.__version__
    assert machine["precision"] == "fp32"  # on the CPU nothing autocasts
    assert machine["device"] == "cpu"
    assert read_record(record.path, strict=True).machine == record.machine


def test_a_method_without_a_source_stage_never_builds_the_source_domain(tmp_path: Path, monkeypatch) -> None:
    import hsibench.runner.source_domains as source_domains
    import hsibench.runner.stages as stages
    import hsibench.runner.trial as trial
    from hsibench.methods import get_method_entry

    info = get_method_entry("svm").info
    assert not info.pretrains and not info.uses_source_labels

    def refuse(*_, **__):
        raise AssertionError("the source domain was built for a method that needs none")

    for module in (trial, stages):
        monkeypatch.setattr(module, "source_domain", refuse)
    monkeypatch.setattr(source_domains, "build_source_domain", refuse)
    spec = TrialSpec(method="svm", protocol="demo", seed=1330, preset="smoke", out_dir=str(tmp_path),
                     cache_dir=str(tmp_path / "cache"))
    result = local_campaign([spec], tmp_path)  # a raise inside the trial would leave a failed record
    assert result.exit_code == 0, [describe_record(r) for r in result.records]
    (record,) = result.records
    assert record.ok and record.pretraining_key is None and not record.uses_source_labels


def test_the_local_executor_resolves_each_trial_once_and_builds_the_source_once(tmp_path: Path, monkeypatch) -> None:
    from collections import OrderedDict

    import hsibench.runner.campaign as campaign
    import hsibench.runner.source_domains as source_domains
    import hsibench.runner.spec as spec_module
    import hsibench.runner.stages as stages
    import hsibench.runner.trial as trial

    resolved: list[tuple[str, int]] = []
    built: list[str] = []
    real_resolve, real_build = spec_module.resolve, source_domains.build_source_domain

    def counting_resolve(spec: TrialSpec):
        resolved.append((spec.method, spec.seed))
        return real_resolve(spec)

    def counting_build(protocol, *args, **kwargs):
        built.append(protocol.name)
        return real_build(protocol, *args, **kwargs)

    for module in (spec_module, campaign, stages, trial):  # every name `resolve` is bound to in the runner
        monkeypatch.setattr(module, "resolve", counting_resolve)
    monkeypatch.setattr(source_domains, "build_source_domain", counting_build)
    monkeypatch.setattr(source_domains, "_DOMAINS", OrderedDict())  # nothing kept from earlier tests
    specs = [TrialSpec(method="mae", protocol="demo", seed=seed, preset="smoke", out_dir=str(tmp_path),
                       cache_dir=str(tmp_path / "cache")) for seed in (1330, 1220)]
    result = local_campaign(specs, tmp_path)
    assert result.exit_code == 0 and len(result.records) == 2
    assert sorted(resolved) == [("mae", 1220), ("mae", 1330)]  # once each, by the campaign; never again
    # one source domain for the protocol: planning the stage, the stage job and both trials share it
    assert built == ["demo"]
    assert len({r.pretraining_key for r in result.records}) == 1
    assert all(r.pretraining_key is not None for r in result.records)


# --- batches --------------------------------------------------------------------------------------


def test_failing_trial_is_recorded_and_the_others_go_on(tmp_path: Path) -> None:
    specs = plan_trials([CENTROID], "demo", SEEDS, settings(tmp_path), fixed={"fail_seed": "1220"})
    result = local_campaign(specs, tmp_path / "results")
    assert result.exit_code == 1
    assert sorted(r.status for r in result.records) == ["failed", "ok", "ok"]
    failed = result.failed[0]
    assert failed.seed == 1220 and "deliberate failure" in failed.error.traceback
    assert failed.error.type == "RuntimeError" and failed.path is not None and failed.path.is_file()

    rerun = local_campaign(specs, tmp_path / "results")  # ok trials are skipped, the failed one runs again
    assert rerun.skipped == 2 and rerun.ran == 1
    assert len(list((tmp_path / "results" / "demo" / "runs").glob("*.json"))) == 3  # overwritten, not added


def test_shared_pretraining_runs_once_for_all_seeds(tmp_path: Path) -> None:
    specs = plan_trials([PRETRAINED], "demo", SEEDS, settings(tmp_path))
    result = local_campaign(specs, tmp_path / "results")
    assert result.exit_code == 0
    assert (tmp_path / "cache" / COMPUTATIONS_LOG).read_text().split() == ["1330"]
    assert len({r.pretraining_key for r in result.records}) == 1
    assert len(list((tmp_path / "results" / "demo" / "pretraining").glob("*.json"))) == 1
    assert all(r.timings["pretraining_stage_s"] is not None for r in result.records)


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_gpu_request_without_gpus_fails_at_once(tmp_path: Path, executor: str) -> None:
    import ray

    specs = plan_trials([CENTROID], "demo", [1330], settings(tmp_path))
    # creating the executor imports its module (Ray Tune's for ray: seconds on a loaded machine); what must be
    # immediate is the refusal, before any Ray start or trial
    chosen = create_executor(executor, ExecutorOptions(results_dir=tmp_path, gpus_per_trial=0.5))
    started = time.perf_counter()
    with pytest.raises(ResourceRequestError, match="no CUDA GPU"):
        run_campaign(specs, chosen)
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
    ok = TrialRecord(run_id="a", status="ok", method="m", seed=1, overall_accuracy=0.5, average_accuracy=0.4,
                     kappa=0.3, timings={"total_s": 1.0})
    failed = TrialRecord(run_id="b", status="failed", method="m", seed=2,
                         error=ErrorDetail("RuntimeError", "boom"))
    assert describe_record(ok) == "OA 50.00%  AA 40.00%  κ ×100 30.00  (1.0 s)"
    board.finished("a", ok.ok, describe_record(ok))
    board.finished("b", failed.ok, describe_record(failed), "m/seed 2")
    board.close()
    output = stream.getvalue()
    assert board.finished_count == 2 and board.failed == ["m/seed 2"]
    assert "FAILED m/seed 2  RuntimeError: boom" in output
    assert ("[1/2] ok" in output) is not live  # CI logs: one line per trial; a terminal: a bar


def test_progress_is_batched_but_stage_changes_pass_and_no_epoch_is_lost() -> None:
    from hsibench.runner.progress import BatchedProgress, unpack_points

    sent: list[dict] = []
    progress = BatchedProgress(sent.append, interval=60.0)
    for epoch in range(1, 6):
        progress(stage="pretrain", epoch=epoch, epochs=5, loss=1.0 / epoch)
    progress(stage="adapt", epoch=1, epochs=3, loss=float("nan"), validation_accuracy=0.5)
    progress(stage="adapt", epoch=2, epochs=3, loss=0.25)
    assert [update["stage"] for update in sent] == ["pretrain", "adapt"]
    progress.flush()
    progress.flush()  # nothing pending: nothing sent
    assert len(sent) == 3 and "loss" not in sent[1]  # NaN never reaches Tune's result
    points = [point for update in sent for point in unpack_points(update)]
    assert [(p["stage"], p["epoch"]) for p in points] == [("pretrain", e) for e in range(1, 6)] + [("adapt", 1), ("adapt", 2)]
    assert points[5]["loss"] is None and points[5]["validation_accuracy"] == 0.5 and points[6]["loss"] == 0.25


def test_asking_for_the_model_reruns_a_current_record_without_one_and_keeps_nothing_aside(tmp_path: Path) -> None:
    """`run --save-model` after a plain run: the trial runs again for its model; the old record is not 'other code'."""
    import io

    from hsibench.runner import ExecutorOptions, create_executor, plan_trials, run_campaign

    def campaign(save_model: bool):
        specs = plan_trials([CENTROID], "demo", [1330], settings(tmp_path, save_model=save_model))
        return run_campaign(specs, create_executor("local", ExecutorOptions(results_dir=tmp_path / "results")),
                            stream=io.StringIO(), live=False)

    first = campaign(False)
    assert first.ran == 1 and first.records[0].model_file is None
    second = campaign(True)
    record = second.records[0]
    assert second.ran == 1 and record.model_file and (record.path.parent / record.model_file).is_file()
    assert not second.superseded and not (tmp_path / "results" / "demo" / "superseded").exists()
    assert campaign(True).ran == 0, "with its model beside it the record is current"
