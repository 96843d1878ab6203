"""The method registry: ``@register_method`` on a :class:`Method` subclass, variants as registered configs.

Like timm's ``register_model``: a name maps to a class, its config dataclass and its presets;
an ablation is a *variant* — a name plus fixed config overrides — never a copy of code.
``create_method(name, preset, overrides, context)`` resolves the config in this order:
dataclass defaults (the ``paper`` settings) → preset → variant's fixed overrides → user
``--set`` overrides.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from hsibench.methods.base import Method, MethodInfo, RunContext


class UnknownMethodError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class ConfigError(ValueError):
    """A ``--set`` key or value a method's config does not accept."""


@dataclass(frozen=True)
class MethodEntry:
    info: MethodInfo
    method_class: type[Method]
    config_class: type
    presets: dict[str, dict[str, Any]]
    fixed: dict[str, Any] = field(default_factory=dict)  # a variant's overrides
    base: str | None = None  # the method a variant derives from


_METHODS: dict[str, MethodEntry] = {}


def register_method(name: str, *, family: str, uses_source_labels: bool, pretrains: bool, reference: str,
                    config: type, presets: dict[str, dict[str, Any]], description: str = ""):
    """Class decorator registering a method under ``name``; ``presets`` must include ``paper``, ``cpu`` and ``smoke``."""
    missing = {"paper", "cpu", "smoke"} - set(presets)
    if missing:
        raise ValueError(f"method {name!r} lacks preset(s) {sorted(missing)}")
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"method {name!r}: config must be a dataclass")

    def decorate(cls: type[Method]) -> type[Method]:
        info = MethodInfo(name, family, uses_source_labels, pretrains, reference, description or (cls.__doc__ or "").strip().splitlines()[0])
        cls.info = info
        _add(MethodEntry(info, cls, config, presets))
        return cls

    return decorate


def register_variant(name: str, base: str, overrides: dict[str, Any], description: str) -> MethodEntry:
    """An ablation: ``base`` with some config keys fixed (e.g. ``{"fdc": "off"}``)."""
    parent = get_method_entry(base)
    _check_keys(parent.config_class, overrides, name)
    info = dataclasses.replace(parent.info, name=name, description=description,
                               pretrains=parent.info.pretrains and overrides.get("pretrain", True) is not False)
    entry = MethodEntry(info, parent.method_class, parent.config_class, parent.presets, {**parent.fixed, **overrides}, base)
    _add(entry)
    return entry


def _add(entry: MethodEntry) -> None:
    if entry.info.name in _METHODS:
        raise ValueError(f"method {entry.info.name!r} is registered twice")
    _METHODS[entry.info.name] = entry


def _ensure_registered() -> None:
    from hsibench.methods import catalog  # noqa: F401  (imports every method module)


def method_names() -> list[str]:
    _ensure_registered()
    return sorted(_METHODS)


def get_method_entry(name: str) -> MethodEntry:
    _ensure_registered()
    try:
        return _METHODS[name]
    except KeyError:
        close = difflib.get_close_matches(name, _METHODS, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownMethodError(f"unknown method {name!r}.{hint} Registered: {', '.join(sorted(_METHODS))}") from None


def _field_types(config_class: type) -> dict[str, Any]:
    hints = typing.get_type_hints(config_class)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_class)}


def _close_names(name: str, valid) -> list[str]:
    """Close matches, case-insensitively (``C`` → ``c``)."""
    by_lower = {v.lower(): v for v in valid}
    return [by_lower[m] for m in difflib.get_close_matches(name.lower(), by_lower, n=1)]


def _check_keys(config_class: type, values: dict[str, Any], where: str) -> None:
    valid = _field_types(config_class)
    unknown = sorted(set(values) - set(valid))
    if unknown:
        hints = {k: _close_names(k, valid) for k in unknown}
        described = ", ".join(k + (f" (did you mean {hints[k][0]}?)" if hints[k] else "") for k in unknown)
        raise ConfigError(f"{where}: unknown config key(s) {described}. Valid keys: {', '.join(sorted(valid))}")


def coerce_value(text: Any, annotation: Any, key: str) -> Any:
    """Turn a ``--set`` string into the type a config field declares (bool, int, float, str, tuple, Optional)."""
    if not isinstance(text, str):
        return text
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if text.lower() in ("none", "null"):
            return None
        return coerce_value(text, options[0], key)
    if origin is typing.Literal:
        allowed = typing.get_args(annotation)
        if text not in allowed:
            raise ConfigError(f"{key}={text!r}: must be one of {list(allowed)}")
        return text
    if origin in (tuple, list):
        (item_type, *_) = typing.get_args(annotation) or (str,)
        items = [coerce_value(part.strip(), item_type, key) for part in text.split(",") if part.strip()]
        return tuple(items) if origin is tuple else items
    try:
        if annotation is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if annotation in (int, float, str):
            return annotation(text)
    except ValueError:
        raise ConfigError(f"{key}={text!r}: expected a value of type {getattr(annotation, '__name__', annotation)}") from None
    return text


def resolve_config(name: str, preset: str = "paper", overrides: dict[str, Any] | None = None) -> Any:
    """The config dataclass instance a trial runs with (see the module docstring for the order)."""
    entry = get_method_entry(name)
    if preset not in entry.presets:
        raise ConfigError(f"method {name!r} has no preset {preset!r}; presets: {', '.join(sorted(entry.presets))}")
    overrides = dict(overrides or {})
    _check_keys(entry.config_class, overrides, f"method {name!r}")
    clash = sorted(k for k in overrides if k in entry.fixed and entry.fixed[k] != overrides[k])
    if clash:
        raise ConfigError(f"method {name!r} is the variant {entry.base!r} with {clash} fixed to "
                          f"{[entry.fixed[k] for k in clash]}; use {entry.base!r} to change them")
    types_ = _field_types(entry.config_class)
    values = {**entry.presets[preset], **entry.fixed}
    values.update({k: coerce_value(v, types_[k], k) for k, v in overrides.items()})
    return entry.config_class(**values)


def create_method(name: str, context: RunContext, preset: str = "paper", overrides: dict[str, Any] | None = None,
                  config: Any = None) -> Method:
    entry = get_method_entry(name)
    config = config if config is not None else resolve_config(name, preset, overrides)
    method = entry.method_class(config, context)
    # a variant shares its base's class, so the instance carries the variant's info
    method.info = entry.info
    return method
