"""`hsibench run --preset FILE.toml`: the file's base preset and settings run, `--set` wins, and the record names the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsibench.cli import main
from hsibench.runner import TrialSpec, load_records
from hsibench.runner.record_schema import TrialRecord
from hsibench.tuning.preset_file import PresetFile, load_preset_file, write_preset_file


def svm_file(path: Path, c: float) -> Path:
    return write_preset_file(path, PresetFile("svm", "smoke", {"search": False, "c": c, "gamma": 0.01},
                                              {"protocol": "demo_dev", "best_validation_accuracy": 0.9}))


def run(out: Path, *options: str) -> int:
    return main(["run", "--method", "svm", "--protocol", "demo", "--executor", "local", "--out", str(out),
                 "--cache", str(out / "cache"), "--seeds", "1330", "--no-maps", *options])


def only_record(out: Path) -> TrialRecord:
    (record,) = load_records(out, "demo")
    return record


def test_run_applies_the_files_settings_and_the_record_names_the_file(tmp_path: Path) -> None:
    path = svm_file(tmp_path / "svm.toml", 12.5)
    assert run(tmp_path / "a", "--preset", str(path)) == 0
    record = only_record(tmp_path / "a")
    assert record.ok and record.preset == "smoke"  # the file's base preset
    assert (record.config["c"], record.config["gamma"], record.config["search"]) == (12.5, 0.01, False)
    assert record.config["c_grid"] == [1.0, 100.0]  # the rest is the smoke preset's
    reference = load_preset_file(path, "svm").reference()
    assert record.preset_file == reference and record.spec["preset_file"] == reference
    assert reference["path"] == str(path.resolve()) and len(reference["sha256"]) == 64


def test_an_explicit_set_wins_over_the_file(tmp_path: Path) -> None:
    assert run(tmp_path, "--preset", str(svm_file(tmp_path / "svm.toml", 12.5)), "--set", "c=3") == 0
    assert only_record(tmp_path).config["c"] == 3.0


def test_different_settings_give_different_run_ids(tmp_path: Path) -> None:
    assert run(tmp_path / "a", "--preset", str(svm_file(tmp_path / "one.toml", 12.5))) == 0
    assert run(tmp_path / "b", "--preset", str(svm_file(tmp_path / "two.toml", 50.0))) == 0
    assert run(tmp_path / "c", "--preset", "smoke") == 0
    run_ids = {only_record(tmp_path / name).run_id for name in "abc"}
    assert len(run_ids) == 3


def test_a_file_of_another_method_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = svm_file(tmp_path / "svm.toml", 12.5)
    code = main(["run", "--method", "cnn3d", "--protocol", "demo", "--executor", "local", "--out", str(tmp_path),
                 "--preset", str(path)])
    assert code == 1
    assert capsys.readouterr().err.strip().endswith("was made for method 'svm', not 'cnn3d'; tune 'cnn3d' "
                                                    "(`hsibench tune --method cnn3d …`) or run 'svm'")
    assert not (tmp_path / "demo").exists()


def test_a_file_holds_one_methods_settings(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["run", "--methods", "svm,cnn3d", "--protocol", "demo", "--executor", "local", "--out",
                 str(tmp_path), "--preset", str(svm_file(tmp_path / "svm.toml", 1.0))])
    assert code == 1 and "holds the tuned settings of one method" in capsys.readouterr().err


def test_specs_and_records_without_a_preset_file_still_load() -> None:
    spec = TrialSpec.from_dict({"method": "svm", "protocol": "demo", "seed": 1, "plugins": []})
    assert spec.preset_file is None and TrialSpec.from_dict(spec.to_dict()) == spec
    record = TrialRecord.from_dict({"run_id": "x", "status": "failed", "method": "svm", "seed": 1, "schema": 2})
    assert record.preset_file is None
