"""`hsibench tune` end to end through Ray Tune: the preset file it writes loads, and garbage test labels change nothing.

One local Ray serves both searches (its start-up is most of the time); each is 3 SVM trials on demo_dev.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hsibench.cli import main
from hsibench.tuning import trainable
from hsibench.tuning.preset_file import load_preset_file
from hsibench.tuning.tuner import _start_ray, tune_method

pytestmark = pytest.mark.slow

#: a plugin that turns every split's test labels into one class, in the driver and in each Ray worker, and logs it
POISON = '''
import dataclasses
from pathlib import Path

import numpy as np

import hsibench.tuning.trainable as trainable
from hsibench.protocol import LabeledPixels

_original = trainable.make_split


def _poisoned(*args, **kwargs):
    split = _original(*args, **kwargs)
    garbage = np.full_like(split.test.labels, int(split.test.labels.max()))
    with open(Path(__file__).with_suffix(".log"), "a") as log:
        log.write("poisoned\\n")
    return dataclasses.replace(split, test=LabeledPixels(split.test.coords, garbage))


trainable.make_split = _poisoned
'''


def test_tune_writes_a_loadable_preset_file_and_ignores_test_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture) -> None:
    import ray

    monkeypatch.setattr(trainable, "make_split", trainable.make_split)  # restored after the poisoned search
    monkeypatch.setattr(sys, "path", list(sys.path))
    plugin = tmp_path / "poison_tuning_test_labels.py"
    plugin.write_text(POISON)
    common = ["--method", "svm", "--protocol", "demo_dev", "--trials", "3", "--cache", str(tmp_path / "cache")]
    assert _start_ray(cpus=3)
    try:
        out = tmp_path / "svm.toml"
        assert main(["tune", *common, "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        honest = load_preset_file(out, "svm")
        poisoned = tune_method("svm", "demo_dev", trials=3, out_path=tmp_path / "poisoned.toml",
                               plugins=(str(plugin),), cache_dir=tmp_path / "cache", echo=lambda line: None)
    finally:
        ray.shutdown()
        sys.modules.pop(plugin.stem, None)

    assert "best validation accuracy" in printed and str(out) in printed
    assert printed.count("] validation ") == 3  # a line per finished trial
    assert honest.base_preset == "smoke" and honest.settings["search"] is False
    assert set(honest.settings) == {"search", "c", "gamma"}
    provenance = honest.provenance
    assert provenance["protocol"] == "demo_dev" and provenance["protocol_identity"]["validation_per_class"] == 5
    assert provenance["budget"]["trials"] == 3 and provenance["budget"]["seeds"] == [11, 12]
    assert (provenance["budget"]["scheduler"], provenance["budget"]["search"]) == ("asha", "random")
    assert 0 < provenance["best_validation_accuracy"] <= 1
    assert provenance["date"].endswith("+00:00") and provenance["hsibench_version"]
    assert provenance["code"]["digest"] and provenance["code"]["method_module"] == "hsibench.methods.svm"

    assert plugin.with_suffix(".log").read_text().count("poisoned") >= 6, "the workers split with garbage test labels"
    assert poisoned.best_settings == honest.settings
    assert poisoned.best_validation_accuracy == provenance["best_validation_accuracy"]
