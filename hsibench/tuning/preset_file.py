"""Preset files: a tuned configuration as a small TOML file that ``hsibench run --preset FILE.toml`` reads.

A file names its ``method`` and the ``base_preset`` the search started from, holds the chosen
overrides under ``[settings]``, and says where they came from under ``[provenance]`` (the protocol
and its identity, the search's budget, the best validation accuracy, the date, the code fingerprint,
the hsibench version), so a table built from it can say how its settings were chosen. A run records
the file's path and sha256 (:func:`preset_file_reference`), so the record names exactly the file
it used.

TOML has no null: a ``None`` setting is written as the string ``"none"`` (which a config field that
allows ``None`` reads back as ``None``), and ``None`` provenance values are left out. Files are
written atomically (temporary file, then rename): an interrupted search never leaves half a file.
Reading imports neither torch nor Ray.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from hsibench.methods import get_method_entry
from hsibench.methods.registry import ConfigError, coerce_value
from hsibench.tuning.errors import PresetFileError

#: the file format; a reader refuses files of a format it does not know
PRESET_FILE_FORMAT = 1


@dataclass(frozen=True)
class PresetFile:
    """What a preset file holds; ``settings`` are config overrides on top of ``base_preset``."""

    method: str
    base_preset: str
    settings: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # where it was read from (not stored)
    sha256: str | None = None  # of the file's bytes, when read

    def reference(self) -> dict[str, Any]:
        """``{path, sha256, base}``: what a trial spec and its record keep of the file."""
        return {"path": str(self.path) if self.path else None, "sha256": self.sha256, "base": self.base_preset}


def _plain(value: Any, keep_none: bool) -> Any:
    """A value TOML can write: tuples as lists, ``None`` as ``"none"`` (settings) or dropped (provenance)."""
    if isinstance(value, dict):
        return {str(k): _plain(v, keep_none) for k, v in value.items() if keep_none or v is not None}
    if isinstance(value, tuple | list):
        return [_plain(v, keep_none) for v in value if keep_none or v is not None]
    if value is None:
        return "none"
    if isinstance(value, _numpy_scalar_types()):
        return value.item()
    return value


def _numpy_scalar_types() -> tuple[type, ...]:
    """NumPy scalars (a sampler may hand back ``numpy.float64``), without importing NumPy when it is not loaded."""
    import sys

    numpy = sys.modules.get("numpy")
    return (numpy.generic,) if numpy is not None else ()


def preset_file_text(preset: PresetFile) -> str:
    data = {"format": PRESET_FILE_FORMAT, "method": preset.method, "base_preset": preset.base_preset,
            "settings": _plain(preset.settings, keep_none=True), "provenance": _plain(preset.provenance, keep_none=False)}
    return tomli_w.dumps(data)


def write_preset_file(path: str | Path, preset: PresetFile) -> Path:
    """Write atomically (temporary file in the same folder + ``os.replace``); returns the path."""
    path = Path(path)
    if path.suffix != ".toml":
        raise PresetFileError(f"a preset file's name must end in .toml (hsibench run --preset reads it by that), "
                              f"got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(preset_file_text(preset))
    os.replace(temporary, path)
    return path


def _typed_settings(method: str, settings: dict[str, Any], where: str) -> dict[str, Any]:
    """Check every key against the method's config and restore the Python shapes TOML lost (tuples, ``None``)."""
    entry = get_method_entry(method)
    hints = typing.get_type_hints(entry.config_class)
    valid = sorted(item.name for item in dataclasses.fields(entry.config_class))
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise PresetFileError(f"{where}: [settings] names {', '.join(unknown)}, which method {method!r}'s config does "
                              f"not have. Valid keys: {', '.join(valid)}")
    typed = {}
    for key, value in settings.items():
        if isinstance(value, str):  # "none" for None, a Literal's name: the registry's own `--set` parsing
            try:
                value = coerce_value(value, hints[key], key)
            except ConfigError as error:
                raise PresetFileError(f"{where}: [settings] {error}") from None
        elif isinstance(value, list) and (typing.get_origin(hints[key]) is tuple or _tuple_member(hints[key])):
            value = tuple(value)
        typed[key] = value
    return typed


def _tuple_member(annotation: Any) -> bool:
    return any(typing.get_origin(member) is tuple for member in typing.get_args(annotation))


def load_preset_file(path: str | Path, method: str) -> PresetFile:
    """Read and check a preset file for ``method``; every problem is a :class:`PresetFileError` naming the file."""
    path = Path(path)
    data, raw = read_preset_data(path, method)
    entry = get_method_entry(method)
    if data["base_preset"] not in entry.presets:
        raise PresetFileError(f"preset file {path}: base_preset {data['base_preset']!r} is not a preset of method "
                              f"{method!r}; presets: {', '.join(sorted(entry.presets))}")
    settings = _typed_settings(method, data["settings"], f"preset file {path}")
    provenance = data.get("provenance") if isinstance(data.get("provenance"), dict) else {}
    return PresetFile(method, data["base_preset"], settings, provenance, path.resolve(), hashlib.sha256(raw).hexdigest())


def read_preset_data(path: str | Path, method: str) -> tuple[dict[str, Any], bytes]:
    """The file's TOML data and bytes, checked for shape and ``method`` but not against the method's config, so
    reading it imports no method (what a table needs: the base preset, the setting names and the sha256)."""
    path = Path(path)
    if not path.is_file():
        raise PresetFileError(f"preset file {path} does not exist (make one with `hsibench tune --method {method} "
                              f"--protocol demo_dev --out {path}`)")
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PresetFileError(f"preset file {path} is not valid TOML: {error}") from None
    if data.get("format", PRESET_FILE_FORMAT) != PRESET_FILE_FORMAT:
        raise PresetFileError(f"preset file {path} has format {data.get('format')!r}; this hsibench reads format "
                              f"{PRESET_FILE_FORMAT} (upgrade hsibench, or tune again)")
    missing = [key for key in ("method", "base_preset", "settings") if key not in data]
    if missing:
        raise PresetFileError(f"preset file {path} lacks {', '.join(missing)}; a preset file holds `method`, "
                              "`base_preset` and a [settings] table (as `hsibench tune` writes it)")
    if not isinstance(data["method"], str) or not isinstance(data["base_preset"], str) \
            or not isinstance(data["settings"], dict):
        raise PresetFileError(f"preset file {path}: `method` and `base_preset` must be strings and [settings] a table")
    if data["method"] != method:
        raise PresetFileError(f"preset file {path} was made for method {data['method']!r}, not {method!r}; "
                              f"tune {method!r} (`hsibench tune --method {method} …`) or run {data['method']!r}")
    return data, raw


#: in a ``--preset`` value, replaced by each method's name: one tuned file per method (``DIR/{method}-dev.toml``)
METHOD_FIELD = "{method}"


def preset_file_path(preset: str | Path, method: str) -> Path:
    """The file a ``--preset`` value names for ``method`` (a template's ``{method}`` replaced)."""
    return Path(str(preset).replace(METHOD_FIELD, method))


def is_preset_file(preset: str | None) -> bool:
    """Whether a ``--preset`` value names a file (ends in ``.toml``) rather than a registered preset."""
    return bool(preset) and str(preset).endswith(".toml")


def preset_file_reference(path: str | Path, method: str) -> dict[str, Any]:
    """The ``{path, sha256, base}`` of a file, checked for ``method``."""
    return load_preset_file(path, method).reference()
