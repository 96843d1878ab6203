"""`pip install .` must ship methods/ and protocols/ inside the hsibench package (no generic top-level names)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO_ROOT


@pytest.mark.slow
def test_wheel_contains_methods_and_protocols_under_hsibench(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO_ROOT)],
        capture_output=True, text=True,
    )
    if build.returncode and "No module named" in build.stderr and "setuptools" in build.stderr:
        pytest.skip("setuptools is not installed in this environment")
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("hsibench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "hsibench/methods/__init__.py" in names and "hsibench/methods/registry.py" in names
    assert "hsibench/protocol_files/pu2pc.toml" in names and "hsibench/protocol_files/demo.toml" in names
    top_level = {name.split("/")[0] for name in names}
    assert top_level <= {"hsibench", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}, top_level
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "hsibench = hsibench.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_console_command_runs_from_any_directory(tmp_path: Path) -> None:
    command = Path(sys.executable).with_name("hsibench")
    if not command.exists():
        pytest.skip("the hsibench console script is not installed next to this interpreter")
    result = subprocess.run([str(command), "protocols", "list"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "pu2pc" in result.stdout and "demo" in result.stdout


def test_cli_start_up_does_not_import_torch() -> None:
    """`hsibench split`, `data` and `protocols` must start fast: only running a method needs torch."""
    code = ("import sys; from hsibench.cli import build_parser; build_parser(); "
            "import hsibench.protocol as p; p.make_split; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
