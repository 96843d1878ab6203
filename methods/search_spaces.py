"""What ``hsibench tune`` may move, per method: one table of typed ranges over each method's config keys.

Every registered base method has an entry in :data:`SEARCH_SPACES`; a variant searches its base's space
minus the keys it fixes (:func:`search_space_for`). A range is plain data (:class:`LogUniform`,
:class:`Uniform`, :class:`IntRange`, :class:`Choice`, :class:`Fixed`, :class:`PresetFraction`): the methods
layer never needs Ray, and ``hsibench.tuning.search_space`` turns each into a Tune distribution.

Choices made here, and why:
- Only keys that change *how the target is learnt* are searched for the methods with a source
  pretraining that uses labels (``finetune``): its trials then share one cached pretraining, so a
  search costs fine-tuning runs, not pretrainings. The self-supervised ones (``mae``, ``s2former``)
  also search their mask ratio, the idea that defines them; each distinct value pretrains once.
- Training lengths are :class:`PresetFraction` ranges: a fraction of the preset's own value, at most
  all of it, so a search never spends more than the budget of the preset it starts from (budget.py).
- SVM's own cross-validated grid is switched off (``search`` :class:`Fixed` to ``False``), else the
  sampled ``c`` and ``gamma`` would be ignored.

:func:`check_search_space` is the one check of a space against its method's config dataclass; a test
runs it over every entry, so a renamed config key cannot leave a range searching nothing.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hsibench.methods.registry import ConfigError, get_method_entry


@dataclass(frozen=True)
class LogUniform:
    """A float drawn uniformly in log space over [low, high] (learning rates, weight decays, penalties)."""

    low: float
    high: float


@dataclass(frozen=True)
class Uniform:
    """A float drawn uniformly over [low, high]."""

    low: float
    high: float


@dataclass(frozen=True)
class IntRange:
    """An integer drawn uniformly from low…high, both included."""

    low: int
    high: int


@dataclass(frozen=True)
class Choice:
    """One of a few values, each equally likely."""

    values: tuple[Any, ...]

    def __init__(self, values: Any) -> None:  # Choice([...]) reads best; stored as a tuple (hashable, frozen)
        object.__setattr__(self, "values", tuple(values))


@dataclass(frozen=True)
class Fixed:
    """A key held at one value while the others are searched (not a search dimension of its own)."""

    value: Any


@dataclass(frozen=True)
class PresetFraction:
    """An integer between ``low`` and ``high`` times the preset's value of the key (at least 1).

    Training lengths are searched this way, so the range follows the preset (``smoke`` or ``paper``)
    and a ``high`` of at most 1 keeps every trial within that preset's budget.
    """

    low: float
    high: float


Spec = LogUniform | Uniform | IntRange | Choice | Fixed | PresetFraction
#: the ranges a sampler draws from (what :func:`concrete_space` leaves once presets are applied)
ConcreteSpec = LogUniform | Uniform | IntRange | Choice | Fixed

_LEARNING_RATE = LogUniform(1e-4, 1e-2)
_TRAINING_LENGTH = PresetFraction(0.25, 1.0)

#: method base name → config key → its range
SEARCH_SPACES: dict[str, dict[str, Spec]] = {
    "svm": {
        "c": LogUniform(1e-1, 1e4),  # the span of the SVM's own grid (methods/svm.py)
        "gamma": LogUniform(2.0**-12, 1.0),
        "search": Fixed(False),
    },
    "cnn3d": {
        "learning_rate": _LEARNING_RATE,
        "weight_decay": LogUniform(1e-6, 1e-2),
        "dropout": Uniform(0.1, 0.6),
        "epochs": _TRAINING_LENGTH,
    },
    "ssftt": {
        "learning_rate": _LEARNING_RATE,
        "weight_decay": LogUniform(1e-6, 1e-2),
        "dropout": Uniform(0.0, 0.4),
        "epochs": _TRAINING_LENGTH,
    },
    "finetune": {
        "learning_rate": _LEARNING_RATE,
        "weight_decay": LogUniform(1e-6, 1e-2),
        "epochs": _TRAINING_LENGTH,
    },
    "mae": {
        "learning_rate": LogUniform(1e-4, 3e-3),
        "weight_decay": LogUniform(1e-3, 0.3),
        "mask_ratio": Uniform(0.5, 0.9),
        "epochs": _TRAINING_LENGTH,
    },
    "dcfsl": {
        "learning_rate": _LEARNING_RATE,
        "domain_loss_weight": LogUniform(0.1, 3.0),
        "episodes": _TRAINING_LENGTH,
    },
    "s2former": {
        "finetune_lr": LogUniform(1e-4, 3e-3),
        "weight_decay": LogUniform(1e-3, 0.3),
        "daft_weight": LogUniform(0.1, 3.0),
        "mask_ratio": Uniform(0.3, 0.8),
        "probe_fraction": Uniform(0.0, 0.3),
        "finetune_epochs": _TRAINING_LENGTH,
    },
}


def _config_keys(method: str) -> list[str]:
    return sorted(item.name for item in dataclasses.fields(get_method_entry(method).config_class))


def _check_range(key: str, spec: Spec) -> None:
    """The range itself, whatever the method: a clear error naming the key and what is wrong."""
    if isinstance(spec, Choice):
        if not spec.values:
            raise ConfigError(f"search space key {key!r}: Choice([]) has nothing to choose from; list some values")
        return
    if isinstance(spec, Fixed):
        return
    if not isinstance(spec, LogUniform | Uniform | IntRange | PresetFraction):
        raise ConfigError(f"search space key {key!r}: {spec!r} is not a range (LogUniform, Uniform, IntRange, Choice, "
                          "Fixed or PresetFraction)")
    name = type(spec).__name__
    if not (math.isfinite(spec.low) and math.isfinite(spec.high)) or spec.low >= spec.high:
        raise ConfigError(f"search space key {key!r}: {name}({spec.low}, {spec.high}) needs low < high")
    if isinstance(spec, LogUniform | PresetFraction) and spec.low <= 0:
        raise ConfigError(f"search space key {key!r}: {name}({spec.low}, {spec.high}) needs low > 0 "
                          f"({'a logarithm' if isinstance(spec, LogUniform) else 'a training length'} of 0 is undefined)")
    if isinstance(spec, IntRange) and not (isinstance(spec.low, int) and isinstance(spec.high, int)):
        raise ConfigError(f"search space key {key!r}: IntRange({spec.low!r}, {spec.high!r}) needs integer bounds")


def check_search_space(method: str, space: Mapping[str, Spec]) -> None:
    """Raise :class:`ConfigError` for a key ``method``'s config lacks (listing the valid keys) or an invalid range."""
    valid = _config_keys(method)
    unknown = sorted(set(space) - set(valid))
    if unknown:
        raise ConfigError(f"search space of method {method!r}: unknown config key(s) {', '.join(unknown)}. "
                          f"Valid keys: {', '.join(valid)}")
    for key, spec in space.items():
        _check_range(key, spec)


def search_space_for(method: str) -> dict[str, Spec]:
    """The space of a registered method or variant: the base method's, minus the keys a variant fixes."""
    entry = get_method_entry(method)
    base = entry.base or method
    if base not in SEARCH_SPACES:
        raise ConfigError(f"method {method!r} has no search space; methods with one: {', '.join(sorted(SEARCH_SPACES))} "
                          "(add an entry to hsibench/methods/search_spaces.py)")
    return {key: spec for key, spec in SEARCH_SPACES[base].items() if key not in entry.fixed}


def restrict_space(space: Mapping[str, Spec], keys: list[str] | None = None,
                   fixed: Mapping[str, Any] | None = None) -> dict[str, Spec]:
    """Only ``keys`` of the searched ones (when given; an unknown one is an error naming them), minus the keys
    ``fixed`` sets: a key the user fixes with ``--set`` is not searched. :class:`Fixed` keys always stay (they
    make the searched ones mean something: SVM's ``search = False``)."""
    searched = [key for key, spec in space.items() if not isinstance(spec, Fixed)]
    if keys:
        unknown = sorted(set(keys) - set(searched))
        if unknown:
            raise ConfigError(f"{', '.join(unknown)} is not a searched key of the search space; its keys: "
                              f"{', '.join(searched)}")
        space = {key: spec for key, spec in space.items() if key in keys or isinstance(spec, Fixed)}
    return {key: spec for key, spec in space.items() if key not in (fixed or {})}


def check_budget(space: Mapping[str, Spec], config: Any) -> None:
    """Refuse a config whose training length (a :class:`PresetFraction` key, searched or fixed by ``--set``) is
    below 1: a zero budget trains nothing, and every trial would score the untrained model."""
    for key, spec in space.items():
        value = getattr(config, key)
        if isinstance(spec, PresetFraction) and (not isinstance(value, int) or value < 1):
            raise ConfigError(f"{key}={value!r} leaves no training budget (a search takes {spec.low:g}–{spec.high:g} "
                              f"× the preset's {key}, and a fixed {key} must train too); give {key} >= 1")


def concrete_space(space: Mapping[str, Spec], config: Any) -> dict[str, ConcreteSpec]:
    """Each :class:`PresetFraction` as the :class:`IntRange` it means for ``config`` (the preset's resolved config).

    A preset value below 1 leaves nothing to search within: a zero budget, refused with the key to change.
    """
    check_budget(space, config)
    concrete: dict[str, ConcreteSpec] = {}
    for key, spec in space.items():
        if not isinstance(spec, PresetFraction):
            concrete[key] = spec
            continue
        value = getattr(config, key)
        low, high = max(1, round(spec.low * value)), max(1, round(spec.high * value))
        concrete[key] = Fixed(low) if low == high else IntRange(low, high)
    return concrete
