"""`hsibench results ledger`: what made each committed folder of records, read from the records alone."""

from __future__ import annotations

import json
from datetime import datetime

from conftest import REPO_ROOT

from hsibench.cli import main
from hsibench.report.record_ledger import PRETRAINING_ROW, ledger_markdown, ledger_rows
from hsibench.runner.records import iter_record_paths, read_record

RESULTS = REPO_ROOT / "results"


def demo_records():
    return [("demo", read_record(path)) for path in iter_record_paths(RESULTS, "demo")]


def test_a_row_counts_the_records_their_time_and_their_machine() -> None:
    records = demo_records()
    (row,) = ledger_rows(records)
    assert (row.folder, row.presets, row.records, row.failed) == ("demo", "smoke", len(records), 0)
    assert "s2former + 11 variants" in row.methods and "svm" in row.methods
    assert row.trial_seconds == sum(record.timings["total_s"] for _, record in records)
    starts = [datetime.fromisoformat(r.started_at) for _, r in records]
    ends = [datetime.fromisoformat(r.finished_at) for _, r in records]
    assert row.wall_seconds == (max(ends) - min(starts)).total_seconds()
    machine = records[0][1].machine
    assert all(machine.cpu_model in text and f"{machine.threads} thread" in text for text in row.machines)
    assert all(commit[:7] == records[0][1].code.git_commit[:7] for commit in row.commits)


def test_pretraining_stages_get_their_own_row() -> None:
    stages = [("demo", json.loads(path.read_text())) for path in sorted((RESULTS / "demo" / "pretraining").glob("*.json"))]
    rows = ledger_rows(demo_records(), stages)
    assert [row.presets for row in rows] == ["smoke", PRETRAINING_ROW]
    assert rows[1].records == len(stages) and rows[1].trial_seconds == sum(s["seconds"] for _, s in stages)


def test_records_from_before_provenance_say_so() -> None:
    records = [("superseded/sa_a", read_record(path)) for path in iter_record_paths(RESULTS / "superseded", "sa_a")]
    (row,) = ledger_rows(records)
    assert row.machines == ("not recorded",) and row.stale == row.records == len(records)


def test_the_cli_prints_one_markdown_line_per_folder(capsys) -> None:
    assert main(["results", "ledger", "--out", str(RESULTS)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| folder | presets |")
    assert "| `demo` | smoke | 90 (0) |" in out and "| `superseded/sa_a_r2l` | cpu |" in out
    assert ledger_markdown([]).count("\n") >= 2


def test_the_ledger_replaces_only_its_block(tmp_path) -> None:
    from hsibench.report.record_ledger import LEDGER_BEGIN, LEDGER_END, ledger_in

    document = tmp_path / "README.md"
    document.write_text(f"# Results\n\nintro\n{LEDGER_BEGIN}\nSTALE LEDGER LINE\n{LEDGER_END}\n\nafter\n")
    assert main(["results", "ledger", "--out", str(RESULTS), "--into", str(document)]) == 0
    text = document.read_text()
    assert text.startswith("# Results\n\nintro\n") and text.endswith(f"{LEDGER_END}\n\nafter\n")
    assert ledger_in(text).startswith("| folder |") and "STALE LEDGER LINE" not in text


def test_the_committed_results_readme_carries_the_current_ledger(capsys) -> None:
    """results/README.md's ledger is what the committed records say (rerun `hsibench results ledger --into`)."""
    from hsibench.report.record_ledger import ledger_in

    assert main(["results", "ledger", "--out", str(RESULTS)]) == 0
    assert ledger_in((RESULTS / "README.md").read_text()) == capsys.readouterr().out
