"""Report layer: paper tables (Markdown, LaTeX, CSV) and figures (PNG, PDF) computed from trial records only."""

from hsibench.report.collect import Group, ReportError, group_records, matching_records, records_table
from hsibench.report.outputs import FIGURES, TABLES, ReportRequest, make_figure, make_table
from hsibench.report.render import RENDERERS, render, to_csv, to_latex, to_markdown
from hsibench.report.statistics import STD_KINDS, paired_wilcoxon, summarise
from hsibench.report.table_model import Cell, Table
from hsibench.report.tables import PROPOSED_METHOD, ablation_table, main_table, sweep_table

__all__ = [
    "FIGURES", "PROPOSED_METHOD", "RENDERERS", "STD_KINDS", "TABLES", "Cell", "Group", "ReportError",
    "ReportRequest", "Table", "ablation_table", "group_records", "main_table", "make_figure", "make_table",
    "matching_records", "paired_wilcoxon", "records_table", "render", "summarise", "sweep_table", "to_csv",
    "to_latex", "to_markdown",
]
