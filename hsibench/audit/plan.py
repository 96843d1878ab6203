"""From ``hsibench audit``'s choices to its trials: the clean reference and each applicable habit, per method.

Every group holds one method's trials under one habit, on the same seeds as its reference; the trials are
ordinary :class:`~hsibench.runner.spec.TrialSpec`\\ s with ``audit`` naming the habit (``reference`` for the
reference), so they run through the usual executors and leave ordinary records — under the audit's own
results folder, and never matched by the tables of methods (``hsibench/report/collect.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hsibench.audit.habits import HABIT_ORDER, HABITS, REFERENCE, REFERENCE_KEYS, AuditError, reference_overrides
from hsibench.methods import resolve_config
from hsibench.protocol import Protocol, load_protocol
from hsibench.runner.plan import TrialSettings, plan_trials
from hsibench.runner.spec import TrialSpec, apply_protocol_overrides, split_overrides


@dataclass(frozen=True)
class AuditGroup:
    """One method's trials under one habit (or the reference), one per seed, in seed order."""

    method: str
    habit: str
    specs: tuple[TrialSpec, ...]
    chained: bool = False


@dataclass(frozen=True)
class AuditPlan:
    protocol: Protocol  # the protocol with the user's --set values
    reference: Protocol  # ... and the clean reference's keys
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    groups: tuple[AuditGroup, ...]
    not_applicable: dict[tuple[str, str], str] = field(default_factory=dict)  # (method, habit) → why it is left out

    @property
    def specs(self) -> list[TrialSpec]:
        return [spec for group in self.groups for spec in group.specs]

    def group(self, method: str, habit: str) -> AuditGroup | None:
        return next((g for g in self.groups if g.method == method and g.habit == habit), None)


def _method_keys(changes: dict[str, Any] | None) -> dict[str, Any]:
    return {f"method.{key}": value for key, value in (changes or {}).items()}


def plan_audit(methods: list[str], protocol_name: str, seeds: list[int], settings: TrialSettings,
               fixed: dict[str, Any] | None = None, habits: list[str] | None = None,
               preset_file: dict[str, Any] | None = None) -> AuditPlan:
    """The audit's trials. ``fixed`` are the user's ``--set`` values (none of the keys the reference fixes);
    ``habits`` a subset of the registered habits (default: all, in the table's order); ``preset_file`` the
    ``{path, sha256, base}`` of a tuned preset file whose settings are in ``fixed`` (named in every record)."""
    fixed = dict(fixed or {})
    protocol_overrides, method_overrides = split_overrides(fixed)
    taken = sorted(set(protocol_overrides) & set(REFERENCE_KEYS))
    if taken:
        raise AuditError(f"--set {', '.join(taken)}: the audit sets these itself (the clean reference uses "
                         f"{', '.join(REFERENCE_KEYS)} = clean, train, 2r, and each habit changes one); leave them out")
    if len(seeds) < 2:
        raise AuditError(f"an audit compares habits over paired seeds; give at least two (got {list(seeds)})")
    chosen = [HABITS.get(name) for name in (habits or HABIT_ORDER)]
    protocol = apply_protocol_overrides(load_protocol(protocol_name), protocol_overrides)
    clean = reference_overrides(protocol)
    reference = apply_protocol_overrides(protocol, clean)
    settings = dataclasses.replace(settings, maps="none")
    groups: list[AuditGroup] = []
    not_applicable: dict[tuple[str, str], str] = {}

    def group(method: str, name: str, changes: dict[str, Any], audit: str, chained: bool = False) -> AuditGroup:
        specs = plan_trials([method], protocol_name, seeds, settings, fixed={**fixed, **clean, **changes})
        chain = tuple(seeds) if chained else ()
        return AuditGroup(method, name, tuple(dataclasses.replace(s, audit=audit, chain_seeds=chain,
                                                                  preset_file=preset_file) for s in specs), chained)

    for method in methods:
        config = resolve_config(method, settings.preset, method_overrides)
        groups.append(group(method, REFERENCE, {}, REFERENCE))
        for habit in chosen:
            if not habit.applies(reference, config):
                not_applicable[(method, habit.name)] = (
                    "the protocol has no validation pixels" if reference.validation_per_class == 0
                    else f"{method} does not select epochs on validation pixels")
                continue
            changes = {**habit.protocol_changes(reference), **_method_keys(habit.method_changes)}
            groups.append(group(method, habit.name, changes, habit.mode, habit.chained))
    return AuditPlan(protocol, reference, tuple(methods), tuple(seeds), tuple(groups), not_applicable)
