"""The command line's shared conventions: errors, closed pipes, method lists, ``--set`` and ``--sweep``;
plus the project hygiene that goes with them (portable imports, a self-contained interpretation document)."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT

import hsibench.runner
from hsibench.cli import EXIT_BROKEN_PIPE, build_parser, main, protocol_commands
from hsibench.cli.options import UsageError
from hsibench.data.errors import SceneNotAvailableError
from hsibench.errors import HsibenchError
from hsibench.runner.spec import TrialSpec, resolve

# --- errors: one line for bad input, a traceback for bugs -----------------------------------------


def _failing_handler(error: Exception):
    def handler(args) -> int:
        raise error

    return handler


@pytest.mark.parametrize("error", [UsageError("give --protocol"), SceneNotAvailableError("give --protocol")])
def test_an_input_error_is_one_line(error: HsibenchError, monkeypatch, capsys) -> None:
    monkeypatch.setattr(protocol_commands, "_list", _failing_handler(error))
    assert main(["protocols", "list"]) == 1
    assert capsys.readouterr().err == "hsibench: error: give --protocol\n"


def test_verbose_shows_the_traceback_of_an_input_error(monkeypatch) -> None:
    monkeypatch.setattr(protocol_commands, "_list", _failing_handler(UsageError("bad")))
    with pytest.raises(UsageError):
        main(["-v", "protocols", "list"])


@pytest.mark.parametrize("error", [KeyError("x"), ValueError("x"), RuntimeError("x"), PermissionError("x")])
def test_any_other_exception_is_a_bug_and_keeps_its_traceback(error: Exception, monkeypatch) -> None:
    monkeypatch.setattr(protocol_commands, "_list", _failing_handler(error))
    with pytest.raises(type(error)):
        main(["protocols", "list"])


def _exception_classes_without_a_project_base(path: Path) -> list[str]:
    """Classes deriving only from built-in exceptions (``class X(ValueError)``): not an HsibenchError."""
    import builtins

    def builtin_exception(base: ast.expr) -> bool:
        value = getattr(builtins, base.id, None) if isinstance(base, ast.Name) else None
        return isinstance(value, type) and issubclass(value, BaseException)

    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.bases
            and all(builtin_exception(base) for base in node.bases)]


def test_every_error_class_of_the_project_is_an_hsibench_error() -> None:
    from hsibench.errors import HsibenchError as Base

    outside = {}
    for path in sorted([*(REPO_ROOT / "hsibench").rglob("*.py"), *(REPO_ROOT / "methods").rglob("*.py")]):
        names = [name for name in _exception_classes_without_a_project_base(path) if name != Base.__name__]
        if names:
            outside[path.relative_to(REPO_ROOT).as_posix()] = names
    assert not outside, f"error classes that the CLI would show with a traceback: {outside}"


def test_an_unknown_name_reads_without_keyerror_quotes(capsys) -> None:
    assert main(["methods", "show", "mea"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hsibench: error: unknown method 'mea'. Did you mean mae?") and err.count("\n") == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "--method", "svm"], "give both --method and --protocol"),
    (["run", "--protocol", "demo", "--method", "svm", "--set", "shots"], "expected KEY=VALUE"),
    (["run", "--protocol", "demo", "--method", "svm", "--set", "shots=3", "--set", "shots=4"], "gives 'shots' twice"),
    (["run", "--protocol", "demo", "--method", "svm", "--runs", "11"], "--runs must be between 1 and 3"),
    (["run", "--protocol", "demo", "--method", "svm", "--mode", "clean", "--set", "split_mode=legacy"], "disagree"),
    (["ablate"], "--protocol is required"),
    (["ablate", "--protocol", "demo", "--base", "nothing"], "'nothing' is not registered"),
    (["sweep", "--protocol", "demo"], "--protocol and --method are required"),
    (["sweep", "--protocol", "demo", "--method", "svm", "--set", "shots=1,2"],
     "nothing to sweep: give --sweep KEY=V1,V2,… (e.g. --sweep shots=1,2,3,4,5) (--set shots=1,2 sets one value"),
    (["sweep", "--protocol", "demo", "--method", "svm", "--sweep", "shots="], "no values to sweep over"),
    (["sweep", "--protocol", "demo", "--method", "svm", "--sweep", "shots=1,1"], "lists a value twice"),
    (["sweep", "--protocol", "demo", "--method", "svm", "--sweep", "shots=1,2", "--set", "shots=3"],
     "given by both --set and --sweep"),
    (["table", "main", "--protocol", "demo", "--set", "mask_ratio=0.5"], "--set takes protocol keys only here"),
    (["methods", "show", "svm", "--set", "shots=3"], "['shots'] are protocol keys, not method config keys"),
    (["protocols", "show", "pu-to-ip"], "unknown protocol 'pu-to-ip'. Did you mean pu2ip?"),
    (["split", "sa2ip", "--seed", "1330", "--shots", "40", "--out", "x.csv"], "support pixels per class were asked for"),
])
def test_usage_errors_are_one_line(argv: list[str], message: str, tmp_path: Path, capsys) -> None:
    assert main([*argv, "--out", str(tmp_path)] if argv[0] in {"run", "sweep", "ablate", "table"} else argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("hsibench: error: ") and message in err and "Traceback" not in err


def test_a_repeated_seed_is_refused_while_parsing(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["run", "--seeds", "1330,1330"])
    assert caught.value.code == 2 and "lists a seed twice" in capsys.readouterr().err


# --- a closed pipe ----------------------------------------------------------------------------------


def _hsibench_command() -> list[str]:
    script = Path(sys.executable).with_name("hsibench")
    return [str(script)] if script.is_file() else [sys.executable, "-c", "import sys; from hsibench.cli import main; "
                                                                          "sys.exit(main())"]


@pytest.mark.parametrize("argv", [["protocols", "list"], ["--help"]])
def test_output_into_a_pipe_that_closes_early_ends_without_a_traceback(argv: list[str]) -> None:
    """`hsibench protocols list | head -0`: the reader is gone before hsibench writes a byte."""
    process = subprocess.Popen([*_hsibench_command(), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader closes before the first line arrives
    err = process.stderr.read().decode()
    code = process.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err
    assert code in (0, EXIT_BROKEN_PIPE)
    if argv == ["protocols", "list"]:
        assert code == EXIT_BROKEN_PIPE


def test_a_reader_that_takes_one_line_gets_it() -> None:
    reader = subprocess.run(f"{shlex.join(_hsibench_command())} protocols list | head -n 1", shell=True,
                            capture_output=True, text=True, timeout=120)
    assert reader.stdout.split()[:3] == ["name", "source", "target"] and "Traceback" not in reader.stderr


# --- several methods: --method a --method b, or --methods a,b ----------------------------------------

METHOD_LIST_COMMANDS = {
    "run": ["run"], "sweep": ["sweep"], "table": ["table", "main", "--protocol", "demo"],
    "figure": ["figure", "maps", "--protocol", "demo"], "results ls": ["results", "ls"],
}


@pytest.mark.parametrize("command", METHOD_LIST_COMMANDS)
@pytest.mark.parametrize("options", [["--method", "svm", "--method", "mae", "--method", "dcfsl"],
                                     ["--methods", "svm,mae,dcfsl"],
                                     ["--method", "svm", "--methods", "mae, dcfsl", "--method", "svm"]])
def test_every_command_taking_methods_accepts_both_forms(command: str, options: list[str]) -> None:
    args = build_parser().parse_args([*METHOD_LIST_COMMANDS[command], *options])
    assert args.methods == ["svm", "mae", "dcfsl"]


def test_ablation_variants_take_both_forms_too() -> None:
    args = build_parser().parse_args(["ablate", "--variant", "s2former", "--variants", "s2former-no-fdc,s2former-no-daft"])
    assert args.variants == ["s2former", "s2former-no-fdc", "s2former-no-daft"]


# --- --set is one value everywhere; --sweep is an axis -----------------------------------------------


class _Planned(Exception):
    """Raised instead of running: the test only looks at the planned trials."""


@pytest.fixture
def planned(monkeypatch, tmp_path: Path):
    """Run a `hsibench run|sweep|ablate` command line up to the campaign; return its trial specs."""
    def plan(*argv: str) -> list:
        captured = []

        def capture(specs, executor, force=False):
            captured.extend(specs)
            raise _Planned

        monkeypatch.setattr(hsibench.runner, "run_campaign", capture)
        with pytest.raises(_Planned):
            main([*argv, "--executor", "local", "--out", str(tmp_path / "results")])
        return captured

    return plan


def test_set_keeps_a_tuple_value_whole_in_run_and_methods_show(planned, capsys) -> None:
    (spec,) = planned("run", "--method", "dcfsl", "--protocol", "demo", "--seeds", "1330", "--set", "block_channels=4,8")
    assert spec.method_overrides == {"block_channels": "4,8"}
    assert resolve(spec).config.block_channels == (4, 8)
    assert main(["methods", "show", "dcfsl", "--set", "block_channels=4,8"]) == 0
    assert re.search(r"block_channels\s+\(4, 8\)", capsys.readouterr().out)


def test_set_resolves_protocol_and_method_keys_alike_in_run_and_sweep(planned) -> None:
    fixed = ["--set", "shots=3", "--set", "method.c=2.0", "--protocol", "demo", "--seeds", "1330"]
    (run,) = planned("run", "--method", "svm", *fixed)
    sweep = planned("sweep", "--method", "svm", *fixed, "--sweep", "gamma=0.1,1.0")
    assert [spec.protocol_overrides for spec in (run, *sweep)] == [{"shots": "3"}] * 3
    assert [spec.method_overrides for spec in sweep] == [{"c": "2.0", "gamma": "0.1"}, {"c": "2.0", "gamma": "1.0"}]
    assert run.method_overrides == {"c": "2.0"}


def test_sweep_axes_make_a_grid_and_tuple_values_split_on_semicolons(planned) -> None:
    specs = planned("sweep", "--method", "dcfsl", "--protocol", "demo", "--seeds", "1330",
                    "--sweep", "block_channels=4,8;8,16", "--sweep", "shots=1,2")
    assert [(s.method_overrides["block_channels"], s.protocol_overrides["shots"]) for s in specs] == [
        ("4,8", "1"), ("4,8", "2"), ("8,16", "1"), ("8,16", "2")]
    assert {resolve(spec).config.block_channels for spec in specs} == {(4, 8), (8, 16)}


def _script_line(script: str, command: str) -> list[str]:
    line = next(line for line in (REPO_ROOT / "results" / script).read_text().splitlines()
                if line.startswith(f"hsibench {command} "))
    argv = shlex.split(line)[1:]
    del argv[argv.index("--out"):argv.index("--out") + 2]
    return argv


def test_the_demo_scripts_sweep_plans_exactly_the_committed_records(planned) -> None:
    """The new `--sweep` form asks for the very trials the committed sweep records came from."""
    specs = planned(*_script_line("make_demo.sh", "sweep"))
    # compared as trials (resolved now), so the test holds whatever the code version in the run ids
    records = (REPO_ROOT / "results" / "demo" / "runs").glob("*.json")
    committed = {resolve(TrialSpec.from_dict(json.loads(path.read_text())["spec"])).run_id for path in records}
    assert len(specs) == 3 * 5 * 3  # methods × shots × seeds
    assert {resolve(spec).run_id for spec in specs} <= committed


# --- portable imports ----------------------------------------------------------------------------------

POSIX_ONLY_MODULES = {"fcntl", "resource", "termios", "pwd", "grp"}
# the lead is making this one optional; remove it from here when that lands
KNOWN_UNGUARDED: set[str] = set()


def _unguarded_posix_imports(path: Path) -> set[str]:
    """POSIX-only modules imported outside a ``try`` (which a Windows fallback would need)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    guarded = {id(node) for parent in ast.walk(tree) if isinstance(parent, ast.Try) for node in ast.walk(parent)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names} & POSIX_ONLY_MODULES
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module.split(".")[0]} & POSIX_ONLY_MODULES
    return found


def test_the_package_imports_no_posix_only_module_unguarded() -> None:
    offenders = {}
    for path in sorted([*(REPO_ROOT / "hsibench").rglob("*.py"), *(REPO_ROOT / "methods").rglob("*.py")]):
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative not in KNOWN_UNGUARDED and _unguarded_posix_imports(path):
            offenders[relative] = sorted(_unguarded_posix_imports(path))
    assert not offenders, f"POSIX-only imports break `import hsibench` on Windows: {offenders}"


_LOCK_HOLDER = """
import sys, time
from pathlib import Path
from hsibench.methods.pretraining_cache import PretrainingCache

def compute():
    Path(sys.argv[2]).write_text("computing")  # the lock is held from here on
    time.sleep(3)
    return {"made_by": "first"}

PretrainingCache(sys.argv[1]).get_or_compute("key", compute)
"""


def test_a_second_process_waits_for_the_pretraining_lock_then_reads(tmp_path: Path) -> None:
    started = tmp_path / "started"
    first = subprocess.Popen([sys.executable, "-c", _LOCK_HOLDER, str(tmp_path / "cache"), str(started)])
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert first.poll() is None and time.monotonic() < deadline, "the first process never took the lock"
            time.sleep(0.05)
        from hsibench.methods.pretraining_cache import PretrainingCache

        waited_from = time.monotonic()
        state, computed_now = PretrainingCache(tmp_path / "cache").get_or_compute(
            "key", lambda: pytest.fail("the second process computed instead of waiting for the first"))
        assert (state, computed_now) == ({"made_by": "first"}, False)
        assert time.monotonic() - waited_from > 1.0  # it did wait for the lock holder
    finally:
        assert first.wait(timeout=120) == 0


# --- a self-contained project: the interpretation document -------------------------------------------

INTERPRETATION = REPO_ROOT / "docs" / "interpretation.md"


def test_the_interpretation_names_every_s2former_config_key() -> None:
    from hsibench.methods import get_method_entry

    config_class = get_method_entry("s2former").config_class
    text = INTERPRETATION.read_text()
    table_keys = {key for line in text.splitlines() if line.startswith("| ") and line.count("|") >= 4
                  for key in re.findall(r"`([a-z_0-9]+)`", line.split("|")[2])}
    fields = {item.name for item in dataclasses.fields(config_class)}
    assert fields - table_keys == set(), "config keys the interpretation does not name"
    assert table_keys - fields == set(), "keys the interpretation names that the config does not have"


def test_section_citations_point_into_the_repository() -> None:
    sections = set(re.findall(r"^### §(\d+) ", INTERPRETATION.read_text(), flags=re.MULTILINE))
    assert sections == {str(n) for n in range(1, 9)}
    for document in (REPO_ROOT / "README.md", REPO_ROOT / "methods" / "s2former" / "README.md", INTERPRETATION):
        text = document.read_text()
        assert "PAPER.md" not in text and "/work/shared" not in text and "../shared" not in text, document
        assert set(re.findall(r"§(\d+)", text)) <= sections, document
