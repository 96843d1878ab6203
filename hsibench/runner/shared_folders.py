"""Before trials run on a joined Ray cluster: can every node see the results folder and the pretraining cache?

Workers write records and checkpoints straight into ``--out`` and ``--cache``, so on a cluster
both must be one filesystem mounted at the same path on every node. A node that sees a different
(or no) folder would write records the driver never finds, and the campaign would end with every
trial "not run". The driver writes a probe file with a random token into each folder; one
zero-CPU task pinned to each alive node reads it back. A node that cannot is named, with the
folder, before any trial starts.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from hsibench.errors import HsibenchError

PROBE_NAME = ".hsibench-shared-folder-probe"


class SharedFolderError(HsibenchError, RuntimeError):
    """A Ray node does not see a folder the workers must write into."""


def read_probes(folders: list[str], tokens: list[str]) -> list[str]:
    """On a node: the folders whose probe file is missing or holds another token (runs inside a Ray task)."""
    unseen = []
    for folder, token in zip(folders, tokens, strict=True):
        probe = Path(folder) / PROBE_NAME
        try:
            if probe.read_text() != token:
                unseen.append(folder)
        except OSError:
            unseen.append(folder)
    return unseen


def write_probes(folders: dict[str, Path]) -> dict[str, tuple[str, str]]:
    """Write one probe per distinct folder; resolved path → (the option(s) that named it, its token).

    Two options naming one folder (``--out X --cache X``) share one probe, so neither overwrites the other's."""
    probes: dict[str, tuple[str, str]] = {}
    for option, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        path = str(folder.resolve())
        if path in probes:
            probes[path] = (f"{probes[path][0]} and {option}", probes[path][1])
            continue
        token = secrets.token_hex(16)
        (folder / PROBE_NAME).write_text(token)
        probes[path] = (option, token)
    return probes


def check_shared_folders(folders: dict[str, Path]) -> None:
    """Raise :class:`SharedFolderError` when an alive node of the connected Ray cluster cannot see a folder.

    ``folders`` maps the option that named a folder (``--out``) to the folder."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probes = write_probes(folders)
    paths, tokens = list(probes), [token for _, token in probes.values()]
    task = ray.remote(num_cpus=0)(read_probes)
    try:
        nodes = [node for node in ray.nodes() if node["Alive"]]
        pending = [task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False))
                   .remote(paths, tokens) for node in nodes]
        problems = []
        for node, unseen in zip(nodes, ray.get(pending), strict=True):
            for folder in unseen:
                problems.append(f"Ray node {node['NodeID'][:12]} ({node['NodeManagerAddress']}) does not see "
                                f"{probes[folder][0]} {folder}")
    finally:
        for folder in paths:
            (Path(folder) / PROBE_NAME).unlink(missing_ok=True)
    if problems:
        raise SharedFolderError(
            "; ".join(problems) + ". Workers write records and checkpoints there directly: put --out and --cache on "
            "a filesystem every node mounts at the same path (NFS or similar), or run without --address.")
