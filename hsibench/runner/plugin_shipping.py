"""Ship plugins (``--plugin`` modules and ``.py`` files) to Ray workers through ``runtime_env``.

A trial spec names its plugins as the driver saw them (a file path, a dotted module name) and a
worker calls :func:`hsibench.runner.spec.load_plugins` with the same strings. On a node that
does not have the plugin's folder, that import only works when Ray has copied the plugin there:
:func:`plugin_runtime_env` says what to copy, as the ``py_modules`` entry of a ``runtime_env``
(``ray.init(address=..., runtime_env={**other, **plugin_runtime_env(plugins)})``).

What Ray 2.60 accepts in ``py_modules`` (``ray/_private/runtime_env/py_modules.py``): a local
directory (zipped *with* its own name, so ``/src/mypkg`` arrives as an importable ``mypkg``), a
local ``.py`` file (zipped alone, its siblings left behind, so ``/src/plugin.py`` arrives as an
importable ``plugin``), a ``.whl``, a remote URI, or an imported module object — which Ray only
turns into its ``__file__`` (single-file module) or its one ``__path__`` entry (package). Each
upload is content-addressed and happens in ``ray.init`` (the driver process), and every worker of
the job gets the unpacked entries on its ``PYTHONPATH``.

So a plugin *file* ships as its own path, not its folder and not a module object: the folder may
hold anything (the user's home, a checkout with data), a module object would force the plugin to
be imported just to compute a ``runtime_env`` and gives Ray nothing more than the path, and a temp
folder holding a copy would have to outlive ``ray.init``'s upload for no gain. The module arrives
under the file's stem, the very name ``load_plugins`` imports a file plugin under, so the worker
imports it by that name when the path itself is missing there. Two plugin files with one stem
would shadow each other on the worker (and in ``sys.modules`` already on the driver): refused.

A *dotted* plugin ships the folder of its top-level package (or its file, for a top-level
single-file module) when it comes from outside every installed distribution — a folder put on
``PYTHONPATH`` or the working directory. Installed packages, the standard library and hsibench's
own modules ship nothing: the cluster's nodes run the same environment as the driver. Nothing is
imported to decide any of this (only the import system's finders are asked), so it is safe to
call before the driver has loaded its plugins.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import importlib.util
import site
import sys
import sysconfig
from collections.abc import Iterable
from importlib.machinery import ModuleSpec
from pathlib import Path

from hsibench.errors import HsibenchError

#: hsibench's own top-level package: every node has it installed, with its methods
OWN_PACKAGE = "hsibench"


class PluginShippingError(HsibenchError):
    """A plugin that cannot be shipped to Ray workers: it is not found, or Ray cannot carry it."""


def plugin_runtime_env(plugins: Iterable[str]) -> dict[str, list[str]]:
    """The ``runtime_env`` entries that make every plugin importable on a Ray worker: ``{"py_modules": [...]}``.

    A plugin ending in ``.py`` is a file (as in ``load_plugins``) and ships as that one file; a dotted
    module name from outside the installed distributions ships as its top-level package folder (or
    file); installed modules and ``hsibench``'s own need nothing. Entries are absolute paths, each once.
    Returns ``{}`` when nothing needs shipping, so the result can be merged into any ``runtime_env``.
    Raises :class:`PluginShippingError` naming the plugin when it cannot be found or shipped.
    """
    entries: list[str] = []
    stems: dict[str, Path] = {}
    for plugin in plugins:
        found = [_file_entry(plugin, stems)] if plugin.endswith(".py") else _module_entries(plugin)
        entries.extend(entry for entry in found if entry not in entries)
    return {"py_modules": entries} if entries else {}


def _file_entry(plugin: str, stems: dict[str, Path]) -> str:
    path = Path(plugin).resolve()
    if not path.is_file():
        raise PluginShippingError(f"plugin {plugin!r}: file {path} does not exist; check the path")
    other = stems.setdefault(path.stem, path)
    if other != path:
        raise PluginShippingError(
            f"plugins {str(other)!r} and {plugin!r} are both imported as module {path.stem!r} (a plugin file is "
            "imported under its name), so one would shadow the other; rename one of them")
    return str(path)


def _module_entries(plugin: str) -> list[str]:
    parts = plugin.split(".")
    top = parts[0]
    if top == OWN_PACKAGE or top in sys.builtin_module_names or top in sys.stdlib_module_names:
        return []
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError) as error:
        raise PluginShippingError(f"plugin {plugin!r}: module {top!r} cannot be looked up: {error}") from error
    if spec is None:
        raise PluginShippingError(
            f"plugin {plugin!r}: no module named {top!r} is importable here; install it, put the folder that holds "
            "it on PYTHONPATH, or pass the path of a .py file")
    locations = [Path(location) for location in spec.submodule_search_locations or ()]
    origin = Path(spec.origin) if spec.has_location and spec.origin else None
    if not locations and origin is None:  # built-in, frozen, or found by a custom finder: not a file to ship
        return []
    # in site-packages, or an installed distribution's (an editable install lives outside site-packages)
    if all(_installed(path) for path in locations or [origin]) or top in importlib.metadata.packages_distributions():
        return []
    _check_submodules(plugin, spec)
    if locations:  # a package (a namespace package may have several folders, each named after it)
        return [str(path.resolve()) for path in locations if not _installed(path)]
    if origin.suffix != ".py":
        raise PluginShippingError(
            f"plugin {plugin!r}: module {top!r} is the compiled file {origin}, and Ray ships only .py files, package "
            "folders and wheels; install it on every node")
    return [str(origin.resolve())]


def _check_submodules(plugin: str, spec: ModuleSpec) -> None:
    """Find each submodule of a dotted name with the path finder, which imports nothing (not even the parents)."""
    parts = plugin.split(".")
    for depth in range(2, len(parts) + 1):
        name = ".".join(parts[:depth])
        locations = list(spec.submodule_search_locations or ())
        spec = importlib.machinery.PathFinder.find_spec(name, locations) if locations else None
        if spec is None:
            raise PluginShippingError(f"plugin {plugin!r}: there is no module {name!r} (its parent was found, at "
                                      f"{locations[0] if locations else 'a module that is not a package'})")


def _installed(path: Path) -> bool:
    """Whether a module's file or folder lies in the standard library or a site-packages folder."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(root) for root in _install_roots())


def _install_roots() -> list[Path]:
    paths = sysconfig.get_paths()
    roots = [paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths]
    roots += getattr(site, "getsitepackages", list)()
    roots.append(site.getusersitepackages())
    return [Path(root).resolve() for root in dict.fromkeys(roots) if root]
