"""What made a results folder: one line per protocol folder and preset kind, read from the records themselves.

A committed table is only as trustworthy as the list of what produced it; writing that list by hand invites it
to drift from the records. :func:`ledger_rows` summarises records — how many, which methods and presets, the
machines (CPU model, ISA flags, threads), precisions, code commits, whether today's code would make them, the
trials' own seconds and the wall-clock span from the first start to the last finish — and
``hsibench results ledger`` prints it as the Markdown table that results/README.md carries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hsibench.runner.record_schema import TrialRecord

#: ISA flags worth a reader's eye (floating-point results depend on them); the record keeps all it found
SHOWN_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")


@dataclass(frozen=True)
class LedgerRow:
    folder: str
    presets: str  # "cpu", or "cpu + tuned files" when records carry a preset file
    records: int
    failed: int
    methods: tuple[str, ...]
    machines: tuple[str, ...]  # "AMD EPYC [avx2 fma avx512f avx512_bf16] ×1 thread, fp32"
    commits: tuple[str, ...]  # short commit, "+dirty" when the tree had uncommitted changes
    stale: int  # records today's code would not make (stale or unrecorded)
    trial_seconds: float  # the sum of the trials' own total_s
    wall_seconds: float | None  # first start → last finish (parallel trials overlap)


def _preset_kind(record: TrialRecord) -> str:
    return f"{record.preset} + tuned file" if record.preset_file else record.preset


def _machine(record: TrialRecord) -> str:
    machine = record.machine
    if machine is None or not machine.cpu_model:
        return "not recorded"
    flags = " ".join(flag for flag in SHOWN_FLAGS if flag in (machine.isa_flags or ()))
    device = machine.device_name or machine.device or "cpu"
    threads = f"{machine.threads} thread{'s' if machine.threads != 1 else ''}"
    return f"{machine.cpu_model} [{flags}] {device}, {threads}, {machine.precision or 'fp32'}"


def _methods(members: list[TrialRecord]) -> tuple[str, ...]:
    """Method names, a base's ablation variants counted rather than listed (``s2former + 11 variants``)."""
    variants: dict[str, set[str]] = defaultdict(set)
    for record in members:
        if record.method_base:
            variants[record.method_base].add(record.method)
    named = sorted({r.method for r in members if not r.method_base} | set(variants))
    return tuple(f"{name} + {len(variants[name])} variant{'s' if len(variants[name]) != 1 else ''}"
                 if variants.get(name) else name for name in named)


def _commit(record: TrialRecord) -> str:
    code = record.code
    if not code.git_commit:
        return "not recorded"
    return code.git_commit[:7] + ("+dirty" if code.git_dirty else "")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


PRETRAINING_ROW = "pretraining stages"


def _stage_row(folder: str, stages: list[dict]) -> LedgerRow:
    """The shared pretraining stages of a folder (their stage records, ``<folder>/pretraining/*.json``)."""
    starts = [t for t in (_time(s.get("started_at")) for s in stages) if t]
    ends = [t for t in (_time(s.get("finished_at")) for s in stages) if t]
    return LedgerRow(folder=folder, presets=PRETRAINING_ROW, records=len(stages), failed=0,
                     methods=tuple(sorted({str(s.get("method")) for s in stages})),
                     machines=tuple(sorted({f"{s.get('device', 'cpu')}, {s.get('precision') or 'fp32'}"
                                            for s in stages})),
                     commits=(), stale=0, trial_seconds=sum(s.get("seconds") or 0.0 for s in stages),
                     wall_seconds=(max(ends) - min(starts)).total_seconds() if starts and ends else None)


def ledger_rows(records: list[tuple[str, TrialRecord]],
                stages: list[tuple[str, dict]] | None = None) -> list[LedgerRow]:
    """(folder, record) pairs and (folder, pretraining stage record) pairs → one row per folder and preset kind
    (and one for the folder's pretraining stages), ordered by folder."""
    from hsibench.report.provenance import code_status

    grouped: dict[tuple[str, str], list[TrialRecord]] = defaultdict(list)
    for folder, record in records:
        grouped[(folder, _preset_kind(record))].append(record)
    stage_groups: dict[str, list[dict]] = defaultdict(list)
    for folder, stage in stages or ():
        stage_groups[folder].append(stage)
    rows = [_stage_row(folder, members) for folder, members in stage_groups.items()]
    for (folder, presets), members in sorted(grouped.items()):
        starts = [t for t in (_time(r.started_at) for r in members) if t]
        ends = [t for t in (_time(r.finished_at) for r in members) if t]
        rows.append(LedgerRow(
            folder=folder, presets=presets, records=len(members), failed=sum(not r.ok for r in members),
            methods=_methods(members),
            machines=tuple(sorted({_machine(r) for r in members})),
            commits=tuple(sorted({_commit(r) for r in members})),
            stale=sum(code_status(r) != "current" for r in members),
            trial_seconds=sum((r.timings or {}).get("total_s") or 0.0 for r in members),
            wall_seconds=(max(ends) - min(starts)).total_seconds() if starts and ends else None,
        ))
    return sorted(rows, key=lambda row: (row.folder, row.presets == PRETRAINING_ROW, row.presets))


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f}"


def ledger_markdown(rows: list[LedgerRow]) -> str:
    header = ("| folder | presets | records (failed) | methods | machine | code commit | not current | "
              "trial min | wall min |\n|---|---|---|---|---|---|---|---|---|\n")
    lines = [f"| `{row.folder}` | {row.presets} | {row.records} ({row.failed}) | {', '.join(row.methods)} | "
             f"{'; '.join(row.machines)} | {', '.join(row.commits) or '–'} | {row.stale} | {_minutes(row.trial_seconds)} | "
             f"{_minutes(row.wall_seconds)} |" for row in rows]
    note = ("\ntrial min: the trials' own time summed (pretraining stages included where a trial ran one); "
            "wall min: first start to last finish of the folder's records (trials ran in parallel, so it is "
            "less than the sum; an interrupted and resumed campaign makes it longer).\n")
    return header + "\n".join(lines) + "\n" + note


LEDGER_BEGIN, LEDGER_END = "<!-- ledger:begin -->", "<!-- ledger:end -->"


def replace_ledger(document: str, ledger: str, where: str) -> str:
    """``document`` with the text between its ledger markers replaced by ``ledger`` (markers kept)."""
    start, end = document.find(LEDGER_BEGIN), document.find(LEDGER_END)
    if start < 0 or end < start:
        raise ValueError(f"{where} has no {LEDGER_BEGIN} … {LEDGER_END} block; add the two lines where the ledger "
                         "belongs")
    return document[:start + len(LEDGER_BEGIN)] + "\n" + ledger + document[end:]


def ledger_in(document: str) -> str | None:
    """The ledger text between the markers of ``document`` (None without markers)."""
    start, end = document.find(LEDGER_BEGIN), document.find(LEDGER_END)
    return None if start < 0 or end < start else document[start + len(LEDGER_BEGIN) + 1:end]
