"""From a results folder to written tables and figures: record selection + builders + files.

Kinds are registered by name so the CLI only looks them up: tables ``main``, ``ablation``,
``shots`` (and ``sweep`` over any key); figures ``maps``, ``shots``, ``ablation``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hsibench.protocol import load_protocol
from hsibench.protocol.protocol import protocol_identity
from hsibench.report.collect import Group, ReportError, group_records, matching_records
from hsibench.report.figures import ablation_figure, maps_figure, sweep_figure
from hsibench.report.render import RENDERERS, render
from hsibench.report.table_model import Table
from hsibench.report.tables import DEFAULT_ALPHA, PROPOSED_METHOD, ablation_table, main_table, sweep_table
from hsibench.runner.layout import ResultsLayout
from hsibench.runner.records import load_records
from hsibench.runner.spec import apply_protocol_overrides


@dataclass(frozen=True)
class ReportRequest:
    """What the user asked for; everything a table or figure needs besides the records."""

    results_dir: Path
    protocol: str
    protocol_overrides: dict[str, Any] = field(default_factory=dict)  # e.g. {"split_mode": "clean"}
    methods: list[str] | None = None
    preset: str | None = None
    proposed: str = PROPOSED_METHOD
    ddof: int = 1
    alpha: float = DEFAULT_ALPHA
    key: str = "shots"  # the swept key of sweep tables and figures
    metric: str = "OA"
    seed: int = 1330  # the maps figure's seed
    allow_mixed_code: bool = False  # accept records made by different code (the caption says so)

    @property
    def layout(self) -> ResultsLayout:
        return ResultsLayout(Path(self.results_dir))


def protocol_label(request: ReportRequest) -> str:
    """``demo`` or ``demo (split_mode=clean)``: the protocol as the table's caption names it."""
    changes = ", ".join(f"{k}={v}" for k, v in sorted(request.protocol_overrides.items()))
    name = load_protocol(request.protocol).name
    return f"{name} ({changes})" if changes else name


def selected_groups(request: ReportRequest, sweep_key: str | None = None, methods: list[str] | None = None) -> tuple[str, list[Group]]:
    """(protocol name, groups) of the records that match the request."""
    protocol = apply_protocol_overrides(load_protocol(request.protocol), request.protocol_overrides)
    records = load_records(request.layout.root, protocol.name, strict=True)
    if not records:
        raise ReportError(f"no records under {request.layout.runs_dir(protocol.name)}; run trials first "
                          f"(e.g. `hsibench run --protocol {request.protocol} --method …`) or pass --out")
    methods = methods or request.methods
    matching = matching_records(records, protocol_identity(protocol), sweep_key, methods)
    return protocol.name, group_records(matching, sweep_key, request.preset, methods, request.allow_mixed_code)


def ablation_variants(request: ReportRequest) -> list[str]:
    """The requested variants, else the proposed method and every variant whose records name it as base."""
    if request.methods:
        return request.methods
    protocol = apply_protocol_overrides(load_protocol(request.protocol), request.protocol_overrides)
    found = {r.method for r in load_records(request.layout.root, protocol.name, strict=True)
             if r.method == request.proposed or r.method_base == request.proposed}
    return [request.proposed] + sorted(found - {request.proposed})


def _main(request: ReportRequest) -> Table:
    _, groups = selected_groups(request)
    return main_table(groups, protocol_label(request), request.proposed, request.ddof, request.alpha)


def _ablation(request: ReportRequest) -> Table:
    _, groups = selected_groups(request, methods=ablation_variants(request))
    return ablation_table(groups, protocol_label(request), request.proposed, request.ddof, request.alpha)


def _sweep(request: ReportRequest, key: str) -> Table:
    _, groups = selected_groups(request, sweep_key=key)
    return sweep_table(groups, protocol_label(request), key, request.metric, request.proposed, request.ddof,
                       request.alpha)


TABLES: dict[str, Callable[[ReportRequest], Table]] = {
    "main": _main,
    "ablation": _ablation,
    "shots": lambda request: _sweep(request, "shots"),
    "sweep": lambda request: _sweep(request, request.key),
}


def make_table(kind: str, request: ReportRequest) -> tuple[Table, dict[str, Path]]:
    """Build a table and write it in every format under ``DIR/<protocol>/``; returns (table, format → path)."""
    if kind not in TABLES:
        raise ValueError(f"unknown table {kind!r}; choose one of {', '.join(TABLES)}")
    table = TABLES[kind](request)
    protocol_name = apply_protocol_overrides(load_protocol(request.protocol), request.protocol_overrides).name
    stem = _variant_stem(table.name, request)
    written = {}
    for format_name, (extension, _) in RENDERERS.items():
        path = request.layout.table_path(protocol_name, stem, extension)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(table, format_name))
        written[format_name] = path
    return table, written


def _variant_stem(stem: str, request: ReportRequest) -> str:
    """``main`` for the protocol as shipped, ``main-split_mode=clean`` for a changed one (nothing overwritten)."""
    suffix = "-".join(f"{k}={v}" for k, v in sorted(request.protocol_overrides.items()))
    return f"{stem}-{suffix}" if suffix else stem


def _figure_maps(request: ReportRequest) -> list[Path]:
    name, groups = selected_groups(request)
    return maps_figure(groups, request.seed, request.layout.figures_dir(name), f"{protocol_label(request)}, seed {request.seed}",
                       stem=_variant_stem(f"maps-seed{request.seed}", request))


def _figure_sweep(request: ReportRequest, key: str) -> list[Path]:
    name, groups = selected_groups(request, sweep_key=key)
    return sweep_figure(groups, key, request.layout.figures_dir(name), request.metric, request.ddof,
                        stem=_variant_stem(key, request))


def _figure_ablation(request: ReportRequest) -> list[Path]:
    name, groups = selected_groups(request, methods=ablation_variants(request))
    return ablation_figure(groups, request.layout.figures_dir(name), request.ddof, stem=_variant_stem("ablation", request))


FIGURES: dict[str, Callable[[ReportRequest], list[Path]]] = {
    "maps": _figure_maps,
    "shots": lambda request: _figure_sweep(request, "shots"),
    "sweep": lambda request: _figure_sweep(request, request.key),
    "ablation": _figure_ablation,
}


def make_figure(kind: str, request: ReportRequest) -> list[Path]:
    if kind not in FIGURES:
        raise ValueError(f"unknown figure {kind!r}; choose one of {', '.join(FIGURES)}")
    return FIGURES[kind](request)
