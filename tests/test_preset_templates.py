"""Tuned presets for a whole table: `--preset 'DIR/{method}-dev.toml'` runs each method with its own file, and the
tables take exactly the records made from those files (by sha256), never parity or stale-tuning records."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsibench.cli import main
from hsibench.report import ReportError, ReportRequest
from hsibench.report.outputs import build_table, table_paths
from hsibench.report.preset_selection import select_presets, selection_label
from hsibench.runner import load_records
from hsibench.tuning.preset_file import PresetFile, preset_file_path, write_preset_file

SEEDS = "1330,1220"


def write_files(folder: Path, c: float = 12.5, base: str = "smoke") -> str:
    write_preset_file(folder / "svm-dev.toml", PresetFile("svm", base, {"search": False, "c": c, "gamma": 0.01}, {}))
    write_preset_file(folder / "cnn3d-dev.toml", PresetFile("cnn3d", "smoke", {"epochs": 2}, {}))
    return str(folder / "{method}-dev.toml")


def run(out: Path, preset: str, methods: str = "svm,cnn3d") -> int:
    return main(["run", "--methods", methods, "--protocol", "demo", "--executor", "local", "--out", str(out),
                 "--cache", str(out / "cache"), "--seeds", SEEDS, "--no-maps", "--preset", preset])


def request(out: Path, preset: str | None, methods: list[str] | None = None) -> ReportRequest:
    return ReportRequest(results_dir=out, protocol="demo", preset=preset, methods=methods)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Two methods at their tuned files and at the parity `smoke` preset, in one results folder."""
    root = tmp_path_factory.mktemp("templates")
    template = write_files(root)
    assert run(root / "out", template) == 0
    assert run(root / "out", "smoke") == 0
    return root, template


def test_a_template_runs_each_method_with_its_own_file(campaign: tuple[Path, str]) -> None:
    root, template = campaign
    tuned = [record for record in load_records(root / "out", "demo") if record.preset_file is not None]
    assert sorted((r.method, r.seed) for r in tuned) == [("cnn3d", 1220), ("cnn3d", 1330), ("svm", 1220), ("svm", 1330)]
    for record in tuned:
        assert record.preset == "smoke"
        assert record.preset_file["path"] == str(preset_file_path(template, record.method).resolve())
    assert {r.config["c"] for r in tuned if r.method == "svm"} == {12.5}
    assert {r.config["epochs"] for r in tuned if r.method == "cnn3d"} == {2}


def test_tables_select_the_tuned_or_the_parity_records_never_both(campaign: tuple[Path, str]) -> None:
    root, template = campaign
    records = {r.run_id: r for r in load_records(root / "out", "demo")}
    tuned = build_table("main", request(root / "out", template))
    parity = build_table("main", request(root / "out", "smoke"))
    assert tuned.columns == parity.columns and len(tuned.columns) == 2
    assert "tuned presets {method}-dev.toml (base smoke)" in tuned.caption and "tuned presets" not in parity.caption
    assert str(root) not in tuned.caption  # a copy of the results regenerates the same caption
    assert tuned.rows != parity.rows  # svm c=12.5 and cnn3d's 2 epochs are not the smoke preset
    assert len(records) == 8


def test_tuned_tables_get_their_own_file_names(campaign: tuple[Path, str]) -> None:
    root, template = campaign
    table = build_table("main", request(root / "out", template))
    paths = table_paths(table, request(root / "out", template))
    assert {path.name for path in paths.values()} == {"main-tuned-dev.md", "main-tuned-dev.tex", "main-tuned-dev.csv"}
    assert selection_label("results/presets/{method}-sa_a2jr_dev.toml") == "tuned-sa_a2jr_dev"
    assert selection_label("x/svm-best.toml") == "preset-svm-best"


def test_a_retuned_file_selects_none_of_the_old_records(campaign: tuple[Path, str], tmp_path: Path) -> None:
    root, _ = campaign
    retuned = write_files(tmp_path, c=99.0)  # same names and method, other content: another sha256
    with pytest.raises(ReportError):
        build_table("main", request(root / "out", retuned, ["svm"]))


def test_the_template_finds_the_methods_when_none_are_given(campaign: tuple[Path, str]) -> None:
    root, template = campaign
    assert len(build_table("main", request(root / "out", template)).columns) == 2


def test_bad_preset_files_are_clear_errors(tmp_path: Path) -> None:
    template = write_files(tmp_path)
    with pytest.raises(ReportError, match="does not exist"):
        select_presets(template, ["svm", "ssftt"])
    with pytest.raises(ReportError, match="one method's preset file"):
        select_presets(str(tmp_path / "svm-dev.toml"), ["svm", "cnn3d"])
    mixed = tmp_path / "mixed"
    write_files(mixed, base="cpu")
    with pytest.raises(ReportError, match="different presets"):
        select_presets(str(mixed / "{method}-dev.toml"), ["svm", "cnn3d"])


def test_a_template_with_different_base_presets_does_not_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    template = write_files(tmp_path, base="cpu")
    assert run(tmp_path / "out", template) == 1
    assert "start from different presets" in capsys.readouterr().err
    assert not (tmp_path / "out" / "demo").exists()


def test_selecting_tuned_presets_imports_no_method(tmp_path: Path) -> None:
    """A table of tuned presets stays light: the files are read for their base preset, keys and sha256 only."""
    import subprocess
    import sys

    template = write_files(tmp_path)
    script = ("import sys\nfrom hsibench.report.preset_selection import select_presets\n"
              f"assert select_presets({template!r}, ['svm', 'cnn3d']).name == 'smoke'\n"
              "heavy = sorted(m for m in ('torch', 'sklearn', 'scipy.stats', 'ray') if m in sys.modules)\n"
              "assert not heavy, heavy\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
