"""Importing hsibench straight from a source checkout (the repository root on ``sys.path``).

The packaging maps two top-level folders of the repository into the package
(``pyproject.toml``, ``[tool.setuptools.package-dir]``): ``methods/`` installs as
``hsibench.methods`` and ``protocols/`` as ``hsibench.protocol_files``. An installed copy (wheel
or editable) already has that mapping. When Python finds ``hsibench/`` in the working directory
first — ``python -m pytest`` or ``python -m benchmarks…`` at the repository root — this finder
applies the same mapping, so a checkout behaves exactly like an install, without symlinks.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

#: package name → the repository folder it is built from (the same mapping as pyproject.toml's package-dir)
MAPPED_PACKAGES = {"hsibench.methods": "methods", "hsibench.protocol_files": "protocols"}


class CheckoutFinder:
    """A meta-path finder for the mapped packages of one checkout (their sub-modules follow their ``__path__``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(self, fullname: str, path=None, target=None):
        folder = MAPPED_PACKAGES.get(fullname)
        if folder is None:
            return None
        init = self.root / folder / "__init__.py"
        if not init.is_file():
            return None
        return importlib.util.spec_from_file_location(fullname, init, submodule_search_locations=[str(init.parent)])


def install_if_checkout(package_dir: Path) -> None:
    """Add the finder when ``package_dir`` (the imported ``hsibench/``) lacks the mapped folders, i.e. is a checkout."""
    root = package_dir.parent
    if (package_dir / "methods").is_dir() or not (root / "pyproject.toml").is_file():
        return  # an installed wheel, or not our checkout
    if not any(isinstance(finder, CheckoutFinder) and finder.root == root for finder in sys.meta_path):
        # first: an editable install's finder (after the path finder) maps these names to *its* checkout,
        # which may be another one than the checkout `hsibench` itself was just imported from
        sys.meta_path.insert(0, CheckoutFinder(root))
