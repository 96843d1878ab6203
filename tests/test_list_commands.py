"""The list commands (``data list``, ``protocols list``, ``methods list``, ``results ls``): their ``--json`` output
says what the registries and records say, and their tables fit 120 columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hsibench.cli import main
from hsibench.cli.data_commands import LIST_JSON_KEYS as DATA_KEYS
from hsibench.cli.listing import LINE_WIDTH, Column, format_table, truncate
from hsibench.cli.method_commands import LIST_JSON_KEYS as METHOD_KEYS
from hsibench.cli.method_commands import short_reference
from hsibench.cli.protocol_commands import LIST_JSON_KEYS as PROTOCOL_KEYS
from hsibench.cli.run_commands import RESULTS_JSON_KEYS
from hsibench.data import get_scene_source, scene_names
from hsibench.methods.catalog import BUILTIN_METHODS
from hsibench.protocol import load_protocol, protocol_names
from hsibench.runner.record_schema import CodeProvenance, ErrorDetail, TrialRecord
from hsibench.runner.records import write_record


@pytest.fixture
def real_mirror(real_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HSIBENCH_MIRROR", str(real_data))
    return real_data


def _output(capsys: pytest.CaptureFixture, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def _json(capsys: pytest.CaptureFixture, *argv: str) -> list[dict]:
    output = _output(capsys, *argv, "--json")
    assert "\x1b" not in output  # no colours
    items = json.loads(output)
    assert isinstance(items, list) and all(isinstance(item, dict) for item in items)
    return items


def _record(method: str, seed: int, **fields) -> TrialRecord:
    values = dict(run_id=f"{method}-{seed}-0123456789abcdef", status="ok", method=method, seed=seed, preset="smoke",
                  code=CodeProvenance(None), protocol_name="demo", protocol={"shots": 5, "split_mode": "legacy"},
                  overall_accuracy=0.8123, average_accuracy=0.7, kappa=0.6543, timings={"total_s": 12.5},
                  finished_at="2026-01-02T03:04:05+00:00")
    return TrialRecord(**{**values, **fields})


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """Three records: two ok (one with --set values and a long method name), one failed."""
    root = tmp_path / "results"
    records = [
        _record("svm", 1330),
        _record("s2former-no-pretrain-with-a-long-plugin-name", 1220, protocol_overrides={"shots": 3},
                method_overrides={"mask_ratio": 0.5, "block_channels": [4, 8]}, protocol={"shots": 3}),
        _record("svm", 1220, status="failed", overall_accuracy=None, average_accuracy=None, kappa=None,
                error=ErrorDetail("RuntimeError", "boom")),
    ]
    for record in records:
        write_record(root / "demo" / "runs" / f"{record.name}.json", record)
    return root


# --- tables fit 120 columns ---------------------------------------------------------------------------------

def _widest(output: str) -> int:
    return max(len(line) for line in output.splitlines())


def test_data_list_fits_120_columns(real_mirror: Path, capsys) -> None:
    output = _output(capsys, "data", "list")
    assert _widest(output) <= LINE_WIDTH and "\x1b" not in output
    # a short title is never cut; a long one is cut with an ellipsis
    assert "Houston 2013 (GRSS DFC 2013)" in output and "Synthetic demo target (48×48×60" in output
    assert "dimmer, noisier)" not in output and "…" in output


def test_protocols_list_fits_120_columns(capsys) -> None:
    output = _output(capsys, "protocols", "list")
    assert _widest(output) <= LINE_WIDTH
    rows = {line.split()[0]: line.split() for line in output.splitlines()[1:] if line.strip()}
    assert rows["sa2ip"][:7] == ["sa2ip", "sa", "ip", "5", "10", "9", "legacy"]
    assert rows["sa_a_r2l"][1:3] == ["sa_a_corrected*", "sa_a_corrected*"]  # * a part of the scene


def test_methods_list_fits_120_columns_and_names_the_long_reference_once(capsys) -> None:
    output = _output(capsys, "methods", "list")
    assert _widest(output) <= LINE_WIDTH
    assert output.count("J. Chao") == 1  # not once per S²Former variant
    lines = {line.split()[0]: line for line in output.splitlines()[1:] if line.strip()}
    assert set(BUILTIN_METHODS) <= set(lines)
    for name, builtin in BUILTIN_METHODS.items():
        assert lines[name].startswith("  ") == (builtin.base is not None)  # variants indented under their base
    assert "S²Former with plain fine-tun" in lines["s2former-no-daft"]  # what a variant changes
    assert "Melgani & Bruzzone, IEEE TGRS 2004" in lines["svm"]


def test_results_ls_fits_120_columns_and_prints_scores_as_the_tables_do(results: Path, capsys) -> None:
    output = _output(capsys, "results", "ls", "--out", str(results))
    assert _widest(output) <= LINE_WIDTH
    header, *lines = output.splitlines()
    assert "κ×100" in header and "OA %" in header and "AA %" in header
    svm = next(line.split() for line in lines if line.startswith("demo") and " 1330 " in line)
    assert svm[svm.index("ok") + 2:svm.index("ok") + 6] == ["81.23", "70.00", "65.43", "12.5"]
    assert "0.6543" not in output
    failed = next(line.split() for line in lines if " failed " in line)
    assert failed.count("–") == 3  # no scores
    assert "s2former-no-pretr" in output  # a long name is cut only as far as needed


def test_a_column_is_cut_only_when_the_line_is_too_long() -> None:
    columns = (Column("name"), Column("text"), Column("n", right=True))
    rows = [("a", "x" * 30, 1), ("bb", "short", 22)]
    assert format_table(columns, rows, width=60, shrink=((1, 10),)) == [
        "name  text                             n", "a     xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx   1",
        "bb    short                           22"]
    narrow = format_table(columns, rows, width=24, shrink=((1, 10),))
    assert max(map(len, narrow)) == 24 and narrow[1] == "a     " + "x" * 13 + "…   1"
    assert truncate("abc", 3) == "abc" and truncate("abcd", 3) == "ab…"


def test_short_reference_keeps_first_author_venue_and_year() -> None:
    long = ('J. Chao, T. Lv, Q. Ma, Y. Qiu, "Cross-Domain Transfer with Self-Supervised Modeling", '
            'arXiv 2601.18088, 2026')
    assert short_reference(long) == "J. Chao et al., arXiv 2601.18088, 2026, Cross-Domain Transfer with Self-Supervised Modeling"
    plain = "Melgani & Bruzzone, IEEE TGRS 2004, Classification of Hyperspectral Remote Sensing Images"
    assert short_reference(plain) == plain


# --- --json ---------------------------------------------------------------------------------------------------

def test_data_list_json_is_the_registry(real_mirror: Path, capsys) -> None:
    items = _json(capsys, "data", "list")
    assert [item["name"] for item in items] == scene_names()
    for item in items:
        assert tuple(item) == DATA_KEYS
        info = get_scene_source(item["name"]).info
        assert (item["height"], item["width"], item["bands"]) == info.shape
        assert item["title"] == info.title and item["sensor"] == info.sensor  # whole, never cut
        assert item["classes"] == len(info.class_names) and isinstance(item["classes"], int)
        assert item["labels"] == info.labels and item["access"] == info.access
        expected_range = list(info.spectral_range_nm) if info.spectral_range_nm else None
        assert item["spectral_range_nm"] == expected_range
    by_name = {item["name"]: item for item in items}
    assert by_name["sa_a"]["files"] == "mirror" and by_name["pc"]["files"] == "missing"
    assert by_name["pu"]["files"] == "labels only" and by_name["demo_source"]["files"] == "generated"
    assert by_name["hu13"]["access"] == "registration" and by_name["jr"]["labels"] == "derived"


def test_protocols_list_json_is_the_protocol_files(capsys) -> None:
    items = _json(capsys, "protocols", "list")
    assert [item["name"] for item in items] == protocol_names()
    for item in items:
        assert tuple(item) == PROTOCOL_KEYS
        protocol = load_protocol(item["name"])
        assert item["description"] == protocol.description
        assert [region["scene"] for region in item["sources"]] == [region.scene for region in protocol.sources]
        assert item["target"]["scene"] == protocol.target.scene
        assert item["seeds"] == list(protocol.seeds)
        for key in PROTOCOL_KEYS[4:]:
            if key != "seeds":
                assert item[key] == getattr(protocol, key), key
    by_name = {item["name"]: item for item in items}
    assert by_name["sa_a_r2l"]["sources"] == [{"scene": "sa_a_corrected", "rows": None, "cols": [43, 86], "options": {}}]
    assert by_name["sa_a_r2l"]["target"]["cols"] == [0, 43]
    assert by_name["jr2sa_a"]["sources"][0]["options"] == {"purity": 0.8}
    assert len(by_name["multi2sa_a"]["sources"]) == 5


def test_methods_list_json_is_the_catalog(capsys) -> None:
    items = _json(capsys, "methods", "list")
    by_name = {item["name"]: item for item in items}
    assert set(BUILTIN_METHODS) <= set(by_name)
    for name, builtin in BUILTIN_METHODS.items():
        item = by_name[name]
        assert tuple(item) == METHOD_KEYS
        info = builtin.info
        assert item == {"name": name, "base": builtin.base, "family": info.family,
                        "uses_source_labels": info.uses_source_labels, "pretrains": info.pretrains,
                        "reference": info.reference, "description": info.description}


def test_results_ls_json_is_the_records(results: Path, capsys) -> None:
    items = _json(capsys, "results", "ls", "--out", str(results))
    assert len(items) == 3 and all(tuple(item) == RESULTS_JSON_KEYS for item in items)
    ok = next(item for item in items if item["method"] == "svm" and item["seed"] == 1330)
    assert ok["overall_accuracy"] == 0.8123 and ok["average_accuracy"] == 0.7 and ok["kappa"] == 0.6543  # fractions
    assert ok["seconds"] == 12.5 and ok["shots"] == 5 and ok["split_mode"] == "legacy" and ok["status"] == "ok"
    assert ok["code"] == "unrecorded" and ok["run_id"] == "svm-1330-0123456789abcdef" and ok["audit"] is None
    assert ok["finished_at"] == "2026-01-02T03:04:05+00:00" and Path(ok["path"]).is_file()
    assert json.loads(Path(ok["path"]).read_text())["run_id"] == ok["run_id"]
    long = next(item for item in items if item["method"].startswith("s2former"))
    assert long["method"] == "s2former-no-pretrain-with-a-long-plugin-name"  # never cut
    assert long["protocol_overrides"] == {"shots": 3}
    assert long["method_overrides"] == {"mask_ratio": 0.5, "block_channels": [4, 8]}
    failed = next(item for item in items if item["status"] == "failed")
    assert failed["overall_accuracy"] is None and failed["kappa"] is None
    # the filters apply to --json too
    assert [item["seed"] for item in _json(capsys, "results", "ls", "--out", str(results), "--status", "failed")] == [1220]
    assert _json(capsys, "results", "ls", "--out", str(results), "--protocol", "nowhere") == []
