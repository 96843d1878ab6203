"""The method registry and `hsibench methods`: every method is described, every preset resolves, `--set` is checked."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from hsibench.cli import main
from hsibench.methods import get_method_entry, method_names, resolve_config
from hsibench.methods.registry import ConfigError, UnknownMethodError

BASELINES = ("svm", "cnn3d", "ssftt", "dcfsl", "finetune", "mae")
ALL_METHODS = method_names()


def as_set_text(value: object) -> str:
    """How a user writes ``value`` after ``--set key=``."""
    if value is None:
        return "none"
    if isinstance(value, (tuple, list)):
        return ",".join(repr(item) if isinstance(item, float) else str(item) for item in value)
    return repr(value) if isinstance(value, float) else str(value)


def test_every_baseline_is_registered() -> None:
    assert set(BASELINES) <= set(ALL_METHODS)


@pytest.mark.parametrize("name", ALL_METHODS)
def test_method_is_described(name: str) -> None:
    info = get_method_entry(name).info
    assert info.name == name
    assert info.family and info.reference and info.description
    assert isinstance(info.uses_source_labels, bool) and isinstance(info.pretrains, bool)


@pytest.mark.parametrize("preset", ["paper", "cpu", "smoke"])
@pytest.mark.parametrize("name", ALL_METHODS)
def test_every_preset_resolves_to_the_config_dataclass(name: str, preset: str) -> None:
    entry = get_method_entry(name)
    config = resolve_config(name, preset)
    assert isinstance(config, entry.config_class)
    for key, value in entry.fixed.items():  # a variant's fixed keys survive every preset
        assert getattr(config, key) == value


@pytest.mark.parametrize("name", BASELINES)
def test_set_text_of_every_key_is_coerced_back_to_its_value(name: str) -> None:
    """Writing each key's smoke value as `--set` text gives back the same, typed value."""
    config = resolve_config(name, "smoke")
    texts = {field.name: as_set_text(getattr(config, field.name)) for field in dataclasses.fields(config)}
    assert resolve_config(name, "smoke", texts) == config


def test_set_override_is_coerced_to_the_declared_type() -> None:
    config = resolve_config("dcfsl", "smoke", {"episodes": "7", "noise_brightness": "0.8, 1.2", "learning_rate": "1e-4"})
    assert config.episodes == 7 and isinstance(config.episodes, int)
    assert config.noise_brightness == (0.8, 1.2)
    assert config.learning_rate == pytest.approx(1e-4)
    assert resolve_config("svm", "paper", {"gamma": "none", "search": "off"}).search is False


def test_set_text_of_a_union_tries_every_member() -> None:
    """`int | Literal["published"] | None` (HybridSN's PCA components): each member's text parses as that member."""
    assert resolve_config("cnn3d", "paper", {"pca_components": "published"}).pca_components == "published"
    assert resolve_config("cnn3d", "paper", {"pca_components": "15"}).pca_components == 15
    assert resolve_config("cnn3d", "paper", {"pca_components": "none"}).pca_components is None
    with pytest.raises(ConfigError, match="expected a value of type int or .*must be one of"):
        resolve_config("cnn3d", "paper", {"pca_components": "many"})


@pytest.mark.parametrize(("overrides", "message"), [
    ({"episode": "7"}, "did you mean episodes"),
    ({"episodes": "many"}, "expected a value of type int"),
])
def test_bad_set_override_is_a_clear_error(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config("dcfsl", "paper", overrides)


def test_unknown_method_suggests_close_names() -> None:
    with pytest.raises(UnknownMethodError, match="Did you mean dcfsl"):
        resolve_config("dcfls")


def test_cli_list_shows_every_method_and_its_source_label_use(capsys: pytest.CaptureFixture) -> None:
    assert main(["methods", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["name", "family"]
    rows = {line.split()[0]: line for line in itertools.takewhile(str.strip, lines[1:])}  # the table, not its notes
    assert set(rows) == set(method_names())  # what is registered now (other test modules may add test methods)
    assert set(ALL_METHODS) <= set(rows)
    assert " yes " in rows["dcfsl"] and "Li et al." in rows["dcfsl"]
    assert " no " in rows["mae"]


def test_cli_show_prints_the_resolved_config(capsys: pytest.CaptureFixture) -> None:
    assert main(["methods", "show", "mae", "--preset", "smoke", "--set", "mask_ratio=0.5"]) == 0
    out = capsys.readouterr().out
    assert "He et al." in out
    values = dict(line.split(None, 1) for line in out.split("config (")[1].splitlines()[1:])
    assert values["mask_ratio"] == "0.5"
    assert values["pretrain_steps"] == str(resolve_config("mae", "smoke").pretrain_steps)


@pytest.mark.parametrize(("argv", "message"), [
    (["methods", "show", "mea"], "Did you mean mae"),
    (["methods", "show", "svm", "--set", "C=1"], "unknown config key(s) C (did you mean c?)"),
    (["methods", "show", "svm", "--set", "c"], "expected KEY=VALUE"),
    (["methods", "show", "svm", "--preset", "fast"], "no preset 'fast'"),
])
def test_cli_show_errors_in_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 1
    assert message in capsys.readouterr().err
