"""``hsibench methods list|show``: the method registry on the command line.

``list`` prints every registered method and variant (name, family, whether it uses source
labels, whether it pretrains, reference), each variant indented under its base with what it
changes instead of the shared reference (``--json``: every field whole); ``show NAME [--preset P] [--set key=value …]`` prints
the config a trial would run with, resolved exactly as the runner resolves it, so a command line
can be checked before it is run.
"""

from __future__ import annotations

import argparse
import dataclasses
import re

from hsibench.cli.listing import Column, add_json_argument, print_json, print_note, print_table
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


#: the keys of each object of `hsibench methods list --json`, in order
LIST_JSON_KEYS = ("name", "base", "family", "uses_source_labels", "pretrains", "reference", "description")
LIST_JSON_HELP = ("name, base (the method a variant derives from, or null), family, uses_source_labels (true/false), "
                  "pretrains (true/false), reference, description")


def method_base(name: str) -> str | None:
    """The method a variant derives from (``None`` for a method), without importing a built-in's module."""
    from hsibench.methods import get_method_entry
    from hsibench.methods.catalog import BUILTIN_METHODS
    from hsibench.methods.registry import METHODS

    entry = METHODS.peek(name)
    if entry is not None:
        return entry.base
    builtin = BUILTIN_METHODS.get(name)
    return builtin.base if builtin is not None else get_method_entry(name).base


def method_listing(name: str) -> dict:
    """One object of `hsibench methods list --json` (:data:`LIST_JSON_KEYS`)."""
    from hsibench.methods.registry import method_info

    info = method_info(name)
    return {"name": name, "base": method_base(name), "family": info.family,
            "uses_source_labels": info.uses_source_labels, "pretrains": info.pretrains, "reference": info.reference,
            "description": info.description}


_INITIALS = r"(?:[A-Z][a-z]?\.[ -]?)+"  # "J. ", "T.-Y. "


def short_reference(reference: str) -> str:
    """A reference for a list: a long author list cut to its first author, and the venue and year before a quoted
    title (``J. Chao, T. Lv, …, "Title", arXiv 2601.18088, 2026`` → ``J. Chao et al., arXiv 2601.18088, 2026,
    Title``); references written ``Author et al., venue year, title`` are kept as they are."""
    quoted = re.fullmatch(r'(?P<authors>.+?),\s*"(?P<title>[^"]+)",?\s*(?P<rest>.*)', reference)
    if not quoted:
        return reference
    authors, title, rest = quoted["authors"], quoted["title"].rstrip(",. "), quoted["rest"].strip(" ,")
    names = [part.strip() for part in re.split(r",\s*(?:and\s+)?|\s+and\s+", authors) if part.strip()]
    if len(names) > 2 and re.fullmatch(_INITIALS + r"\S.*", names[0]):
        authors = f"{names[0]} et al."
    return ", ".join(part for part in (authors, rest, title) if part)


def _list(args: argparse.Namespace) -> int:
    from hsibench.methods import method_names

    # built-ins from their table: listing imports no method (and no torch)
    listings = [method_listing(name) for name in method_names()]
    if args.json:
        print_json(listings)
        return 0
    names = {listing["name"] for listing in listings}
    variants: dict[str, list[dict]] = {}
    for listing in listings:
        if listing["base"] in names:
            variants.setdefault(listing["base"], []).append(listing)
    rows = []
    for listing in listings:
        if listing["base"] in names:
            continue  # listed under its base
        rows.append((listing["name"], listing["family"], _yes_no(listing["uses_source_labels"]),
                     _yes_no(listing["pretrains"]), short_reference(listing["reference"])))
        # a variant shares its base's reference: its row says what it changes instead
        rows += [("  " + variant["name"], variant["family"], _yes_no(variant["uses_source_labels"]),
                  _yes_no(variant["pretrains"]), variant["description"]) for variant in variants.get(listing["name"], ())]
    columns = (Column("name"), Column("family"), Column("source labels"), Column("pretrains"), Column("reference"))
    print_table(columns, rows, shrink=((4, 30),))
    if variants:
        print()
        print_note("Indented: the variants of the method above them (same reference); their last column says what "
                   "each changes. Full references and descriptions: `hsibench methods show NAME` or "
                   "`hsibench methods list --json`.")
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
    add_json_argument(listing, LIST_JSON_HELP)
    listing.set_defaults(handler=_list)
    show = actions.add_parser("show", help="the resolved config of one method (after --preset and --set)")
    show.add_argument("name", help="method name (see `hsibench methods list`)")
    add_config_arguments(show)
    show.set_defaults(handler=_show)
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])
