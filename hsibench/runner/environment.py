"""Package versions and peak memory of the trial's process (code and machine: :mod:`hsibench.provenance`)."""

from __future__ import annotations

import platform
import sys
from functools import lru_cache
from importlib import metadata

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


def peak_memory_megabytes() -> float:
    """The process's peak resident memory so far (its whole lifetime, not just the last trial); NaN where the
    platform has no ``resource`` module (Windows)."""
    try:
        import resource
    except ImportError:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux
