"""Which records a table may use, grouped by method (and sweep value) and paired by seed.

A table compares like with like: only ``ok`` records of the requested protocol content (the
split mode, shots… as given), with no config change beyond the swept key, one preset per method,
and — per seed — the very same split for every method (the split fingerprints must agree).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hsibench.protocol.protocol import parse_region
from hsibench.runner import STATUS_OK, load_records

log = logging.getLogger(__name__)


class ReportError(ValueError):
    """Records that cannot make the asked-for table or figure; the message says what to run or change."""


def source_overlaps_target(protocol: dict[str, Any]) -> bool:
    """Whether a record's protocol pretrains where it tests (same scene, intersecting regions)."""
    if "source" not in protocol or "target" not in protocol:
        return False
    where = "a record's protocol"
    return parse_region(protocol["source"], "source", where).overlaps(parse_region(protocol["target"], "target", where))


@dataclass(frozen=True)
class Group:
    """The records of one method (at one sweep value), one per seed."""

    method: str
    sweep_value: Any
    by_seed: dict[int, dict[str, Any]]

    @property
    def uses_source_labels(self) -> bool:
        return any(r.get("uses_source_labels") for r in self.by_seed.values())

    @property
    def pretrains_on_target(self) -> bool:
        """Self-supervised pretraining on a source that overlaps the target: transductive (labels unseen)."""
        return any(r.get("pretrains") and source_overlaps_target(r.get("protocol", {})) for r in self.by_seed.values())

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


def sweep_value(record: dict[str, Any], key: str | None) -> Any:
    """The record's value of the swept key (a protocol key or a method-config key)."""
    if key is None:
        return None
    if key in record["protocol"]:
        return record["protocol"][key]
    if key in record["config"]:
        return record["config"][key]
    raise ReportError(f"records of {record['method']} have no protocol or config key {key!r}")


def matching_records(records: list[dict[str, Any]], protocol: dict[str, Any], sweep_key: str | None = None,
                     methods: list[str] | None = None) -> list[dict[str, Any]]:
    """``ok`` records of ``protocol`` (content, as in records) whose only change is ``sweep_key``."""
    wanted = _without(protocol, sweep_key)
    return [
        record for record in records
        if record.get("status") == STATUS_OK
        and (methods is None or record["method"] in methods)
        and _without(record.get("protocol", {}), sweep_key) == wanted
        and set(record.get("method_overrides") or {}) <= ({sweep_key} if sweep_key else set())
    ]


def group_records(records: list[dict[str, Any]], sweep_key: str | None = None, preset: str | None = None,
                  methods: list[str] | None = None) -> list[Group]:
    """One group per (method, sweep value), ordered as ``methods`` (else by name); checks presets and splits."""
    presets: dict[str, set[str]] = defaultdict(set)
    for record in records:
        presets[record["method"]].add(record["preset"])
    for method, found in presets.items():
        if preset is None and len(found) > 1:
            raise ReportError(f"{method} has records of several presets {sorted(found)} for this protocol; "
                              "choose one with --preset")
    chosen: dict[tuple[str, Any], dict[int, dict[str, Any]]] = defaultdict(dict)
    for record in sorted(records, key=lambda r: r.get("finished_at") or ""):
        if preset is not None and record["preset"] != preset:
            continue
        key = (record["method"], sweep_value(record, sweep_key))
        if record["seed"] in chosen[key]:
            log.warning("%s seed %s has several records; using the latest (%s)", key[0], record["seed"],
                        record.get("record_path"))
        chosen[key][record["seed"]] = record  # the latest wins
    order = {name: index for index, name in enumerate(methods or [])}
    groups = [Group(method, value, by_seed) for (method, value), by_seed in chosen.items()]
    groups.sort(key=lambda g: (order.get(g.method, len(order)), g.method, sortable(g.sweep_value)))
    check_same_splits(groups)
    return groups


def sortable(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def check_same_splits(groups: list[Group]) -> None:
    """Per seed (and sweep value) every method must have been scored on the same split."""
    fingerprints: dict[tuple[Any, int], dict[str, str]] = defaultdict(dict)
    for group in groups:
        for seed, record in group.by_seed.items():
            fingerprints[(group.sweep_value, seed)][group.method] = record["split"]["fingerprint"]
    for (value, seed), by_method in fingerprints.items():
        if len(set(by_method.values())) > 1:
            detail = ", ".join(f"{m}: {f[:12]}" for m, f in sorted(by_method.items()))
            raise ReportError(
                f"seed {seed}{'' if value is None else f' ({value})'}: the methods were scored on different splits "
                f"({detail}). Their records come from different protocol files or code versions; rerun the "
                "outdated ones with --force, or move their records out of the runs folder.")


def records_table(root: Path, protocol: str | None = None) -> pd.DataFrame:
    """One row per record, for ``hsibench results ls``."""
    rows = []
    for record in load_records(root, protocol):
        protocol_content = record.get("protocol", {})
        rows.append({
            "protocol": record.get("protocol_name"), "method": record["method"], "preset": record.get("preset"),
            "seed": record["seed"], "shots": protocol_content.get("shots"), "mode": protocol_content.get("split_mode"),
            "overrides": ",".join(f"{k}={v}" for k, v in {**(record.get("protocol_overrides") or {}),
                                                          **(record.get("method_overrides") or {})}.items()),
            "status": record["status"],
            "OA": _percent(record.get("overall_accuracy")), "AA": _percent(record.get("average_accuracy")),
            "kappa": record.get("kappa"), "seconds": (record.get("timings") or {}).get("total_s"),
            "finished": record.get("finished_at"), "run_id": record["run_id"],
        })
    columns = ["protocol", "method", "preset", "seed", "shots", "mode", "overrides", "status", "OA", "AA", "kappa",
               "seconds", "finished", "run_id"]
    return pd.DataFrame(rows, columns=columns)


def _percent(value: float | None) -> float | None:
    return None if value is None else 100 * value
