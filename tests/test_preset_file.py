"""Preset files (hsibench/tuning/preset_file.py): round trip, provenance, and clear errors for files that cannot be used."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import pytest

from hsibench.tuning.errors import PresetFileError
from hsibench.tuning.preset_file import PresetFile, is_preset_file, load_preset_file, write_preset_file

PROVENANCE = {"protocol": "demo_dev", "protocol_identity": {"name": "demo_dev", "source": {"scene": "demo_source",
                                                                                         "rows": None}},
              "budget": {"trials": 3, "preset": "smoke", "seeds": [11, 12], "scheduler": "asha", "search": "random"},
              "best_validation_accuracy": 0.9, "date": "2026-01-01T00:00:00+00:00",
              "code": {"digest": "abc", "git_commit": None}, "hsibench_version": "0.2.0"}


def svm_file(tmp_path: Path, name: str = "svm.toml", **settings) -> Path:
    values = {"search": False, "c": 12.5, "gamma": 0.01, **settings}
    return write_preset_file(tmp_path / name, PresetFile("svm", "smoke", values, PROVENANCE))


def test_a_preset_file_round_trips_with_its_provenance(tmp_path: Path) -> None:
    path = svm_file(tmp_path)
    loaded = load_preset_file(path, "svm")
    assert (loaded.method, loaded.base_preset) == ("svm", "smoke")
    assert loaded.settings == {"search": False, "c": 12.5, "gamma": 0.01}
    assert loaded.provenance["budget"]["seeds"] == [11, 12]
    assert loaded.provenance["protocol_identity"]["source"] == {"scene": "demo_source"}  # TOML has no null
    assert "git_commit" not in loaded.provenance["code"]
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.reference() == {"path": str(path.resolve()), "sha256": loaded.sha256, "base": "smoke"}
    assert not list(tmp_path.glob(".*.tmp")), "the temporary file of the atomic write is gone"


def test_tuples_and_none_come_back_as_the_config_declares_them(tmp_path: Path) -> None:
    path = write_preset_file(tmp_path / "svm.toml", PresetFile("svm", "smoke", {"gamma": None, "c_grid": (1.0, 10.0)}))
    assert 'gamma = "none"' in path.read_text()
    assert load_preset_file(path, "svm").settings == {"gamma": None, "c_grid": (1.0, 10.0)}


def test_only_a_toml_name_is_a_preset_file() -> None:
    assert is_preset_file("presets/svm.toml") and not is_preset_file("smoke") and not is_preset_file(None)


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(PresetFileError, match=r"does not exist \(make one with `hsibench tune --method svm"):
        load_preset_file(tmp_path / "none.toml", "svm")


def test_a_file_of_another_method_is_refused_naming_both(tmp_path: Path) -> None:
    with pytest.raises(PresetFileError, match=r"svm\.toml was made for method 'svm', not 'cnn3d'"):
        load_preset_file(svm_file(tmp_path), "cnn3d")


def test_a_setting_the_config_lacks_is_refused_listing_the_valid_keys(tmp_path: Path) -> None:
    with pytest.raises(PresetFileError, match=r"\[settings\] names kernel, .*Valid keys: c, c_grid, cv_folds"):
        load_preset_file(svm_file(tmp_path, kernel="rbf"), "svm")


@pytest.mark.parametrize(("text", "message"), [
    ("method = 'svm'\nbase_preset = \n", "is not valid TOML"),
    ("method = 'svm'\n[settings]\nc = 1.0\n", "lacks base_preset"),
    ("method = 'svm'\nbase_preset = 'smoke'\nsettings = 3\n", "must be strings and \\[settings\\] a table"),
    ("method = 'svm'\nbase_preset = 'huge'\n[settings]\n", "base_preset 'huge' is not a preset of method 'svm'"),
    ("format = 9\nmethod = 'svm'\nbase_preset = 'smoke'\n[settings]\n", "has format 9"),
])
def test_a_malformed_file_is_refused_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PresetFileError, match=message) as caught:
        load_preset_file(path, "svm")
    assert str(path) in str(caught.value)


def test_a_preset_file_must_be_named_toml(tmp_path: Path) -> None:
    with pytest.raises(PresetFileError, match="must end in .toml"):
        write_preset_file(tmp_path / "svm.txt", PresetFile("svm", "smoke", {}))


def test_the_written_file_is_plain_toml_with_the_documented_tables(tmp_path: Path) -> None:
    data = tomllib.loads(svm_file(tmp_path).read_text())
    assert set(data) == {"format", "method", "base_preset", "settings", "provenance"}
