"""``hsibench report PROTOCOL [PROTOCOL…] --out DIR``: a static HTML report built from records."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def handle_report(args: argparse.Namespace) -> int:
    from hsibench.report.html_report import build_report

    clock = time.perf_counter()
    options = {"preset": args.preset} if args.preset else {}
    index = build_report(args.protocols, args.results, args.out, allow_mixed_code=args.allow_mixed_code, **options)
    print(f"report written to {index} ({time.perf_counter() - clock:.1f} s); open it in a browser, no server needed")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report", help="a static HTML report (tables, figures, per-seed values, provenance) of protocols' records",
        description="One page per protocol plus an index, in DIR; plain files, readable offline (zip and send it).")
    report.add_argument("protocols", nargs="+", metavar="PROTOCOL", help="protocol names or TOML paths")
    report.add_argument("--out", type=Path, required=True, metavar="DIR", help="the report folder (created)")
    report.add_argument("--results", type=Path, default=Path("results"), metavar="DIR",
                        help="the results folder holding the records (default ./results)")
    report.add_argument("--preset", help="records of this preset (needed when a method has several)")
    report.add_argument("--allow-mixed-code", action="store_true",
                        help="accept records made by different versions of the code (the captions then say so)")
    report.set_defaults(handler=handle_report)
