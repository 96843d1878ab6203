"""``hsibench audit PROTOCOL --method M …``: the field's evaluation habits, each measured against a clean reference."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hsibench.cli.data_commands import apply_mirror
from hsibench.cli.options import UsageError, add_methods_argument, assignments, comma_list
from hsibench.cli.run_commands import (
    add_choice_options,
    add_how_options,
    add_where_options,
    preset_and_file,
    trial_executor,
    trial_seeds,
    trial_settings,
)

AUDIT_FOLDER = "audit"  # under --out: the audit's records, table and figure, apart from every table of methods


def audit_root(out: Path) -> Path:
    return Path(out) / AUDIT_FOLDER


def handle_audit(args: argparse.Namespace) -> int:
    from hsibench.audit.campaign import AuditResult, audit_records, run_audit
    from hsibench.audit.habits import HABIT_ORDER
    from hsibench.audit.plan import plan_audit
    from hsibench.protocol import load_protocol
    from hsibench.runner import load_plugins

    if not args.methods:
        raise UsageError(f"give at least one --method (e.g. hsibench audit {args.protocol} --method svm)")
    habits = comma_list(args.habits) if args.habits else None
    unknown = sorted(set(habits or ()) - set(HABIT_ORDER))
    if unknown:
        raise UsageError(f"--habits {', '.join(unknown)}: not an audited habit; choose from {', '.join(HABIT_ORDER)}")
    apply_mirror(args)
    load_plugins(args.plugin)
    preset, file_settings, preset_file = preset_and_file(args, args.methods)
    protocol = load_protocol(args.protocol)
    seeds = trial_seeds(protocol, args)
    root = audit_root(args.out)
    settings = trial_settings(argparse.Namespace(**{**vars(args), "out": root}), preset)
    plan = plan_audit(args.methods, args.protocol, seeds, settings, {**file_settings, **assignments(args.set)}, habits,
                      preset_file)
    print(f"audit of {', '.join(args.methods)} on {protocol.name}: {len(plan.specs)} trial(s) "
          f"({len(plan.groups)} groups of {len(seeds)} seeds); records under {root / protocol.name / 'runs'}",
          file=sys.stderr)
    if args.report_only:
        records, failed = audit_records(plan)
        result = AuditResult(records, failed=failed)
        return _report(plan, result, root, protocol.name)
    executor = trial_executor(argparse.Namespace(**{**vars(args), "out": root}), settings)
    try:
        result = run_audit(plan, executor, force=args.force)
    except KeyboardInterrupt:
        print("\ninterrupted: finished trials keep their records; rerun the same command to resume", file=sys.stderr)
        return 130
    print(f"{result.ran} trial(s) ran, {result.skipped} skipped as already done, {len(result.failed)} failed",
          file=sys.stderr)
    for record in result.failed:
        error = record.error
        print(f"  FAILED {record.method} ({record.audit}) seed {record.seed}: {error.type if error else '?'}: "
              f"{error.message if error else ''}\n         {record.path}", file=sys.stderr)
    if result.interrupted:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return result.exit_code
    return _report(plan, result, root, protocol.name)


def _report(plan, result, root: Path, protocol_name: str) -> int:
    """Write and print the table and figure of what the records hold now."""
    from hsibench.audit.outputs import audit_findings, write_audit
    from hsibench.audit.table import audit_table
    from hsibench.report.render import to_markdown

    findings = audit_findings(plan, result.records)
    if not findings.effects:
        print("(no audit table: no habit has two seeds paired with the reference yet)", file=sys.stderr)
        return result.exit_code or 1
    written = write_audit(findings, root, protocol_name)
    print()
    print(to_markdown(audit_table(findings)))
    print("Written: " + ", ".join(str(path) for path in written.values()))
    return result.exit_code


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser(
        "audit", help="measure how much the field's evaluation habits move a method's numbers",
        description="Run each method under the suite's clean reference (clean split, statistics on support patches "
                    "only, a 2r spatial buffer, every trial seeded whole, no selection on test pixels) and once "
                    "with each habit of the field switched on alone — test-set checkpoint selection, scene-wide "
                    "statistics, no spatial buffer, RNG chaining — on the same seeds; then write one table "
                    "(md, LaTeX, CSV) and one figure of the paired OA changes, with the spread of single-seed "
                    "reports. Records go to OUT/audit/<protocol>/runs/ and never enter the tables of methods.")
    audit.add_argument("protocol", metavar="PROTOCOL", help="a shipped protocol name or a TOML path")
    which = audit.add_argument_group("what to audit")
    add_methods_argument(which, "method(s) to audit")
    which.add_argument("--habits", metavar="NAME[,NAME…]",
                       help="audit only these habits (default: all): test_checkpoint, final_epoch, scene_statistics, "
                            "no_buffer, rng_chaining")
    add_choice_options(which)
    which.add_argument("--plugin", action="append", default=[], metavar="MODULE|FILE.py",
                       help="import a module that registers extra methods (repeatable)")
    add_where_options(audit)
    how = add_how_options(audit)
    how.add_argument("--report-only", action="store_true",
                     help="run nothing: write the table and figure of the records there are (e.g. committed ones)")
    audit.set_defaults(handler=handle_audit)
