"""The pretraining-source table: does self-supervised pretraining on an unlabeled *other* scene help the target?

One row per protocol (its pretraining source), one column per self-supervised method, cells the OA mean ± std
over seeds. Protocols are grouped by target: each group starts with the same methods trained from random
initialisation ("no pretraining", read from the group's first protocol that has those records), and every other
row of the group is tested against it — a paired Wilcoxon signed-rank test by seed, which is valid only because
every protocol of a group scores the same target pixels on the same split per seed (checked: the split
fingerprints must agree). The p-values are Holm-adjusted over the whole table.

What "no pretraining" means is each method's own business, so it is a small registry here:
:data:`NO_PRETRAINING` names the records of the same model, budget and fine-tuning without the source stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from hsibench.data.registry import SCENES
from hsibench.protocol import load_protocol
from hsibench.protocol.protocol import identity_scenes, protocol_identity
from hsibench.report.collect import Group, ReportError
from hsibench.report.display import method_display_name
from hsibench.report.provenance import provenance_phrase
from hsibench.report.statistics import STD_KINDS, paired_wilcoxon, summarise
from hsibench.report.table_model import Cell, Table
from hsibench.report.tables import OVERALL, holm_marked, tested


@dataclass(frozen=True)
class NoPretraining:
    """The records of a method without its source pretraining: ``method`` (a variant, or the method itself) with
    exactly ``overrides`` as its method overrides (a swept key)."""

    method: str
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def sweep_key(self) -> str | None:
        return next(iter(self.overrides), None)


#: method → its records trained from random initialisation (same budget and fine-tuning, no source stage)
NO_PRETRAINING: dict[str, NoPretraining] = {
    "s2former": NoPretraining("s2former-no-pretrain"),
    "mae": NoPretraining("mae", {"pretrain_steps": 0}),
}
NONE_ROW = "none"


def source_phrase(protocol_name: str) -> str:
    """``Jasper Ridge`` / ``Salinas-A cols 43–85`` / ``5 scenes pooled``: a protocol's pretraining source in words."""
    identity = protocol_identity(load_protocol(protocol_name))
    regions = identity_scenes(identity)[:-1]
    if identity_scenes(identity)[-1] == regions[0] and len(regions) == 1:
        return f"{_region_phrase(regions[0])} itself (transductive)"
    if len(regions) > 1:
        return f"{len(regions)} scenes pooled ({', '.join(region['scene'] for region in regions)})"
    return _region_phrase(regions[0])


def _region_phrase(region: dict) -> str:
    name = region["scene"]
    title = SCENES.get(name).info.title if name in SCENES else name
    for axis in ("rows", "cols"):
        if region.get(axis):
            low, high = region[axis]
            title += f" {axis} {low}–{high - 1}"
    return title


def _target_phrase(protocol_name: str) -> str:
    return _region_phrase(identity_scenes(protocol_identity(load_protocol(protocol_name)))[-1])


def _target_key(protocol_name: str) -> str:
    return repr(identity_scenes(protocol_identity(load_protocol(protocol_name)))[-1])


def _group(request: Any, protocol: str, method: str, none: NoPretraining | None = None) -> Group | None:
    """The one group of ``method`` on ``protocol`` (its no-pretraining records when ``none`` is given), or None."""
    from hsibench.report.outputs import selected_groups

    asked = replace(request, protocol=protocol, methods=None)
    name, key = (none.method, none.sweep_key) if none else (method, None)
    try:
        _, groups = selected_groups(asked, sweep_key=key, methods=[name])
    except ReportError:
        return None
    wanted = None if none is None or key is None else none.overrides[key]
    return next((group for group in groups if group.sweep_value == wanted), None)


def _check_paired(block: list[Group | None], target: str) -> None:
    fingerprints: dict[int, set[str]] = {}
    for group in filter(None, block):
        for seed, record in group.by_seed.items():
            fingerprints.setdefault(seed, set()).add(record.split.fingerprint)
    for seed, found in fingerprints.items():
        if len(found) > 1:
            raise ReportError(f"seed {seed}: the protocols of target {target} were scored on different splits "
                              f"({', '.join(sorted(f[:12] for f in found))}); a paired test needs one split per seed")


def source_table(request: Any, protocols: list[str], methods: list[str] | None = None, decimals: int = 2) -> Table:
    """OA by pretraining source (rows, grouped by target) and self-supervised method (columns)."""
    methods = methods or list(NO_PRETRAINING)
    unknown = [method for method in methods if method not in NO_PRETRAINING]
    if unknown:
        raise ReportError(f"{', '.join(unknown)}: no 'no pretraining' form is registered for the sources table; "
                          f"choose from {', '.join(NO_PRETRAINING)}")
    blocks: dict[str, list[str]] = {}
    for protocol in protocols:
        blocks.setdefault(_target_key(protocol), []).append(protocol)
    rows, row_titles, separators, every_group = [], {}, set(), []
    for target, members in blocks.items():
        if rows:
            separators.add(len(rows))
        none_groups = [next(filter(None, (_group(request, p, m, NO_PRETRAINING[m]) for p in members)), None)
                       for m in methods]
        block_rows = [(f"{NONE_ROW}:{members[0]}", none_groups)]
        row_titles[block_rows[0][0]] = f"none (random initialisation), target {_target_phrase(members[0])}"
        for protocol in members:
            block_rows.append((protocol, [_group(request, protocol, m) for m in methods]))
            row_titles[protocol] = f"{source_phrase(protocol)} ({load_protocol(protocol).name})"
        for column in range(len(methods)):
            _check_paired([groups[column] for _, groups in block_rows], target)
        cells = [[_cell(groups[c], none_groups[c] if groups is not none_groups else None, request.ddof)
                  for c in range(len(methods))] for _, groups in block_rows]
        _bold_best(cells, decimals)
        rows += [(label, row) for (label, _), row in zip(block_rows, cells, strict=True)]
        every_group += [group for _, groups in block_rows for group in groups if group is not None]
    if not every_group:
        raise ReportError(f"no ok records of {', '.join(methods)} on {', '.join(protocols)}; run the main tables "
                          "first (`hsibench run --protocol P --method M`) and the no-pretraining forms "
                          f"({', '.join(NO_PRETRAINING[m].method for m in methods)})")
    rows = holm_marked(rows, request.alpha)
    return Table(name="sources", corner="Pretraining source", columns=methods, rows=rows, decimals=decimals,
                 column_titles={m: method_display_name(m) for m in methods}, row_titles=row_titles,
                 separators=separators, label="tab:sources",
                 caption=_caption(every_group, request, len(tested(rows))))


def _cell(group: Group | None, none: Group | None, ddof: int) -> Cell:
    if group is None:
        return Cell(None)
    values = group.values(OVERALL.extract)
    summary = summarise(list(values.values()), ddof)
    p_value = paired_wilcoxon(none.values(OVERALL.extract), values)[0] if none is not None else None
    return Cell(summary.mean, summary.std, summary.count, p_unadjusted=p_value)


def _bold_best(cells: list[list[Cell]], decimals: int) -> None:
    """Bold the best mean of each column within a target's block (blocks score different pixels)."""
    for column in range(len(cells[0])):
        means = [round(row[column].mean, decimals) for row in cells if row[column].mean is not None]
        for row in cells:
            row[column].bold = len(means) > 1 and row[column].mean is not None \
                and round(row[column].mean, decimals) == max(means)


def _caption(groups: list[Group], request: Any, tests: int) -> str:
    counts = sorted({len(group.by_seed) for group in groups})
    seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    std = "sample" if request.ddof == STD_KINDS["sample"] else "population"
    return (f"OA (%) by pretraining source: mean ± {std} standard deviation over {seeds} seeds. Rows are grouped "
            "by target (a rule between groups); within a group every protocol scores the same target pixels on "
            "the same split per seed, and each source row is tested against the group's 'none' row (the same "
            "model, budget and fine-tuning from random initialisation) with a two-sided Wilcoxon signed-rank test "
            f"paired by seed, p-values Holm-adjusted over the table's {tests} tests; *: adjusted p < "
            f"{request.alpha:g}. Bold: best mean per column within a group. "
            + provenance_phrase([r for g in groups for r in g.by_seed.values()]))
