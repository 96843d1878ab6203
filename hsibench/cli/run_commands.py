"""``hsibench run|ablate|sweep|results``: trials through Ray Tune (or in-process), records, and a first table.

``hsibench run`` with no arguments runs the embedded offline default (:data:`DEFAULT_METHOD` on
:data:`DEFAULT_PROTOCOL` with preset :data:`DEFAULT_PRESET`), about a minute on two cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hsibench.cli.data_commands import add_mirror_argument, apply_mirror
from hsibench.cli.options import (
    PRECISIONS,
    UsageError,
    add_methods_argument,
    add_set_argument,
    add_sweep_argument,
    assignments,
    non_negative_int,
    positive_int,
    seed_list,
    sweep_axes,
)
from hsibench.data import storage

DEFAULT_METHOD = "s2former"
DEFAULT_PROTOCOL = "demo"
DEFAULT_PRESET = "smoke"
ABLATION_BASE = "s2former"
WORKER_ENV = (storage.MIRROR_ENV, storage.CACHE_ENV, storage.OFFLINE_ENV)


def _add_trial_options(parser: argparse.ArgumentParser) -> None:
    which = parser.add_argument_group("what to run")
    which.add_argument("--protocol", help="a shipped protocol name (see `hsibench protocols list`) or a TOML path")
    add_choice_options(which)
    which.add_argument("--mode", choices=("legacy", "clean"), help="split mode (overrides the protocol's split_mode)")
    which.add_argument("--plugin", action="append", default=[], metavar="MODULE|FILE.py",
                       help="import a module that registers extra methods (repeatable)")
    add_where_options(parser)
    how = add_how_options(parser)
    maps = how.add_mutually_exclusive_group()
    maps.add_argument("--save-maps", dest="maps", action="store_const", const="all",
                      help="save every trial's full-scene prediction map (default: seed 1330 only)")
    maps.add_argument("--no-maps", dest="maps", action="store_const", const="none", help="save no maps")


def add_choice_options(which: argparse._ArgumentGroup) -> None:
    """``--preset``, ``--seeds``/``--runs`` and ``--set``: the choices every trial of a command shares."""
    which.add_argument("--preset", metavar="NAME|FILE.toml",
                       help="method preset: paper, cpu, smoke, … (default: the protocol's default_preset), or a preset "
                            "file written by `hsibench tune` (its base preset plus its settings; --set still wins)")
    seeds = which.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=seed_list, metavar="S1,S2,…", help="seeds to run (default: the protocol's)")
    seeds.add_argument("--runs", type=int, metavar="N", help="the protocol's first N seeds")
    add_set_argument(which)


def add_where_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("where")
    where.add_argument("--out", type=Path, default=Path("results"), metavar="DIR",
                       help="results folder: DIR/<protocol>/runs/*.json, tables, figures (default: ./results)")
    where.add_argument("--cache", type=Path, metavar="DIR",
                       help=f"shared pretraining checkpoints (default: ${storage.CACHE_ENV}/pretraining or the user cache)")
    add_mirror_argument(where)


def add_how_options(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Executor, resources, device, ``--force`` and ``--deterministic``; returns the group (for more options)."""
    how = parser.add_argument_group("how")
    how.add_argument("--executor", choices=("ray", "local"), default="ray",
                     help="ray: a Ray Tune grid (default); local: one trial after another in this process")
    how.add_argument("--address", help="join this Ray cluster instead of starting one (default: $RAY_ADDRESS)")
    how.add_argument("--cpus-per-trial", type=float, help="CPUs (and torch threads) per trial (default 1)")
    how.add_argument("--gpus-per-trial", type=float, default=0.0, help="GPU share per trial, e.g. 0.5 (default 0)")
    how.add_argument("--device", default="auto", help="auto (CUDA when the trial has a GPU), cpu or cuda")
    how.add_argument("--precision", default="auto", choices=("auto", *PRECISIONS),
                     help="what training and inference compute in: auto (bf16 on CUDA, fp16 where the GPU lacks bf16; "
                          "fp32 on the CPU), fp32, bf16 (CUDA, or a CPU with amx_bf16/avx512_bf16) or fp16 (CUDA). "
                          "It changes the numbers, so it is part of the run id and the record")
    how.add_argument("--retries", type=non_negative_int, default=2, metavar="N",
                     help="Ray: run a trial or pretraining again up to N times when its worker or node is lost "
                          "(default 2; a trial that raises is recorded as failed, never retried)")
    how.add_argument("--max-concurrent", type=positive_int, metavar="N",
                     help="Ray: at most N trials at once (default: as many as the cluster's CPUs/GPUs allow)")
    how.add_argument("--memory-per-trial", type=float, metavar="MB",
                     help="Ray: memory each trial requests, so no node runs more trials than fit (default: estimated "
                          "from the trial's scenes and model, see hsibench/runner/memory.py; 0 requests none)")
    how.add_argument("--keep-tune-dir", action="store_true",
                     help="Ray: keep Tune's own storage (logs, experiment state) under OUT/tmp/ instead of removing it")
    how.add_argument("--logger", action="append", default=[], metavar="NAME",
                     help="log every trial's epoch curves and final scores live: tensorboard (event files in "
                          "OUT/<protocol>/logs/) or mlflow (MLflow's tracking URI; needs mlflow-skinny); repeatable")
    how.add_argument("--save-model", action="store_true",
                     help="keep each trial's adapted model beside its record (OUT/<protocol>/runs/<record>.model.pt), "
                          "for `hsibench predict` on other cubes")
    how.add_argument("--force", action="store_true", help="rerun trials that already have an ok record")
    how.add_argument("--deterministic", action="store_true",
                     help="torch.use_deterministic_algorithms in every trial (threads are fixed either way): reruns "
                          "are bit-identical on the same hardware, thread count and torch build — never across CPUs")
    return how


def trial_settings(args: argparse.Namespace, preset: str):
    from hsibench.methods import resolve_device
    from hsibench.methods.training import check_precision, choose_precision
    from hsibench.runner import TrialSettings, default_pretraining_cache

    # one CPU (and torch thread) per trial under both executors: equal thread counts give bit-equal records,
    # and more threads than free cores slow torch down badly on a shared machine
    cpus = args.cpus_per_trial or 1.0
    precision = choose_precision(getattr(args, "precision", "auto"), args.device, args.gpus_per_trial)
    if not args.address and not args.gpus_per_trial:  # the trials run on this machine: refuse what it cannot run now
        check_precision(precision, resolve_device(args.device))
    return TrialSettings(precision=precision, out_dir=args.out, cache_dir=args.cache or default_pretraining_cache(), preset=preset,
                         deterministic=args.deterministic,
                         device=args.device, threads=max(1, int(cpus)), maps=getattr(args, "maps", None) or "auto",
                         plugins=tuple(args.plugin), save_model=getattr(args, "save_model", False))


def trial_executor(args: argparse.Namespace, settings):
    from hsibench.runner import ExecutorOptions, create_executor

    env = {name: os.environ[name] for name in WORKER_ENV if name in os.environ}
    options = ExecutorOptions(results_dir=Path(args.out).resolve(), cache_dir=Path(settings.cache_dir).resolve(),
                              cpus_per_trial=float(settings.threads),
                              gpus_per_trial=args.gpus_per_trial, address=args.address, worker_env=env,
                              device=args.device, retries=args.retries, max_concurrent=args.max_concurrent,
                              keep_tune_dir=args.keep_tune_dir, loggers=tuple(dict.fromkeys(args.logger)),
                              plugins=settings.plugins, memory_per_trial_mb=args.memory_per_trial)
    return create_executor(args.executor, options)


def _fixed_overrides(args: argparse.Namespace) -> dict:
    """``--set`` values and ``--mode``: one value per key for every trial of the command."""
    values = assignments(args.set)
    if args.mode:
        if "split_mode" in values and values["split_mode"] != args.mode:
            raise UsageError(f"--mode {args.mode} and --set split_mode={values['split_mode']} disagree; give one")
        values["split_mode"] = args.mode
    return values


def trial_seeds(protocol, args: argparse.Namespace) -> list[int]:
    from hsibench.runner import choose_seeds

    try:
        return choose_seeds(protocol, args.seeds, args.runs)
    except ValueError as error:  # choose_seeds checks only the user's --seeds/--runs: a usage error
        raise UsageError(str(error)) from None


@dataclass(frozen=True)
class PresetChoice:
    """Methods that run at one preset: its name (a file's base preset), a preset file's settings as ``method.KEY``
    overrides and the file's ``{path, sha256, base}`` (``None`` for a named preset)."""

    methods: list[str]
    preset: str
    settings: dict = field(default_factory=dict)
    preset_file: dict | None = None


def _launch(args: argparse.Namespace, methods: list[str], preset: str, fixed: dict, grid: dict,
            preset_file: dict | None = None) -> tuple[int, str]:
    """Plan and run the trials; print a summary. Returns (exit code, the protocol's results folder name).

    ``preset_file`` (``{path, sha256, base}``) is written into every spec, and so into every record."""
    return _launch_choices(args, [PresetChoice(methods, preset, {}, preset_file)], fixed, grid)


def _launch_choices(args: argparse.Namespace, choices: list[PresetChoice], fixed: dict,
                    grid: dict) -> tuple[int, str]:
    """:func:`_launch` for methods at their own presets (``--preset 'DIR/{method}-dev.toml'``): one campaign of
    every method's trials, each with its file's settings in front of ``fixed`` (which wins)."""
    from hsibench.protocol import load_protocol
    from hsibench.runner import load_plugins, plan_trials, run_campaign

    apply_mirror(args)
    load_plugins(args.plugin)
    protocol = load_protocol(args.protocol)
    seeds = trial_seeds(protocol, args)
    presets = {choice.preset for choice in choices}
    if len(presets) > 1:
        raise UsageError(f"--preset {args.preset}: the files start from different presets {sorted(presets)}; one "
                         "command runs methods tuned from one preset")
    settings = trial_settings(args, choices[0].preset)
    specs = []
    for choice in choices:
        planned = plan_trials(choice.methods, args.protocol, seeds, settings, fixed={**choice.settings, **fixed},
                              grid=grid)
        if choice.preset_file is not None:
            planned = [dataclasses.replace(spec, preset_file=choice.preset_file) for spec in planned]
        specs.extend(planned)
    try:
        result = run_campaign(specs, trial_executor(args, settings), force=args.force)
    except KeyboardInterrupt:
        print("\ninterrupted: finished trials keep their records; rerun the same command to resume", file=sys.stderr)
        return 130, protocol.name
    runs_dir = Path(args.out) / protocol.name / "runs"
    ok = len(result.records) - len(result.failed)
    rerun = f" ({len(result.superseded)} rerun because their records were made by other code)" if result.superseded else ""
    print(f"{len(specs)} trial(s): {ok} ok, {len(result.failed)} failed, {result.skipped} skipped as already done"
          f"{rerun}. Records: {runs_dir}")
    for record in result.failed:
        error = record.error
        print(f"  FAILED {record.method} seed {record.seed}: {error.type if error else '?'}: "
              f"{error.message if error else ''}\n         {record.path}", file=sys.stderr)
    if result.not_run:
        print(f"interrupted: {len(result.not_run)} trial(s) did not run; rerun the same command to resume",
              file=sys.stderr)
    return result.exit_code, protocol.name


def _print_table(args: argparse.Namespace, kind: str, fixed: dict, **request_options) -> None:
    """Print a table of what exists now (``hsibench table … --write`` saves it); a table that cannot be made yet is a
    note, not an error.

    ``fixed`` are the run's single-valued overrides: the table shows the records made with them.
    """
    from hsibench.report import ReportError, ReportRequest, to_markdown
    from hsibench.report.outputs import build_table
    from hsibench.runner import split_overrides

    protocol_overrides, method_overrides = split_overrides(fixed)
    if method_overrides:
        print(f"(no {kind} table: tables compare methods at their preset configs, and this run changed "
              f"{sorted(method_overrides)}; see `hsibench results ls`)", file=sys.stderr)
        return
    # every preset first (the table then holds other methods' runs too); the run's own preset if that is ambiguous
    table = None
    from hsibench.tuning.preset_file import is_preset_file

    asked = request_options.pop("preset", None)
    for preset in (asked,) if is_preset_file(asked) else dict.fromkeys((None, asked)):
        request = ReportRequest(results_dir=args.out, protocol=args.protocol, protocol_overrides=protocol_overrides,
                                preset=preset, **request_options)
        try:
            table = build_table(kind, request)
            break
        except ReportError as error:
            problem = error
    if table is None:
        print(f"(no {kind} table: {problem})", file=sys.stderr)
        return
    print()
    print(to_markdown(table))
    chosen = f" --preset '{asked}'" if is_preset_file(asked) else ""
    print(f"(printed, not written: `hsibench table {kind} --protocol {args.protocol}{chosen} --out {args.out} --write` "
          "saves it as md, tex and csv)", file=sys.stderr)


def _preset(args: argparse.Namespace) -> str:
    """``--preset``, else the protocol's ``default_preset`` (``smoke`` for the demo, ``paper`` for real scenes)."""
    from hsibench.protocol import load_protocol

    return args.preset or load_protocol(args.protocol).default_preset


def preset_and_file(args: argparse.Namespace, methods: list[str]) -> tuple[str, dict, dict | None]:
    """``--preset NAME`` → (NAME, {}, None); ``--preset FILE.toml`` → (its base preset, its settings as
    ``method.KEY`` overrides, its ``{path, sha256, base}``). The settings go in front of ``--set``, which wins."""
    from hsibench.tuning.preset_file import is_preset_file, load_preset_file, preset_file_path

    if not is_preset_file(args.preset):
        return _preset(args), {}, None
    if len(methods) != 1:
        raise UsageError(f"--preset {args.preset} holds the tuned settings of one method; give one --method "
                         f"(got {', '.join(methods)}), or a template naming each method's file, e.g. "
                         "--preset 'results/presets/{method}-sa_a2jr_dev.toml' (`hsibench run` only)")
    preset_file = load_preset_file(preset_file_path(args.preset, methods[0]), methods[0])
    settings = {f"method.{key}": value for key, value in preset_file.settings.items()}
    return preset_file.base_preset, settings, preset_file.reference()


def handle_run(args: argparse.Namespace) -> int:
    if args.methods is None and args.protocol is None:
        args.methods, args.protocol, args.preset = [DEFAULT_METHOD], DEFAULT_PROTOCOL, args.preset or DEFAULT_PRESET
        print(f"no --method/--protocol: running the offline default, {DEFAULT_METHOD} on {args.protocol} "
              f"(preset {args.preset})", file=sys.stderr)
    elif args.methods is None or args.protocol is None:
        raise UsageError("give both --method and --protocol (or neither, for the offline demo default)")
    choices = preset_choices(args, args.methods)
    fixed = _fixed_overrides(args)
    code, _ = _launch_choices(args, choices, fixed, {})
    if code != 130:  # a preset file's records are the table of that file (the report layer selects them by sha256)
        _print_table(args, "main", fixed, preset=args.preset if choices[0].preset_file else choices[0].preset)
    return code


def preset_choices(args: argparse.Namespace, methods: list[str]) -> list[PresetChoice]:
    """One choice for a named preset or one method's file; one per method for a ``{method}`` template."""
    from hsibench.tuning.preset_file import METHOD_FIELD

    groups = [[method] for method in methods] if METHOD_FIELD in (args.preset or "") else [methods]
    return [PresetChoice(group, *preset_and_file(args, group)) for group in groups]


def _ablation_variants(base: str) -> list[str]:
    from hsibench.methods import get_method_entry, method_names

    variants = [name for name in method_names() if get_method_entry(name).base == base]
    if base not in method_names():
        raise UsageError(f"method {base!r} is not registered, so it has no ablation variants "
                         f"(registered: {', '.join(method_names())})")
    return [base] + variants


def handle_ablate(args: argparse.Namespace) -> int:
    if args.protocol is None:
        raise UsageError("--protocol is required (e.g. hsibench ablate --protocol demo)")
    from hsibench.runner import load_plugins

    load_plugins(args.plugin)
    variants = args.variants or _ablation_variants(args.base)
    preset, file_settings, preset_file = preset_and_file(args, variants)
    fixed = {**file_settings, **_fixed_overrides(args)}
    code, _ = _launch(args, variants, preset, fixed, {}, preset_file)
    if code != 130:
        _print_table(args, "ablation", fixed, methods=variants, proposed=args.base, preset=preset)
    return code


def handle_sweep(args: argparse.Namespace) -> int:
    if args.protocol is None or not args.methods:
        raise UsageError("--protocol and --method are required (e.g. --protocol demo --method s2former "
                         "--sweep shots=1,2,3,4,5)")
    preset, file_settings, preset_file = preset_and_file(args, args.methods)
    fixed = _fixed_overrides(args)
    grid = sweep_axes(args.sweep, fixed)
    if not grid:
        hint = f" (--set {args.set[0]} sets one value; sweep with --sweep)" if args.set else ""
        raise UsageError(f"nothing to sweep: give --sweep KEY=V1,V2,… (e.g. --sweep shots=1,2,3,4,5){hint}")
    # a one-value axis is a fixed value: it does not make the grid larger, and the table shows its records
    fixed.update({key: values[0] for key, values in grid.items() if len(values) == 1})
    grid = {key: values for key, values in grid.items() if len(values) > 1}
    fixed = {**file_settings, **fixed}
    code, _ = _launch(args, args.methods, preset, fixed, grid, preset_file)
    if code != 130 and len(grid) == 1:
        from hsibench.runner import split_overrides

        protocol_keys, method_keys = split_overrides(dict.fromkeys(grid))  # strips a `protocol.`/`method.` prefix
        _print_table(args, "sweep", fixed, key=next(iter(protocol_keys or method_keys)), methods=args.methods,
                     preset=preset)
    return code


#: the keys of each object of `hsibench results ls --json`, in order
RESULTS_JSON_KEYS = ("protocol", "method", "preset", "seed", "shots", "split_mode", "protocol_overrides",
                     "method_overrides", "audit", "status", "code", "overall_accuracy", "average_accuracy", "kappa",
                     "seconds", "finished_at", "run_id", "path")
RESULTS_JSON_HELP = ("protocol, method, preset, seed, shots, split_mode, protocol_overrides and method_overrides (the "
                     "--set values, as objects), audit (the habit of an `hsibench audit` trial, or null), status "
                     "(ok|failed), code (current|stale|unrecorded), overall_accuracy, average_accuracy and kappa "
                     "(fractions, as in the record; null for a failed trial), seconds, finished_at, run_id, path (the "
                     "record file)")


def results_listing(path: Path, record) -> dict:
    """One object of `hsibench results ls --json` (:data:`RESULTS_JSON_KEYS`): the record's own values."""
    from hsibench.report.collect import record_row

    row = record_row(record, path)
    return {key: row[key] for key in RESULTS_JSON_KEYS}


def handle_results_ls(args: argparse.Namespace) -> int:
    from hsibench.cli.listing import Column, print_json, print_note, print_table
    from hsibench.runner.records import iter_record_paths, read_record

    records = [(path, record) for path in iter_record_paths(args.out, args.protocol)
               if (record := read_record(path)) is not None]
    rows = [results_listing(path, record) for path, record in records]
    rows = [row for row in rows if (not args.methods or row["method"] in args.methods)
            and (not args.status or row["status"] == args.status)
            and (not getattr(args, "stale", False) or row["code"] != "current")]
    rows.sort(key=lambda row: (row["protocol"] or "", row["method"], row["shots"] or 0, row["seed"]))
    if getattr(args, "json", False):
        print_json(rows)
        return 0
    if not rows:
        where = Path(args.out) / (args.protocol or "*") / "runs"
        print(f"no records under {where}")
        return 0
    columns = (Column("protocol"), Column("method"), Column("preset"), Column("seed", right=True),
               Column("k", right=True), Column("status"), Column("code"), Column("OA %", right=True),
               Column("AA %", right=True), Column("κ×100", right=True), Column("sec", right=True), Column("run_id"),
               Column("--set"))
    table = [(row["protocol"], row["method"], row["preset"], row["seed"], row["shots"], row["status"], row["code"],
              _scaled(row["overall_accuracy"]), _scaled(row["average_accuracy"]), _scaled(row["kappa"]),
              _cell(row["seconds"], ".1f"), row["run_id"],
              ",".join(f"{k}={v}" for k, v in {**row["protocol_overrides"], **row["method_overrides"]}.items()))
             for row in rows]
    table = [[_cell(value) for value in line] for line in table]
    # too wide: the run id and the --set values first (both are in --json), then long method and protocol names
    print_table(columns, table, shrink=((11, 12), (12, 5), (11, 8), (1, 14), (0, 8)))
    print()
    print_note("k: shots; OA and AA in %, κ ×100, as in the tables; sec: the trial's seconds; --set: the protocol and "
               "method values the trial set. Every field, unshortened, with scores as the records' fractions: "
               "`hsibench results ls --json`.")
    stale = sum(row["code"] != "current" for row in rows)
    if stale:
        print_note(f"{stale} record(s) not made by today's code (code: stale / unrecorded): `hsibench run` reruns "
                   "them and keeps the old records under <protocol>/superseded/")
    return 0


def handle_results_ledger(args: argparse.Namespace) -> int:
    """`hsibench results ledger`: what made each folder of records, as a Markdown table (results/README.md)."""
    import json

    from hsibench.report.record_ledger import ledger_markdown, ledger_rows
    from hsibench.runner.records import read_record

    root = Path(args.out)
    records = [(path.parent.parent.relative_to(root).as_posix(), record)
               for path in sorted(root.glob("**/runs/*.json"))
               if not path.name.startswith(".") and (record := read_record(path)) is not None]
    stages = [(path.parent.parent.relative_to(root).as_posix(), json.loads(path.read_text()))
              for path in sorted(root.glob("**/pretraining/*.json")) if not path.name.startswith(".")]
    if not records:
        print(f"no records under {root}/**/runs/")
        return 0
    text = ledger_markdown(ledger_rows(records, stages))
    if args.into is None:
        print(text, end="")
        return 0
    from hsibench.report.record_ledger import replace_ledger

    args.into.write_text(replace_ledger(args.into.read_text(), text, str(args.into)))
    print(f"ledger of {len(records)} records written into {args.into}", file=sys.stderr)
    return 0


def _scaled(fraction: float | None) -> str:
    """A score as the tables print it: ×100, two decimals."""
    return _cell(None if fraction is None else 100 * fraction, ".2f")


def _cell(value, spec: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and spec:
        return format(value, spec)
    return str(value)


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run", help="run a method on a protocol, one trial per seed (no arguments: the offline demo)",
        description="Run one trial per seed through Ray Tune (or --executor local) and write one JSON record per "
                    "trial under DIR/<protocol>/runs/. Trials with an ok record are skipped, so an interrupted run "
                    "resumes when repeated. With no arguments: the embedded offline default "
                    f"({DEFAULT_METHOD} on {DEFAULT_PROTOCOL}, preset {DEFAULT_PRESET}).")
    add_methods_argument(run, f"registered method(s) to run (`hsibench methods list`); default {DEFAULT_METHOD}")
    _add_trial_options(run)
    run.set_defaults(handler=handle_run)

    ablate = subparsers.add_parser("ablate", help="run the registered ablation variants as one grid",
                                   description="Run the ablation variants of a method (default: every registered "
                                               f"variant of {ABLATION_BASE}) on a protocol, every seed.")
    add_methods_argument(ablate, "variants to run (default: the base method and all its registered variants)",
                         flags=("--variant", "--variants"), dest="variants")
    ablate.add_argument("--base", default=ABLATION_BASE, help=f"the full method (default {ABLATION_BASE})")
    _add_trial_options(ablate)
    ablate.set_defaults(handler=handle_ablate)

    sweep = subparsers.add_parser("sweep", help="run a grid: each --sweep KEY=V1,V2,… is an axis",
                                  description="Run every combination of the --sweep value lists, every seed, e.g. "
                                              "`--sweep shots=1,2,3,4,5` or `--sweep mask_ratio=0.25,0.5,0.75`; "
                                              "--set KEY=VALUE fixes a value for every trial of the grid.")
    add_methods_argument(sweep, "method(s) to sweep")
    _add_trial_options(sweep)
    add_sweep_argument(sweep)
    sweep.set_defaults(handler=handle_sweep)

    results = subparsers.add_parser("results", help="inspect trial records")
    results_commands = results.add_subparsers(dest="results_command", metavar="COMMAND")
    results.set_defaults(handler=lambda args: results.print_help() or 2)
    listing = results_commands.add_parser("ls", help="list records as a table")
    listing.add_argument("--protocol", help="only this protocol's folder")
    add_methods_argument(listing, "only these methods")
    listing.add_argument("--status", choices=("ok", "failed"))
    listing.add_argument("--stale", action="store_true", help="only records today's code did not make")
    listing.add_argument("--out", type=Path, default=Path("results"), metavar="DIR", help="results folder")
    listing.add_argument("--json", action="store_true",
                         help=f"print a JSON array of objects instead of the table; keys: {RESULTS_JSON_HELP}")
    listing.set_defaults(handler=handle_results_ls)
    ledger = results_commands.add_parser(
        "ledger", help="what made each folder of records (machine, precision, commit, time) as Markdown",
        description="One line per folder of records (any depth: DIR/<protocol>/runs/, DIR/audit/<protocol>/runs/) "
                    "and preset kind, plus one for the folder's pretraining stages: records (failed), methods, "
                    "machines (CPU model, ISA flags, threads, precision), code commits, how many today's code "
                    "would not make, the trials' summed minutes and the wall-clock span.")
    ledger.add_argument("--out", type=Path, default=Path("results"), metavar="DIR", help="results folder")
    ledger.add_argument("--into", type=Path, metavar="FILE.md",
                        help="replace the text between the lines <!-- ledger:begin --> and <!-- ledger:end --> of "
                             "FILE.md with the ledger (instead of printing it)")
    ledger.set_defaults(handler=handle_results_ledger)
