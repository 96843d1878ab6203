"""A static HTML report of one or more protocols: an index and one page per protocol, readable offline.

Each page holds what a colleague needs to judge the numbers without the records at hand: the main
table (and the ablation and shots tables where records exist), the figures, every record's own
scores (per seed), the provenance of the records (code fingerprints, git commit, hardware, precision,
dates) and the caveats the tables carry (their captions). Everything is a plain file under the
report folder — HTML, one stylesheet inline, PNG figures copied in — with no script from a
server, no web font and no network access, so the folder can be zipped and mailed.

Pages are built from records only, through the same builders as ``hsibench table``/``figure``
(:func:`~hsibench.report.outputs.build_table`, :func:`~hsibench.report.outputs.make_figure`); a
table or figure that cannot be made (no ablation records, no map) is left out with the reason.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from hsibench.report.collect import ReportError
from hsibench.report.display import method_display_name
from hsibench.report.outputs import ReportRequest, build_table, make_figure, requested_protocol, selected_groups
from hsibench.report.table_model import Table
from hsibench.runner.record_schema import TrialRecord

#: the tables and figures a protocol page tries, in page order
PAGE_TABLES = ("main", "ablation", "shots")
PAGE_FIGURES = ("maps", "ablation", "shots")

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1, h2, h3 { line-height: 1.2; }
table { border-collapse: collapse; margin: 0.8rem 0 1.6rem; font-size: 0.92rem; }
caption { caption-side: bottom; text-align: left; font-size: 0.85rem; color: #444; padding-top: 0.4rem; max-width: 70rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #333; }
tr.rule td { border-top: 2px solid #333; }
td.significant { text-decoration: underline; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption, .note { font-size: 0.85rem; color: #444; }
.caveat { background: #fff7e0; border-left: 4px solid #e0a800; padding: 0.5rem 0.8rem; }
nav a { margin-right: 1rem; }
"""

#: marks every image that failed to load (a missing file): the report's test reads it from the rendered page
IMAGE_CHECK = """
<script>
window.addEventListener("load", function () {
  var broken = Array.prototype.filter.call(document.images, function (image) {
    return !image.complete || image.naturalWidth === 0; });
  document.body.setAttribute("data-images", String(document.images.length));
  document.body.setAttribute("data-broken-images", String(broken.length));
});
</script>
"""


@dataclass
class ProtocolPage:
    """One protocol's page, as built (also what the index shows of it)."""

    protocol: str
    path: Path
    description: str = ""
    tables: dict[str, Table] = field(default_factory=dict)
    figures: dict[str, list[Path]] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)  # table/figure → why it is not on the page
    records: list[TrialRecord] = field(default_factory=list)


def table_html(table: Table) -> str:
    """A built table as an HTML table: the same cells, bold and marks as Markdown and LaTeX, caption below."""
    head = "".join(f"<th>{html.escape(table.column_label(column))}</th>" for column in table.columns)
    body = []
    for position, (row, cells) in enumerate(table.rows):
        rule = ' class="rule"' if position in table.separators else ""
        tds = []
        for cell in cells:
            text = html.escape(cell.text(table.decimals))
            classes = " class=\"significant\"" if cell.significant else ""
            tds.append(f"<td{classes}>{'<b>' + text + '</b>' if cell.bold else text}</td>")
        body.append(f"<tr{rule}><td>{html.escape(table.row_label(row))}</td>{''.join(tds)}</tr>")
    return (f'<table id="table-{html.escape(table.name)}"><caption>{html.escape(table.caption)}</caption>'
            f"<thead><tr><th>{html.escape(table.corner)}</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def per_seed_html(records: list[TrialRecord]) -> str:
    """Every record of the page's main table: method, seed, its own scores, time, when and where it ran."""
    rows = []
    for record in sorted(records, key=lambda r: (r.method, r.seed)):
        machine = record.machine
        seconds = record.timings.get("total_s")
        rows.append(
            f"<tr><td>{html.escape(method_display_name(record.method, record.method_base))}</td><td>{record.seed}</td>"
            f"<td>{100 * record.overall_accuracy:.2f}</td><td>{100 * record.average_accuracy:.2f}</td>"
            f"<td>{100 * record.kappa:.2f}</td><td>{'' if seconds is None else f'{seconds:.1f}'}</td>"
            f"<td>{html.escape(record.finished_at or '')}</td>"
            f"<td>{html.escape(machine.cpu_model or '') if machine else ''}</td>"
            f"<td>{html.escape(record.run_id)}</td></tr>")
    return ('<table id="per-seed"><thead><tr><th>method</th><th>seed</th><th>OA (%)</th><th>AA (%)</th>'
            "<th>κ ×100</th><th>seconds</th><th>finished (UTC)</th><th>CPU</th><th>run id</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def provenance_html(records: list[TrialRecord]) -> str:
    """What made the page's numbers: code per method, shared layers, commits, machines, precision, dates."""
    code = sorted({(r.method, r.code.digest or "unrecorded", r.code.shared_digest or "–") for r in records})
    commits = Counter(r.code.label() for r in records)
    machines = Counter(
        (f"{m.cpu_model or 'unknown CPU'} ({' '.join(m.isa_flags) or 'ISA not recorded'}), {m.threads} thread(s), "
         f"torch {m.torch_version}, {m.device}, {m.precision or 'precision not recorded'}")
        for r in records if (m := r.machine) is not None)
    dates = sorted(d for r in records for d in (r.started_at, r.finished_at) if d)
    code_rows = "".join(f"<tr><td>{html.escape(method)}</td><td><code>{digest[:12]}</code></td>"
                        f"<td><code>{shared[:12]}</code></td></tr>" for method, digest, shared in code)
    listed = "".join(f"<li>{html.escape(text)} — {count} record(s)</li>" for text, count in commits.items())
    hardware = "".join(f"<li>{html.escape(text)} — {count} record(s)</li>" for text, count in machines.items())
    span = f"{dates[0]} … {dates[-1]}" if dates else "not recorded"
    return (f'<table id="code"><thead><tr><th>method</th><th>code fingerprint</th><th>shared layers</th></tr></thead>'
            f"<tbody>{code_rows}</tbody></table><p>Code: </p><ul>{listed}</ul><p>Hardware:</p><ul>{hardware}</ul>"
            f"<p>Run between {html.escape(span)}.</p>")


def _page_records(request: ReportRequest) -> list[TrialRecord]:
    _, groups = selected_groups(request)
    return [record for group in groups for record in group.by_seed.values()]


def _map_seed(request: ReportRequest, records: list[TrialRecord]) -> int | None:
    """The seed of the maps figure: the request's if its records have maps, else the first seed that has any."""
    seeds = sorted({r.seed for r in records if r.map_file})
    return request.seed if request.seed in seeds else (seeds[0] if seeds else None)


def build_protocol_page(request: ReportRequest, out_dir: Path) -> ProtocolPage:
    """Tables and figures of one protocol under ``out_dir/<protocol>/``, and its page ``index.html`` there."""
    protocol = requested_protocol(request)
    folder = out_dir / protocol.name
    figures_dir = folder / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    page = ProtocolPage(protocol.name, folder / "index.html", protocol.description)
    page.records = _page_records(request)
    for kind in PAGE_TABLES:
        try:
            page.tables[kind] = build_table(kind, request)
        except ReportError as error:
            page.left_out[f"{kind} table"] = str(error)
    seed = _map_seed(request, page.records)
    for kind in PAGE_FIGURES:
        if kind == "maps" and seed is None:
            page.left_out["maps figure"] = "no record of this protocol kept a full-scene map (`hsibench run --maps`)"
            continue
        try:
            page.figures[kind] = [path for path in make_figure(kind, replace(request, seed=seed or request.seed),
                                                                folder=figures_dir) if path.suffix == ".png"]
        except ReportError as error:
            page.left_out[f"{kind} figure"] = str(error)
    page.path.write_text(_page_html(page))
    return page


def _figure_html(kind: str, paths: list[Path], page_dir: Path) -> str:
    return "".join(f'<figure><img src="{html.escape(str(path.relative_to(page_dir)))}" alt="{kind} figure">'
                   f"<figcaption>{html.escape(path.stem)}</figcaption></figure>" for path in paths)


def _page_html(page: ProtocolPage) -> str:
    sections = [f"<h1>{html.escape(page.protocol)}</h1><p>{html.escape(page.description)}</p>",
                '<nav><a href="../index.html">all protocols</a></nav>']
    for kind, table in page.tables.items():
        sections.append(f"<h2>{kind.capitalize()} table</h2>{table_html(table)}")
    for kind, paths in page.figures.items():
        sections.append(f"<h2>{kind.capitalize()} figure</h2>{_figure_html(kind, paths, page.path.parent)}")
    sections.append(f"<h2>Per-seed values</h2>{per_seed_html(page.records)}")
    sections.append(f"<h2>Provenance</h2>{provenance_html(page.records)}")
    caveats = [f"<li>{html.escape(table.caption)}</li>" for table in page.tables.values()]
    caveats += [f"<li>Not on this page — {html.escape(what)}: {html.escape(why)}</li>"
                for what, why in page.left_out.items()]
    sections.append(f'<h2>Caveats</h2><div class="caveat"><ul>{"".join(caveats)}</ul></div>')
    return _document(f"hsibench — {page.protocol}", "".join(sections))


def _document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>{body}{IMAGE_CHECK}</body></html>\n")


def _headline(page: ProtocolPage) -> str:
    main = page.tables.get("main")
    if main is None:
        return "no main table"
    oa = next((cells for row, cells in main.rows if row.startswith("OA")), None)
    if oa is None:
        return ""
    return ", ".join(f"{main.column_label(column)} {cell.text(main.decimals)}" for column, cell in zip(main.columns, oa))


def build_report(protocols: list[str], results_dir: Path, out_dir: Path, **request_options) -> Path:
    """The report of ``protocols`` (records under ``results_dir``) in ``out_dir``; returns the index page."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = [build_protocol_page(ReportRequest(results_dir=Path(results_dir), protocol=protocol, **request_options),
                                 out_dir) for protocol in protocols]
    items = "".join(f'<li><a href="{html.escape(page.protocol)}/index.html">{html.escape(page.protocol)}</a> — '
                    f"{html.escape(page.description)}<br><span class=\"note\">OA (%): "
                    f"{html.escape(_headline(page))}; {len(page.records)} records</span></li>" for page in pages)
    index = out_dir / "index.html"
    index.write_text(_document("hsibench report", f"<h1>hsibench report</h1><ul>{items}</ul>"
                               "<p class=\"note\">Built from trial records by <code>hsibench report</code>; every "
                               "number is recomputed from the records of its page.</p>"))
    return index
