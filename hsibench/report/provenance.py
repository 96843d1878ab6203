"""What made a table's records: one code (or a refusal to mix), and the hardware they ran on (or a flagged mix).

A table compares numbers, so its records must come from one version of the code: per method one
code fingerprint, and across methods one fingerprint of the layers they share (data, protocol,
scoring). Mixing is refused unless asked for (``--allow-mixed-code``). Hardware is not refused
but stated: floating-point results differ between CPUs and thread counts, so the caption names
the machine of its records and flags a mix.
"""

from __future__ import annotations

from collections import defaultdict

from hsibench.provenance import code_fingerprint
from hsibench.report.errors import ReportError
from hsibench.runner.record_schema import TrialRecord

CURRENT, STALE, UNRECORDED = "current", "stale", "unrecorded"


class MixedCodeError(ReportError):
    """Records of one table made by different code; the message names them and how to proceed."""


def code_status(record: TrialRecord) -> str:
    """``current`` (today's code has its fingerprint), ``stale`` (other code) or ``unrecorded`` (schema 1)."""
    code = record.code
    if not code.recorded or not code.method_module:
        return UNRECORDED
    try:
        today = code_fingerprint(code.method_module).digest
    except (OSError, SyntaxError):
        return STALE
    return CURRENT if today == code.digest else STALE


def check_single_code(records: list[TrialRecord]) -> None:
    """Raise :class:`MixedCodeError` when the records were not all made by one version of the code."""
    by_method: dict[str, set[str | None]] = defaultdict(set)
    shared: dict[str | None, list[str]] = defaultdict(list)
    for record in records:
        by_method[record.method].add(record.code.digest)
        shared[record.code.shared_digest if record.code.recorded else None].append(record.method)
    mixed = {method: digests for method, digests in by_method.items() if len(digests) > 1}
    if mixed:
        detail = "; ".join(f"{method}: {', '.join(_short(d) for d in sorted(digests, key=str))}"
                           for method, digests in sorted(mixed.items()))
        raise MixedCodeError(f"the records of this table were made by different code ({detail}). Rerun the stale "
                             "trials with today's code (`hsibench run …` reruns them; `hsibench results ls` marks "
                             "them), or pass --allow-mixed-code to accept the mix (the caption then says so)")
    if len(shared) > 1:
        detail = "; ".join(f"{_short(d)}: {', '.join(sorted(set(methods)))}" for d, methods in shared.items())
        raise MixedCodeError(f"the methods of this table were run with different versions of the data, protocol or "
                             f"scoring code ({detail}). Rerun the older ones, or pass --allow-mixed-code")


def _short(digest: str | None) -> str:
    return digest[:8] if digest else "unrecorded"


def code_phrase(records: list[TrialRecord]) -> str:
    """``Code: git 1a2b3c4d, code fingerprints s2former 0d4d2406, svm 77aa1234 (shared layers 9f…).``"""
    if not any(record.code.recorded for record in records):
        commits = sorted({record.code.git_commit[:8] for record in records if record.code.git_commit})
        made = f"; git {', '.join(commits)}" if commits else ""
        return f"Code: not recorded (schema-1 records{made})."
    commits = sorted({(r.code.git_commit[:8], bool(r.code.git_dirty)) for r in records if r.code.git_commit})
    git = ", ".join(f"git {commit}" + (" with uncommitted changes" if dirty else "") for commit, dirty in commits)
    by_method = sorted({(r.method, _short(r.code.digest)) for r in records})
    shared = sorted({_short(r.code.shared_digest) for r in records})
    mixed = len(shared) > 1 or len({m for m, _ in by_method}) < len(by_method)
    fingerprints = ", ".join(f"{method} {digest}" for method, digest in by_method)
    prefix = "MIXED code (accepted with --allow-mixed-code)" if mixed else "Code"
    return f"{prefix}: {git + '; ' if git else ''}fingerprints {fingerprints} (shared layers {', '.join(shared)})."


def hardware_phrase(records: list[TrialRecord]) -> str:
    """``Hardware: AMD EPYC (avx2 fma), 1 thread, torch 2.14.1 [AVX2], cpu, fp32.`` — or a flagged list."""
    machines = {}
    for record in records:
        if record.machine is not None and record.machine.cpu_model is not None:
            machines.setdefault(record.machine.hardware_key(), record.machine.summary())
    unknown = sum(1 for r in records if r.machine is None or r.machine.cpu_model is None)
    if not machines:
        return "Hardware: not recorded (schema-1 records)."
    listed = "; ".join(sorted(machines.values()))
    note = f"; {unknown} record(s) without hardware facts" if unknown else ""
    if len(machines) > 1 or unknown:
        return (f"MIXED hardware ({len(machines)} configurations{note}): {listed}. Numbers from different CPUs or "
                "thread counts are not bit-comparable.")
    return f"Hardware: {listed}."


def provenance_phrase(records: list[TrialRecord]) -> str:
    return f"{code_phrase(records)} {hardware_phrase(records)}"
