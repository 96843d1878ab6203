"""Facts about where and with what a trial ran, written into its record so a number can be traced back."""

from __future__ import annotations

import platform
import resource
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import hsibench

VERSIONED_PACKAGES = ("torch", "timm", "ray", "numpy", "scikit-learn", "scipy", "pandas")


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"hsibench": hsibench.__version__, "python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def _read_ref(git_dir: Path, ref: str) -> str | None:
    loose = git_dir / ref
    if loose.is_file():
        return loose.read_text().strip()
    packed = git_dir / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            if line.endswith(f" {ref}") and not line.startswith("#"):
                return line.split()[0]
    return None


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The checked-out commit of the source tree hsibench runs from, read from ``.git`` (no git binary needed).

    ``None`` for an installed wheel or any tree that is not a git checkout.
    """
    for folder in Path(hsibench.__file__).resolve().parents:
        git_dir = folder / ".git"
        if git_dir.is_dir():
            head = (git_dir / "HEAD").read_text().strip()
            return _read_ref(git_dir, head[5:]) if head.startswith("ref: ") else head
    return None


def host_description() -> dict[str, str]:
    return {"hostname": platform.node(), "platform": platform.platform(), "processor": platform.machine()}


def peak_memory_megabytes() -> float:
    """The process's peak resident memory so far (its whole lifetime, not just the last trial)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux
