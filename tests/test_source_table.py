"""`hsibench table sources`: OA by pretraining source, each row tested against the same target's no-pretraining row."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsibench.cli import main
from hsibench.report import ReportError, ReportRequest
from hsibench.report.source_table import NO_PRETRAINING, source_phrase, source_table

DEMO = Path(__file__).resolve().parents[1] / "protocols" / "demo.toml"


def protocol_file(folder: Path, name: str, source: str) -> str:
    """The demo with another source: same target, split and seeds, so its rows pair with the demo's."""
    text = DEMO.read_text().replace('source = "demo_source"', f'source = "{source}"')
    assert text != DEMO.read_text()
    path = folder / f"{name}.toml"
    path.write_text(text)
    return str(path)


def run(out: Path, protocol: str, method: str, *extra: str) -> None:
    assert main(["run" if not extra else "sweep", "--method", method, "--protocol", protocol, "--executor", "local",
                 "--out", str(out), "--cache", str(out / "cache"), "--seeds", "1330,1220", "--no-maps",
                 *extra]) == 0


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("sources")
    protocols = ["demo", protocol_file(root, "demo_self", "demo_target")]
    for protocol in protocols:
        run(root / "out", protocol, "s2former")
        run(root / "out", protocol, "mae")
    run(root / "out", "demo", "s2former-no-pretrain")
    run(root / "out", "demo", "mae", "--sweep", "pretrain_steps=0")
    return root / "out", protocols


def request(out: Path) -> ReportRequest:
    return ReportRequest(results_dir=out, protocol="demo")


def test_rows_are_the_sources_after_the_no_pretraining_row(records: tuple[Path, list[str]]) -> None:
    out, protocols = records
    table = source_table(request(out), protocols)
    assert table.columns == ["s2former", "mae"]
    labels = [label for label, _ in table.rows]
    assert labels == ["none:demo", "demo", protocols[1]]
    none, demo, transductive = (cells for _, cells in table.rows)
    assert all(cell.count == 2 and cell.p_unadjusted is None for cell in none)
    assert all(cell.count == 2 and cell.p_unadjusted is not None for cell in demo + transductive)
    assert table.row_title(protocols[1]).startswith("Synthetic") and "transductive" in table.row_title(protocols[1])
    assert "Holm-adjusted over the table's 4 tests" in table.caption


def test_the_cli_writes_sources_files(records: tuple[Path, list[str]], tmp_path: Path) -> None:
    out, protocols = records
    assert main(["table", "sources", "--protocol", ",".join(protocols), "--out", str(out), "--to", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sources.csv", "sources.md", "sources.tex"]


def test_other_tables_refuse_a_protocol_list(records: tuple[Path, list[str]], capsys: pytest.CaptureFixture) -> None:
    out, protocols = records
    assert main(["table", "main", "--protocol", ",".join(protocols), "--out", str(out)]) != 0
    assert "a list is for `table sources`" in capsys.readouterr().err


def test_a_method_without_a_no_pretraining_form_is_refused(records: tuple[Path, list[str]]) -> None:
    out, protocols = records
    with pytest.raises(ReportError, match="no 'no pretraining' form"):
        source_table(request(out), protocols, ["svm"])
    assert set(NO_PRETRAINING) == {"s2former", "mae"}


def test_source_phrases_of_the_shipped_protocols() -> None:
    assert source_phrase("jr2sa_a").startswith("Jasper Ridge")
    assert source_phrase("multi2sa_a") == "5 scenes pooled (jr, av, muufl, pusub, urban)"
    assert source_phrase("sa_a").endswith("itself (transductive)")
    assert source_phrase("sa_a_r2l").endswith("cols 43–85")
