"""From a results folder to tables and figures: record selection, builders, and — only when asked — files.

Kinds are registered by name so the CLI only looks them up: tables ``main``, ``ablation``,
``shots`` (and ``sweep`` over any key); figures ``maps``, ``shots``, ``ablation``.

Building reads records and writes nothing (:func:`build_table`, ``TABLES``); :func:`write_table`
writes a built table in every format, by default next to its records (``DIR/<protocol>/<name>.md|tex|csv``)
or into a folder given. Figures are drawn into the folder asked for, or, for a dry run, into a
temporary one that is then removed (:func:`make_figure` with ``write=False``).

Default columns (no ``methods`` asked for): ``main`` and sweep tables show the protocol's methods
that have records — never an ablation variant (a record whose ``method_base`` is set) — the proposed
method first and the baselines in the order of :func:`~hsibench.report.display.method_order_key`;
``ablation`` shows the proposed method, then its variants by name.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hsibench.protocol import load_protocol
from hsibench.protocol.protocol import Protocol, protocol_identity
from hsibench.report.collect import Group, ReportError, group_records, matching_records
from hsibench.report.display import latex_label, method_order_key
from hsibench.report.preset_selection import (
    METHOD_FIELD,
    PresetSelection,
    describe_presets,
    is_preset_file_name,
    preset_file_path,
    select_presets,
    selection_label,
)
from hsibench.report.render import RENDERERS, render
from hsibench.report.table_model import Table
from hsibench.report.tables import DEFAULT_ALPHA, PROPOSED_METHOD, ablation_table, main_table, sweep_table
from hsibench.runner.layout import ResultsLayout
from hsibench.runner.record_schema import TrialRecord
from hsibench.runner.records import load_records


@dataclass(frozen=True)
class ReportRequest:
    """What the user asked for; everything a table or figure needs besides the records."""

    results_dir: Path
    protocol: str
    protocol_overrides: dict[str, Any] = field(default_factory=dict)  # e.g. {"split_mode": "clean"}
    methods: list[str] | None = None
    preset: str | None = None
    precision: str | None = None  # records of this precision (fp32, bf16, fp16); needed when a method has several
    proposed: str = PROPOSED_METHOD
    ddof: int = 1
    alpha: float = DEFAULT_ALPHA
    key: str = "shots"  # the swept key of sweep tables and figures
    metric: str = "OA"
    only_metric: str | None = None  # main/ablation: only this metric (the Holm family is its tests alone)
    seed: int = 1330  # the maps figure's seed
    allow_mixed_code: bool = False
    full_scene: bool = False  # maps: paint predictions on unlabeled pixels too (default: labeled pixels only)
    mark_support: bool = True  # maps: dot the support pixels on the ground-truth panel  # accept records made by different code (the caption says so)

    @property
    def layout(self) -> ResultsLayout:
        return ResultsLayout(Path(self.results_dir))


def requested_protocol(request: ReportRequest) -> Protocol:
    """The protocol with the request's overrides (the runner's coercion is imported only when there are some)."""
    protocol = load_protocol(request.protocol)
    if not request.protocol_overrides:
        return protocol
    from hsibench.runner.spec import apply_protocol_overrides

    return apply_protocol_overrides(protocol, request.protocol_overrides)


def protocol_label(request: ReportRequest) -> str:
    """``demo`` or ``demo (split_mode=clean)``: the protocol as the table's caption names it."""
    changes = ", ".join(f"{k}={v}" for k, v in sorted(request.protocol_overrides.items()))
    name = load_protocol(request.protocol).name
    label = f"{name} ({changes})" if changes else name
    if not is_preset_file_name(request.preset):
        return label
    return f"{label}, {describe_presets(request.preset, request.methods)}"


def _records(request: ReportRequest) -> tuple[Protocol, list[TrialRecord]]:
    protocol = requested_protocol(request)
    return protocol, load_records(request.layout.root, protocol.name, strict=True)


def default_methods(records: list[TrialRecord], proposed: str | None = PROPOSED_METHOD) -> list[str]:
    """The methods of ``records`` that are not ablation variants, the proposed one first, then the baselines in
    the documented order (:func:`~hsibench.report.display.method_order_key`)."""
    families: dict[str, str | None] = {}
    for record in records:
        if record.method_base is None:
            families.setdefault(record.method, record.family)
    return sorted(families, key=lambda method: method_order_key(method, families[method], proposed))


def selected_groups(request: ReportRequest, sweep_key: str | None = None, methods: list[str] | None = None,
                    records: list[TrialRecord] | None = None) -> tuple[str, list[Group]]:
    """(protocol name, groups) of the records that match the request: ``methods`` (else the request's, else
    :func:`default_methods`) in that order."""
    protocol = requested_protocol(request)
    if records is None:
        records = load_records(request.layout.root, protocol.name, strict=True)
    if not records:
        raise ReportError(f"no records under {request.layout.runs_dir(protocol.name)}; run trials first "
                          f"(e.g. `hsibench run --protocol {request.protocol} --method …`) or pass --out")
    methods = methods or request.methods
    if methods is None and is_preset_file_name(request.preset):
        methods = _methods_with_preset_files(records, request)
    presets = select_presets(request.preset, methods) if methods else PresetSelection(request.preset)
    matching = matching_records(records, protocol_identity(protocol), sweep_key, methods, presets)
    methods = methods or default_methods(matching, request.proposed)
    matching = [record for record in matching if record.method in methods]
    return protocol.name, group_records(matching, sweep_key, presets.name, methods, request.allow_mixed_code,
                                        request.precision)


def _methods_with_preset_files(records: list[TrialRecord], request: ReportRequest) -> list[str]:
    """The default columns of a table of preset files: the methods with records made from a preset file, and for
    a ``{method}`` template only those whose file exists."""
    with_files = [record for record in records if record.preset_file is not None and record.audit is None]
    methods = default_methods(with_files, request.proposed)
    if METHOD_FIELD in str(request.preset):
        methods = [method for method in methods if preset_file_path(request.preset, method).is_file()]
    if not methods:
        raise ReportError(f"no records made from --preset {request.preset} under {request.layout.root}; run "
                          f"`hsibench run --preset {request.preset} …` first")
    return methods


def ablation_variants(request: ReportRequest, records: list[TrialRecord] | None = None) -> list[str]:
    """The requested variants, else the proposed method and every variant whose records name it as base."""
    if request.methods:
        return request.methods
    if records is None:
        _, records = _records(request)
    found = {r.method for r in records if r.method == request.proposed or r.method_base == request.proposed}
    return [request.proposed] + sorted(found - {request.proposed})


def _suffix(request: ReportRequest) -> str:
    """``""`` for the protocol as shipped, ``split_mode=clean`` for a changed one."""
    return "-".join(f"{k}={v}" for k, v in sorted(request.protocol_overrides.items()))


def _selection_suffix(request: ReportRequest) -> str:
    """The protocol changes, then the tuned presets' name (``tuned-sa_a2jr_dev``) for tables of preset files."""
    parts = [_suffix(request), selection_label(request.preset) if is_preset_file_name(request.preset) else ""]
    return "-".join(part for part in parts if part)


def _label(kind: str, request: ReportRequest, protocol_name: str) -> str:
    return latex_label(kind, protocol_name, _selection_suffix(request))


def _kind(kind: str, request: ReportRequest) -> str:
    """``main-OA`` for a table of one metric (its own file and LaTeX label), else ``main``."""
    return f"{kind}-{request.only_metric}" if request.only_metric else kind


def _main(request: ReportRequest) -> Table:
    name, groups = selected_groups(request)
    return main_table(groups, protocol_label(request), request.proposed, request.ddof, request.alpha,
                      label=_label(_kind("main", request), request, name), metric=request.only_metric)


def _ablation(request: ReportRequest) -> Table:
    _, records = _records(request)
    name, groups = selected_groups(request, methods=ablation_variants(request, records), records=records)
    return ablation_table(groups, protocol_label(request), request.proposed, request.ddof, request.alpha,
                          label=_label(_kind("ablation", request), request, name), metric=request.only_metric)


def _sweep(request: ReportRequest, key: str) -> Table:
    name, groups = selected_groups(request, sweep_key=key)
    return sweep_table(groups, protocol_label(request), key, request.metric, request.proposed, request.ddof,
                       request.alpha, label=_label(key, request, name))


#: kind → builder; a builder reads records and writes nothing
TABLES: dict[str, Callable[[ReportRequest], Table]] = {
    "main": _main,
    "ablation": _ablation,
    "shots": lambda request: _sweep(request, "shots"),
    "sweep": lambda request: _sweep(request, request.key),
}


def build_table(kind: str, request: ReportRequest) -> Table:
    """The table of ``kind`` from the request's records; writes nothing."""
    if kind not in TABLES:
        raise ValueError(f"unknown table {kind!r}; choose one of {', '.join(TABLES)}")
    return TABLES[kind](request)


def table_paths(table: Table, request: ReportRequest, folder: Path | None = None) -> dict[str, Path]:
    """format → the path :func:`write_table` writes: ``folder/<stem>.<ext>``, by default next to the records
    (``DIR/<protocol>/``); the stem is the table's name, with the protocol overrides for a changed protocol."""
    protocol_name = requested_protocol(request).name
    stem = _variant_stem(table.name, request)
    return {format_name: (Path(folder) / f"{stem}.{extension}" if folder is not None
                          else request.layout.table_path(protocol_name, stem, extension))
            for format_name, (extension, _) in RENDERERS.items()}


def write_table(table: Table, request: ReportRequest, folder: Path | None = None) -> dict[str, Path]:
    """Write ``table`` in every format (see :func:`table_paths`); returns format → path."""
    written = table_paths(table, request, folder)
    for format_name, path in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(table, format_name))
    return written


def make_table(kind: str, request: ReportRequest, *, write: bool = True,
               folder: Path | None = None) -> tuple[Table, dict[str, Path]]:
    """Build a table and, with ``write`` (the default, as before), write it in every format under ``DIR/<protocol>/``
    (or ``folder``); returns (table, format → path written), the mapping empty without ``write``."""
    table = build_table(kind, request)
    return table, (write_table(table, request, folder) if write else {})


def _variant_stem(stem: str, request: ReportRequest) -> str:
    """``main`` for the protocol as shipped, ``main-split_mode=clean`` for a changed one, ``main-tuned-DEV`` for the
    records of tuned preset files (nothing overwritten)."""
    suffix = _selection_suffix(request)
    return f"{stem}-{suffix}" if suffix else stem


def _figure_maps(request: ReportRequest, folder: Path | None = None) -> list[Path]:
    from hsibench.report.figures import maps_figure

    name, groups = selected_groups(request)
    return maps_figure(groups, request.seed, folder or request.layout.figures_dir(name),
                       f"{protocol_label(request)}, seed {request.seed}",
                       stem=_variant_stem(f"maps-seed{request.seed}", request), mask_unlabeled=not request.full_scene,
                       mark_support=request.mark_support)


def _figure_sweep(request: ReportRequest, key: str, folder: Path | None = None) -> list[Path]:
    from hsibench.report.figures import sweep_figure

    name, groups = selected_groups(request, sweep_key=key)
    return sweep_figure(groups, key, folder or request.layout.figures_dir(name), request.metric, request.ddof,
                        stem=_variant_stem(key, request))


def _figure_ablation(request: ReportRequest, folder: Path | None = None) -> list[Path]:
    from hsibench.report.figures import ablation_figure

    _, records = _records(request)
    name, groups = selected_groups(request, methods=ablation_variants(request, records), records=records)
    return ablation_figure(groups, folder or request.layout.figures_dir(name), request.ddof,
                           stem=_variant_stem("ablation", request), full=request.proposed, alpha=request.alpha)


#: kind → drawer(request, folder=None): draws into ``folder`` (None: ``DIR/<protocol>/figures/``), returns the paths
FIGURES: dict[str, Callable[..., list[Path]]] = {
    "maps": _figure_maps,
    "shots": lambda request, folder=None: _figure_sweep(request, "shots", folder),
    "sweep": lambda request, folder=None: _figure_sweep(request, request.key, folder),
    "ablation": _figure_ablation,
}


def figure_folder(request: ReportRequest) -> Path:
    """Where a figure goes by default: ``DIR/<protocol>/figures/``."""
    return request.layout.figures_dir(requested_protocol(request).name)


def make_figure(kind: str, request: ReportRequest, *, write: bool = True, folder: Path | None = None) -> list[Path]:
    """Draw a figure into ``folder`` (default ``DIR/<protocol>/figures/``) and return its files.

    With ``write=False`` it is drawn into a temporary folder, removed afterwards, so every problem shows, and the
    paths returned are where it would have gone; nothing is written there.
    """
    if kind not in FIGURES:
        raise ValueError(f"unknown figure {kind!r}; choose one of {', '.join(FIGURES)}")
    if write:
        return FIGURES[kind](request, folder)
    destination = Path(folder) if folder is not None else figure_folder(request)
    with tempfile.TemporaryDirectory(prefix="hsibench-figure-") as scratch:
        drawn = FIGURES[kind](request, Path(scratch))
        return [destination / path.relative_to(scratch) for path in drawn]
