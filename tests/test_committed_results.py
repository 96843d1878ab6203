"""The tables committed under results/ must be exactly what their commands make of the committed records.

The commands are read from the scripts that made them (``results/make_*.sh``), so the test and the
documentation cannot disagree about how a table is produced.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from hsibench.cli import main
from hsibench.report.provenance import code_status
from hsibench.runner.record_schema import RECORD_SCHEMA
from hsibench.runner.records import read_record
from hsibench.runner.spec import TrialSpec, resolve

RESULTS = REPO_ROOT / "results"


def table_commands() -> list[list[str]]:
    """Every `hsibench table …` line of the results scripts, as the argv that follows `hsibench table`."""
    commands = []
    for script in sorted(RESULTS.glob("make_*.sh")):
        for line in script.read_text().splitlines():
            if line.strip().startswith("hsibench table "):
                argv = shlex.split(line.split(">")[0])[2:]  # after `hsibench table`
                commands.append(argv)
    return commands


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


COMMANDS = table_commands()


@pytest.mark.parametrize("argv", COMMANDS, ids=[f"{option(a, '--protocol')}-{a[0]}" for a in COMMANDS])
def test_committed_tables_regenerate_from_committed_records(argv: list[str], tmp_path: Path, capsys) -> None:
    protocol, kind = option(argv, "--protocol"), argv[0]
    shutil.copytree(RESULTS / protocol / "runs", tmp_path / protocol / "runs")
    argv = [str(tmp_path) if value == "$out" else value for value in argv]
    assert main(["table", *argv]) == 0
    capsys.readouterr()
    for suffix in (".md", ".tex", ".csv"):
        committed = (RESULTS / protocol / f"{kind}{suffix}").read_text()
        regenerated = (tmp_path / protocol / f"{kind}{suffix}").read_text()
        assert regenerated == committed, f"results/{protocol}/{kind}{suffix} no longer matches its records"


def audit_commands() -> list[list[str]]:
    """Every `hsibench audit …` line of the results scripts, as the argv that follows `hsibench`."""
    return [shlex.split(line.split(">")[0])[1:] for script in sorted(RESULTS.glob("make_*.sh"))
            for line in script.read_text().splitlines() if line.strip().startswith("hsibench audit ")]


AUDITS = audit_commands()


@pytest.mark.parametrize("argv", AUDITS, ids=[a[1] for a in AUDITS])
def test_committed_audit_tables_regenerate_from_committed_records(argv: list[str], tmp_path: Path, capsys) -> None:
    protocol = argv[1]
    shutil.copytree(RESULTS / "audit" / protocol / "runs", tmp_path / "audit" / protocol / "runs")
    argv = [str(tmp_path) if value == "$out" else value for value in argv]
    assert main([*argv, "--report-only"]) == 0
    capsys.readouterr()
    for suffix in (".md", ".tex", ".csv"):
        committed = (RESULTS / "audit" / protocol / f"audit{suffix}").read_text()
        regenerated = (tmp_path / "audit" / protocol / f"audit{suffix}").read_text()
        assert regenerated == committed, f"results/audit/{protocol}/audit{suffix} no longer matches its records"


def test_the_audit_is_committed_with_its_command() -> None:
    assert [argv[1] for argv in AUDITS] == ["sa_a_r2l"]


def test_the_demo_tables_are_committed_with_their_commands() -> None:
    kinds = {(option(argv, "--protocol"), argv[0]) for argv in COMMANDS}
    assert {("demo", "main"), ("demo", "ablation"), ("demo", "shots")} <= kinds


COMMITTED_RECORDS = sorted(RESULTS.glob("*/runs/*.json"))


def committed(schema: int) -> list[Path]:
    return [path for path in COMMITTED_RECORDS if json.loads(path.read_text()).get("schema", 1) == schema]


def test_committed_records_keep_their_run_ids_so_reruns_find_them() -> None:
    """A config key added later (or a changed preset) must not silently orphan the committed (schema-2) records."""
    current = committed(RECORD_SCHEMA)
    assert current, "results/demo must hold records of the current schema"
    stale = []
    for path in current:
        record = json.loads(path.read_text())
        if resolve(TrialSpec.from_dict(record["spec"])).run_id != record["run_id"]:
            stale.append(path.relative_to(RESULTS).as_posix())
    assert not stale, f"{len(stale)} committed record(s) no longer match their trial's run id, e.g. {stale[:3]}"


def test_records_made_before_code_fingerprints_are_never_served_as_current() -> None:
    """Schema-1 records (Salinas-A, before the redesign) read as `unrecorded`: `run` reruns them, tables say so."""
    for path in committed(1):
        record = read_record(path, strict=True)
        assert code_status(record) == "unrecorded" and not record.code.recorded, path
