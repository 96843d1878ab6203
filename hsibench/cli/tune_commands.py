"""``hsibench tune``: search a method's settings on a development protocol's validation pixels, write a preset file.

The search (``hsibench.tuning``) runs through Ray Tune, one CPU per trial; the best settings are
written as a TOML preset file that ``hsibench run --preset FILE.toml`` reads. Torch and Ray are
imported inside the handler, so ``hsibench --help`` and the listing commands start without them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hsibench.cli.data_commands import add_mirror_argument, apply_mirror
from hsibench.cli.options import PRECISIONS, UsageError, add_set_argument, assignments, comma_list, seed_list

DEFAULT_TRIALS = 8


def _describe(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def handle_tune(args: argparse.Namespace) -> int:
    from hsibench.methods.training import choose_precision
    from hsibench.tuning.tuner import default_out_path, tune_method

    if not args.method or not args.protocol:
        raise UsageError("give --method and --protocol (e.g. hsibench tune --method svm --protocol demo_dev)")
    if args.cpus is not None and args.cpus < 1:
        raise UsageError(f"--cpus must be at least 1, got {args.cpus}")
    apply_mirror(args)
    try:
        result = tune_method(
            args.method, args.protocol, preset=args.preset, trials=args.trials, seeds=args.seeds,
            scheduler=args.scheduler, search=args.search, out_path=args.out, overrides=assignments(args.set),
            keys=comma_list(args.keys) if args.keys else None, cpus=args.cpus, plugins=tuple(args.plugin),
            cache_dir=args.cache, device=args.device, sampler_seed=args.sampler_seed,
            precision=choose_precision(args.precision, args.device))
    except KeyboardInterrupt:
        print("\ninterrupted: no preset file written", file=sys.stderr)
        return 130
    preset = result.preset_file
    budget = preset.provenance["budget"]
    finished = budget["finished_trials"]
    print(f"\nbest validation accuracy {result.best_validation_accuracy:.4f} (mean over seeds "
          f"{', '.join(map(str, budget['seeds']))}; {finished} of {budget['trials']} trial(s) finished, "
          f"{result.seconds:.0f} s)")
    print(f"settings (on top of preset {preset.base_preset!r}):")
    width = max(len(key) for key in preset.settings)
    for key, value in preset.settings.items():
        print(f"  {key:<{width}} = {_describe(value)}")
    path = result.path or default_out_path(args.method, result.protocol)
    print(f"preset file: {path}\nuse it: hsibench run --method {args.method} --protocol PROTOCOL --preset {path} "
          "(report on the protocol whose development twin this was, not on the one tuned on)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    tune = subparsers.add_parser(
        "tune", help="choose a method's settings on validation pixels (Ray Tune); writes a preset file",
        description="Sample settings from the method's search space (methods/search_spaces.py), score each on the "
                    "protocol's validation pixels (never its test pixels; the protocol must have some: a `clean` "
                    "split with validation_per_class > 0, e.g. demo_dev), and write the best as a TOML preset file "
                    "for `hsibench run --preset FILE.toml`.")
    which = tune.add_argument_group("what to tune")
    which.add_argument("--method", help="a registered method (`hsibench methods list`)")
    which.add_argument("--protocol", help="a development protocol with validation pixels (e.g. demo_dev) or a TOML path")
    which.add_argument("--preset", help="the preset the search starts from (default: the protocol's default_preset)")
    which.add_argument("--seeds", type=seed_list, metavar="S1,S2,…",
                       help="seeds each config is scored on, the mean is its score (default: the protocol's)")
    add_set_argument(which, "fix one protocol or method key for every trial (a fixed key is not searched), e.g. "
                            "--set validation_per_class=3; repeatable")
    which.add_argument("--keys", metavar="KEY[,KEY…]", help="search only these keys of the method's search space")
    which.add_argument("--plugin", action="append", default=[], metavar="MODULE|FILE.py",
                       help="import a module that registers extra methods (repeatable)")

    budget = tune.add_argument_group("budget")
    budget.add_argument("--trials", type=int, default=DEFAULT_TRIALS,
                        help=f"sampled configs (default {DEFAULT_TRIALS})")
    budget.add_argument("--scheduler", default="asha",
                        help="asha (stops poor configs at their validation checks; default) or fifo (runs all to the end)")
    budget.add_argument("--search", default="random",
                        help="random (default) or optuna (needs `pip install optuna`)")
    budget.add_argument("--sampler-seed", type=int, default=0, help="seed of the sampler: same seed, same configs")
    budget.add_argument("--cpus", type=int, help="CPUs for Ray, one trial each (default: all cores)")

    where = tune.add_argument_group("where")
    where.add_argument("--out", type=Path, metavar="FILE.toml",
                       help="the preset file to write (default: presets/<method>-<protocol>.toml)")
    where.add_argument("--cache", type=Path, metavar="DIR", help="shared pretraining checkpoints")
    where.add_argument("--device", default="cpu", help="cpu (default), auto or cuda")
    where.add_argument("--precision", default="auto", choices=("auto", *PRECISIONS),
                       help="what every trial computes in (as `hsibench run --precision`; tune in the precision you "
                            "will evaluate in)")
    add_mirror_argument(where)
    tune.set_defaults(handler=handle_tune)
