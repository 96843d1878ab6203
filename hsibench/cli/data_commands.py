"""``hsibench data list|fetch|verify|info``: the scene registry and its files on the command line.

``data list`` fits 120 columns (long titles cut); ``data list --json`` has every field whole.

Other command modules that load scenes reuse :func:`add_mirror_argument` and :func:`apply_mirror`,
so ``--mirror DIR`` works after any sub-command as well as before it.
"""

from __future__ import annotations

import argparse
import ast
from typing import TYPE_CHECKING, Any

from hsibench.cli.listing import Column, add_json_argument, print_json, print_note, print_table
from hsibench.data import storage  # the environment names of the help texts (and the mirror); no scene is loaded

if TYPE_CHECKING:  # the scene registry, numpy, tabulate and scipy.io (file scenes) load when a data command runs
    import numpy as np

    from hsibench.data import SceneSource
    from hsibench.data.storage import RemoteFile

# --- the mirror option, shared with other sub-commands --------------------------------------------


def add_mirror_argument(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: an absent sub-command option must not overwrite `hsibench --mirror DIR <command>`
    parser.add_argument("--mirror", metavar="DIR", default=argparse.SUPPRESS,
                        help=f"local folder of scene files, used in place before the cache ({storage.MIRROR_ENV})")


def apply_mirror(args: argparse.Namespace) -> None:
    """Make ``--mirror`` (if given) the mirror of this process and of the workers it starts."""
    if getattr(args, "mirror", None):
        storage.set_mirror(args.mirror)


# --- status of a scene's files --------------------------------------------------------------------


def file_places(remote: RemoteFile) -> set[str]:
    return {place for place, _path in storage.present_copies(remote)}


def scene_file_status(source: SceneSource) -> str:
    """Where the scene's files are, by presence only (hashes are `hsibench data verify`'s job)."""
    from hsibench.data.files import FileScene

    if not isinstance(source, FileScene):
        return source.info.access  # e.g. "generated": nothing to fetch
    cube_places = set().union(*(file_places(remote) for remote in source.cube_files))
    label_places = [file_places(remote) for remote in source.ground_truth_roles()]
    if not label_places:  # unlabeled: only the cube matters
        return "+".join(sorted(cube_places, key=["mirror", "cache"].index)) or "missing"
    if not all(label_places):
        return "cube only" if cube_places else "missing"
    if not cube_places:
        return "labels only"
    return "+".join(sorted(cube_places.union(*label_places), key=["mirror", "cache"].index))


def _size(shape: tuple[int, ...]) -> str:
    return "×".join(str(extent) for extent in shape)


def label_kind(source: SceneSource) -> str:
    """One word for `data list`: surveyed, derived, unlabeled, or generated (the generator's own truth)."""
    if source.info.access == "generated":
        return "generated"
    return {"survey": "surveyed", "derived": "derived", "none": "unlabeled"}[source.info.labels]


# --- list -----------------------------------------------------------------------------------------

#: the keys of each object of `hsibench data list --json`, in order
LIST_JSON_KEYS = ("name", "title", "height", "width", "bands", "classes", "labels", "sensor", "spectral_range_nm",
                  "access", "files")
LIST_JSON_HELP = ("name, title, height, width, bands, classes (the number of classes), labels (survey|derived|none), "
                  "sensor, spectral_range_nm ([first, last] or null), access (download|registration|generated), files "
                  "(mirror|cache|mirror+cache|missing|cube only|labels only|generated)")


def scene_listing(name: str) -> dict[str, Any]:
    """One object of `hsibench data list --json` (the registry's own values; :data:`LIST_JSON_KEYS`)."""
    from hsibench.data import get_scene_source

    source = get_scene_source(name)
    info = source.info
    height, width, bands = info.shape
    return {"name": name, "title": info.title, "height": height, "width": width, "bands": bands,
            "classes": len(info.class_names), "labels": info.labels, "sensor": info.sensor,
            "spectral_range_nm": list(info.spectral_range_nm) if info.spectral_range_nm else None,
            "access": info.access, "files": scene_file_status(source)}


def _list(args: argparse.Namespace) -> int:
    from hsibench.data import get_scene_source, scene_names

    apply_mirror(args)
    if args.json:
        print_json([scene_listing(name) for name in scene_names()])
        return 0
    rows = []
    for name in scene_names():
        source = get_scene_source(name)
        info = source.info
        kind = label_kind(source)
        classes = kind if not info.labeled else f"{len(info.class_names)} {kind}"
        files = scene_file_status(source) + ("*" if info.access == "registration" else "")
        rows.append((name, info.title, _size(info.shape), classes, info.sensor or "—", files))
    columns = (Column("name"), Column("scene"), Column("H×W×bands", right=True), Column("classes"), Column("sensor"),
               Column("files"))
    # too wide: titles first (they are in `data info`), then a long sensor name
    print_table(columns, rows, shrink=((1, 30), (4, 15), (1, 16)))
    print()
    mirror = storage.mirror_dir()
    print(f"mirror: {mirror or '(none; set --mirror or ' + storage.MIRROR_ENV + ')'}")
    print(f"cache:  {storage.cache_dir()}")
    print_note("files: where a scene's files are present (hashes are checked by `hsibench data verify`); "
               "* a registration-only scene: get its files by hand (`hsibench data fetch NAME` says how).")
    print_note("classes: how many, and the labels: surveyed ground truth, derived (computed, e.g. from unmixing "
               "abundances: see `hsibench data info NAME`), generated with a synthetic scene, or unlabeled (a source "
               "for self-supervised pretraining). Every field, unshortened: `hsibench data list --json`.")
    return 0


# --- fetch ----------------------------------------------------------------------------------------


def _fetch(args: argparse.Namespace) -> int:
    from hsibench.data import get_scene_source
    from hsibench.data.errors import HsibenchDataError
    from hsibench.data.files import FileScene

    apply_mirror(args)
    failed = 0
    for name in args.names:
        source = get_scene_source(name)
        if not isinstance(source, FileScene):
            print(f"{name}: {source.info.access} scene, nothing to fetch")
            continue
        try:
            for remote, path in source.fetch():
                print(f"{name}: {remote.name} → {path}")
        except HsibenchDataError as error:
            failed += 1
            hint = " (registration-only scene: get the file by hand as described below)" \
                if source.info.access == "registration" else ""
            print(f"{name}: not fetched{hint}\n{error}")
    return 1 if failed else 0


# --- verify ---------------------------------------------------------------------------------------


def _verify(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from hsibench.data import get_scene_source, scene_names
    from hsibench.data.files import FileScene

    apply_mirror(args)
    names = args.names or [name for name in scene_names() if isinstance(get_scene_source(name), FileScene)]
    remotes = {remote: None for name in names for remote in get_scene_source(name).info.files}
    rows, mismatches = [], 0
    for remote in remotes:
        copies = storage.inspect_copies(remote, hash_unchecked=True)
        if not copies:
            rows.append(("missing", remote.relative_path, "", ""))
        for copy in copies:
            state = "unchecked" if remote.sha256 is None else "ok" if copy.ok else "MISMATCH"
            mismatches += not copy.ok
            detail = "" if copy.ok or remote.sha256 is None else f"expected {remote.sha256}, got {copy.actual_sha256}"
            rows.append((state, remote.relative_path, str(copy.path), detail))
    print(tabulate(rows, headers=("status", "file", "path", "detail")))
    if mismatches:
        print(f"\n{mismatches} file(s) do not match their registered sha256: delete or replace them.")
    return 1 if mismatches else 0


# --- info -----------------------------------------------------------------------------------------


def parse_options(pairs: list[str] | None, scene: str) -> dict[str, Any]:
    """``["purity=0.6"]`` → ``{"purity": 0.6}``: values are Python literals (numbers, strings, True/False)."""
    from hsibench.data.errors import SceneOptionError

    options: dict[str, Any] = {}
    for pair in pairs or []:
        name, equals, text = pair.partition("=")
        if not equals or not name:
            raise SceneOptionError(f"scene {scene!r}: --option takes NAME=VALUE, got {pair!r}")
        try:
            options[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[name] = text
    return options


def _info(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from hsibench.data import get_scene_source
    from hsibench.data.registry import resolve_options

    apply_mirror(args)
    source = get_scene_source(args.name)
    info = source.info
    options = parse_options(args.option, info.name)
    # an unknown option or a bad value fails here, with a message naming what is valid
    resolved = resolve_options(info, options, getattr(source, "option_checks", None))
    labels = {"survey": "surveyed ground truth", "derived": "DERIVED, not surveyed",
              "none": "unlabeled (no ground truth)"}[info.labels]
    if info.access == "generated":
        labels = "generated with the scene (the generator's own truth)"
    facts = [
        ("name", info.name), ("title", info.title), ("shape (H×W×bands)", _size(info.shape)),
        ("sensor", info.sensor or "—"), ("spectral range", _range(info.spectral_range_nm)),
        ("wavelengths", info.wavelength_source or "unknown"), ("labels", labels),
    ]
    if info.labels == "derived":
        note = source.label_note(resolved) if hasattr(source, "label_note") else info.label_note
        facts.append(("label note", note))
    if info.options:
        facts.append(("options", ", ".join(f"{name}={value!r}" for name, value in resolved.items())
                      + ("" if options else " (defaults; change with --option NAME=VALUE)")))
    facts += [
        ("access", info.access), ("licence", info.licence or "not stated"), ("citation", info.citation or "—"),
        ("notes", info.notes or "—"), ("files", scene_file_status(source)),
    ]
    facts += [(f"file {remote.relative_path}", remote.sha256 or "no published sha256") for remote in info.files]
    print(tabulate(facts, tablefmt="plain"))
    print()
    if not info.labeled:
        print("classes: none (an unlabeled scene)")
        return 0
    counts, origin = _class_counts(source, options)
    rows = [(class_id, class_name, *(table.get(class_id, 0) for table in counts.values()))
            for class_id, class_name in sorted(info.class_names.items())]
    print(tabulate(rows, headers=("id", "class", *counts)))
    print(f"\ncounts: {origin}")
    return 0


def _class_counts(source: SceneSource, options: dict[str, Any]) -> tuple[dict[str, dict[int, int]], str]:
    """Per-class pixel counts: from the ground-truth file when it is here, else as documented."""
    available = getattr(source, "ground_truth_available", source.is_available)
    if available():
        ground_truth = source.load_ground_truth(**options)
        maps = {"labels": ground_truth.labels, **ground_truth.official_maps}
        origin = ("derived from the cube file's abundances with the options above" if source.info.labels == "derived"
                  else "read from the ground-truth file(s)")
        return {name: _count(labels) for name, labels in maps.items()}, origin
    documented = dict(getattr(source, "documented_counts", {}))
    status = "verified" if getattr(source, "counts_verified", False) else "reported"
    defaults = " at the default options" if source.info.options else ""
    return documented, f"ground truth not present; {status} counts{defaults} from the registry (`hsibench data fetch`)"


def _count(labels: np.ndarray) -> dict[int, int]:
    import numpy as np

    ids, counts = np.unique(labels[labels != 0], return_counts=True)
    return dict(zip(ids.tolist(), counts.tolist()))


def _range(range_nm: tuple[float, float] | None) -> str:
    return f"{range_nm[0]:g}–{range_nm[1]:g} nm" if range_nm else "—"


# --- registration ---------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="list, fetch, verify and describe scenes")
    actions = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="every registered scene and where its files are")
    add_json_argument(listing, LIST_JSON_HELP)
    listing.set_defaults(handler=_list)

    fetch = actions.add_parser("fetch", help="download scenes into the cache (or find them in the mirror)")
    fetch.add_argument("names", nargs="+", metavar="NAME")
    fetch.set_defaults(handler=_fetch)

    verify = actions.add_parser("verify", help="hash every present file; exit 1 on a mismatch")
    verify.add_argument("names", nargs="*", metavar="NAME", help="scenes to check (default: all)")
    verify.set_defaults(handler=_verify)

    info = actions.add_parser("info", help="facts, wavelengths and class table of one scene")
    info.add_argument("name", metavar="NAME")
    info.add_argument("--option", action="append", metavar="NAME=VALUE",
                      help="a scene option (e.g. Jasper Ridge's purity=0.6); repeatable")
    info.set_defaults(handler=_info)

    for parser in (listing, fetch, verify, info):
        add_mirror_argument(parser)
