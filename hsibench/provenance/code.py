"""Which code made a number: a fingerprint of the source files a trial's result depends on.

A record (and a cached pretraining) stores the sha256 of every file that can change its
numbers, so a run never serves a record — or reuses a pretraining — made by other code:

- the method's own files: its module and, for a method that is a package (``s2former/``), every
  file of that package, plus every ``hsibench.methods`` module they import (the shared blocks);
- the layers under it: every file of ``hsibench/data`` and ``hsibench/protocol`` (scenes,
  splits, normalisation, patches), and the registry/error modules they use;
- for trial records also the runner's scoring path (``runner/trial.py``, ``runner/metrics.py``).

Files are found by reading imports with :mod:`ast` (nothing is imported, so this works without
torch and in ``results ls``). Paths are stored relative to the package (``hsibench/...``; the
``methods/`` folder as ``hsibench/methods/...``), so the same code gives the same fingerprint in a
checkout, an editable and a wheel install. Plugin methods outside the package are hashed by path.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import subprocess
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

PACKAGE = "hsibench"
#: layers every result depends on, whatever the method (folders or files under the package)
DATA_LAYERS = ("data", "protocol", "registry.py", "errors.py")
#: the runner's files that compute a trial's numbers from a method's predictions (and carry out the audit's habits)
SCORING_FILES = ("runner/trial.py", "runner/metrics.py", "runner/audit_modes.py", "runner/chain.py")
#: imported by the methods layer but changes no number: the built-in listing index and method facts
NOT_RESULT_CODE = ("hsibench/methods/catalog.py", "hsibench/methods/info.py")


@dataclass(frozen=True)
class CodeFingerprint:
    """The files behind a result and their digests; ``digest`` changes whenever any of them does."""

    digest: str
    shared_digest: str = ""  # of the layers every method shares (data, protocol, scoring): equal across methods
    files: dict[str, str] = field(default_factory=dict)  # package-relative path → sha256
    git_commit: str | None = None
    git_dirty: bool | None = None

    def to_dict(self) -> dict:
        return {"digest": self.digest, "shared_digest": self.shared_digest, "files": dict(self.files),
                "git_commit": self.git_commit, "git_dirty": self.git_dirty}


@cache
def package_root(package: str) -> Path | None:
    """The folder of an importable package, found without executing it (``hsibench.methods`` → ``methods/``)."""
    parent = package.rpartition(".")[0]
    if parent and package_root(parent) is None:
        return None
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


#: packages whose folders are looked up directly (``hsibench.methods`` lives in another folder than ``hsibench/``)
_ROOTS = (f"{PACKAGE}.methods", f"{PACKAGE}.protocol_files", PACKAGE)


def _module_file(module: str) -> Path | None:
    """The source file of a module of ``hsibench`` (a package's ``__init__.py``), or ``None`` if it has none."""
    for package in _ROOTS:
        if module == package or module.startswith(package + "."):
            root = package_root(package)
            if root is None:
                return None
            candidate = root.joinpath(*module[len(package):].split(".")[1:])
            if (candidate / "__init__.py").is_file():
                return candidate / "__init__.py"
            return candidate.with_suffix(".py") if candidate.with_suffix(".py").is_file() else None
    return None


def _relative_name(path: Path) -> str:
    """``hsibench/...`` for files of the package (mapped folders under their package name), else the path."""
    path = path.resolve()
    for package in _ROOTS:
        root = package_root(package)
        if root is not None and path.is_relative_to(root):
            return "/".join([*package.split("."), *path.relative_to(root).parts])
    return str(path)


def _imports(path: Path, module: str) -> set[str]:
    """The ``hsibench`` modules a file imports (at any depth of the file: lazy imports count too)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def _closure(modules: tuple[str, ...], within: str) -> set[Path]:
    """Files of ``modules`` and, transitively, of the modules they import that lie under ``within``."""
    seen: set[str] = set()
    files: set[Path] = set()
    pending = list(modules)
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_file(module)
        if path is None:
            continue
        files.add(path)
        pending.extend(name for name in _imports(path, module) if name == within or name.startswith(within + "."))
    return files


def _package_files(module: str) -> set[Path]:
    """Every file of the sub-package a method lives in (``hsibench.methods.s2former.method`` → ``s2former/*.py``)."""
    parts = module.split(".")
    if len(parts) < 4 or parts[:2] != [PACKAGE, "methods"]:
        path = _module_file(module)
        return {path} if path and path.name == "__init__.py" else set()
    folder = package_root(".".join(parts[:3]))
    return set(folder.rglob("*.py")) if folder else set()


def _layer_files() -> set[Path]:
    root = package_root(PACKAGE)
    files: set[Path] = set()
    for entry in DATA_LAYERS:
        path = root / entry
        files.update(path.rglob("*.py") if path.is_dir() else [path])
    return files


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plugin_file(module: str) -> set[Path]:
    """A plugin method's own file (outside the package), found without importing it again."""
    if module.startswith(PACKAGE + "."):
        return set()
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return set()
    return {Path(spec.origin)} if spec and spec.origin and spec.origin.endswith(".py") else set()


@cache
def code_fingerprint(method_module: str, scoring: bool = True) -> CodeFingerprint:
    """The fingerprint of a method's result: its files, the shared method blocks, the data and protocol
    layers and (``scoring``) the runner's scoring path. Without ``scoring``: what a pretraining depends on."""
    shared = _layer_files()
    if scoring:
        root = package_root(PACKAGE)
        shared |= {root / name for name in SCORING_FILES}
    files = _closure((method_module,), f"{PACKAGE}.methods") | _package_files(method_module)
    files |= _plugin_file(method_module) | shared
    digests = {_relative_name(path): _digest(path) for path in files if path.is_file()}
    for name in NOT_RESULT_CODE:
        digests.pop(name, None)
    shared_names = {_relative_name(path) for path in shared}
    commit, dirty = git_state()
    return CodeFingerprint(_combine(digests), _combine({k: v for k, v in digests.items() if k in shared_names}),
                           dict(sorted(digests.items())), commit, dirty)


def _combine(digests: dict[str, str]) -> str:
    return hashlib.sha256("\n".join(f"{name} {digest}" for name, digest in sorted(digests.items())).encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout hsibench runs from; ``(None, None)`` for an install outside git."""
    root = package_root(PACKAGE)
    if root is None or not (root.parent / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(["git", "-C", str(root.parent), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root.parent), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())
