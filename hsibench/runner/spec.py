"""What one trial is, as plain data: a :class:`TrialSpec` travels to Ray workers as a dict.

A spec names the method, preset, protocol and seed, plus the user's ``--set`` overrides split
into protocol keys and method-config keys. :func:`resolve` turns it into the objects a trial
runs with and the *run id*: a hash of everything that determines the result (method, resolved
config, protocol content, seed), so the same trial always lands in the same
record file — that is what makes re-runs skip and interrupted sweeps resume without duplicates.
The code version is not part of the run id: each record stores the fingerprint of the code that
made it, and a run replaces (and keeps under ``superseded/``) a record made by other code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import json
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hsibench.methods import get_method_entry, resolve_config
from hsibench.methods.registry import MethodEntry, coerce_value
from hsibench.methods.training import PRECISION_DTYPES, PrecisionError
from hsibench.protocol import Protocol, ProtocolError, load_protocol
from hsibench.protocol.protocol import SETTABLE_KEYS, PooledSourceRefused, check_source_labels, protocol_identity
from hsibench.runner.audit_modes import check_audit_mode
from hsibench.runner.record_schema import record_stem
from hsibench.runner.source_domains import needs_source

# Protocol fields a `--set` may change (declared in the Protocol's field metadata)
PROTOCOL_SETTABLE_KEYS = SETTABLE_KEYS


@dataclass(frozen=True)
class TrialSpec:
    """One trial as plain, JSON-able data (paths absolute: Ray workers may run elsewhere)."""

    method: str
    protocol: str  # a shipped protocol name or a TOML path
    seed: int
    preset: str = "paper"
    method_overrides: dict[str, Any] = field(default_factory=dict)
    protocol_overrides: dict[str, Any] = field(default_factory=dict)
    out_dir: str = "results"
    cache_dir: str = ""
    device: str = "auto"
    threads: int = 1  # torch intra-op threads = the CPUs the trial was given
    deterministic: bool = False  # torch.use_deterministic_algorithms (bit-identical reruns on the same hardware)
    # the dtype training and inference autocast to (fp32, bf16, fp16; methods/training.py): it changes the numbers, so
    # the run id carries it — only when not fp32, so every record made before it existed keeps its run id
    precision: str = "fp32"
    save_map: bool = False
    # keep the adapted model beside the record (runner/saved_models.py); where/how, not what: not in the run id
    save_model: bool = False
    plugins: tuple[str, ...] = ()  # extra modules or .py files that register methods
    # `run --preset FILE.toml`: {"path", "sha256", "base"} of the preset file whose settings are in method_overrides
    # (the settings decide the run id through the config; the file is only named, so records can say where they came from)
    preset_file: dict[str, Any] | None = None
    # `hsibench audit` only: the evaluation habit this trial measures (hsibench/runner/audit_modes.py); None for every
    # other command. It enters the run id when set, so an audit trial never shares a record with an ordinary one
    audit: str | None = None
    # the RNG-chaining habit only: every seed of the trial's chain, in the order they run (it enters the run id, so
    # the same seed in another chain is another trial: its generators continue other runs)
    chain_seeds: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["plugins"] = list(self.plugins)
        data["chain_seeds"] = list(self.chain_seeds)
        return data

    @staticmethod
    def from_dict(data: dict[str, Any]) -> TrialSpec:
        return TrialSpec(**{**data, "plugins": tuple(data.get("plugins", ())),
                            "chain_seeds": tuple(data.get("chain_seeds", ()))})

    @property
    def label(self) -> str:
        """Short human name used by the progress display."""
        extra = ",".join(f"{k}={v}" for k, v in {**self.protocol_overrides, **self.method_overrides}.items())
        name = f"{self.method} ({self.audit})" if self.audit else self.method
        return f"{name}[{extra}]/seed {self.seed}" if extra else f"{name}/seed {self.seed}"


@dataclass(frozen=True)
class ResolvedTrial:
    """A spec with its protocol loaded, its config resolved and its run id computed."""

    spec: TrialSpec
    protocol: Protocol
    config: Any  # the method's config dataclass instance
    entry: MethodEntry
    run_id: str
    precision: str = "fp32"  # what the method computes in: the spec's, or fp32 for a method that ignores it

    @property
    def record_name(self) -> str:
        return record_stem(self.spec.method, self.spec.seed, self.run_id, self.spec.audit)


def load_plugins(plugins: typing.Iterable[str]) -> None:
    """Import modules that register extra methods: a dotted module name or a path to a ``.py`` file.

    A file is imported under its stem with its folder put on ``sys.path``, so a Ray worker and
    the driver import it under the same name and a module imported already is not run twice
    (it would register its methods twice). Where the file does not exist — a Ray node without the
    driver's folders — the module of that name is imported instead when one is importable and is a
    file of the same name: what shipping the plugin through ``runtime_env`` puts on the worker's path
    (:func:`hsibench.runner.plugin_shipping.plugin_runtime_env`). Neither: ``FileNotFoundError``.
    """
    for plugin in plugins:
        if plugin.endswith(".py"):
            path = Path(plugin).resolve()
            if not path.is_file():
                if not _import_shipped_plugin(path):
                    raise FileNotFoundError(
                        f"plugin file {path} does not exist, and no module {path.stem!r} from a file of that name is "
                        "importable here; check the path, or ship the plugin to Ray workers through runtime_env "
                        "(hsibench.runner.plugin_shipping.plugin_runtime_env)")
                continue
            if path.stem in sys.modules:
                continue
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))
            importlib.import_module(path.stem)
        elif plugin not in sys.modules:
            importlib.import_module(plugin)


def _import_shipped_plugin(path: Path) -> bool:
    """Import, by its stem, the copy of a missing plugin file found on ``sys.path``; False when there is none.

    Only a single-file module of the plugin's own file name counts, so a missing ``/gone/svm_extra.py``
    never silently imports some installed package that happens to share the stem.
    """
    module = sys.modules.get(path.stem)
    if module is not None:
        return Path(getattr(module, "__file__", None) or "").name == path.name
    try:
        spec = importlib.util.find_spec(path.stem)
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.origin or Path(spec.origin).name != path.name:
        return False
    importlib.import_module(path.stem)
    return True


def split_overrides(pairs: dict[str, Any], method: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``--set`` pairs → (protocol overrides, method-config overrides).

    ``protocol.KEY`` and ``method.KEY`` force a side; a bare key goes to the protocol when it is
    a protocol key (shots, split_mode, normalisation, spatial_buffer, validation_per_class,
    patch_size, …), otherwise to the method config.
    """
    protocol_overrides: dict[str, Any] = {}
    method_overrides: dict[str, Any] = {}
    for key, value in pairs.items():
        side, _, bare = key.partition(".")
        if bare and side == "protocol":
            if bare not in PROTOCOL_SETTABLE_KEYS:
                raise ProtocolError(f"--set {key}: {bare!r} is not a settable protocol key; "
                                    f"valid: {', '.join(sorted(PROTOCOL_SETTABLE_KEYS))}")
            protocol_overrides[bare] = value
        elif bare and side == "method":
            method_overrides[bare] = value
        elif key in PROTOCOL_SETTABLE_KEYS:
            protocol_overrides[key] = value
        else:
            method_overrides[key] = value
    return protocol_overrides, method_overrides


def apply_protocol_overrides(protocol: Protocol, overrides: dict[str, Any]) -> Protocol:
    """The protocol with ``--set`` values coerced to each field's type and validated."""
    if not overrides:
        return protocol
    hints = typing.get_type_hints(Protocol)
    bad = sorted(set(overrides) - PROTOCOL_SETTABLE_KEYS)
    if bad:
        raise ProtocolError(f"protocol key(s) {bad} cannot be overridden; valid: {', '.join(sorted(PROTOCOL_SETTABLE_KEYS))}")
    typed = {key: coerce_value(value, hints[key], key) for key, value in overrides.items()}
    return protocol.with_overrides(**typed)


def config_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as JSON-able plain data (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


#: field metadata ``identity=IDENTITY_WHEN_CHANGED``: a key added after records existed enters run ids only when set
#: away from its default, so the committed records of trials that never set it keep their run ids
IDENTITY_WHEN_CHANGED = "when_changed"


def _default(item: dataclasses.Field) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    return item.default_factory() if item.default_factory is not dataclasses.MISSING else dataclasses.MISSING


def config_identity(config: Any) -> dict[str, Any]:
    """The config keys that decide what a trial computes: keys marked ``identity=False`` in their field
    metadata (execution-only, e.g. ``torch.compile``) are left out, so they never split one trial in two;
    keys marked ``identity="when_changed"`` only while they hold their default."""
    data = config_dict(config)
    for item in dataclasses.fields(config):
        identity = item.metadata.get("identity")
        if identity is False or (identity == IDENTITY_WHEN_CHANGED and getattr(config, item.name) == _default(item)):
            data.pop(item.name, None)
    return data


def check_method_fits_protocol(entry: MethodEntry, protocol: Protocol, method: str) -> None:
    """Refuse, before anything runs and from the scenes' registered facts only, a method the protocol's source
    cannot serve: source labels where there are none (or several sources), several sources for a method that
    pretrains on one."""
    if entry.info.uses_source_labels:
        check_source_labels(protocol, method)
    if protocol.pooled and needs_source(entry.info) and not entry.method_class.accepts_pooled_sources:
        raise PooledSourceRefused(
            f"method {method!r} pretrains on one source scene, but protocol {protocol.name!r} pools "
            f"{len(protocol.sources)} sources ({protocol.sources_label()}); run it on a single-source protocol")


def compute_run_id(method: str, config: Any, protocol: Protocol, seed: int, audit: str | None = None,
                   chain_seeds: tuple[int, ...] = (), precision: str = "fp32") -> str:
    """What question a trial asks (method, config, protocol content, seed, the precision it computes in, and the
    audit habit it measures, if any) — not which code answers it: the record's code fingerprint says that, and a
    record made by other code is superseded, not kept."""
    payload = {"method": method, "config": config_identity(config), "protocol": protocol_identity(protocol),
               "seed": seed}
    if precision != "fp32":  # fp32 trials keep the run ids they had before precision was a key
        payload["precision"] = precision
    if audit is not None:  # only audit trials carry it: every other run id stays as it was
        payload["audit"] = audit
    if chain_seeds:
        payload["chain_seeds"] = list(chain_seeds)
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def check_precision_name(precision: str) -> str:
    """``precision`` when it is one of fp32, bf16, fp16; else a clear error naming the valid ones (whether the
    device can run it is checked where the trial runs: methods/training.py ``check_precision``)."""
    if precision not in PRECISION_DTYPES:
        raise PrecisionError(f"precision {precision!r} is not one of {', '.join(PRECISION_DTYPES)} (--precision)")
    return precision


def resolve(spec: TrialSpec) -> ResolvedTrial:
    """Load the protocol, resolve the config and compute the run id; raises clear errors on bad input."""
    load_plugins(spec.plugins)
    entry = get_method_entry(spec.method)
    protocol = apply_protocol_overrides(load_protocol(spec.protocol), spec.protocol_overrides)
    config = resolve_config(spec.method, spec.preset, spec.method_overrides)
    check_method_fits_protocol(entry, protocol, spec.method)
    check_audit_mode(spec.audit, spec.seed, spec.chain_seeds)
    precision = entry.method_class.effective_precision(config, check_precision_name(spec.precision))
    return ResolvedTrial(spec, protocol, config, entry,
                         compute_run_id(spec.method, config, protocol, spec.seed, spec.audit, spec.chain_seeds, precision),
                         precision)
