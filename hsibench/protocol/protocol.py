"""Protocols are files: one TOML per cross-domain few-shot protocol, validated on load.

A protocol names a source and a target scene (optionally a rectangular region of each, and the
scene's options, e.g. Jasper Ridge's label ``purity``), the shots per class, the seeds, the patch
size, and how splits, normalisation and padding work. Instead of one ``source`` it may list
``sources``: self-supervised methods pretrain on their pooled pixels. Defaults follow the DCFSL
literature (k = 5, the ten published seeds, 9×9 zero-padded patches, legacy split, scene-wide z-score).

Checks that need only a scene's registered facts (:class:`~hsibench.data.SceneInfo`, no file)
happen here: a target must have labels, a scene option must exist, and
:func:`check_source_labels` refuses a method that uses source labels where the source has none
(or where several sources are pooled) before anything runs.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hsibench.data.registry import SCENES
from hsibench.errors import HsibenchError
from hsibench.protocol.normalise import NORMALISATIONS
from hsibench.protocol.split import SHORT_CLASS_POLICIES, SPLIT_MODES
from hsibench.registry import close_matches

PADDING_MODES = ("zero", "reflect", "edge")


def check_patch_size(patch_size: int) -> None:
    if not isinstance(patch_size, int) or patch_size < 1 or patch_size % 2 == 0:
        raise ValueError(
            f"patch_size must be an odd positive integer (the centre pixel is the labelled one), got {patch_size!r}"
        )


PUBLISHED_SEEDS = (1330, 1220, 1336, 1337, 1224, 1236, 1226, 1235, 1233, 1229)
SUPPORT_FROM = ("labels", "official")


class ProtocolError(HsibenchError, ValueError):
    """A protocol file or name that cannot be used; the message names the file and the key."""


class SourceLabelsRefused(HsibenchError, ValueError):
    """A method that uses source labels was asked to run where there are none to use: the source labels would be
    target labels, the source scene has no labels, or several sources are pooled."""


class PooledSourceRefused(HsibenchError, ValueError):
    """A method that learns from one source scene was given a protocol that pools several."""


@dataclass(frozen=True)
class SceneRegion:
    """A registered scene, or a rectangular part of it (``rows``/``cols`` are [start, stop) pixel ranges).

    ``options`` are the scene's options as sorted ``(name, value)`` pairs (e.g. ``(("purity", 0.7),)``),
    handed to the scene's ``load(**options)``; empty = the scene's defaults.
    """

    scene: str
    rows: tuple[int, int] | None = None
    cols: tuple[int, int] | None = None
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def is_whole(self) -> bool:
        return self.rows is None and self.cols is None

    @property
    def option_values(self) -> dict[str, Any]:
        return dict(self.options)

    def slices(self, height: int, width: int) -> tuple[slice, slice]:
        rows = self.rows or (0, height)
        cols = self.cols or (0, width)
        return slice(*rows), slice(*cols)

    def label(self) -> str:
        parts = [f"rows {self.rows[0]}–{self.rows[1] - 1}" if self.rows else "",
                 f"cols {self.cols[0]}–{self.cols[1] - 1}" if self.cols else "",
                 *(f"{name} = {value}" for name, value in self.options)]
        parts = [p for p in parts if p]
        return f"{self.scene} ({', '.join(parts)})" if parts else self.scene

    def to_dict(self) -> dict[str, Any]:
        """As in a record: ``{scene, rows, cols}``, plus ``options`` only when there are any (so the records
        of protocols written before scene options existed keep their content, and their run ids)."""
        data: dict[str, Any] = {"scene": self.scene, "rows": _json_plain(self.rows), "cols": _json_plain(self.cols)}
        if self.options:
            data["options"] = dict(self.options)
        return data

    def overlaps(self, other: SceneRegion) -> bool:
        """Whether two regions of the same scene share pixels (whatever their options: the pixels are the same).

        Patches cannot cross a region's border: a region is cropped *before* it is padded, so its
        border patches read padding, never the neighbouring region.
        """
        if self.scene != other.scene:
            return False

        def intersects(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
            if a is None or b is None:  # a whole axis meets everything
                return True
            return a[0] < b[1] and b[0] < a[1]

        return intersects(self.rows, other.rows) and intersects(self.cols, other.cols)


def _key(default, *, identity: bool = True, settable: bool = True, **kwargs):
    """A protocol field; ``identity=False``: it changes no trial's result (descriptions, UI defaults), so it stays
    out of run ids and record matching; ``settable=False``: ``--set`` cannot change it (scenes, seeds)."""
    return field(default=default, metadata={"identity": identity, "settable": settable}, **kwargs)


@dataclass(frozen=True)
class Protocol:
    """One protocol. ``source`` is the (first) source; ``extra_sources`` the others of a protocol that lists
    ``sources = [...]`` (pooled by self-supervised methods); :attr:`sources` is all of them, in file order."""

    name: str = field(metadata={"identity": True, "settable": False})
    source: SceneRegion = field(metadata={"identity": True, "settable": False})
    target: SceneRegion = field(metadata={"identity": True, "settable": False})
    # in the identity only when there are any (OPTIONAL_IDENTITY_KEYS): single-source run ids stay as they were
    extra_sources: tuple[SceneRegion, ...] = field(default=(), metadata={"identity": False, "settable": False})
    description: str = _key("", identity=False, settable=False)
    shots: int = _key(5)
    seeds: tuple[int, ...] = _key(PUBLISHED_SEEDS, identity=False, settable=False)  # which trials, not what one computes
    patch_size: int = _key(9)
    split_mode: str = _key("legacy")
    normalisation: str = _key("scene")
    padding: str = _key("zero")
    validation_per_class: int = _key(0)
    spatial_buffer: int = _key(0)
    short_classes: str = _key("error")
    # the method preset a command uses when none is given (the demo: "smoke"); the record has the preset itself
    default_preset: str = _key("paper", identity=False, settable=False)
    support_from: str = _key("labels")  # "official": support from the official training map, test = official test map
    notes: str = _key("", identity=False, settable=False)
    path: str = field(default="", compare=False, metadata={"identity": False, "settable": False})

    @property
    def sources(self) -> tuple[SceneRegion, ...]:
        """Every source region, the first being :attr:`source`."""
        return (self.source, *self.extra_sources)

    @property
    def pooled(self) -> bool:
        """Whether the protocol lists several sources."""
        return bool(self.extra_sources)

    @property
    def source_regions(self) -> tuple[SceneRegion, ...]:
        """The same as :attr:`sources` (every source region, the first being :attr:`source`)."""
        return self.sources

    @property
    def same_scene(self) -> bool:
        """Source and target come from the same scene (in-domain or split-scene protocols)."""
        return self.source.scene == self.target.scene

    def sources_label(self) -> str:
        return " + ".join(region.label() for region in self.sources)

    def with_overrides(self, **changes) -> Protocol:
        """A copy with some keys changed (CLI ``--mode``, sweeps over ``shots``), validated again."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ProtocolError(f"unknown protocol key(s) {unknown}; valid keys: {sorted(_FIELD_NAMES)}")
        updated = dataclasses.replace(self, **changes)
        validate_protocol(updated)
        return updated

    def to_dict(self) -> dict:
        """Plain data; regions as :meth:`SceneRegion.to_dict`, ``extra_sources`` only when there are any."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "path"}
        data["source"], data["target"] = self.source.to_dict(), self.target.to_dict()
        if self.extra_sources:
            data["extra_sources"] = [region.to_dict() for region in self.extra_sources]
        else:
            data.pop("extra_sources")
        return data


# the keys of the dataclass; a protocol file writes `sources = [...]` instead of `source` + `extra_sources`
_FIELD_NAMES = {f.name for f in dataclasses.fields(Protocol)} - {"path"}
_FILE_KEYS = (_FIELD_NAMES - {"extra_sources"}) | {"sources"}
#: the keys that decide a trial's split and data (run ids, record matching), declared once in the field metadata
IDENTITY_KEYS = tuple(f.name for f in dataclasses.fields(Protocol) if f.metadata["identity"])
#: keys that decide a trial's data too, but enter the identity only when set (a protocol written before they
#: existed keeps its identity, so its committed records keep their run ids)
OPTIONAL_IDENTITY_KEYS = ("extra_sources",)
#: the keys `--set` may change
SETTABLE_KEYS = frozenset(f.name for f in dataclasses.fields(Protocol) if f.metadata["settable"])


def protocol_identity(protocol: Protocol) -> dict:
    """The protocol's content that determines a trial's split and data (JSON-able)."""
    data = protocol.to_dict()
    identity = {key: _json_plain(data[key]) for key in IDENTITY_KEYS}
    identity.update({key: _json_plain(data[key]) for key in OPTIONAL_IDENTITY_KEYS if key in data})
    return identity


def identity_scenes(identity: dict) -> list[dict]:
    """The regions (as plain dicts) a protocol identity names: its sources, then its target."""
    regions = [identity.get("source"), *identity.get("extra_sources", ()), identity.get("target")]
    return [region if isinstance(region, dict) else {"scene": region} for region in regions if region]


def _json_plain(value):
    if isinstance(value, dict):
        return {k: _json_plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_json_plain(v) for v in value]
    return value


def parse_region(value, key: str, where: str) -> SceneRegion:
    """A region from a protocol file or a record: a scene name, or ``{scene, rows, cols, options}``
    (None = whole axis; ``options`` a table of scene options)."""
    if isinstance(value, str):
        return SceneRegion(value)
    if isinstance(value, dict):
        extra = sorted(set(value) - {"scene", "rows", "cols", "options"})
        if extra or "scene" not in value:
            raise ProtocolError(
                f"{where}: `{key}` must be a scene name or a table with `scene` and optional `rows`/`cols` "
                f"([start, stop) pixel ranges) and `options` (a table of scene options); got keys {sorted(value)}"
            )
        options = value.get("options") or {}
        if not isinstance(options, dict):
            raise ProtocolError(f"{where}: `{key}.options` must be a table of scene options, e.g. "
                                f"options = {{ purity = 0.7 }}; got {options!r}")
        ranges = {}
        for axis in ("rows", "cols"):
            if value.get(axis) is not None:
                pair = value[axis]
                if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int) for v in pair)
                        and 0 <= pair[0] < pair[1]):
                    raise ProtocolError(f"{where}: `{key}.{axis}` must be [start, stop) with 0 <= start < stop, got {pair!r}")
                ranges[axis] = (pair[0], pair[1])
        return SceneRegion(value["scene"], **ranges, options=tuple(sorted(options.items())))
    raise ProtocolError(f"{where}: `{key}` must be a scene name or a table, got {value!r}")


def parse_sources(value, where: str) -> tuple[SceneRegion, ...]:
    """``sources = [...]``: a non-empty list of regions (each as for ``source``), no region twice."""
    if not isinstance(value, list) or not value:
        raise ProtocolError(f"{where}: `sources` must be a non-empty list of scene names or region tables, got {value!r}")
    regions = tuple(parse_region(item, f"sources[{index}]", where) for index, item in enumerate(value))
    repeated = sorted({r.label() for r in regions if regions.count(r) > 1})
    if repeated:
        raise ProtocolError(f"{where}: `sources` lists {', '.join(repeated)} more than once")
    return regions


def _choice(value, allowed, key: str, where: str) -> None:
    if value not in allowed:
        raise ProtocolError(f"{where}: `{key}` = {value!r} is not one of {list(allowed)}")


def validate_protocol(protocol: Protocol) -> None:
    where = protocol.path or f"protocol {protocol.name!r}"
    try:
        check_patch_size(protocol.patch_size)
    except ValueError as error:
        raise ProtocolError(f"{where}: {error}") from None
    _choice(protocol.split_mode, SPLIT_MODES, "split_mode", where)
    _choice(protocol.normalisation, ("scene", "train"), "normalisation", where)
    _choice(protocol.padding, PADDING_MODES, "padding", where)
    _choice(protocol.short_classes, SHORT_CLASS_POLICIES, "short_classes", where)
    _choice(protocol.support_from, SUPPORT_FROM, "support_from", where)
    source_keys = [f"sources[{i}]" for i in range(len(protocol.sources))] if protocol.pooled else ["source"]
    for key, region in (*zip(source_keys, protocol.sources), ("target", protocol.target)):
        _check_region(region, key, where)
    target = SCENES.get(protocol.target.scene).info
    if not target.labeled:
        raise ProtocolError(f"{where}: the target scene {target.name!r} ({target.title}) has no labels, and a target "
                            "needs labels (its support set and test pixels are labeled pixels); use it as a source, "
                            "or choose a labeled target scene (`hsibench data list`)")
    if not isinstance(protocol.default_preset, str) or not protocol.default_preset:
        raise ProtocolError(f"{where}: `default_preset` must be a preset name such as \"paper\" or \"smoke\"")
    if not isinstance(protocol.shots, int) or protocol.shots < 1:
        raise ProtocolError(f"{where}: `shots` must be a positive integer, got {protocol.shots!r}")
    if not protocol.seeds or not all(isinstance(s, int) and s >= 0 for s in protocol.seeds):
        raise ProtocolError(f"{where}: `seeds` must be a non-empty list of non-negative integers")
    if protocol.validation_per_class < 0 or protocol.spatial_buffer < 0:
        raise ProtocolError(f"{where}: `validation_per_class` and `spatial_buffer` must be >= 0")
    if protocol.split_mode == "legacy" and (protocol.validation_per_class or protocol.spatial_buffer):
        raise ProtocolError(
            f"{where}: the legacy split has no validation carve-out or spatial buffer (the published code has "
            "neither); use split_mode = \"clean\" for those"
        )
    assert protocol.normalisation in NORMALISATIONS


def _check_region(region: SceneRegion, key: str, where: str) -> None:
    """The scene is registered and has the options the region gives (its facts only: no file is read)."""
    if region.scene not in SCENES:
        close = close_matches(region.scene, SCENES.names())
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ProtocolError(f"{where}: `{key}` names the unknown scene {region.scene!r}.{hint} "
                            f"Registered scenes: {', '.join(SCENES.names())} (`hsibench data list`)")
    info = SCENES.get(region.scene).info
    unknown = sorted(set(region.option_values) - set(info.options))
    if unknown:
        valid = (", ".join(f"{option} (default {default!r})" for option, default in info.options.items())
                 if info.options else "none: it takes no options")
        raise ProtocolError(f"{where}: `{key}.options` gives {', '.join(map(repr, unknown))}, which scene "
                            f"{region.scene!r} does not have; its options are {valid}")


def check_source_labels(protocol: Protocol, method: str) -> None:
    """Refuse, from the scenes' registered facts alone, a method that uses source labels where there are none to use.

    Called when a trial is planned (before anything runs) and again when its source domain is built:
    several sources, an unlabeled source, and a source region that shares pixels with the target (its labels
    would be target labels) are each refused with the reason.
    """
    if protocol.pooled:
        raise SourceLabelsRefused(
            f"method {method!r} uses source labels and learns from one source scene, but protocol {protocol.name!r} "
            f"pools {len(protocol.sources)} sources ({protocol.sources_label()}); run it on a single-source protocol, "
            "or run a method that pretrains without labels (s2former, mae) on this one")
    info = SCENES.get(protocol.source.scene).info
    if not info.labeled:
        raise SourceLabelsRefused(
            f"method {method!r} uses source labels, but the source scene {info.name!r} of protocol {protocol.name!r} "
            f"({info.title}) has no labels; run a method that does not use source labels (s2former, mae, svm, cnn3d, "
            "ssftt) on this protocol, or choose one with a labeled source")
    if protocol.source.overlaps(protocol.target):
        raise SourceLabelsRefused(
            f"protocol {protocol.name!r}: source {protocol.source.label()} overlaps target {protocol.target.label()}, "
            f"so source labels would be target labels. Method {method!r} uses source labels and cannot run on this "
            "protocol; choose a protocol with a separate source scene or region.")


def parse_protocol(data: dict, name: str, path: str = "") -> Protocol:
    """Validate a protocol's TOML table; unknown keys are an error (a typo must not pass silently)."""
    where = path or f"protocol {name!r}"
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        hints = {k: difflib.get_close_matches(k, _FILE_KEYS, n=1) for k in unknown}
        described = ", ".join(f"`{k}`" + (f" (did you mean `{hints[k][0]}`?)" if hints[k] else "") for k in unknown)
        raise ProtocolError(f"{where}: unknown key(s) {described}. Valid keys: {', '.join(sorted(_FILE_KEYS))}")
    if "source" in data and "sources" in data:
        raise ProtocolError(f"{where}: give either `source` (one scene) or `sources` (a list), not both")
    if "source" not in data and "sources" not in data:
        raise ProtocolError(f"{where}: missing required key `source` (a scene name) or `sources` (a list of them)")
    if "target" not in data:
        raise ProtocolError(f"{where}: missing required key `target` (a scene name)")
    values = dict(data)
    values["name"] = values.get("name", name)
    if "sources" in values:
        first, *rest = parse_sources(values.pop("sources"), where)
        values["source"], values["extra_sources"] = first, tuple(rest)
    else:
        values["source"] = parse_region(data["source"], "source", where)
    values["target"] = parse_region(data["target"], "target", where)
    if "seeds" in values:
        values["seeds"] = tuple(values["seeds"])
    protocol = Protocol(path=path, **values)
    validate_protocol(protocol)
    return protocol


def _protocol_dir():
    return resources.files("hsibench.protocol_files")


def protocol_names() -> list[str]:
    return sorted(p.name[:-5] for p in _protocol_dir().iterdir() if p.name.endswith(".toml"))


def load_protocol(name_or_path: str | Path) -> Protocol:
    """A shipped protocol by name (``pu2pc``) or any TOML file by path (a path must end in ``.toml``).

    A bare name is only ever a shipped protocol: a folder or file of that name in the working
    directory (e.g. a results folder called ``demo``) is never mistaken for it.
    """
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml":
        if not candidate.is_file():
            raise ProtocolError(f"protocol file {candidate} does not exist")
        text, path, name = candidate.read_text(), str(candidate), candidate.stem
    else:
        name = str(name_or_path)
        if len(candidate.parts) > 1 or candidate.suffix:
            raise ProtocolError(f"{name!r} is neither a shipped protocol name nor a path ending in .toml; "
                                f"shipped protocols: {', '.join(protocol_names())}")
        resource = _protocol_dir() / f"{name}.toml"
        if not resource.is_file():
            close = difflib.get_close_matches(name, protocol_names(), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ProtocolError(f"unknown protocol {name!r}.{hint} Valid names: {', '.join(protocol_names())}")
        text, path = resource.read_text(), f"protocols/{name}.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(f"{path}: not valid TOML: {error}") from None
    return parse_protocol(data, name, path)
