"""The import graph of the package, read with :mod:`ast`: no cycles, and each layer imports only the layers beneath it.

Every module of the package is parsed — ``hsibench/`` plus ``methods/`` (as ``hsibench.methods``)
and ``protocols/`` (as ``hsibench.protocol_files``), the folders pyproject.toml maps into it — and
every import of an ``hsibench`` module counts, at module level or inside a function (a lazy
import still ties two modules together), except those under ``if TYPE_CHECKING:``.

Layers, lowest first: the foundation (``hsibench/__init__.py``, ``errors.py``, ``registry.py``,
``_checkout.py``, ``lazy.py``, ``provenance/``) → data → protocol → methods → runner → report → cli. A module
may import its own layer and lower ones only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from conftest import REPO_ROOT

#: package name → the repository folder its files are read from (pyproject.toml's package-dir)
SOURCE_FOLDERS = {"hsibench": "hsibench", "hsibench.methods": "methods", "hsibench.protocol_files": "protocols"}

LAYERS = ("foundation", "data", "protocol", "methods", "runner", "tuning", "report", "audit", "cli")
#: the layer of each part of the package (``hsibench.<part>...``); the package's own ``__init__`` is the foundation
LAYER_OF_PART = {
    "errors": "foundation", "registry": "foundation", "_checkout": "foundation", "provenance": "foundation",
    "lazy": "foundation",
    "data": "data",
    "protocol": "protocol", "protocol_files": "protocol",
    "methods": "methods",
    "runner": "runner",
    "tuning": "tuning",
    "report": "report",
    "audit": "audit",
    "cli": "cli",
    "api": "cli",  # the Python API is the CLI's peer: the top of the layers
}

#: registries and the modules that register into them, which the registry must not import (it names them as data)
REGISTRANTS = {
    "hsibench.data.registry": ("hsibench.data.catalog", "hsibench.data.synthetic"),
    "hsibench.runner.executors": ("hsibench.runner.ray_executor",),
    # hsibench.methods.registry: every method module of the catalog, see test_method_registry_imports_no_method
}


#: modules whose strings name packages they *find* (a meta-path finder), not ones they import
FINDS_NOT_IMPORTS = {"hsibench._checkout"}
#: the one upward name allowed: the package root is the public face of the Python API (``hsibench.run``…); its lazy
#: table imports nothing until a user reads the name, so every module importing the package stays light
PUBLIC_FACADE = ("hsibench", "hsibench.api")


@dataclass(frozen=True)
class Import:
    target: str  # the hsibench module imported
    where: str  # "path:line" of the import statement
    module_level: bool  # executed when the importing module is imported (not inside a function)


@dataclass
class ModuleSource:
    name: str
    path: Path
    imports: list[Import] = field(default_factory=list)
    third_party_module_level: set[str] = field(default_factory=set)  # top-level names, e.g. "torch"
    unresolved: list[str] = field(default_factory=list)  # imports of hsibench modules that do not exist
    named: list[Import] = field(default_factory=list)  # modules named in a string: imported later by importlib


def package_modules() -> dict[str, Path]:
    """Module name → source file, for every ``.py`` file of the package (``__init__.py`` as its package)."""
    modules: dict[str, Path] = {}
    for package, folder in SOURCE_FOLDERS.items():
        root = REPO_ROOT / folder
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root)
            if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([package, *parts])
            if parts and parts[0] in ("methods", "protocol_files") and package == "hsibench":
                # a left-over hsibench/methods/ folder would shadow the mapped one: reported by the packaging tests
                continue
            modules[name] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under ``node`` with whether it sits inside a function; skips ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:  # `else:` of a TYPE_CHECKING block runs
                yield from _walk_one(other, in_function)
            continue
        yield from _walk_one(child, in_function)


def _walk_one(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node, in_function
        return
    yield from _walk(node, in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))


def parse_module(name: str, path: Path, known: Iterable[str], text: str | None = None) -> ModuleSource:
    """The imports of one module (``text`` stands in for the file's contents when given)."""
    known = set(known)
    source = ModuleSource(name, path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_bytes() if text is None else text, filename=str(path))
    where_prefix = path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else str(path)

    def add(target: str, node: ast.stmt, in_function: bool) -> None:
        if target in known:
            source.imports.append(Import(target, f"{where_prefix}:{node.lineno}", not in_function))
        else:
            source.unresolved.append(f"{where_prefix}:{node.lineno} imports {target}")

    for node in ast.walk(tree):  # "hsibench.runner.ray_executor": a registry's or a lazy __getattr__'s table
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in known - {name}:
            source.named.append(Import(node.value, f"{where_prefix}:{node.lineno}", module_level=False))

    for node, in_function in _walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "hsibench" or alias.name.startswith("hsibench."):
                    add(alias.name, node, in_function)
                elif not in_function:
                    source.third_party_module_level.add(alias.name.split(".")[0])
            continue
        if node.level:  # relative: `from . import x`, `from ..data import y`
            base = package.split(".")
            origin = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        if not (origin == "hsibench" or origin.startswith("hsibench.")):
            if not in_function and origin != "__future__":
                source.third_party_module_level.add(origin.split(".")[0])
            continue
        for alias in node.names:
            submodule = f"{origin}.{alias.name}"
            # `from package import module` imports that module; `from module import name` the module itself
            add(submodule if submodule in known else origin, node, in_function)
    return source


@cache
def import_graph() -> dict[str, ModuleSource]:
    modules = package_modules()
    return {name: parse_module(name, path, modules) for name, path in modules.items()}


def edges() -> Iterator[tuple[str, Import]]:
    for name, source in import_graph().items():
        for edge in source.imports:
            if edge.target != name:
                yield name, edge


def closure(start: str, module_level_only: bool = False) -> dict[str, list[str]]:
    """Every module ``start`` imports, directly or not, each with one chain of imports that leads to it."""
    graph = import_graph()
    chains: dict[str, list[str]] = {start: [start]}
    pending = [start]
    while pending:
        current = pending.pop()
        for edge in graph[current].imports:
            if module_level_only and not edge.module_level:
                continue
            if edge.target not in chains:
                chains[edge.target] = [*chains[current], edge.target]
                pending.append(edge.target)
    del chains[start]
    return chains


def strongly_connected_components() -> list[list[str]]:
    """Tarjan's algorithm over the import graph; components of one module only count when it imports itself."""
    graph = {name: sorted({edge.target for edge in source.imports}) for name, source in import_graph().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        # iterative depth-first search (the graph is small, but recursion limits are not worth thinking about)
        work = [(node, iter(graph[node]))]
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        while work:
            current, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[current] = min(low[current], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                if len(component) > 1 or current in graph[current]:
                    components.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return components


def describe_cycle(component: list[str]) -> str:
    """One cycle through the component, each step with where the import is written."""
    members = set(component)
    graph = import_graph()
    start = component[0]
    # breadth-first from start back to start, staying inside the component
    previous: dict[str, tuple[str, Import]] = {}
    frontier = [start]
    found: tuple[str, Import] | None = None
    while frontier and found is None:
        next_frontier = []
        for current in frontier:
            for edge in graph[current].imports:
                if edge.target == start:
                    found = (current, edge)
                    break
                if edge.target in members and edge.target not in previous:
                    previous[edge.target] = (current, edge)
                    next_frontier.append(edge.target)
            if found:
                break
        frontier = next_frontier
    assert found is not None
    steps = [found]
    while steps[-1][0] != start:
        steps.append(previous[steps[-1][0]])
    steps.reverse()
    return "\n".join(f"    {origin} → {edge.target}  ({edge.where})" for origin, edge in steps)


def layer(module: str) -> str | None:
    parts = module.split(".")
    return "foundation" if len(parts) == 1 else LAYER_OF_PART.get(parts[1])


def layering_violations(named: bool = False) -> list[str]:
    """Imports against the layer order; with ``named``, the modules named in strings (imported by importlib) instead."""
    found = []
    pairs = ((name, edge) for name, source in import_graph().items() for edge in source.named
             if name not in FINDS_NOT_IMPORTS) if named else edges()
    for origin, edge in pairs:
        if named and (origin, edge.target) == PUBLIC_FACADE:
            continue
        origin_layer, target_layer = layer(origin), layer(edge.target)
        if origin_layer and target_layer and LAYERS.index(target_layer) > LAYERS.index(origin_layer):
            found.append(f"{origin} ({origin_layer}) → {edge.target} ({target_layer})  at {edge.where}"
                         + (", named in a string" if named else "" if edge.module_level else ", inside a function"))
    return sorted(found)


# --- the graph is read correctly -----------------------------------------------------------------------------


def test_every_package_module_is_parsed() -> None:
    modules = package_modules()
    for expected in ("hsibench", "hsibench.data.registry", "hsibench.methods", "hsibench.methods.svm",
                     "hsibench.methods.s2former", "hsibench.methods.s2former.model", "hsibench.protocol_files",
                     "hsibench.runner.ray_executor", "hsibench.cli"):
        assert expected in modules, expected
    assert modules["hsibench.methods.svm"] == REPO_ROOT / "methods" / "svm.py"


def test_reader_counts_lazy_imports_and_skips_type_checking_blocks() -> None:
    """The parser itself: a function-level import counts, a TYPE_CHECKING one does not, relative ones resolve."""
    text = (
        "from typing import TYPE_CHECKING\n"
        "import torch\n"
        "from hsibench.data import storage\n"
        "from . import spec\n"
        "from ..protocol import Protocol\n"
        "if TYPE_CHECKING:\n"
        "    from hsibench.report import Table\n"
        "else:\n"
        "    from hsibench.methods import registry\n"
        "def later():\n"
        "    import numpy\n"
        "    from hsibench.cli import main\n"
    )
    known = {"hsibench.data", "hsibench.data.storage", "hsibench.runner", "hsibench.runner.spec", "hsibench.protocol",
             "hsibench.report", "hsibench.methods", "hsibench.methods.registry", "hsibench.cli"}
    parsed = parse_module("hsibench.runner.probe", REPO_ROOT / "hsibench" / "runner" / "probe.py", known, text)
    imports = {(edge.target, edge.module_level) for edge in parsed.imports}
    assert imports == {("hsibench.data.storage", True), ("hsibench.runner.spec", True), ("hsibench.protocol", True),
                       ("hsibench.methods.registry", True), ("hsibench.cli", False)}
    assert parsed.third_party_module_level == {"typing", "torch"}


def test_every_module_has_a_layer() -> None:
    """A new part of the package (``hsibench/<new>/``) needs a place in LAYER_OF_PART, i.e. a decision."""
    assert [name for name in package_modules() if layer(name) is None] == []


def test_every_hsibench_import_names_a_module_of_the_package() -> None:
    unresolved = [line for source in import_graph().values() for line in source.unresolved]
    assert unresolved == [], "\n".join(unresolved)


# --- the properties --------------------------------------------------------------------------------------------


def test_no_import_cycles() -> None:
    components = strongly_connected_components()
    report = "\n".join(f"  cycle among {', '.join(component)}:\n{describe_cycle(component)}" for component in components)
    assert components == [], "import cycles:\n" + report


def test_layers_import_only_downward() -> None:
    violations = layering_violations()
    assert violations == [], (f"imports against the layer order {' → '.join(LAYERS)}:\n  "
                              + "\n  ".join(violations))


def test_modules_named_for_lazy_import_respect_the_layers_too() -> None:
    """Registries and lazy ``__getattr__`` tables name modules as strings, invisible to the import graph above."""
    named = {(origin, edge.target) for origin, source in import_graph().items() for edge in source.named}
    # the reader finds them (else this test would pass on nothing)
    assert ("hsibench.runner.executors", "hsibench.runner.ray_executor") in named
    assert ("hsibench.data.registry", "hsibench.data.catalog") in named
    assert ("hsibench.methods.catalog", "hsibench.methods.svm") in named
    violations = layering_violations(named=True)
    assert violations == [], "\n  ".join(["modules named against the layer order:", *violations])


@pytest.mark.parametrize("registry", sorted(REGISTRANTS))
def test_registry_does_not_import_its_registrants(registry: str) -> None:
    reached = closure(registry)
    wrong = {module: reached[module] for module in REGISTRANTS[registry] if module in reached}
    assert wrong == {}, {module: " → ".join(chain) for module, chain in wrong.items()}


def test_method_registry_imports_no_method() -> None:
    from hsibench.methods.catalog import BUILTIN_METHODS

    method_modules = {builtin.module for builtin in BUILTIN_METHODS.values()}
    assert "hsibench.methods.svm" in method_modules
    for start in ("hsibench.methods.registry", "hsibench.methods.catalog", "hsibench.methods"):
        reached = closure(start)
        wrong = {module: " → ".join(chain) for module, chain in reached.items()
                 if any(module == m or module.startswith(m + ".") for m in method_modules)}
        assert wrong == {}, f"{start} imports method modules: {wrong}"


@pytest.mark.parametrize(("start", "heavy"), [
    ("hsibench.methods", "torch"),  # `methods list` and the registry work without torch
    ("hsibench.methods.registry", "torch"),
    ("hsibench.data.registry", "torch"),
    ("hsibench.runner.executors", "ray"),  # only the ray executor needs Ray
])
def test_module_level_imports_stay_light(start: str, heavy: str) -> None:
    """Importing ``start`` does not import ``heavy`` (counting module-level imports, which run on import)."""
    graph = import_graph()
    reached = {start: [start], **closure(start, module_level_only=True)}
    wrong = {module: " → ".join(chain) for module, chain in reached.items()
             if heavy in graph[module].third_party_module_level}
    assert wrong == {}, f"importing {start} imports {heavy} through {wrong}"
