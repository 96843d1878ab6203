"""The one registry type (hsibench/registry.py) and the built-in method table that lets `methods list` skip torch."""

from __future__ import annotations

import dataclasses
import itertools
import json
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from hsibench.errors import HsibenchError
from hsibench.methods.catalog import BUILTIN_METHODS
from hsibench.registry import DuplicateNameError, Registry, UnknownNameError, close_matches

_unique = itertools.count()


class UnknownWidgetError(UnknownNameError):
    """A layer's own unknown-name error."""


def widgets() -> Registry[str]:
    registry: Registry[str] = Registry("widget", error=UnknownWidgetError)
    for name in ("sprocket", "gear", "flywheel"):
        registry.register(name, name.upper())
    return registry


# --- looking up and the messages -----------------------------------------------------------------------------


def test_get_returns_the_registered_item() -> None:
    registry = widgets()
    assert registry.get("gear") == "GEAR"
    assert registry.names() == ["flywheel", "gear", "sprocket"]
    assert list(registry) == registry.names()
    assert registry.items() == [("flywheel", "FLYWHEEL"), ("gear", "GEAR"), ("sprocket", "SPROCKET")]
    assert "gear" in registry and "cog" not in registry and 3 not in registry


def test_typo_suggests_the_close_name_and_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownWidgetError) as raised:
        widgets().get("sprokcet")
    message = str(raised.value)
    assert "unknown widget 'sprokcet'" in message
    assert "Did you mean sprocket?" in message
    assert message.endswith("Valid names: flywheel, gear, sprocket")


def test_suggestions_ignore_case_but_lookup_does_not() -> None:
    with pytest.raises(UnknownWidgetError, match="Did you mean gear"):
        widgets().get("GEAR")
    assert close_matches("PU", ["pu", "pc", "sa"]) == ["pu"]
    assert close_matches("Sprocket", ["sprocket", "gear"]) == ["sprocket"]


def test_far_name_gets_no_suggestion_but_still_the_valid_names() -> None:
    with pytest.raises(UnknownWidgetError) as raised:
        widgets().get("xyz")
    assert "Did you mean" not in str(raised.value) and "Valid names: flywheel, gear, sprocket" in str(raised.value)


def test_unknown_name_error_is_an_input_error_and_a_key_error() -> None:
    """`HsibenchError` makes the CLI print one line; `KeyError` keeps `except KeyError` callers working."""
    with pytest.raises(UnknownWidgetError) as raised:
        widgets().get("cog")
    assert isinstance(raised.value, HsibenchError) and isinstance(raised.value, KeyError)
    # KeyError's own str() would quote the message; the registry's error reads as plain text
    assert not str(raised.value).startswith(("'", '"'))
    plain: Registry[int] = Registry("thing")
    with pytest.raises(UnknownNameError, match="unknown thing 'x'"):
        plain.get("x")


def test_registering_a_name_twice_is_an_error() -> None:
    registry = widgets()
    with pytest.raises(DuplicateNameError, match="widget 'gear' is registered twice") as raised:
        registry.register("gear", "another")
    assert isinstance(raised.value, HsibenchError) and isinstance(raised.value, ValueError)
    assert registry.get("gear") == "GEAR"  # the first registration stands


def test_decorator_registers_and_returns_the_object() -> None:
    registry: Registry[type] = Registry("plugin")

    @registry.decorator("mine")
    class Mine:
        pass

    assert registry.get("mine") is Mine and Mine.__name__ == "Mine"


# --- built-ins declared as data, imported on lookup -----------------------------------------------------------


class PluginFolder:
    """Modules in a temporary folder on ``sys.path`` that register names into :attr:`registry` when imported."""

    def __init__(self, folder: Path, holder: types.ModuleType) -> None:
        self.folder = folder
        self.holder = holder  # what the modules import to reach the registry and to log their import
        self.written: list[str] = []

    @property
    def imports(self) -> list[str]:
        """The plugin modules imported so far, in order."""
        return self.holder.imports

    def use(self, registry: Registry) -> None:
        self.holder.registry = registry

    def write(self, registers: list[str], body: str = "") -> str:
        """A module registering ``registers`` (after running ``body``); returns its name."""
        module = f"_hsibench_test_plugin_{next(_unique)}"
        code = f"import {self.holder.__name__} as holder\nholder.imports.append(__name__)\n{body}\n"
        code += "".join(f"holder.registry.register({name!r}, __name__)\n" for name in registers)
        (self.folder / f"{module}.py").write_text(code)
        self.written.append(module)
        return module


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginFolder]:
    holder = types.ModuleType(f"_hsibench_test_registry_holder_{next(_unique)}")
    holder.imports = []
    monkeypatch.setitem(sys.modules, holder.__name__, holder)
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = PluginFolder(tmp_path, holder)
    yield folder
    for module in folder.written:
        sys.modules.pop(module, None)


def test_builtins_declared_by_name_are_listed_without_importing_them(plugins: PluginFolder) -> None:
    one, two = plugins.write(["alpha"]), plugins.write(["beta", "beta-variant"])
    registry: Registry[str] = Registry("widget", {"alpha": one, "beta": two, "beta-variant": two})
    plugins.use(registry)

    assert registry.names() == ["alpha", "beta", "beta-variant"]
    assert "beta" in registry and list(registry) == ["alpha", "beta", "beta-variant"]
    assert plugins.imports == [], "names(), `in` and iteration must not import the declared modules"
    assert one not in sys.modules and two not in sys.modules

    assert registry.get("beta") == two
    assert plugins.imports == [two], "a lookup imports only the module that declares the name"
    assert registry.get("beta-variant") == two
    assert registry.get("alpha") == one
    assert plugins.imports == [two, one], "each module is imported once"


def test_unknown_name_imports_every_declared_module_then_lists_all(plugins: PluginFolder) -> None:
    """A name no declaration mentions may still be registered by a declared module (e.g. a variant)."""
    one = plugins.write(["alpha"])
    two = plugins.write(["beta", "beta-extra"])  # beta-extra is not declared by name
    registry: Registry[str] = Registry("widget", {"alpha": one, "beta": two})
    plugins.use(registry)
    assert registry.get("beta-extra") == two
    with pytest.raises(UnknownNameError, match=r"Did you mean alpha\?.*Valid names: alpha, beta, beta-extra"):
        registry.get("alpah")
    assert sorted(plugins.imports) == sorted([one, two])


def test_builtins_declared_as_a_list_are_imported_on_first_use(plugins: PluginFolder) -> None:
    one, two = plugins.write(["alpha"]), plugins.write(["beta"])
    registry: Registry[str] = Registry("widget", (one, two))
    plugins.use(registry)
    registry.register("local", "here")
    assert plugins.imports == [], "constructing and registering import nothing"
    assert registry.get("local") == "here" and plugins.imports == [], "a registered name needs no import"
    assert registry.names() == ["alpha", "beta", "local"]
    assert plugins.imports == [one, two]
    registry.names()
    registry.load_all()
    assert plugins.imports == [one, two], "imported once"


def test_a_builtin_module_that_fails_to_import_fails_every_lookup_the_same_way(plugins: PluginFolder) -> None:
    """The import error is the message, every time — never "unknown name" for a name the registry lists."""
    broken = plugins.write(["alpha"], body="raise ImportError('needs a missing package')")
    registry: Registry[str] = Registry("widget", {"alpha": broken})
    plugins.use(registry)
    for _ in range(2):
        with pytest.raises(ImportError, match="needs a missing package"):
            registry.get("alpha")


def test_a_declaration_its_module_does_not_keep_is_named_as_such(plugins: PluginFolder) -> None:
    """Not "unknown 'alpha'. Did you mean alpha?": the table of built-ins is wrong, and the message says where."""
    empty = plugins.write([])
    registry: Registry[str] = Registry("widget", {"alpha": empty})
    plugins.use(registry)
    with pytest.raises(LookupError, match=f"'alpha' is declared as registered by {empty}, but importing") as raised:
        registry.get("alpha")
    assert not isinstance(raised.value, HsibenchError), "a wrong declaration is a bug, not bad input"


def test_a_module_imported_under_a_second_name_is_caught(plugins: PluginFolder) -> None:
    """What `import methods.svm` beside `hsibench.methods.svm` would do: register every name twice."""
    one = plugins.write(["alpha"])
    registry: Registry[str] = Registry("widget", {"alpha": one})
    plugins.use(registry)
    registry.get("alpha")
    sys.modules.pop(one)
    with pytest.raises(DuplicateNameError, match="imported under two names"):
        __import__(one)


# --- the built-in method table ---------------------------------------------------------------------------------

#: run in a fresh interpreter: import every catalog module and note, for each name registered, which catalog
#: module was being imported at the time (the innermost one: s2former's variants register from its package)
_WHO_REGISTERS = textwrap.dedent("""
    import dataclasses, json, sys
    from hsibench.methods.catalog import BUILTIN_METHODS
    from hsibench.methods.registry import METHODS

    catalog_modules = {builtin.module for builtin in BUILTIN_METHODS.values()}
    registered_by = {}
    register = METHODS.register

    def recording_register(name, entry):
        frame, importing = sys._getframe(1), None
        while frame is not None and importing is None:
            module = frame.f_globals.get("__name__")
            if frame.f_code.co_name == "<module>" and module in catalog_modules:
                importing = module
            frame = frame.f_back
        registered_by[name] = importing
        return register(name, entry)

    METHODS.register = recording_register
    METHODS.load_all()
    print(json.dumps({name: {"module": registered_by.get(name), "info": dataclasses.asdict(entry.info),
                             "base": entry.base} for name, entry in METHODS.items()}))
""")


_METHODS_LIST = ("import sys\nfrom hsibench.cli import main\nrc = main(['methods', 'list'])\n"
                 "print('torch imported:', 'torch' in sys.modules)\nsys.exit(rc)")


@pytest.fixture(scope="module")
def fresh_interpreters() -> dict[str, subprocess.CompletedProcess]:
    """Both fresh-interpreter scripts, run side by side (each imports torch today, seconds apiece)."""
    scripts = {"who registers": _WHO_REGISTERS, "methods list": _METHODS_LIST}
    # cwd = the repository root, so the children import the same hsibench as `python -m pytest` does here
    running = {key: subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE) for key, script in scripts.items()}
    results = {}
    for key, process in running.items():
        stdout, stderr = process.communicate(timeout=300)
        results[key] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return results


@pytest.fixture(scope="module")
def registered_methods(fresh_interpreters: dict[str, subprocess.CompletedProcess]) -> dict[str, dict]:
    result = fresh_interpreters["who registers"]
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def methods_list(fresh_interpreters: dict[str, subprocess.CompletedProcess]) -> tuple[dict[str, str], str]:
    """`hsibench methods list`: name → its row, and the last line (whether torch was imported)."""
    result = fresh_interpreters["methods list"]
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    return {line.split()[0]: line for line in lines[1:-1] if line.strip()}, lines[-1]


@pytest.mark.slow
def test_every_registered_builtin_method_is_in_the_catalog(registered_methods: dict[str, dict]) -> None:
    assert sorted(registered_methods) == sorted(BUILTIN_METHODS)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BUILTIN_METHODS))
def test_catalog_entry_says_what_its_module_registers(name: str, registered_methods: dict[str, dict]) -> None:
    builtin = BUILTIN_METHODS[name]
    registered = registered_methods.get(name)
    assert registered is not None, f"{name!r} is in the catalog but no built-in module registers it"
    assert registered["module"] == builtin.module, "the catalog names another module than the one that registers it"
    assert registered["info"] == dataclasses.asdict(builtin.info)
    assert registered["base"] == builtin.base


def test_catalog_names_are_its_keys() -> None:
    assert all(builtin.info.name == name for name, builtin in BUILTIN_METHODS.items())
    assert all(builtin.base is None or builtin.base in BUILTIN_METHODS for builtin in BUILTIN_METHODS.values())


@pytest.mark.slow
def test_methods_list_does_not_import_torch(methods_list: tuple[dict[str, str], str]) -> None:
    rows, last_line = methods_list
    assert set(BUILTIN_METHODS) <= set(rows)
    assert last_line == "torch imported: False"


@pytest.mark.slow
def test_methods_list_shows_the_catalog_facts(methods_list: tuple[dict[str, str], str]) -> None:
    """Whatever `methods list` reads, its rows say what the catalog says (so switching it to the catalog is safe)."""
    rows, _ = methods_list
    for name, builtin in BUILTIN_METHODS.items():
        assert name in rows, f"{name} missing from `methods list`"
        # the full reference is in `methods show` / `methods list --json` (tests/test_list_commands.py); a row
        # carries a method's family, and a variant sits indented under its base
        assert builtin.info.family in rows[name] and rows[name].startswith("  ") == (builtin.base is not None)
