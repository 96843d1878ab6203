"""Test-wide settings: offline, the real files of ../shared/data as the scene mirror, one thread per test process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HSIBENCH_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))
# the mirror every test starts from: the caller's (CI sets it), else the real files beside the repository
SESSION_MIRROR = os.environ.get("HSIBENCH_MIRROR") or (str(SHARED_DATA) if SHARED_DATA.is_dir() else None)

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["HSIBENCH_OFFLINE"] = "1"  # tests never download


@pytest.fixture(autouse=True)
def _offline_mirror_and_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test reads real files through the mirror code path and writes caches only to a temporary folder."""
    monkeypatch.setenv("HSIBENCH_OFFLINE", "1")
    # always set through monkeypatch, so a test whose code sets the mirror (`--mirror`) cannot leak it
    if SESSION_MIRROR:
        monkeypatch.setenv("HSIBENCH_MIRROR", SESSION_MIRROR)
    else:
        monkeypatch.delenv("HSIBENCH_MIRROR", raising=False)
    monkeypatch.setenv("HSIBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "hsibench-cache"))


def real_data_or_skip() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real scene files not found at {SHARED_DATA} (set HSIBENCH_TEST_DATA)")
    return SHARED_DATA


@pytest.fixture
def real_data() -> Path:
    return real_data_or_skip()
