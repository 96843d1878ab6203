"""Which records a table may use, grouped by method (and sweep value) and paired by seed.

A table compares like with like: only ``ok`` records of the requested protocol content (the
split mode, shots… as given), with no config change beyond the swept key, one preset per method,
and — per seed — the very same split for every method (the split fingerprints must agree) — and
one version of the code behind all of them (see :mod:`.provenance`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hsibench.protocol.protocol import parse_region
from hsibench.report.display import method_display_name
from hsibench.report.errors import ReportError
from hsibench.report.preset_selection import PresetSelection
from hsibench.report.provenance import check_single_code
from hsibench.runner.record_schema import TrialRecord

log = logging.getLogger(__name__)


def source_overlaps_target(protocol: dict[str, Any]) -> bool:
    """Whether a record's protocol pretrains where it tests (same scene, intersecting regions)."""
    if "source" not in protocol or "target" not in protocol:
        return False
    where = "a record's protocol"
    return parse_region(protocol["source"], "source", where).overlaps(parse_region(protocol["target"], "target", where))


def reads_unlabeled_target(config: dict[str, Any]) -> bool:
    """Whether a run's fine-tuning read unlabeled target pixels (S²Former's ``daft_unlabeled``): transductive.

    Those pixels are every valid target pixel, the test pixels included (their spectra, never their labels).
    ``daft_unlabeled`` acts only with ``daft`` on (default on), as in the fine-tuning loop.
    """
    return config.get("daft_unlabeled") is True and config.get("daft", True) is not False


@dataclass(frozen=True)
class Group:
    """The records of one method (at one sweep value), one per seed."""

    method: str
    sweep_value: Any
    by_seed: dict[int, TrialRecord]

    @property
    def base(self) -> str | None:
        """The method this one is a variant of (an ablation), as its records say; None for a method."""
        return next((r.method_base for r in self.by_seed.values() if r.method_base), None)

    @property
    def family(self) -> str | None:
        return next((r.family for r in self.by_seed.values() if r.family), None)

    @property
    def display_name(self) -> str:
        return method_display_name(self.method, self.base)

    @property
    def uses_source_labels(self) -> bool:
        return any(r.uses_source_labels for r in self.by_seed.values())

    @property
    def pretrains_on_target(self) -> bool:
        """Self-supervised pretraining on a source that overlaps the target: transductive (labels unseen)."""
        return any(r.pretrains and source_overlaps_target(r.protocol) for r in self.by_seed.values())

    @property
    def fine_tunes_on_target(self) -> bool:
        """Fine-tuning that also read the target's unlabeled pixels, test pixels included: transductive."""
        return any(reads_unlabeled_target(r.config) for r in self.by_seed.values())

    def values(self, extract) -> dict[int, float]:
        """seed → value, for the seeds where ``extract(record)`` is defined."""
        out = {}
        for seed, record in self.by_seed.items():
            value = extract(record)
            if value is not None:
                out[seed] = value
        return out


def _without(data: dict[str, Any], key: str | None) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


def sweep_value(record: TrialRecord, key: str | None) -> Any:
    """The record's value of the swept key (a protocol key or a method-config key)."""
    if key is None:
        return None
    if key in record.protocol:
        return record.protocol[key]
    if key in record.config:
        return record.config[key]
    raise ReportError(f"records of {record.method} have no protocol or config key {key!r} ({record.path})")


def identity_of(protocol: dict[str, Any]) -> dict[str, Any]:
    """A record's protocol content without keys that change no result (records before schema 2 stored some)."""
    from hsibench.protocol.protocol import IDENTITY_KEYS, OPTIONAL_IDENTITY_KEYS

    kept = set(IDENTITY_KEYS) | set(OPTIONAL_IDENTITY_KEYS)
    return {key: value for key, value in protocol.items() if key in kept}


def matching_records(records: list[TrialRecord], protocol: dict[str, Any], sweep_key: str | None = None,
                     methods: list[str] | None = None, presets: PresetSelection | None = None) -> list[TrialRecord]:
    """``ok`` records of ``protocol`` (content, as in records) whose only change is ``sweep_key``, made with the
    ``presets`` selection's preset files (default: without a preset file; their settings are then allowed).

    Never an audit trial's record (``hsibench audit``): those measure an evaluation habit, and a habit such as
    test-pixel checkpoint selection must not reach a table of methods, wherever its record lies.
    """
    presets = presets or PresetSelection(None)
    wanted = _without(identity_of(protocol), sweep_key)
    return [
        record for record in records
        if record.ok
        and record.audit is None
        and (methods is None or record.method in methods)
        and presets.admits(record)
        and _without(identity_of(record.protocol), sweep_key) == wanted
        and set(record.method_overrides) <= ({sweep_key} if sweep_key else set()) | presets.settings_of(record)
    ]


def record_precision(record: TrialRecord) -> str:
    """What the record's trial computed in (records from before ``--precision`` existed: fp32)."""
    return (record.machine.precision if record.machine else None) or "fp32"


def refuse_several(records: list[TrialRecord], value_of: Callable[[TrialRecord], str], what: str, option: str) -> None:
    """A clear error when one method's records carry several values of ``value_of`` (presets, precisions)."""
    found: dict[str, set[str]] = defaultdict(set)
    for record in records:
        found[record.method].add(value_of(record))
    for method, values in found.items():
        if len(values) > 1:
            raise ReportError(f"{method} has records of several {what} {sorted(values)} for this protocol; "
                              f"choose one with {option}")


def group_records(records: list[TrialRecord], sweep_key: str | None = None, preset: str | None = None,
                  methods: list[str] | None = None, allow_mixed_code: bool = False,
                  precision: str | None = None) -> list[Group]:
    """One group per (method, sweep value), ordered as ``methods`` (else by name); checks presets, precisions,
    splits and that one code made every record (unless ``allow_mixed_code``).

    A method with records of several presets or precisions is refused unless ``preset`` / ``precision`` picks one:
    the same seed at fp32 and bf16 are two trials, and a table must not silently take whichever finished last."""
    records = [record for record in records if (preset is None or record.preset == preset)
               and (precision is None or record_precision(record) == precision)]
    refuse_several(records, lambda record: record.preset, "presets", "--preset")
    refuse_several(records, record_precision, "precisions", "--precision")
    chosen: dict[tuple[str, Any], dict[int, TrialRecord]] = defaultdict(dict)
    for record in sorted(records, key=lambda r: r.finished_at or ""):
        key = (record.method, sweep_value(record, sweep_key))
        if record.seed in chosen[key]:
            log.warning("%s seed %s has several records; using the latest (%s)", key[0], record.seed, record.path)
        chosen[key][record.seed] = record  # the latest wins
    order = {name: index for index, name in enumerate(methods or [])}
    groups = [Group(method, value, by_seed) for (method, value), by_seed in chosen.items()]
    groups.sort(key=lambda g: (order.get(g.method, len(order)), g.method, sortable(g.sweep_value)))
    check_same_splits(groups)
    if not allow_mixed_code:
        check_single_code([record for group in groups for record in group.by_seed.values()])
    return groups


def sortable(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def check_same_splits(groups: list[Group]) -> None:
    """Per seed (and sweep value) every method must have been scored on the same split."""
    fingerprints: dict[tuple[Any, int], dict[str, str]] = defaultdict(dict)
    for group in groups:
        for seed, record in group.by_seed.items():
            fingerprints[(group.sweep_value, seed)][group.method] = record.split.fingerprint
    for (value, seed), by_method in fingerprints.items():
        if len(set(by_method.values())) > 1:
            detail = ", ".join(f"{m}: {f[:12]}" for m, f in sorted(by_method.items()))
            raise ReportError(
                f"seed {seed}{'' if value is None else f' ({value})'}: the methods were scored on different splits "
                f"({detail}). Their records come from different protocol files or code versions; rerun the "
                "outdated ones with --force, or move their records out of the runs folder.")


def record_row(record: TrialRecord, path: Path | str | None = None) -> dict[str, Any]:
    """The flat facts of one record — what ran, its scores (fractions, as in the record), what made them — for
    ``hsibench results ls`` and ``hsibench.load_results``; ``code`` says whether today's code would reproduce it."""
    from hsibench.report.provenance import code_status

    machine = record.machine
    return {
        "protocol": record.protocol_name, "method": record.method, "preset": record.preset, "seed": record.seed,
        "shots": record.protocol.get("shots"), "split_mode": record.protocol.get("split_mode"),
        "protocol_overrides": dict(record.protocol_overrides), "method_overrides": dict(record.method_overrides),
        "audit": record.audit, "status": record.status, "code": code_status(record),
        "overall_accuracy": record.overall_accuracy, "average_accuracy": record.average_accuracy,
        "kappa": record.kappa, "seconds": record.timings.get("total_s"), "finished_at": record.finished_at,
        "run_id": record.run_id, "path": str(path or record.path or ""),
        "code_digest": record.code.digest, "git_commit": record.code.git_commit,
        "cpu": machine.cpu_model if machine else None, "threads": machine.threads if machine else None,
        "device": machine.device if machine else None, "precision": machine.precision if machine else None,
    }
