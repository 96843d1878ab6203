"""The search spaces of `hsibench tune` (methods/search_spaces.py): every key is a config field, ranges are checked."""

from __future__ import annotations

import dataclasses

import pytest

from hsibench.methods import get_method_entry, method_names, resolve_config
from hsibench.methods.catalog import BUILTIN_METHODS
from hsibench.methods.registry import ConfigError
from hsibench.methods.search_spaces import (
    SEARCH_SPACES,
    Choice,
    Fixed,
    IntRange,
    LogUniform,
    PresetFraction,
    Uniform,
    check_budget,
    check_search_space,
    concrete_space,
    restrict_space,
    search_space_for,
)


def test_every_registered_base_method_has_a_search_space() -> None:
    bases = {name for name, builtin in BUILTIN_METHODS.items() if builtin.base is None}
    assert bases == set(SEARCH_SPACES)


@pytest.mark.parametrize("method", sorted(SEARCH_SPACES))
def test_every_search_space_key_is_a_field_of_its_methods_config(method: str) -> None:
    fields = {item.name for item in dataclasses.fields(get_method_entry(method).config_class)}
    assert set(SEARCH_SPACES[method]) <= fields, set(SEARCH_SPACES[method]) - fields
    check_search_space(method, SEARCH_SPACES[method])


@pytest.mark.parametrize("method", sorted(SEARCH_SPACES))
@pytest.mark.parametrize("preset", ["paper", "cpu", "smoke"])
def test_training_lengths_stay_within_the_presets_budget(method: str, preset: str) -> None:
    config = resolve_config(method, preset)
    for key, spec in concrete_space(SEARCH_SPACES[method], config).items():
        if isinstance(SEARCH_SPACES[method][key], PresetFraction):
            high = spec.value if isinstance(spec, Fixed) else spec.high
            assert 1 <= high <= getattr(config, key)


@pytest.mark.parametrize("variant", [name for name in method_names() if get_method_entry(name).base])
def test_a_variant_searches_its_bases_space_minus_the_keys_it_fixes(variant: str) -> None:
    entry = get_method_entry(variant)
    space = search_space_for(variant)
    assert set(space) == set(SEARCH_SPACES[entry.base]) - set(entry.fixed)
    resolve_config(variant, "smoke", {key: spec.low for key, spec in space.items()
                                      if isinstance(spec, LogUniform | Uniform)})  # no clash with a fixed key


def test_an_unknown_key_is_refused_listing_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) cee.*Valid keys: .*\bc\b.*gamma"):
        check_search_space("svm", {"cee": LogUniform(1.0, 10.0)})


@pytest.mark.parametrize(("spec", "message"), [
    (LogUniform(1.0, 1.0), "needs low < high"),
    (Uniform(0.5, 0.1), "needs low < high"),
    (IntRange(5, 5), "needs low < high"),
    (LogUniform(0.0, 1.0), "needs low > 0"),
    (LogUniform(-1.0, 1.0), "needs low > 0"),
    (PresetFraction(0.0, 1.0), "needs low > 0"),
    (Choice([]), "nothing to choose from"),
    ("1e-3..1e-2", "is not a range"),
])
def test_an_invalid_range_is_refused_naming_the_key(spec, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"'c'.*{message}"):
        check_search_space("svm", {"c": spec})


def test_restricting_keeps_fixed_keys_and_drops_keys_set_by_the_user() -> None:
    space = SEARCH_SPACES["svm"]
    assert set(restrict_space(space, ["c"])) == {"c", "search"}  # search=False stays: else c would be ignored
    assert set(restrict_space(space, None, {"gamma": "0.01"})) == {"c", "search"}
    with pytest.raises(ConfigError, match="not a searched key.*its keys: c, gamma"):
        restrict_space(space, ["c", "kernel"])


def test_preset_fractions_become_integer_ranges_and_a_zero_budget_is_refused() -> None:
    space = {"epochs": PresetFraction(0.25, 1.0), "learning_rate": LogUniform(1e-4, 1e-2)}
    concrete = concrete_space(space, resolve_config("cnn3d", "smoke"))  # smoke: 30 epochs
    assert concrete == {"epochs": IntRange(8, 30), "learning_rate": LogUniform(1e-4, 1e-2)}
    assert concrete_space(space, resolve_config("cnn3d", "smoke", {"epochs": 1}))["epochs"] == Fixed(1)
    with pytest.raises(ConfigError, match="epochs=0 leaves no training budget"):
        check_budget(space, resolve_config("cnn3d", "smoke", {"epochs": 0}))
