"""Packaging: ``methods/`` and ``protocols/`` ship inside the package, and every way of importing it finds them.

pyproject.toml maps the two top-level folders into the package (``methods/`` → ``hsibench.methods``,
``protocols/`` → ``hsibench.protocol_files``); hsibench/_checkout.py applies the same mapping when
the package is imported straight from a checkout. These tests check each way a user meets the
package: the wheel, a non-editable install, the editable install, a checkout without symlinks
(as on Windows), and the linter's view of the tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections import Counter
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest
from conftest import REPO_ROOT

import hsibench
from hsibench._checkout import MAPPED_PACKAGES

#: package name → repository folder, for the packages whose files pyproject.toml maps from another folder
FOLDERS = {"hsibench": "hsibench", **MAPPED_PACKAGES}
#: what the children below report: where each part of the package was found, and that a protocol loads
_WHERE_SCRIPT = """
import json, sys
import hsibench, hsibench.methods, hsibench.protocol_files
from importlib.util import find_spec
import hsibench.protocol as protocol
found = {
    "hsibench": hsibench.__file__, "hsibench.methods": hsibench.methods.__file__,
    "hsibench.protocol_files": hsibench.protocol_files.__file__,
    "hsibench.methods.s2former": find_spec("hsibench.methods.s2former").origin,  # found, not imported (no torch)
    "protocols": protocol.protocol_names(), "demo": protocol.load_protocol("demo").name,
    "checkout_finder": any(type(f).__name__ == "CheckoutFinder" for f in sys.meta_path),
}
"""


def where(cwd: Path, before: str = "", after: str = "", **env: str) -> dict:
    """Run ``before``, the script above and ``after`` (which may add to ``found``) in a child; its ``found``."""
    code = before + "\n" + _WHERE_SCRIPT + after + "\nprint(json.dumps(found))\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def is_git_checkout() -> bool:
    return shutil.which("git") is not None and (REPO_ROOT / ".git").exists()


def working_tree_files() -> list[str]:
    """The repository's files as a commit of the working tree would hold them (tracked or new, not ignored)."""
    if not is_git_checkout():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    return sorted(name for name in listed.split("\0") if name and os.path.lexists(REPO_ROOT / name))


def package_path(repo_path: str) -> str | None:
    """Where a repository file lands in the installed package (``methods/svm.py`` → ``hsibench/methods/svm.py``)."""
    for package, folder in FOLDERS.items():
        if repo_path.startswith(folder + "/"):
            return "/".join([*package.split("."), repo_path[len(folder) + 1:]])
    return None


def expected_package_files() -> set[str]:
    """Every file the wheel must ship: the Python files of the three folders, the protocol TOMLs, py.typed."""
    expected = set()
    for name in working_tree_files():
        target = package_path(name)
        if target and (name.endswith(".py") or name == "hsibench/py.typed"
                       or (name.startswith("protocols/") and name.endswith(".toml"))):
            expected.add(target)
    return expected


# --- the wheel and a non-editable install ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the working tree (so no stale ``build/`` folder of the repository leaks in)."""
    if find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed (it is in the `test` extra)")
    source = tmp_path_factory.mktemp("source")
    for name in working_tree_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target, follow_symlinks=False)  # a symlink stays one
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(dist), str(source)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    (built,) = dist.glob("hsibench-*.whl")
    return built


@pytest.mark.slow
def test_wheel_ships_exactly_the_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = f"hsibench-{hsibench.__version__}.dist-info"
    assert {name.split("/")[0] for name in names} == {"hsibench", dist_info}, "no other top-level name"
    shipped = {name for name in names if name.startswith("hsibench/")}
    expected = expected_package_files()
    for required in ("hsibench/methods/__init__.py", "hsibench/methods/svm.py", "hsibench/methods/s2former/model.py",
                     "hsibench/protocol_files/pu2pc.toml", "hsibench/protocol_files/demo.toml", "hsibench/py.typed"):
        assert required in expected  # the expectation itself is not empty
    assert sorted(expected - shipped) == [], "missing from the wheel"
    assert sorted(shipped - expected) == [], "in the wheel but not expected (only .py files, protocol TOMLs, py.typed)"
    assert any(name.startswith(dist_info + "/") and name.endswith("/LICENSE") for name in names), names


@pytest.mark.slow
def test_wheel_metadata_version_and_command(wheel: Path) -> None:
    assert wheel.name.split("-")[1] == hsibench.__version__
    archive = zipfile.ZipFile(wheel)
    dist_info = f"hsibench-{hsibench.__version__}.dist-info"
    metadata = archive.read(f"{dist_info}/METADATA").decode()
    assert f"\nVersion: {hsibench.__version__}\n" in metadata
    assert "hsibench = hsibench.cli:main" in archive.read(f"{dist_info}/entry_points.txt").decode()


@pytest.mark.slow
def test_non_editable_install_imports_from_site_packages(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                              "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = where(elsewhere, PYTHONPATH=str(site))
    assert found["hsibench"] == str(site / "hsibench" / "__init__.py")
    assert found["hsibench.methods"] == str(site / "hsibench" / "methods" / "__init__.py")
    assert found["hsibench.protocol_files"] == str(site / "hsibench" / "protocol_files" / "__init__.py")
    assert found["hsibench.methods.s2former"] == str(site / "hsibench" / "methods" / "s2former" / "__init__.py")
    assert "pu2pc" in found["protocols"] and found["demo"] == "demo"
    assert not found["checkout_finder"], "an install must not use the checkout's finder"


# --- pyproject.toml is in step with the folders ------------------------------------------------------------------


def pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def test_package_list_names_every_folder_with_an_init() -> None:
    """A new sub-package must be added to pyproject.toml's explicit `packages`, or the wheel silently lacks it."""
    found = set()
    for package, folder in FOLDERS.items():
        for init in (REPO_ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO_ROOT / folder)
            if "__pycache__" in relative.parts:
                continue
            found.add(".".join([package, *relative.parts]))
    assert "hsibench.methods.s2former" in found and "hsibench.protocol_files" in found
    assert sorted(pyproject()["tool"]["setuptools"]["packages"]) == sorted(found)


def test_every_folder_with_python_files_is_a_package() -> None:
    """A folder of modules without ``__init__.py`` would be a namespace package: neither listed nor shipped."""
    missing = sorted(
        str(folder.relative_to(REPO_ROOT))
        for top in FOLDERS.values()
        for folder in [REPO_ROOT / top, *(p for p in (REPO_ROOT / top).rglob("*") if p.is_dir())]
        if "__pycache__" not in folder.parts and any(folder.glob("*.py")) and not (folder / "__init__.py").is_file())
    assert missing == []


def test_package_dir_mapping_is_the_checkout_finders() -> None:
    package_dir = dict(pyproject()["tool"]["setuptools"]["package-dir"])
    assert package_dir.pop("hsibench", "hsibench") == "hsibench"
    assert package_dir == MAPPED_PACKAGES


# --- a checkout without symlinks, the editable install, the wrong import ------------------------------------------


def test_repository_has_no_symlinks() -> None:
    """Neither committed (mode 120000) nor in the working tree: symlinks break checkouts on Windows."""
    if not is_git_checkout():
        pytest.skip("not a git checkout")
    staged = subprocess.run(["git", "ls-files", "-s"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert [line for line in staged.stdout.splitlines() if line.startswith("120000")] == []
    assert [name for name in working_tree_files() if (REPO_ROOT / name).is_symlink()] == []


@pytest.mark.slow
def test_checkout_without_symlinks_imports_its_own_files(tmp_path: Path) -> None:
    """A `core.symlinks=false` clone of HEAD (what Windows users get) imports everything from itself.

    The venv's editable install points at another checkout; the clone's own folders must win.
    """
    if not is_git_checkout():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "-c", "core.symlinks=false", "clone", "-q", str(REPO_ROOT), str(clone)],
                   check=True, capture_output=True, timeout=120)
    staged = subprocess.run(["git", "ls-files", "-s"], cwd=clone, capture_output=True, text=True, check=True)
    assert [line for line in staged.stdout.splitlines() if line.startswith("120000")] == []
    assert [str(path) for path in clone.rglob("*") if path.is_symlink()] == []

    found = where(clone, before="import hsibench.methods, hsibench.protocol as p; assert p.protocol_names(); "
                                "from hsibench.methods import get_method_entry; get_method_entry('svm')",
                  after="found['svm'] = sys.modules['hsibench.methods.svm'].__file__")
    assert found["hsibench"] == str(clone / "hsibench" / "__init__.py")
    assert found["hsibench.methods"] == str(clone / "methods" / "__init__.py")
    assert found["hsibench.protocol_files"] == str(clone / "protocols" / "__init__.py")
    assert found["svm"] == str(clone / "methods" / "svm.py")


def test_installed_package_finds_its_mapped_folders(tmp_path: Path) -> None:
    """This interpreter's install, imported away from any checkout: editable → the source folders, else beside it."""
    found = where(tmp_path, after="from importlib import metadata\n"
                                  "found['direct_url'] = metadata.distribution('hsibench').read_text('direct_url.json')")
    direct_url = json.loads(found["direct_url"] or "{}")
    if direct_url.get("dir_info", {}).get("editable"):
        root = Path(url2pathname(urlparse(direct_url["url"]).path))
        assert found["hsibench"] == str(root / "hsibench" / "__init__.py")
        assert found["hsibench.methods"] == str(root / "methods" / "__init__.py")
        assert found["hsibench.protocol_files"] == str(root / "protocols" / "__init__.py")
        assert found["hsibench.methods.s2former"] == str(root / "methods" / "s2former" / "__init__.py")
        if root.resolve() == REPO_ROOT:
            assert Path(found["hsibench.methods"]).parent == REPO_ROOT / "methods"
    else:  # a regular install (CI installs `.[test]`): everything from the one site-packages folder
        package = Path(found["hsibench"]).parent
        assert found["hsibench.methods"] == str(package / "methods" / "__init__.py")
        assert found["hsibench.protocol_files"] == str(package / "protocol_files" / "__init__.py")
    assert "pu2pc" in found["protocols"] and found["demo"] == "demo"


@pytest.mark.parametrize(("code", "message"), [
    ("import methods.svm", "this folder is the package `hsibench.methods`, not `methods`"),
    ("import hsibench.methods\nimport methods.svm", "this folder is the package `hsibench.methods`, not `methods`"),
    ("import protocols", "this folder is the package `hsibench.protocol_files`, not `protocols`"),
])
def test_importing_the_folders_under_their_own_names_is_a_clear_error(code: str, message: str) -> None:
    """At the repository root `methods/` is importable as `methods`: it must refuse (each method would register twice)."""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"ImportError: {message}" in result.stderr, result.stderr


# --- the linter sees each file once -------------------------------------------------------------------------------


def test_ruff_sees_each_file_exactly_once() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        ruff = shutil.which("ruff")
        if ruff is None:
            pytest.skip("ruff is not installed (it is in the `test` extra)")
    listed = subprocess.run([str(ruff), "check", "--show-files", "hsibench", "methods", "tests", "benchmarks"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    files = [Path(line) for line in listed.stdout.splitlines() if line.strip()]
    seen = Counter((path if path.is_absolute() else REPO_ROOT / path).resolve() for path in files)
    assert [str(path) for path, count in seen.items() if count > 1] == []
    assert (REPO_ROOT / "methods" / "svm.py").resolve() in seen
    expected = {(REPO_ROOT / name).resolve() for name in working_tree_files()
                if name.endswith(".py") and name.split("/")[0] in ("hsibench", "methods", "tests", "benchmarks")}
    assert sorted(map(str, expected - set(seen))) == [], "files ruff does not check"


# --- the console command -----------------------------------------------------------------------------------------


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
