"""From an audit's plan and records to its written table (md, LaTeX, CSV) and figure (PNG, PDF).

Everything lands in the audit's own results folder, ``DIR/<protocol>/audit.*`` and
``DIR/<protocol>/figures/audit.*`` where DIR is ``<results>/audit``: beside the audit's records, apart from
every table of methods.
"""

from __future__ import annotations

from pathlib import Path

from hsibench.audit.effects import Records, habit_effects, method_pairs, single_seed_spreads
from hsibench.audit.figure import audit_figure
from hsibench.audit.habits import buffer_radius
from hsibench.audit.plan import AuditPlan
from hsibench.audit.table import AuditFindings, audit_csv, audit_table
from hsibench.report.render import render
from hsibench.runner.layout import ResultsLayout


def reference_phrase(plan: AuditPlan) -> str:
    reference = plan.reference
    selection = ("the best validation epoch kept (validation pixels per class: "
                 f"{reference.validation_per_class})" if reference.validation_per_class else "the final epoch kept")
    preset = plan.groups[0].specs[0].preset if plan.groups else "?"
    return (f"Clean reference: {reference.shots}-shot {reference.split_mode} split with "
            f"{reference.patch_size}×{reference.patch_size} patches, z-score and fitted reductions on the support "
            f"patches only, test pixels within {buffer_radius(reference)} px (2r) of a support or validation pixel "
            f"removed, every trial seeded whole, {selection}; method preset {preset}.")


def audit_findings(plan: AuditPlan, records: Records) -> AuditFindings:
    methods = list(plan.methods)
    every = [record for by_seed in records.values() for record in by_seed.values()]
    return AuditFindings(plan.protocol.name, reference_phrase(plan), habit_effects(methods, records),
                         single_seed_spreads(methods, records), method_pairs(methods, records),
                         dict(plan.not_applicable), every)


def write_audit(findings: AuditFindings, root: Path, protocol_name: str) -> dict[str, Path]:
    """Write the table in every format and the figure; returns kind → path (``md``, ``latex``, ``csv``, ``png``…)."""
    layout = ResultsLayout(Path(root))
    table = audit_table(findings)
    contents = {"md": render(table, "md"), "latex": render(table, "latex"), "csv": audit_csv(findings)}
    written = {}
    for kind, extension in (("md", "md"), ("latex", "tex"), ("csv", "csv")):
        path = layout.table_path(protocol_name, "audit", extension)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(contents[kind])
        written[kind] = path
    for path in audit_figure(findings, layout.figures_dir(protocol_name)):
        written[path.suffix.lstrip(".")] = path
    return written
