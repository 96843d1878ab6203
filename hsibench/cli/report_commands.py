"""``hsibench table main|ablation|shots|sweep`` and ``hsibench figure maps|shots|sweep|ablation``.

Both read only trial records (DIR/<protocol>/runs/*.json) and write next to them:
tables as DIR/<protocol>/<name>.md|.tex|.csv, figures as DIR/<protocol>/figures/<name>.png|.pdf.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hsibench.cli.options import UsageError, add_methods_argument, add_set_argument, assignments

TABLE_KINDS = ("main", "ablation", "shots", "sweep")
FIGURE_KINDS = ("maps", "shots", "sweep", "ablation")


def _add_selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", required=True, help="protocol name or TOML path")
    parser.add_argument("--out", type=Path, default=Path("results"), metavar="DIR", help="results folder (default ./results)")
    add_methods_argument(parser, "methods (columns) in this order (default: every method with records; for "
                                 "ablation: the proposed method's variants)")
    parser.add_argument("--preset", help="use records of this preset (needed when a method has several)")
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
    parser.add_argument("--metric", choices=("OA", "AA", "kappa"), default="OA", help="metric of sweep tables/figures")


def _request(args: argparse.Namespace):
    from hsibench.report import STD_KINDS, ReportRequest
    from hsibench.runner import split_overrides

    values = assignments(args.set)
    if args.mode:
        if "split_mode" in values and values["split_mode"] != args.mode:
            raise UsageError(f"--mode {args.mode} and --set split_mode={values['split_mode']} disagree; give one")
        values["split_mode"] = args.mode
    protocol_overrides, method_overrides = split_overrides(values)
    if method_overrides:
        raise UsageError(f"{sorted(method_overrides)}: tables compare methods at their preset configs, so --set "
                         "takes protocol keys only here; for records of a swept method key use "
                         "`table sweep --key KEY`")
    return ReportRequest(results_dir=args.out, protocol=args.protocol, protocol_overrides=protocol_overrides,
                         methods=args.methods, preset=args.preset, proposed=args.proposed, ddof=STD_KINDS[args.std],
                         alpha=args.alpha, key=args.key, metric=args.metric, seed=getattr(args, "seed", 1330),
                         allow_mixed_code=args.allow_mixed_code)


def handle_table(args: argparse.Namespace) -> int:
    from hsibench.report import make_table, render

    table, written = make_table(args.kind, _request(args))
    print(render(table, args.format))
    print("written: " + ", ".join(str(path) for path in written.values()))
    return 0


def handle_figure(args: argparse.Namespace) -> int:
    from hsibench.report import make_figure

    for path in make_figure(args.kind, _request(args)):
        print(path)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    table = subparsers.add_parser(
        "table", help="paper tables from records (main, ablation, shots, sweep)",
        description="Mean ± std over seeds, best per row in bold, Wilcoxon signed-rank test against the proposed "
                    "method (paired by seed), † for methods that use source labels. Writes .md, .tex and .csv "
                    "under DIR/<protocol>/ and prints the chosen format.")
    table.add_argument("kind", choices=TABLE_KINDS)
    table.add_argument("--format", choices=("md", "latex", "csv"), default="md", help="printed format (all are written)")
    _add_selection_options(table)
    table.set_defaults(handler=handle_table)

    figure = subparsers.add_parser("figure", help="figures from records (maps, shots, sweep, ablation) as PNG and PDF")
    figure.add_argument("kind", choices=FIGURE_KINDS)
    figure.add_argument("--seed", type=int, default=1330, help="seed of the classification maps (default 1330)")
    _add_selection_options(figure)
    figure.set_defaults(handler=handle_figure)
