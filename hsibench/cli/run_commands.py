"""``hsibench run|ablate|sweep|results``: trials through Ray Tune (or in-process), records, and a first table.

``hsibench run`` with no arguments runs the embedded offline default (:data:`DEFAULT_METHOD` on
:data:`DEFAULT_PROTOCOL` with preset :data:`DEFAULT_PRESET`), about a minute on two cores.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hsibench.cli.data_commands import add_mirror_argument, apply_mirror
from hsibench.data import storage

DEFAULT_METHOD = "s2former"
DEFAULT_PROTOCOL = "demo"
DEFAULT_PRESET = "smoke"
ABLATION_BASE = "s2former"
WORKER_ENV = (storage.MIRROR_ENV, storage.CACHE_ENV, storage.OFFLINE_ENV)


def _seed_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes comma-separated integers, got {text!r}") from None


def _add_trial_options(parser: argparse.ArgumentParser, set_help: str) -> None:
    which = parser.add_argument_group("what to run")
    which.add_argument("--protocol", help="a shipped protocol name (see `hsibench protocols list`) or a TOML path")
    which.add_argument("--preset", help="method preset: paper, cpu, smoke, … (default: the protocol's default_preset)")
    seeds = which.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=_seed_list, metavar="S1,S2,…", help="seeds to run (default: the protocol's)")
    seeds.add_argument("--runs", type=int, metavar="N", help="the protocol's first N seeds")
    which.add_argument("--set", action="append", metavar="KEY=VALUE", default=[], help=set_help)
    which.add_argument("--mode", choices=("legacy", "clean"), help="split mode (overrides the protocol's split_mode)")
    which.add_argument("--plugin", action="append", default=[], metavar="MODULE|FILE.py",
                       help="import a module that registers extra methods (repeatable)")

    where = parser.add_argument_group("where")
    where.add_argument("--out", type=Path, default=Path("results"), metavar="DIR",
                       help="results folder: DIR/<protocol>/runs/*.json, tables, figures (default: ./results)")
    where.add_argument("--cache", type=Path, metavar="DIR",
                       help=f"shared pretraining checkpoints (default: ${storage.CACHE_ENV}/pretraining or the user cache)")
    add_mirror_argument(where)

    how = parser.add_argument_group("how")
    how.add_argument("--executor", choices=("ray", "local"), default="ray",
                     help="ray: a Ray Tune grid (default); local: one trial after another in this process")
    how.add_argument("--address", help="join this Ray cluster instead of starting one (default: $RAY_ADDRESS)")
    how.add_argument("--cpus-per-trial", type=float, help="CPUs (and torch threads) per trial (default 1)")
    how.add_argument("--gpus-per-trial", type=float, default=0.0, help="GPU share per trial, e.g. 0.5 (default 0)")
    how.add_argument("--device", default="auto", help="auto (CUDA when the trial has a GPU), cpu or cuda")
    maps = how.add_mutually_exclusive_group()
    maps.add_argument("--save-maps", dest="maps", action="store_const", const="all",
                      help="save every trial's full-scene prediction map (default: seed 1330 only)")
    maps.add_argument("--no-maps", dest="maps", action="store_const", const="none", help="save no maps")
    how.add_argument("--force", action="store_true", help="rerun trials that already have an ok record")


def _settings(args: argparse.Namespace, preset: str):
    from hsibench.runner import TrialSettings, default_pretraining_cache

    # one CPU (and torch thread) per trial under both executors: equal thread counts give bit-equal records,
    # and more threads than free cores slow torch down badly on a shared machine
    cpus = args.cpus_per_trial or 1.0
    return TrialSettings(out_dir=args.out, cache_dir=args.cache or default_pretraining_cache(), preset=preset,
                         device=args.device, threads=max(1, int(cpus)), maps=args.maps or "auto",
                         plugins=tuple(args.plugin))


def _executor(args: argparse.Namespace, settings):
    from hsibench.runner import ExecutorOptions, create_executor

    env = {name: os.environ[name] for name in WORKER_ENV if name in os.environ}
    options = ExecutorOptions(results_dir=Path(args.out).resolve(), cpus_per_trial=float(settings.threads),
                              gpus_per_trial=args.gpus_per_trial, address=args.address, worker_env=env,
                              device=args.device)
    return create_executor(args.executor, options)


def _fixed_overrides(args: argparse.Namespace, split_lists: bool) -> dict:
    from hsibench.runner import parse_assignments

    values = parse_assignments(args.set, split_lists=split_lists)
    if args.mode:
        values["split_mode"] = [args.mode] if split_lists else args.mode
    return values


def _launch(args: argparse.Namespace, methods: list[str], preset: str, fixed: dict, grid: dict) -> tuple[int, str]:
    """Plan and run the trials; print a summary. Returns (exit code, the protocol's results folder name)."""
    from hsibench.protocol import load_protocol
    from hsibench.runner import choose_seeds, load_plugins, plan_trials, run_campaign

    apply_mirror(args)
    load_plugins(args.plugin)
    protocol = load_protocol(args.protocol)
    seeds = choose_seeds(protocol, args.seeds, args.runs)
    settings = _settings(args, preset)
    specs = plan_trials(methods, args.protocol, seeds, settings, fixed=fixed, grid=grid)
    try:
        result = run_campaign(specs, _executor(args, settings), force=args.force)
    except KeyboardInterrupt:
        print("\ninterrupted: finished trials keep their records; rerun the same command to resume", file=sys.stderr)
        return 130, protocol.name
    runs_dir = Path(args.out) / protocol.name / "runs"
    ok = len(result.records) - len(result.failed)
    print(f"{len(specs)} trial(s): {ok} ok, {len(result.failed)} failed, {result.skipped} skipped as already done. "
          f"Records: {runs_dir}")
    for record in result.failed:
        error = record.get("error", {})
        print(f"  FAILED {record['method']} seed {record['seed']}: {error.get('type')}: {error.get('message')}\n"
              f"         {record.get('record_path')}", file=sys.stderr)
    if result.not_run:
        print(f"interrupted: {len(result.not_run)} trial(s) did not run; rerun the same command to resume",
              file=sys.stderr)
    return result.exit_code, protocol.name


def _print_table(args: argparse.Namespace, kind: str, fixed: dict, **request_options) -> None:
    """Write and print a table of what exists now; a table that cannot be made yet is a note, not an error.

    ``fixed`` are the run's single-valued overrides: the table shows the records made with them.
    """
    from hsibench.report import ReportError, ReportRequest, make_table, to_markdown
    from hsibench.runner import split_overrides

    protocol_overrides, method_overrides = split_overrides(fixed)
    if method_overrides:
        print(f"(no {kind} table: tables compare methods at their preset configs, and this run changed "
              f"{sorted(method_overrides)}; see `hsibench results ls`)", file=sys.stderr)
        return
    # every preset first (the table then holds other methods' runs too); the run's own preset if that is ambiguous
    table = None
    for preset in dict.fromkeys((None, request_options.pop("preset", None))):
        request = ReportRequest(results_dir=args.out, protocol=args.protocol, protocol_overrides=protocol_overrides,
                                preset=preset, **request_options)
        try:
            table, written = make_table(kind, request)
            break
        except ReportError as error:
            problem = error
    if table is None:
        print(f"(no {kind} table: {problem})", file=sys.stderr)
        return
    print()
    print(to_markdown(table))
    print("Table written to " + ", ".join(str(path) for path in written.values()))


def _preset(args: argparse.Namespace) -> str:
    """``--preset``, else the protocol's ``default_preset`` (``smoke`` for the demo, ``paper`` for real scenes)."""
    from hsibench.protocol import load_protocol

    return args.preset or load_protocol(args.protocol).default_preset


def handle_run(args: argparse.Namespace) -> int:
    if args.method is None and args.protocol is None:
        args.method, args.protocol, args.preset = DEFAULT_METHOD, DEFAULT_PROTOCOL, args.preset or DEFAULT_PRESET
        print(f"no --method/--protocol: running the offline default, {args.method} on {args.protocol} "
              f"(preset {args.preset})", file=sys.stderr)
    elif args.method is None or args.protocol is None:
        raise ValueError("give both --method and --protocol (or neither, for the offline demo default)")
    preset = _preset(args)
    fixed = _fixed_overrides(args, split_lists=False)
    code, _ = _launch(args, [args.method], preset, fixed, {})
    if code != 130:
        _print_table(args, "main", fixed, preset=preset)
    return code


def _ablation_variants(base: str) -> list[str]:
    from hsibench.methods import get_method_entry, method_names

    variants = [name for name in method_names() if get_method_entry(name).base == base]
    if base not in method_names():
        raise ValueError(f"method {base!r} is not registered, so it has no ablation variants")
    return [base] + variants


def handle_ablate(args: argparse.Namespace) -> int:
    if args.protocol is None:
        raise ValueError("--protocol is required")
    from hsibench.runner import load_plugins

    load_plugins(args.plugin)
    variants = args.variants or _ablation_variants(args.base)
    fixed = _fixed_overrides(args, split_lists=False)
    preset = _preset(args)
    code, _ = _launch(args, variants, preset, fixed, {})
    if code != 130:
        _print_table(args, "ablation", fixed, methods=variants, proposed=args.base, preset=preset)
    return code


def handle_sweep(args: argparse.Namespace) -> int:
    if args.protocol is None or not args.method:
        raise ValueError("--protocol and --method are required (e.g. --method s2former --set shots=1,2,3,4,5)")
    grid = _fixed_overrides(args, split_lists=True)
    if not grid:
        raise ValueError("nothing to sweep: give --set KEY=V1,V2,… (e.g. --set shots=1,2,3,4,5)")
    preset = _preset(args)
    code, _ = _launch(args, args.method, preset, {}, grid)
    axes = [key for key, values in grid.items() if len(values) > 1]
    if code != 130 and len(axes) == 1:
        from hsibench.runner import split_overrides

        protocol_keys, method_keys = split_overrides({axes[0]: None})  # strips a `protocol.`/`method.` prefix
        single = {key: values[0] for key, values in grid.items() if len(values) == 1}
        _print_table(args, "sweep", single, key=next(iter(protocol_keys or method_keys)), methods=args.method,
                     preset=preset)
    return code


def handle_results_ls(args: argparse.Namespace) -> int:
    import pandas as pd

    from hsibench.report import records_table

    frame = records_table(args.out, args.protocol)
    if args.method:
        frame = frame[frame["method"].isin(args.method)]
    if args.status:
        frame = frame[frame["status"] == args.status]
    if frame.empty:
        where = Path(args.out) / (args.protocol or "*") / "runs"
        print(f"no records under {where}")
        return 0
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200,
                           "display.float_format", "{:.2f}".format):
        frame = frame.sort_values(["protocol", "method", "shots", "seed"], kind="stable")
        print(frame.to_string(index=False, formatters={"kappa": "{:.4f}".format}))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run", help="run a method on a protocol, one trial per seed (no arguments: the offline demo)",
        description="Run one trial per seed through Ray Tune (or --executor local) and write one JSON record per "
                    "trial under DIR/<protocol>/runs/. Trials with an ok record are skipped, so an interrupted run "
                    "resumes when repeated. With no arguments: the embedded offline default "
                    f"({DEFAULT_METHOD} on {DEFAULT_PROTOCOL}, preset {DEFAULT_PRESET}).")
    run.add_argument("--method", help=f"a registered method (`hsibench methods list`); default {DEFAULT_METHOD}")
    _add_trial_options(run, "override a protocol key (shots, split_mode, normalisation, spatial_buffer, "
                            "validation_per_class, patch_size, …) or a method config key; `protocol.KEY` / "
                            "`method.KEY` force the side (repeatable)")
    run.set_defaults(handler=handle_run)

    ablate = subparsers.add_parser("ablate", help="run the registered ablation variants as one grid",
                                   description="Run the ablation variants of a method (default: every registered "
                                               f"variant of {ABLATION_BASE}) on a protocol, every seed.")
    ablate.add_argument("--variants", type=lambda text: [v for v in text.split(",") if v], metavar="V1,V2,…",
                        help="variants to run (default: the base method and all its registered variants)")
    ablate.add_argument("--base", default=ABLATION_BASE, help=f"the full method (default {ABLATION_BASE})")
    _add_trial_options(ablate, "override a protocol or method config key (repeatable)")
    ablate.set_defaults(handler=handle_ablate)

    sweep = subparsers.add_parser("sweep", help="run a grid: comma lists in --set become axes",
                                  description="Run every combination of the --set value lists, every seed, e.g. "
                                              "`--set shots=1,2,3,4,5` or `--set mask_ratio=0.25,0.5,0.75`.")
    sweep.add_argument("--method", action="append", help="method(s) to sweep (repeatable)")
    _add_trial_options(sweep, "KEY=V1,V2,… : a sweep axis (a protocol or method config key; repeatable)")
    sweep.set_defaults(handler=handle_sweep)

    results = subparsers.add_parser("results", help="inspect trial records")
    results_commands = results.add_subparsers(dest="results_command", metavar="COMMAND")
    results.set_defaults(handler=lambda args: results.print_help() or 2)
    listing = results_commands.add_parser("ls", help="list records as a table")
    listing.add_argument("--protocol", help="only this protocol's folder")
    listing.add_argument("--method", action="append", help="only these methods (repeatable)")
    listing.add_argument("--status", choices=("ok", "failed"))
    listing.add_argument("--out", type=Path, default=Path("results"), metavar="DIR", help="results folder")
    listing.set_defaults(handler=handle_results_ls)
