"""A method's search space (plain ranges, ``methods/search_spaces.py``) as Ray Tune's ``param_space``.

One table maps each range type to its Tune distribution, so a new range type is one entry here,
not a branch. Ray is imported inside the function: the methods layer and the CLI stay without it.
:class:`~hsibench.methods.search_spaces.Fixed` keys are constants of the space, not dimensions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hsibench.methods.search_spaces import Choice, ConcreteSpec, Fixed, IntRange, LogUniform, Uniform
from hsibench.tuning.errors import TuningError


def _converters(tune: Any) -> dict[type, Callable[[Any], Any]]:
    return {
        LogUniform: lambda spec: tune.loguniform(spec.low, spec.high),
        Uniform: lambda spec: tune.uniform(spec.low, spec.high),
        IntRange: lambda spec: tune.randint(spec.low, spec.high + 1),  # randint's upper bound is exclusive
        Choice: lambda spec: tune.choice(list(spec.values)),
        Fixed: lambda spec: spec.value,
    }


def to_param_space(space: Mapping[str, ConcreteSpec]) -> dict[str, Any]:
    """Config key → Tune distribution (or constant); a :class:`PresetFraction` must be made concrete first."""
    from ray import tune

    converters = _converters(tune)
    converted = {}
    for key, spec in space.items():
        convert = converters.get(type(spec))
        if convert is None:
            raise TuningError(f"search space key {key!r}: {type(spec).__name__} has no Tune distribution "
                              "(make PresetFraction ranges concrete with concrete_space first)")
        converted[key] = convert(spec)
    return converted


def searched_keys(space: Mapping[str, ConcreteSpec]) -> list[str]:
    """The keys a sampler moves (every key but the fixed ones)."""
    return [key for key, spec in space.items() if not isinstance(spec, Fixed)]
