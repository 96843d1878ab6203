"""A batch of trials end to end: skip finished ones, run shared pretrainings once, run the rest, account for all.

Resuming needs nothing special: a trial is done when its record (named by run id) exists with
status ``ok`` *and was made by today's code* (same code fingerprint), so re-running the same
command after Ctrl-C or ``kill -9`` runs exactly the trials that have no such record, and
``--force`` runs them all again (overwriting, not adding). A record made by other code is never
served: its trial runs again and the old record moves to ``<protocol>/superseded/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from hsibench.runner.executors import Executor
from hsibench.runner.progress import ProgressBoard
from hsibench.runner.record_schema import TrialRecord
from hsibench.runner.records import read_record, supersede
from hsibench.runner.spec import ResolvedTrial, TrialSpec, resolve
from hsibench.runner.stages import plan_pretraining
from hsibench.runner.trial import code_provenance, failed_record, record_path, write_trial_record


@dataclass
class CampaignResult:
    records: list[TrialRecord] = field(default_factory=list)  # one per planned trial that has a record
    skipped: int = 0  # already finished (by today's code) before this command
    ran: int = 0
    superseded: list[Path] = field(default_factory=list)  # records made by other code, moved aside and rerun
    not_run: list[TrialSpec] = field(default_factory=list)  # interrupted before they started

    @property
    def failed(self) -> list[TrialRecord]:
        return [r for r in self.records if not r.ok]

    @property
    def exit_code(self) -> int:
        if self.not_run:
            return 130
        return 1 if self.failed else 0


def resolve_unique(specs: list[TrialSpec]) -> list[ResolvedTrial]:
    """Resolve every spec up front (bad input fails before anything runs) and drop exact repeats."""
    seen: set[str] = set()
    unique = []
    for spec in specs:
        resolved = resolve(spec)
        if resolved.run_id not in seen:
            seen.add(resolved.run_id)
            unique.append(resolved)
    return unique


def _mtime(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.exists() else None


def is_current(record: TrialRecord | None, trial: ResolvedTrial) -> bool:
    """An ``ok`` record this code would reproduce: made by code with today's fingerprint for its method — and,
    when the trial is asked to keep its model (``--save-model``), with that model beside it."""
    if record is None or not record.ok or record.code.digest != code_provenance(trial).digest:
        return False
    return not trial.spec.save_model or bool(record.model_file and record_path(trial).with_name(record.model_file).is_file())


def run_campaign(specs: list[TrialSpec], executor: Executor, force: bool = False,
                 stream: TextIO | None = None, live: bool | None = None) -> CampaignResult:
    executor.preflight()
    trials = resolve_unique(specs)
    existing = {t.run_id: _read(record_path(t)) for t in trials}
    todo = [t for t in trials if force or not is_current(existing[t.run_id], t)]
    result = CampaignResult(skipped=len(trials) - len(todo), ran=len(todo))
    board = ProgressBoard(len(todo), stream=stream, live=live)
    if result.skipped:
        board.note(f"{result.skipped} of {len(trials)} trial(s) already have an ok record made by this code; "
                   "skipped (--force reruns them)")
    for trial in todo:
        old = existing[trial.run_id]
        if old is not None and old.ok and old.code.digest != code_provenance(trial).digest:  # --force too: never overwrite other code's record
            result.superseded.append(supersede(record_path(trial), old))
    if result.superseded:
        board.note(f"{len(result.superseded)} record(s) were made by other code: rerunning them; the old records "
                   f"are kept under {result.superseded[0].parent}")
    before = {t.run_id: _mtime(record_path(t)) for t in todo}
    try:
        if todo:
            executor.start()
            executor.admit(todo)
            jobs, _ = plan_pretraining(todo)
            stage_errors = executor.run_stage(jobs, board)
            blocked = {run_id: job.key for job in jobs if job.key in stage_errors for run_id in job.trials}
            for trial in todo:
                if trial.run_id in blocked:
                    key = blocked[trial.run_id]
                    message = f"shared pretraining {key} failed: {stage_errors[key]}"
                    write_trial_record(trial.spec, failed_record(trial.spec, message, trial, error_type="PretrainingFailed"))
                    board.finished(trial.run_id, False, f"PretrainingFailed: {message}", trial.spec.label)
            runnable = [t for t in todo if t.run_id not in blocked]
            errors = executor.run_trials(runnable, board)
            for index, trial in enumerate(runnable):
                if _mtime(record_path(trial)) == before[trial.run_id]:
                    if index in errors:  # the worker died without writing: keep that as a failed record
                        write_trial_record(trial.spec, failed_record(trial.spec, errors[index], trial,
                                                                     error_type="WorkerDied"))
                    else:
                        result.not_run.append(trial.spec)
    finally:
        board.close()
        executor.close()
    result.records = [record for t in trials if (record := _read(record_path(t))) is not None]
    return result


def _read(path: Path) -> TrialRecord | None:
    return read_record(path) if path.is_file() else None
