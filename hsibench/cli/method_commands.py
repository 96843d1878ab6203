"""``hsibench methods list|show``: the method registry on the command line.

``list`` prints every registered method and variant (name, family, whether it uses source
labels, whether it pretrains, reference); ``show NAME [--preset P] [--set key=value …]`` prints
the config a trial would run with, resolved exactly as the runner resolves it, so a command line
can be checked before it is run.
"""

from __future__ import annotations

import argparse
import dataclasses

from hsibench.cli.options import UsageError, add_set_argument, assignments

# The registry imports torch; it is imported inside the handlers so that `hsibench --help`,
# `data` and `split` start without it.

def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``--preset`` and ``--set``, shared by every command that creates a method."""
    parser.add_argument("--preset", default="paper",
                        help="settings preset: paper (published settings), cpu (minutes on a CPU), smoke (seconds)")
    add_set_argument(parser, "set one method config key to one value, as `hsibench run --set` does (a comma "
                             "list is one tuple value: block_channels=4,8); repeatable")


def method_overrides(pairs: list[str]) -> dict[str, str]:
    """The ``--set`` values of a method, split from protocol keys exactly as the runner splits them."""
    from hsibench.runner.spec import split_overrides

    protocol_values, method_values = split_overrides(assignments(pairs))
    if protocol_values:
        raise UsageError(f"{sorted(protocol_values)} are protocol keys, not method config keys; see them with "
                         "`hsibench protocols show NAME` (write `method.KEY=…` for a method key of the same name)")
    return method_values


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _list(args: argparse.Namespace) -> int:
    from hsibench.methods import method_names
    from hsibench.methods.registry import method_info

    header = ("name", "family", "source labels", "pretrains", "reference")
    rows = []
    for name in method_names():  # built-ins from their table: listing imports no method (and no torch)
        info = method_info(name)
        rows.append((name, info.family, _yes_no(info.uses_source_labels), _yes_no(info.pretrains), info.reference))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        print("  ".join(value.ljust(width) for value, width in zip(row, widths)) + "  " + row[-1])
    return 0


def _show(args: argparse.Namespace) -> int:
    from hsibench.methods import get_method_entry, resolve_config

    entry = get_method_entry(args.name)
    config = resolve_config(args.name, args.preset, method_overrides(args.set))
    info = entry.info
    print(f"method          {info.name}" + (f"  (variant of {entry.base})" if entry.base else ""))
    print(f"description     {info.description}")
    print(f"family          {info.family}")
    print(f"source labels   {_yes_no(info.uses_source_labels)}")
    print(f"pretrains       {_yes_no(info.pretrains)}")
    print(f"reference       {info.reference}")
    print(f"presets         {', '.join(sorted(entry.presets))}")
    print(f"\nconfig (preset {args.preset!r}{', with --set overrides' if args.set else ''}):")
    fields = dataclasses.fields(config)
    width = max(len(field.name) for field in fields)
    for field in fields:
        fixed = "  (fixed by the variant)" if field.name in entry.fixed else ""
        print(f"  {field.name:<{width}}  {getattr(config, field.name)!r}{fixed}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("methods", help="list the registered methods or show one's resolved config",
                                   description=__doc__.split("\n\n")[0])
    actions = parser.add_subparsers(dest="methods_action", metavar="ACTION")
    listing = actions.add_parser("list", help="every method and variant: family, source labels, pretraining, reference")
    listing.set_defaults(handler=_list)
    show = actions.add_parser("show", help="the resolved config of one method (after --preset and --set)")
    show.add_argument("name", help="method name (see `hsibench methods list`)")
    add_config_arguments(show)
    show.set_defaults(handler=_show)
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])
