"""Ray agents a ``kill -9``-ed run leaves behind are found (title, parent init, this user) and ended by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_runner_fake_method import CENTROID, PLUGIN

from hsibench.runner.ray_orphans import describe_ended, end_orphaned_agents, find_orphaned_agents


def _fake_process(proc: Path, pid: int, title: str, ppid: int, uid: int, rss_kb: int = 2048) -> None:
    entry = proc / str(pid)
    entry.mkdir(parents=True)
    (entry / "cmdline").write_bytes(title.encode() + b"\0" * 40)
    (entry / "stat").write_text(f"{pid} (name with ) paren) S {ppid} {pid} 1 0 -1 4194304\n")
    (entry / "status").write_text(f"Name:\tx\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nVmRSS:\t{rss_kb} kB\n")


def test_only_this_users_agents_whose_parent_is_init_are_orphans(tmp_path: Path) -> None:
    me = os.getuid()
    _fake_process(tmp_path, 10, "ray::DashboardAgent", 1, me)
    _fake_process(tmp_path, 11, "ray::RuntimeEnvAgent", 1, me, rss_kb=4096)
    _fake_process(tmp_path, 12, "ray::DashboardAgent", 500, me)  # a live cluster's agent: child of its raylet
    _fake_process(tmp_path, 13, "ray::RuntimeEnvAgent", 1, me + 1)  # another user's
    _fake_process(tmp_path, 14, "python", 1, me)
    (tmp_path / "self").mkdir()
    assert [(o.pid, o.title, o.rss_mb) for o in find_orphaned_agents(tmp_path)] == [
        (10, "ray::DashboardAgent", 2.0), (11, "ray::RuntimeEnvAgent", 4.0)]
    killed = []
    ended = end_orphaned_agents(tmp_path, kill=lambda pid, sig: killed.append((pid, sig)))
    assert killed == [(10, signal.SIGKILL), (11, signal.SIGKILL)]
    assert describe_ended(ended).startswith("ended 2 Ray process(es)") and "6 MB freed" in describe_ended(ended)
    assert find_orphaned_agents(tmp_path / "no-proc-here") == []


def _children(pid: int) -> list[str]:
    titles = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().rpartition(")")[2].split()[1] == str(pid):
                titles.append((entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace"))
        except OSError:
            continue
    return titles


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_after_kill_9_of_a_run_no_ray_agent_outlives_the_next_runs_cleanup(tmp_path: Path) -> None:
    command = [str(Path(sys.executable).with_name("hsibench")), "run", "--method", CENTROID, "--plugin", PLUGIN, "--protocol", "demo",
               "--seeds", "1330", "--set", "sleep_s=60", "--out", str(tmp_path), "--cache", str(tmp_path / "cache")]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "CI": "true"})
    deadline = time.monotonic() + 90
    while not any(title.endswith("raylet") or "raylet" in title for title in _children(run.pid)):
        assert run.poll() is None and time.monotonic() < deadline, "the run should have started its own Ray"
        time.sleep(0.5)
    time.sleep(3)  # the agents start just after the raylet
    run.kill()
    run.wait()
    time.sleep(5)  # what Ray's own reaper ends, it ends within this
    left = find_orphaned_agents()  # with Ray 2.x: ray::DashboardAgent and ray::RuntimeEnvAgent
    command[command.index("sleep_s=60")] = "sleep_s=0"
    again = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "CI": "true"}, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    if left:
        assert f"ended {len(left)} Ray process(es) an earlier killed run left behind" in again.stderr
    assert find_orphaned_agents() == [], "the next run's cleanup leaves no Ray agent behind"
