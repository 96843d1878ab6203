"""The method registry: ``@register_method`` on a :class:`Method` subclass, variants as registered configs.

Like timm's ``register_model``: a name maps to a class, its config dataclass and its presets;
an ablation is a *variant* — a name plus fixed config overrides — never a copy of code.
``create_method(name, preset, overrides, context)`` resolves the config in this order:
dataclass defaults (the ``paper`` settings) → preset → variant's fixed overrides → user
``--set`` overrides.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hsibench.errors import HsibenchError
from hsibench.methods.catalog import BUILTIN_METHODS
from hsibench.methods.info import MethodInfo
from hsibench.registry import Registry, UnknownNameError, close_matches

if TYPE_CHECKING:
    from hsibench.methods.base import Method, RunContext

class UnknownMethodError(UnknownNameError):
    """A method name that is not registered."""


class ConfigError(HsibenchError, ValueError):
    """A ``--set`` key or value a method's config does not accept."""


@dataclass(frozen=True)
class MethodEntry:
    info: MethodInfo
    method_class: type[Method]
    config_class: type
    presets: dict[str, dict[str, Any]]
    fixed: dict[str, Any] = field(default_factory=dict)  # a variant's overrides
    base: str | None = None  # the method a variant derives from


#: every method and variant; built-ins are declared in ``catalog.py`` and their modules imported on lookup
METHODS: Registry[MethodEntry] = Registry(
    "method", {name: builtin.module for name, builtin in BUILTIN_METHODS.items()}, error=UnknownMethodError)


def register_method(name: str, *, family: str, uses_source_labels: bool, pretrains: bool, reference: str,
                    config: type, presets: dict[str, dict[str, Any]] | None = None, description: str = ""):
    """Class decorator registering a method under ``name``.

    ``presets`` maps preset names to config overrides; a method that has none (its defaults are
    its only settings) may leave it out, and then every preset name (``paper``, ``cpu``, ``smoke``)
    means its defaults.
    """
    presets = dict(presets or {})
    for preset in ("paper", "cpu", "smoke"):
        presets.setdefault(preset, {})
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
    METHODS.register(entry.info.name, entry)


def method_names() -> list[str]:
    """Every method and variant, built-in and plugin, without importing any method module."""
    return METHODS.names()


def get_method_entry(name: str) -> MethodEntry:
    return METHODS.get(name)


def method_info(name: str) -> MethodInfo:
    """What a method is, without importing a built-in method's module (and torch) just to list it."""
    entry = METHODS.peek(name)
    if entry is not None:
        return entry.info
    builtin = BUILTIN_METHODS.get(name)
    return builtin.info if builtin is not None else get_method_entry(name).info


def when_changed(default: Any, **kwargs: Any) -> Any:
    """A config field added after records existed: it enters run ids only while set away from its default
    (``identity = "when_changed"``, read by the runner's ``config_identity``), so committed records keep theirs."""
    return field(default=default, metadata={"identity": "when_changed"}, **kwargs)


def _field_types(config_class: type) -> dict[str, Any]:
    hints = typing.get_type_hints(config_class)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_class)}


def _check_keys(config_class: type, values: dict[str, Any], where: str) -> None:
    valid = _field_types(config_class)
    unknown = sorted(set(values) - set(valid))
    if unknown:
        hints = {k: close_matches(k, valid) for k in unknown}
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
        errors = []
        for option in options:  # e.g. `int | Literal["published"]`: the first member the text parses as
            try:
                return coerce_value(text, option, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(" or ".join(errors))
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
