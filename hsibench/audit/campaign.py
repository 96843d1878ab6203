"""Running an :class:`~hsibench.audit.plan.AuditPlan`: ordinary trials through the executor, chains in order here.

Every trial but the RNG chains goes through :func:`~hsibench.runner.campaign.run_campaign` (skip what is done,
rerun what other code made, resume after an interruption). A chain is one unit: it is skipped only when every
one of its records is current, and otherwise runs whole, in this process (a later trial's generators continue
the earlier ones', so no part of it can run elsewhere or alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from hsibench.audit.plan import AuditGroup, AuditPlan
from hsibench.runner.campaign import is_current, resolve_unique, run_campaign
from hsibench.runner.chain import run_chained
from hsibench.runner.executors import Executor
from hsibench.runner.progress import ProgressBoard
from hsibench.runner.record_schema import TrialRecord
from hsibench.runner.records import read_record, supersede
from hsibench.runner.trial import record_path


@dataclass
class AuditResult:
    records: dict[tuple[str, str], dict[int, TrialRecord]] = field(default_factory=dict)  # (method, habit) → seed → record
    ran: int = 0
    skipped: int = 0
    failed: list[TrialRecord] = field(default_factory=list)
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else (1 if self.failed else 0)


def _read(group: AuditGroup) -> dict[int, TrialRecord]:
    found = {}
    for trial in resolve_unique(list(group.specs)):
        path = record_path(trial)
        if path.is_file():
            found[trial.spec.seed] = read_record(path)
    return found


def _run_chain(group: AuditGroup, force: bool, stream: TextIO | None) -> tuple[int, int]:
    """(ran, skipped) trials of one chain."""
    trials = resolve_unique(list(group.specs))
    existing = {t.run_id: read_record(record_path(t)) if record_path(t).is_file() else None for t in trials}
    if not force and all(is_current(existing[t.run_id], t) for t in trials):
        return 0, len(trials)
    for trial in trials:
        old = existing[trial.run_id]
        if old is not None and old.ok and not is_current(old, trial):
            supersede(record_path(trial), old)
    board = ProgressBoard(len(trials), stream=stream)
    board.note(f"RNG chain of {group.method}: {len(trials)} trial(s) in seed order, in this process")
    try:
        run_chained(trials, board)
    finally:
        board.close()
    return len(trials), 0


def run_audit(plan: AuditPlan, executor: Executor, force: bool = False, stream: TextIO | None = None) -> AuditResult:
    """Run every trial of ``plan`` that has no current record (``force``: all) and gather the records."""
    result = AuditResult()
    ordinary = [spec for group in plan.groups if not group.chained for spec in group.specs]
    campaign = run_campaign(ordinary, executor, force=force, stream=stream)
    result.ran, result.skipped = campaign.ran, campaign.skipped
    result.interrupted = bool(campaign.not_run)
    if not result.interrupted:
        for group in plan.groups:
            if group.chained:
                ran, skipped = _run_chain(group, force, stream)
                result.ran, result.skipped = result.ran + ran, result.skipped + skipped
    result.records, result.failed = audit_records(plan)
    return result


def audit_records(plan: AuditPlan) -> tuple[dict[tuple[str, str], dict[int, TrialRecord]], list[TrialRecord]]:
    """The records the plan's trials have now, without running anything: ((method, habit) → seed → ok record,
    failed records)."""
    records, failed = {}, []
    for group in plan.groups:
        by_seed = _read(group)
        records[(group.method, group.habit)] = {seed: r for seed, r in by_seed.items() if r.ok}
        failed += [r for r in by_seed.values() if not r.ok]
    return records, failed
