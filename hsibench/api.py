"""The Python API: what the CLI does, as functions that return records and DataFrames.

    import hsibench
    records = hsibench.run(method="svm", protocol="demo", seeds=[1330, 1220])
    frame = hsibench.load_results("results", protocol="demo")      # one row per record
    table = hsibench.table("main", protocol="demo")                  # the paper table as a DataFrame

``run`` goes through the same campaign as ``hsibench run`` (records written under ``out``, trials
with a current record skipped, shared pretrainings once), so a notebook and the command line
produce and reuse the same records. The API sits beside the CLI at the top of the layers: it
imports the runner and the report layer, and nothing imports it but the package's lazy names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from hsibench.runner import (
    ExecutorOptions,
    RecordError,
    TrialRecord,
    TrialSettings,
    choose_seeds,
    create_executor,
    default_pretraining_cache,
    load_records,
    plan_trials,
    run_campaign,
)
from hsibench.runner.record_schema import STATUS_OK


def run(method: str | Iterable[str], protocol: str, seeds: Iterable[int] | None = None, preset: str | None = None,
        out: str | Path = "results", cache: str | Path | None = None, executor: str = "local",
        overrides: Mapping[str, Any] | None = None, force: bool = False, plugins: Iterable[str] = (),
        device: str = "auto", threads: int = 1, maps: str = "none", precision: str = "auto",
        **executor_options: Any) -> list[TrialRecord]:
    """Run ``method`` (one name or several) on ``protocol`` for ``seeds`` (default: the protocol's) and return the records.

    ``preset`` defaults to the protocol's default preset (``smoke`` on the demo, ``paper`` elsewhere),
    ``overrides`` are ``--set`` pairs (protocol or method keys), ``executor`` is ``local`` (this process,
    the default here: no Ray start for a notebook) or ``ray`` (``executor_options`` go to
    :class:`~hsibench.runner.ExecutorOptions`: ``address``, ``gpus_per_trial``, ``loggers``…); ``precision`` is
    ``--precision`` (auto, fp32, bf16, fp16). Failed
    trials are returned as failed records, as the CLI records them; nothing is raised for them.
    """
    from hsibench.methods.training import choose_precision
    from hsibench.protocol import load_protocol

    methods = [method] if isinstance(method, str) else list(method)
    loaded = load_protocol(protocol)
    out, cache = Path(out).resolve(), Path(cache).resolve() if cache else default_pretraining_cache()
    settings = TrialSettings(out_dir=out, cache_dir=cache, preset=preset or loaded.default_preset, device=device,
                             threads=threads, maps=maps, plugins=tuple(plugins),
                             precision=choose_precision(precision, device, executor_options.get("gpus_per_trial", 0.0)))
    specs = plan_trials(methods, protocol, choose_seeds(loaded, list(seeds) if seeds else None), settings,
                        fixed=dict(overrides or {}))
    options = ExecutorOptions(results_dir=out, cache_dir=cache, cpus_per_trial=float(threads), device=device,
                              plugins=tuple(plugins), **executor_options)
    result = run_campaign(specs, create_executor(executor, options), force=force, live=False)
    return result.records


def record_row(record: TrialRecord) -> dict[str, Any]:
    """The flat facts of one record (see :func:`hsibench.report.collect.record_row`), ``code`` its fingerprint."""
    from hsibench.report.collect import record_row as facts

    row = facts(record)
    row["code"] = row.pop("code_digest")  # the fingerprint itself: a DataFrame compares code across records
    return row


def load_results(results_dir: str | Path = "results", protocol: str | None = None, method: str | None = None,
                 ok_only: bool = True) -> pd.DataFrame:
    """Every record under ``results_dir`` (of ``protocol`` / ``method`` when given) as one row each.

    Scores are fractions as in the records (the tables print them ×100). ``ok_only=False`` keeps
    failed records too (their scores are missing). Raises :class:`~hsibench.runner.RecordError` for a
    file that is not a valid record, naming it.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise RecordError(f"{root}: no such results folder (records are written by `hsibench run --out DIR`)")
    rows = [record_row(record) for record in load_records(root, protocol)
            if (method is None or record.method == method) and (not ok_only or record.status == STATUS_OK)]
    return pd.DataFrame(rows, columns=list(record_row(TrialRecord("", STATUS_OK, "", 0)).keys()))


def table(kind: str = "main", protocol: str = "demo", results_dir: str | Path = "results",
          methods: Iterable[str] | None = None, **request: Any) -> pd.DataFrame:
    """A paper table (``main``, ``ablation``, ``shots``, ``sweep``) as a DataFrame, built from records; writes nothing.

    Rows are the table's rows (classes, OA, AA, κ ×100), columns its methods (or settings); each
    cell is the mean over seeds, and ``frame.attrs`` holds the caption, the standard deviations and
    the seed counts (``std``, ``count``: DataFrames of the same shape). ``request`` takes the other
    fields of :class:`~hsibench.report.ReportRequest` (``preset``, ``proposed``, ``key``, ``metric``…).
    """
    from hsibench.report import ReportRequest
    from hsibench.report.outputs import build_table

    built = build_table(kind, ReportRequest(results_dir=Path(results_dir), protocol=protocol,
                                            methods=list(methods) if methods else None, **request))
    labels = [built.row_label(row) for row, _ in built.rows]
    columns = [built.column_label(column) for column in built.columns]

    def frame(value) -> pd.DataFrame:
        return pd.DataFrame([[value(cell) for cell in cells] for _, cells in built.rows], index=labels, columns=columns)

    means = frame(lambda cell: cell.mean)
    means.index.name = built.corner
    means.attrs = {"caption": built.caption, "name": built.name, "std": frame(lambda cell: cell.std),
                   "count": frame(lambda cell: cell.count)}
    return means
