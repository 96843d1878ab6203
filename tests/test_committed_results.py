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


def script_lines(prefix: str) -> list[list[str]]:
    """Every `hsibench <prefix> …` line of the results scripts, as the argv that follows `hsibench`."""
    return [shlex.split(line.split(">")[0])[1:] for script in sorted(RESULTS.glob("make_*.sh"))
            for line in script.read_text().splitlines() if line.strip().startswith(f"hsibench {prefix} ")]


def table_commands() -> list[list[str]]:
    """Every `hsibench table …` line of the results scripts, as the argv that follows `hsibench table`."""
    return [argv[1:] for argv in script_lines("table")]


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def in_folder(argv: list[str], folder: Path) -> list[str]:
    """The command with the scripts' `$out` (the results folder) pointing at ``folder``."""
    return [value.replace("$out", str(folder)) for value in argv]


def results_subfolder(argv: list[str]) -> str:
    """Where a line's records live below results/: `--out "$out"` → "", `--out "$out/campaign/X"` → "campaign/X"."""
    return option(argv, "--out").removeprefix("$out").strip("/") if "--out" in argv else ""


def table_id(argv: list[str]) -> str:
    preset = option(argv, "--preset") if "--preset" in argv else ""
    return "-".join(part for part in (results_subfolder(argv).replace("/", "-"), option(argv, "--protocol").split(",")[0],
                                      argv[0], "tuned" if preset.endswith(".toml") else "") if part)


COMMANDS = table_commands()


@pytest.mark.parametrize("argv", COMMANDS, ids=[table_id(a) for a in COMMANDS])
def test_committed_tables_regenerate_from_committed_records(argv: list[str], tmp_path: Path, capsys) -> None:
    """Each table command rerun on a copy of its records (and the committed tuned presets) writes exactly the
    committed files; a table of several protocols (`table sources`) reads all their records."""
    protocols = option(argv, "--protocol").split(",")
    folder = results_subfolder(argv)
    for protocol in protocols:
        shutil.copytree(RESULTS / folder / protocol / "runs", tmp_path / folder / protocol / "runs")
    if (RESULTS / "presets").is_dir():
        shutil.copytree(RESULTS / "presets", tmp_path / "presets")
    before = {path for path in tmp_path.rglob("*") if path.is_file()}
    assert main(["table", *in_folder(argv, tmp_path)]) == 0
    capsys.readouterr()
    written = sorted(path for path in tmp_path.rglob("*") if path.is_file() and path not in before)
    assert len(written) == 3, f"expected md, tex and csv, got {written}"
    for path in written:
        name = path.relative_to(tmp_path).as_posix()
        assert (RESULTS / name).is_file(), f"results/{name} is not committed"
        assert path.read_text() == (RESULTS / name).read_text(), f"results/{name} no longer matches its records"


def audit_folder(argv: list[str]) -> str:
    """Where an audit line's records and table live, relative to results/ (`$out/campaign` → campaign/audit/P)."""
    out = option(argv, "--out").replace("$out", "").strip("/")
    return "/".join(part for part in (out, "audit", argv[1]) if part)


# The second campaign's audits, not run yet (issue 18: its stage_audit resumes there); results/README.md says
# so under "Cuts". A folder leaves this set when its records are committed (a test below insists).
PENDING_AUDITS = {"campaign/audit/jr2sa_a", "campaign/audit/sa_a_r2l"}
AUDITS = [argv for argv in script_lines("audit") if audit_folder(argv) not in PENDING_AUDITS]


@pytest.mark.parametrize("argv", AUDITS, ids=[audit_folder(a) for a in AUDITS])
def test_committed_audit_tables_regenerate_from_committed_records(argv: list[str], tmp_path: Path, capsys) -> None:
    folder = audit_folder(argv)
    shutil.copytree(RESULTS / folder / "runs", tmp_path / folder / "runs")
    assert main([*in_folder(argv, tmp_path), "--report-only"]) == 0
    capsys.readouterr()
    for suffix in (".md", ".tex", ".csv"):
        committed = (RESULTS / folder / f"audit{suffix}").read_text()
        regenerated = (tmp_path / folder / f"audit{suffix}").read_text()
        assert regenerated == committed, f"results/{folder}/audit{suffix} no longer matches its records"


def test_the_audits_are_committed_with_their_commands() -> None:
    every = [audit_folder(argv) for argv in script_lines("audit")]
    assert every == ["audit/sa_a_r2l", "campaign/audit/jr2sa_a", "campaign/audit/sa_a_r2l"]
    for folder in PENDING_AUDITS:
        assert folder in every and not (RESULTS / folder / "audit.md").exists(), \
            f"results/{folder} is committed: take it out of PENDING_AUDITS so its table is checked"


def test_the_demo_tables_are_committed_with_their_commands() -> None:
    kinds = {(option(argv, "--protocol"), argv[0]) for argv in COMMANDS}
    assert {("demo", "main"), ("demo", "ablation"), ("demo", "shots")} <= kinds


COMMITTED_RECORDS = sorted(RESULTS.glob("**/runs/*.json"))  # superseded/ and the audits included


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


def test_records_of_older_code_are_kept_apart_from_the_tables() -> None:
    """The Salinas-A records of the first campaign (schema 1) are superseded, not deleted: they live under
    results/superseded/, where no results script makes a table of them."""
    old = committed(1)
    assert old and all(path.relative_to(RESULTS).parts[0] == "superseded" for path in old)
    assert not any(argv for argv in COMMANDS if any("superseded" in value for value in argv))
