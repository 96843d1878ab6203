"""The ``precision`` execution key: one decision (``--precision`` → a concrete dtype), checked on the trial's device,
carried into the run id (only when not fp32), the pretraining key and the record."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from hsibench.methods import RunContext, create_method
from hsibench.methods.pretraining_cache import pretraining_key
from hsibench.methods.training import (
    CPU_DEFAULT_PRECISION,
    PrecisionError,
    autocast,
    check_precision,
    choose_precision,
    cpu_bf16_support,
    predict_in_batches,
)
from hsibench.protocol import Domain, PatchSampler
from hsibench.runner import TrialSettings, TrialSpec, execute_trial, plan_trials, resolve
from hsibench.runner.spec import compute_run_id

CPU = torch.device("cpu")
needs_cpu_bf16 = pytest.mark.skipif(not cpu_bf16_support(), reason="this CPU has neither amx_bf16 nor avx512_bf16")


def without_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    import hsibench.provenance.machine as machine

    monkeypatch.setattr(machine, "cpu_description", lambda: ("Old CPU", ("avx2", "fma")))


# --- choosing and checking ---------------------------------------------------------------------------------------


def test_auto_is_the_documented_cpu_default_on_the_cpu_and_bf16_or_fp16_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_precision("auto", "cpu") == CPU_DEFAULT_PRECISION
    assert choose_precision("auto", "auto") == CPU_DEFAULT_PRECISION
    assert choose_precision("auto", "auto", gpus_per_trial=0.5) == "bf16"  # GPUs on the workers, none here
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert choose_precision("auto", "cuda") == "fp16"  # e.g. a V100 or T4
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert choose_precision("auto", "auto") == "bf16"
    assert choose_precision("fp32", "cuda") == "fp32"  # a name is kept as asked


def test_the_cli_offers_exactly_the_precisions_training_knows() -> None:
    from hsibench.cli.options import PRECISIONS
    from hsibench.methods.training import PRECISION_DTYPES

    assert PRECISIONS == tuple(PRECISION_DTYPES)


def test_an_unknown_precision_names_the_valid_ones() -> None:
    with pytest.raises(PrecisionError, match="valid: auto, fp32, bf16, fp16"):
        choose_precision("half", "cpu")
    with pytest.raises(PrecisionError, match="fp32, bf16, fp16"):
        resolve(TrialSpec(method="svm", protocol="demo", seed=1, preset="smoke", precision="half"))


def test_the_cpu_refuses_fp16_and_bf16_without_native_support(monkeypatch: pytest.MonkeyPatch) -> None:
    check_precision("fp32", CPU)
    with pytest.raises(PrecisionError, match="not offered on cpu; use --precision fp32"):
        check_precision("fp16", CPU)
    without_bf16(monkeypatch)
    assert cpu_bf16_support() == ()
    with pytest.raises(PrecisionError, match=r"Old CPU\) has neither amx_bf16 nor avx512_bf16.*--precision fp32"):
        check_precision("bf16", CPU)


def test_bf16_is_offered_on_a_cpu_with_avx512_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    import hsibench.provenance.machine as machine

    monkeypatch.setattr(machine, "cpu_description", lambda: ("AMD EPYC", ("avx2", "avx512f", "avx512_bf16")))
    assert cpu_bf16_support() == ("avx512_bf16",)
    check_precision("bf16", CPU)


def test_cpu_autocast_computes_matrix_products_in_bfloat16_and_is_a_no_op_at_fp32() -> None:
    layer, inputs = torch.nn.Linear(8, 4), torch.randn(3, 8)
    with autocast(CPU, "bf16"):
        assert layer(inputs).dtype == torch.bfloat16
    with autocast(CPU, "fp32"):
        assert layer(inputs).dtype == torch.float32


# --- identity: run id, pretraining key ---------------------------------------------------------------------------


def test_fp32_trials_keep_the_run_ids_they_had_before_precision_existed() -> None:
    spec = TrialSpec(method="ssftt", protocol="demo", seed=1330, preset="smoke")
    resolved = resolve(spec)
    assert resolved.precision == "fp32"
    before = compute_run_id("ssftt", resolved.config, resolved.protocol, 1330)  # the payload of older code
    assert resolved.run_id == before
    bf16 = resolve(dataclasses.replace(spec, precision="bf16"))
    assert bf16.precision == "bf16" and bf16.run_id != before


def test_methods_that_ignore_precision_stay_fp32_trials_with_one_run_id() -> None:
    spec = TrialSpec(method="svm", protocol="demo", seed=1330, preset="smoke")
    asked_bf16 = resolve(dataclasses.replace(spec, precision="bf16"))
    assert asked_bf16.precision == "fp32"
    assert asked_bf16.run_id == resolve(spec).run_id


def test_s2former_with_amp_off_computes_in_fp32_whatever_is_asked() -> None:
    spec = TrialSpec(method="s2former", protocol="demo", seed=1330, preset="smoke", precision="bf16")
    assert resolve(spec).precision == "bf16"
    off = resolve(dataclasses.replace(spec, method_overrides={"amp": False}))
    assert off.precision == "fp32"
    method = create_method("s2former", RunContext(seed=1, precision="bf16"), "smoke", config=off.config)
    assert method.precision == "fp32"


def test_a_bf16_pretraining_is_another_checkpoint_and_fp32_keys_are_unchanged() -> None:
    parts = ("s2former", "source-digest", {"depth": 2}, 0, "code-digest")
    assert pretraining_key(*parts) == pretraining_key(*parts, precision="fp32")
    assert pretraining_key(*parts, precision="bf16") != pretraining_key(*parts)


def test_the_plan_carries_the_settings_precision_into_every_spec(tmp_path: Path) -> None:
    settings = TrialSettings(out_dir=tmp_path, cache_dir=tmp_path / "cache", preset="smoke", precision="bf16")
    specs = plan_trials(["ssftt", "svm"], "demo", [1330, 1220], settings)
    assert {spec.precision for spec in specs} == {"bf16"}
    assert TrialSpec.from_dict({k: v for k, v in specs[0].to_dict().items() if k != "precision"}).precision == "fp32"


# --- running ---------------------------------------------------------------------------------------------------


def test_inference_in_bf16_agrees_with_fp32_on_most_pixels() -> None:
    cube = np.random.default_rng(0).normal(size=(16, 16, 12)).astype(np.float32)
    domain = Domain("scene", PatchSampler(cube, 3))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 3 * 12, 32), torch.nn.GELU(),
                                torch.nn.Linear(32, 5)).eval()
    coords = domain.patches.all_coords()
    full = predict_in_batches(model, domain, coords, CPU, 64, precision="fp32")
    reduced = predict_in_batches(model, domain, coords, CPU, 64, precision="bf16")
    assert np.mean(full == reduced) > 0.9


@needs_cpu_bf16
def test_a_bf16_trial_says_so_in_its_record_and_lands_under_its_own_run_id(tmp_path: Path) -> None:
    spec = TrialSpec(method="ssftt", protocol="demo", seed=1330, preset="smoke", out_dir=str(tmp_path),
                     cache_dir=str(tmp_path / "cache"), device="cpu", precision="bf16")
    record = execute_trial(spec)
    assert record.status == "ok", record.error
    assert record.machine.precision == "bf16" and record.spec["precision"] == "bf16"
    assert record.run_id == resolve(spec).run_id != resolve(dataclasses.replace(spec, precision="fp32")).run_id
    assert 0.0 < record.overall_accuracy <= 1.0


def test_a_bf16_trial_on_a_cpu_without_it_fails_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    without_bf16(monkeypatch)
    spec = TrialSpec(method="ssftt", protocol="demo", seed=1330, preset="smoke", out_dir=str(tmp_path),
                     cache_dir=str(tmp_path / "cache"), device="cpu", precision="bf16")
    record = execute_trial(spec)
    assert record.status == "failed"
    assert "neither amx_bf16 nor avx512_bf16" in record.error.message


def test_the_cli_refuses_bf16_on_this_machine_before_planning_when_it_lacks_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from hsibench.cli import main

    without_bf16(monkeypatch)
    code = main(["run", "--method", "ssftt", "--protocol", "demo", "--runs", "1", "--executor", "local",
                 "--precision", "bf16", "--out", str(tmp_path / "out")])
    assert code != 0
    assert "neither amx_bf16 nor avx512_bf16" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.json"))

