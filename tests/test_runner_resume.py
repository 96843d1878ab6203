"""A sweep killed with ``kill -9`` half-way resumes where it stopped: one intact record per trial, none twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_runner_fake_method import CENTROID, PLUGIN

from hsibench.cli import main
from hsibench.runner.records import read_record

pytestmark = pytest.mark.slow  # a subprocess run, killed and resumed

SEEDS = "1,2,3,4"


def command(out: Path) -> list[str]:
    return ["run", "--method", CENTROID, "--protocol", "demo", "--plugin", PLUGIN, "--executor", "local",
            "--out", str(out), "--cache", str(out / "cache"), "--preset", "smoke", "--seeds", SEEDS,
            "--set", "sleep_s=1.5", "--no-maps"]


def test_killed_sweep_resumes_without_duplicates_or_truncation(tmp_path: Path) -> None:
    runs = tmp_path / "demo" / "runs"
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from hsibench.cli import main; sys.exit(main(sys.argv[1:]))",
         *command(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "CI": "true"})
    try:
        deadline = time.monotonic() + 120
        while not list(runs.glob("*.json")):
            assert process.poll() is None, "the run ended before writing its first record"
            assert time.monotonic() < deadline, "no record appeared within 120 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    before = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert 1 <= len(before) < 4, "the kill must land mid-way"

    assert main(command(tmp_path)) == 0

    records = {p.name: json.loads(p.read_text()) for p in runs.glob("*.json")}  # every file parses
    assert all(read_record(runs / name, strict=True) is not None for name in records)  # as a valid record
    assert len(records) == 4
    assert sorted(r["seed"] for r in records.values()) == [1, 2, 3, 4]
    assert all(r["status"] == "ok" for r in records.values())
    assert all(runs.joinpath(name).stat().st_mtime_ns == mtime for name, mtime in before.items()), \
        "finished trials must be skipped, not run again"
