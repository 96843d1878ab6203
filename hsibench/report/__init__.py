"""Report layer: paper tables (Markdown, LaTeX, CSV) and figures (PNG, PDF) computed from trial records only.

Names are imported on first use: listing records (``results ls``) loads neither matplotlib nor torch.
"""

from hsibench.lazy import lazy_exports

# `render` is both a module and its main function: import it eagerly so the name means the function
from hsibench.report.render import RENDERERS, render, to_csv, to_latex, to_markdown  # noqa: F401

_NAMES = {
    "Group": "collect", "ReportError": "collect", "group_records": "collect", "matching_records": "collect",
    "record_row": "collect",
    "FIGURES": "outputs", "TABLES": "outputs", "ReportRequest": "outputs", "build_table": "outputs",
    "default_methods": "outputs", "make_figure": "outputs", "make_table": "outputs", "table_paths": "outputs",
    "write_table": "outputs",
    "class_display_name": "display", "latex_label": "display", "method_display_name": "display",
    "MixedCodeError": "provenance", "code_status": "provenance",
    "STD_KINDS": "statistics", "paired_wilcoxon": "statistics", "summarise": "statistics",
    "Cell": "table_model", "Table": "table_model",
    "PROPOSED_METHOD": "tables", "ablation_table": "tables", "main_table": "tables", "sweep_table": "tables",
}


__getattr__ = lazy_exports(__name__, {name: f"hsibench.report.{module}" for name, module in _NAMES.items()})


__all__ = sorted([*_NAMES, "RENDERERS", "render", "to_csv", "to_latex", "to_markdown"])
