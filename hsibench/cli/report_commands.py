"""``hsibench table main|ablation|shots|sweep`` and ``hsibench figure maps|shots|sweep|ablation``.

Both read only trial records (``--out DIR``: DIR/<protocol>/runs/*.json, as ``hsibench run --out`` wrote them)
and write nothing unless asked:

- ``table`` prints the table (``--format md|latex|csv``) to stdout; ``--write`` also writes it in every format
  next to the records, DIR/<protocol>/<name>.md|.tex|.csv, and ``--to FOLDER`` writes those files into FOLDER
  instead.
- ``figure`` draws the figure (so any problem shows) and prints where its files would go; ``--write`` saves them
  as DIR/<protocol>/figures/<name>.png|.pdf, ``--to FOLDER`` into FOLDER.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hsibench.cli.options import PRECISIONS, UsageError, add_methods_argument, add_set_argument, assignments

TABLE_KINDS = ("main", "ablation", "shots", "sweep", "sources")
FIGURE_KINDS = ("maps", "shots", "sweep", "ablation")


def _add_selection_options(parser: argparse.ArgumentParser, where: str) -> None:
    parser.add_argument("--protocol", required=True, help="protocol name or TOML path")
    parser.add_argument("--out", type=Path, default=Path("results"), metavar="DIR",
                        help="the results folder to read records from, DIR/<protocol>/runs/ (default ./results, as "
                             "`hsibench run --out`)")
    writing = parser.add_mutually_exclusive_group()
    writing.add_argument("--write", action="store_true",
                         help=f"write the files next to the records, {where} (default: print only, write nothing)")
    writing.add_argument("--to", type=Path, metavar="FOLDER", help="write the files into FOLDER instead")
    add_methods_argument(parser, "methods (columns) in this order (default: the protocol's methods with records, "
                                 "the proposed one first, then the baselines by family: self-supervised, classical, "
                                 "supervised deep, cross-domain few-shot, supervised transfer; never an ablation "
                                 "variant. For ablation: the proposed method, then its variants by name)")
    parser.add_argument("--preset", help="use records of this preset (needed when a method has several)")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="use records of this precision (needed when a method has several)")
    parser.add_argument("--proposed", default="s2former", help="the reference of the significance test and of "
                        "the ablation (default s2former)")
    parser.add_argument("--mode", choices=("legacy", "clean"), help="records of this split mode (default: the protocol's)")
    add_set_argument(parser, "only records made with this protocol value (e.g. normalisation=train), resolved "
                             "as `hsibench run --set` resolves it (repeatable)")
    parser.add_argument("--std", choices=("sample", "population"), default="sample",
                        help="sample std (ddof 1, default) or population std (ddof 0, as the DCFSL code)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level of the Wilcoxon test")
    parser.add_argument("--allow-mixed-code", action="store_true",
                        help="accept records made by different versions of the code (refused by default; the caption "
                             "then says MIXED code)")
    parser.add_argument("--key", default="shots", help="the swept key of `sweep` tables/figures (e.g. mask_ratio)")
    parser.add_argument("--metric", choices=("OA", "AA", "kappa"),
                        help="metric of sweep tables/figures (default OA); for `table main` and `table ablation`, "
                             "show only this metric, so the Holm correction runs over its tests alone (written as "
                             "main-OA.*, ablation-OA.*)")


def _request(args: argparse.Namespace):
    from hsibench.report import STD_KINDS, ReportRequest

    values = assignments(args.set)
    if args.mode:
        if "split_mode" in values and values["split_mode"] != args.mode:
            raise UsageError(f"--mode {args.mode} and --set split_mode={values['split_mode']} disagree; give one")
        values["split_mode"] = args.mode
    protocol_overrides: dict = {}
    if values:  # the runner's key resolution imports the method registry; only needed for overrides
        from hsibench.runner import split_overrides

        protocol_overrides, method_overrides = split_overrides(values)
        if method_overrides:
            raise UsageError(f"{sorted(method_overrides)}: tables compare methods at their preset configs, so --set "
                             "takes protocol keys only here; for records of a swept method key use "
                             "`table sweep --key KEY`")
    return ReportRequest(results_dir=args.out, protocol=args.protocol, protocol_overrides=protocol_overrides,
                         methods=args.methods, preset=args.preset, precision=args.precision, proposed=args.proposed, ddof=STD_KINDS[args.std],
                         alpha=args.alpha, key=args.key, metric=args.metric or "OA", only_metric=args.metric, seed=getattr(args, "seed", 1330),
                         allow_mixed_code=args.allow_mixed_code, full_scene=getattr(args, "full_scene", False),
                         mark_support=getattr(args, "mark_support", True))


def _writes(args: argparse.Namespace) -> bool:
    return bool(args.write or args.to is not None)


def handle_table(args: argparse.Namespace) -> int:
    from hsibench.report import build_table, render, table_paths, write_table

    protocols = args.protocol.split(",")
    if len(protocols) > 1 and args.kind != "sources":
        raise UsageError(f"--protocol {args.protocol}: a {args.kind} table is of one protocol (a list is for "
                         "`table sources`)")
    if args.kind == "sources":
        return _sources_table(args, protocols)
    request = _request(args)
    table = build_table(args.kind, request)
    print(render(table, args.format), end="")
    if _writes(args):
        written = write_table(table, request, args.to)
        print("written: " + ", ".join(str(path) for path in written.values()), file=sys.stderr)
    else:
        where = table_paths(table, request)
        print(f"(not written; --write saves {', '.join(path.name for path in where.values())} in "
              f"{next(iter(where.values())).parent}/, --to FOLDER elsewhere)", file=sys.stderr)
    return 0


def _sources_table(args: argparse.Namespace, protocols: list[str]) -> int:
    """``table sources``: one table over several protocols, written as DIR/sources.md|tex|csv (or into --to)."""
    from hsibench.report import render
    from hsibench.report.render import RENDERERS
    from hsibench.report.source_table import source_table

    args.protocol = protocols[0]
    table = source_table(_request(args), protocols, args.methods)
    print(render(table, args.format), end="")
    folder = args.to if args.to is not None else args.out
    paths = {name: folder / f"{table.name}.{extension}" for name, (extension, _) in RENDERERS.items()}
    if _writes(args):
        folder.mkdir(parents=True, exist_ok=True)
        for name, path in paths.items():
            path.write_text(render(table, name))
        print("written: " + ", ".join(str(path) for path in paths.values()), file=sys.stderr)
    else:
        print(f"(not written; --write saves sources.md, .tex and .csv in {folder}/)", file=sys.stderr)
    return 0


def handle_figure(args: argparse.Namespace) -> int:
    from hsibench.report import make_figure

    paths = make_figure(args.kind, _request(args), write=_writes(args), folder=args.to)
    if _writes(args):
        for path in paths:
            print(path)
    else:
        for path in paths:
            print(f"would write {path}")
        print("(not written; pass --write to save these files, or --to FOLDER to save them elsewhere)",
              file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    table = subparsers.add_parser(
        "table", help="paper tables from records (main, ablation, shots, sweep)",
        description="Mean ± std over seeds, best per row in bold, Wilcoxon signed-rank test against the proposed "
                    "method (paired by seed, Holm-adjusted over the table), † for methods that use source labels; "
                    "accuracies in %, Cohen's κ ×100. Prints the table in the chosen format and writes nothing, "
                    "unless --write (md, tex and csv under DIR/<protocol>/) or --to FOLDER.")
    table.add_argument("kind", choices=TABLE_KINDS)
    table.add_argument("--format", choices=("md", "latex", "csv"), default="md",
                       help="printed format (--write and --to write all three)")
    _add_selection_options(table, "DIR/<protocol>/<name>.md|tex|csv; `sources` (--protocol P1,P2,…: OA of the "
                                  "self-supervised methods by pretraining source, against no pretraining) DIR/sources.*")
    table.set_defaults(handler=handle_table)

    figure = subparsers.add_parser(
        "figure", help="figures from records (maps, shots, sweep, ablation) as PNG and PDF",
        description="Draws the figure and prints where its files would go; writes them only with --write "
                    "(DIR/<protocol>/figures/) or --to FOLDER.")
    figure.add_argument("kind", choices=FIGURE_KINDS)
    figure.add_argument("--seed", type=int, default=1330, help="seed of the classification maps (default 1330)")
    figure.add_argument("--full-scene", action="store_true",
                        help="maps: paint predictions on unlabeled pixels too (default: only labeled pixels, the scored ones)")
    figure.add_argument("--no-support-marks", dest="mark_support", action="store_false",
                        help="maps: do not dot the support pixels on the ground-truth panel")
    _add_selection_options(figure, "DIR/<protocol>/figures/<name>.png|pdf")
    figure.set_defaults(handler=handle_figure)
