"""Ray helper processes a killed run left behind, found and ended by the next run on this machine.

When ``kill -9`` ends a command that started its own Ray, Ray's reaper takes down the GCS,
raylet and workers, but two agents (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``, ~170 MB
together) are re-parented to init, ignore SIGTERM and live on. Nothing can run in a process that
was killed, so the next Ray start here looks for them: processes of this user whose title is one
of those agents and whose parent is init (a live cluster's agents are children of its raylet).
They get SIGKILL, and the run says what it ended. Linux only (``/proc``); elsewhere nothing is done.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

AGENT_TITLES = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")
INIT_PID = 1


@dataclass(frozen=True)
class OrphanProcess:
    pid: int
    title: str
    rss_mb: float


def _parent_pid(stat: str) -> int:
    """The ppid field of ``/proc/PID/stat`` (after the parenthesised name, which may hold spaces)."""
    return int(stat.rpartition(")")[2].split()[1])


def _status_fields(status: str) -> dict[str, str]:
    return {key: value.strip() for key, _, value in (line.partition(":") for line in status.splitlines())}


def find_orphaned_agents(proc: Path = Path("/proc"), uid: int | None = None) -> list[OrphanProcess]:
    """Ray agents of ``uid`` (default: this user) whose parent is init; empty where there is no ``/proc``."""
    uid = os.getuid() if uid is None else uid
    orphans = []
    if not proc.is_dir():
        return orphans
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
            if title not in AGENT_TITLES or _parent_pid((entry / "stat").read_text()) != INIT_PID:
                continue
            status = _status_fields((entry / "status").read_text())
        except (OSError, ValueError, IndexError):  # the process ended while we looked, or is not ours to read
            continue
        if int(status.get("Uid", "-1").split()[0]) != uid:
            continue
        rss_kb = float(status.get("VmRSS", "0 kB").split()[0])
        orphans.append(OrphanProcess(int(entry.name), title, rss_kb / 1024))
    return sorted(orphans, key=lambda orphan: orphan.pid)


def end_orphaned_agents(proc: Path = Path("/proc"), kill=os.kill) -> list[OrphanProcess]:
    """SIGKILL every orphaned Ray agent of this user (they ignore SIGTERM); returns the ones it ended."""
    ended = []
    for orphan in find_orphaned_agents(proc):
        try:
            kill(orphan.pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        ended.append(orphan)
    return ended


def describe_ended(ended: list[OrphanProcess]) -> str:
    titles = ", ".join(f"{orphan.title} (pid {orphan.pid})" for orphan in ended)
    megabytes = sum(orphan.rss_mb for orphan in ended)
    return (f"ended {len(ended)} Ray process(es) an earlier killed run left behind: {titles}; "
            f"{megabytes:.0f} MB freed")


def end_orphans_before_starting_ray() -> list[OrphanProcess]:
    """What a command that starts its own Ray calls first: end the orphans, and say so on stderr."""
    ended = end_orphaned_agents()
    if ended:
        print(f"hsibench: {describe_ended(ended)}", file=sys.stderr, flush=True)
    return ended
