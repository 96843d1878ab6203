"""``hsibench protocols list|show`` and ``hsibench split``: the protocol layer on the command line."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hsibench.cli.listing import Column, add_json_argument, print_json, print_note, print_table

if TYPE_CHECKING:  # the protocol layer (and numpy) load when a protocol command runs, not for `hsibench --help`
    import numpy as np

    from hsibench.protocol import Protocol
    from hsibench.protocol.protocol import SceneRegion


def add_mode_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=("legacy", "clean"), default=None,
                        help="split mode (default: the protocol's own; shipped protocols use legacy)")


def protocol_with_mode(name: str, mode: str | None) -> Protocol:
    from hsibench.protocol import load_protocol

    protocol = load_protocol(name)
    return protocol.with_overrides(split_mode=mode) if mode else protocol


#: the keys of each object of `hsibench protocols list --json`, in order
LIST_JSON_KEYS = ("name", "description", "sources", "target", "shots", "seeds", "patch_size", "split_mode",
                  "normalisation", "padding", "validation_per_class", "spatial_buffer", "short_classes", "support_from",
                  "default_preset")
LIST_JSON_HELP = ("name, description, sources (a list of regions), target (a region; a region is {scene, rows, cols, "
                  "options}: rows/cols a [start, stop) pixel range or null for the whole axis), shots, seeds (a list), "
                  "patch_size, split_mode, normalisation, padding, validation_per_class, spatial_buffer, short_classes, "
                  "support_from, default_preset")


def _region(region: SceneRegion) -> dict[str, Any]:
    return {"scene": region.scene, "rows": list(region.rows) if region.rows else None,
            "cols": list(region.cols) if region.cols else None, "options": region.option_values}


def protocol_listing(protocol: Protocol) -> dict[str, Any]:
    """One object of `hsibench protocols list --json` (:data:`LIST_JSON_KEYS`)."""
    listing: dict[str, Any] = {"name": protocol.name, "description": protocol.description,
                               "sources": [_region(region) for region in protocol.sources],
                               "target": _region(protocol.target)}
    for key in LIST_JSON_KEYS[4:]:
        value = getattr(protocol, key)
        listing[key] = list(value) if isinstance(value, tuple) else value
    return listing


def _scene_cell(region: SceneRegion) -> str:
    """The scene's name; ``*`` when the protocol takes a part of it or sets its options."""
    return region.scene + ("" if region.is_whole and not region.options else "*")


def _list(args: argparse.Namespace) -> int:
    from hsibench.protocol import load_protocol, protocol_names

    protocols = [load_protocol(name) for name in protocol_names()]
    if args.json:
        print_json([protocol_listing(p) for p in protocols])
        return 0
    rows = [(p.name, "+".join(_scene_cell(region) for region in p.sources), _scene_cell(p.target), p.shots,
             len(p.seeds), p.patch_size, p.split_mode, p.description) for p in protocols]
    columns = (Column("name"), Column("source"), Column("target"), Column("k", right=True),
               Column("seeds", right=True), Column("patch", right=True), Column("split"), Column("description"))
    print_table(columns, rows, shrink=((7, 36), (1, 15), (2, 15), (7, 20)))
    print()
    print_note("k: support pixels per class; *: a part of the scene (rows/cols) or scene options. Regions, "
               "descriptions and every setting: `hsibench protocols show NAME` or `hsibench protocols list --json`.")
    return 0


def _show(args: argparse.Namespace) -> int:
    from hsibench.protocol import make_split
    from hsibench.protocol.regions import region_ground_truth

    protocol = protocol_with_mode(args.name, args.mode)
    seed = args.seed if args.seed is not None else protocol.seeds[0]
    print(f"protocol             {protocol.name}  ({protocol.path})")
    print(f"description          {protocol.description}")
    print(f"source               {protocol.sources_label()}")
    print(f"target               {protocol.target.label()}")
    for key in ("shots", "patch_size", "split_mode", "normalisation", "padding", "validation_per_class",
                "spatial_buffer", "short_classes", "support_from"):
        print(f"{key:<21}{getattr(protocol, key)}")
    print(f"seeds                {', '.join(map(str, protocol.seeds))}")
    ground_truth = region_ground_truth(protocol.target)
    split = make_split(protocol, seed, ground_truth)
    print(f"\nsplit for seed {seed} ({split.mode}); fingerprint {split.fingerprint}")
    counts = {name: _count_by_class(pixels.labels) for name, pixels in split.subsets().items()}
    print(f"{'id':>4}  {'class':<32}{'support':>9}{'val':>7}{'test':>9}")
    for class_id in sorted(ground_truth.class_counts()):
        print(f"{class_id:>4}  {ground_truth.class_names[class_id][:31]:<32}{counts['support'].get(class_id, 0):>9}"
              f"{counts['val'].get(class_id, 0):>7}{counts['test'].get(class_id, 0):>9}")
    print(f"{'':>4}  {'total':<32}{len(split.support):>9}{len(split.validation):>7}{len(split.test):>9}")
    if split.excluded_by_buffer:
        print(f"test pixels excluded by the spatial buffer: {split.excluded_by_buffer}")
    if split.skipped_classes:
        print(f"classes skipped (too few pixels): {list(split.skipped_classes)}")
    return 0


def _count_by_class(labels: np.ndarray) -> dict[int, int]:
    import numpy as np

    values, counts = np.unique(labels, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}


def write_split_csv(split, path: Path) -> int:
    """``row,col,label,subset`` rows (0-based, unpadded; scene ids), written atomically; returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    count = 0
    with open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "col", "label", "subset"])
        for subset, pixels in split.subsets().items():
            for (row, col), label in zip(pixels.coords.tolist(), pixels.labels.tolist()):
                writer.writerow([row, col, label, subset])
                count += 1
    temporary.replace(path)
    return count


def _split(args: argparse.Namespace) -> int:
    from hsibench.protocol import make_split

    protocol = protocol_with_mode(args.protocol, args.mode)
    if args.shots is not None:
        protocol = protocol.with_overrides(shots=args.shots)
    split = make_split(protocol, args.seed)
    rows = write_split_csv(split, Path(args.out))
    print(f"{args.out}: {rows} pixels (support {len(split.support)}, val {len(split.validation)}, "
          f"test {len(split.test)}); {protocol.name} seed {args.seed} {split.mode}; fingerprint {split.fingerprint}",
          file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    protocols = subparsers.add_parser("protocols", help="list and inspect cross-domain protocols")
    actions = protocols.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every shipped protocol")
    add_json_argument(listing, LIST_JSON_HELP)
    listing.set_defaults(handler=_list)
    show = actions.add_parser("show", help="a protocol's settings and per-class split counts for a seed")
    show.add_argument("name", help="protocol name or path to a .toml file")
    show.add_argument("--seed", type=int, default=None, help="seed (default: the protocol's first)")
    add_mode_argument(show)
    show.set_defaults(handler=_show)

    split = subparsers.add_parser("split", help="export a split as CSV (row,col,label,subset); needs only the target's ground truth")
    split.add_argument("protocol", help="protocol name or path to a .toml file")
    split.add_argument("--seed", type=int, required=True)
    split.add_argument("--shots", type=int, default=None, help="override the protocol's shots per class")
    split.add_argument("--out", required=True, help="CSV file to write")
    add_mode_argument(split)
    split.set_defaults(handler=_split)
