"""How tables look and when they are written: column order, display names, LaTeX labels, κ, nothing written unasked."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from test_report_tables import PROPOSED, SEEDS, make_record, request

from hsibench.cli import main
from hsibench.report import build_table, make_table, to_csv, to_latex, to_markdown
from hsibench.report.display import (
    FAMILY_ORDER,
    class_display_name,
    latex_label,
    method_display_name,
    method_order_key,
)
from hsibench.runner.records import write_record

#: registry name → (family, uses source labels) of the built-in methods, as their records carry them
BUILTINS = {"svm": ("classical", False), "finetune": ("supervised transfer", True), "mae": ("self-supervised", False),
            "dcfsl": ("cross-domain few-shot", True), "ssftt": ("supervised deep", False),
            "cnn3d": ("supervised deep", False), "s2former": ("proposed", False)}
PAPER_ORDER = ["s2former", "mae", "svm", "cnn3d", "ssftt", "dcfsl", "finetune"]


def family_record(root: Path, method: str, seed: int, overall: float, family: str, **fields):
    record = make_record(root, method, seed, overall, **fields)
    record = dataclasses.replace(record, family=family)
    record.path = write_record(record.path, record)
    return record


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """Every built-in method (written in a scrambled order) and two S²Former variants, on the ten seeds."""
    for seed, value in zip(SEEDS, PROPOSED):
        for offset, (method, (family, labels)) in enumerate(BUILTINS.items()):
            family_record(tmp_path, method, seed, value - 0.01 * offset, family, uses_source_labels=labels)
        for variant in ("s2former-no-fdc", "s2former-spa2spe"):
            family_record(tmp_path, variant, seed, value - 0.02, "proposed", method_base="s2former")
    return tmp_path


def test_main_columns_are_the_proposed_method_then_the_baselines_in_family_order(suite: Path) -> None:
    table = build_table("main", request(suite))
    assert table.columns == PAPER_ORDER  # no variant, not alphabetical
    assert [table.column_label(c) for c in table.columns] == [
        "S²Former", "MAE", "SVM", "3D-CNN", "SSFTT", "DCFSL†", "Fine-tune†"]
    chosen = build_table("main", request(suite, methods=["svm", "s2former-no-fdc", "s2former"]))
    assert chosen.columns == ["svm", "s2former-no-fdc", "s2former"]  # --methods decides, variants included
    assert build_table("main", request(suite, proposed="mae")).columns[0] == "mae"


def test_variants_appear_only_in_the_ablation_table(suite: Path) -> None:
    ablation = build_table("ablation", request(suite))
    assert [row for row, _ in ablation.rows] == ["s2former", "s2former-no-fdc", "s2former-spa2spe"]
    assert [ablation.row_label(row) for row, _ in ablation.rows] == [
        "S²Former", "S²Former w/o FDC", "S²Former spatial → spectral only"]
    assert ablation.caption.startswith("Ablation of S²Former on demo, OA, AA (%) and Cohen's κ ×100: mean ± ")


def test_the_order_key_is_documented_and_stable() -> None:
    assert FAMILY_ORDER[0] == "proposed"
    shuffled = [("plugin", "zeta family"), ("svm", "classical"), ("dcfsl", "cross-domain few-shot"),
                ("s2former", "proposed"), ("another", "a family"), ("mae", "self-supervised")]
    ordered = sorted(shuffled, key=lambda item: method_order_key(item[0], item[1], "s2former"))
    assert [name for name, _ in ordered] == ["s2former", "mae", "svm", "dcfsl", "another", "plugin"]


def test_display_names_fall_back_to_the_registry_name() -> None:
    assert method_display_name("s2former") == "S²Former" and method_display_name("cnn3d") == "3D-CNN"
    assert method_display_name("s2former-no-daft") == "S²Former w/o DAFT"
    assert method_display_name("s2former-new-idea") == "S²Former (new-idea)"  # a variant without a phrase
    assert method_display_name("my-plugin") == "my-plugin"
    assert method_display_name("my-plugin-small", base="my-plugin") == "my-plugin (small)"
    assert class_display_name("Brocoli_green_weeds_1") == "Brocoli green weeds 1"
    assert class_display_name("Corn_senesced__green_weeds") == "Corn senesced green weeds"
    assert class_display_name("Asphalt") == "Asphalt"


def test_headers_show_display_names_in_every_format_and_the_csv_keeps_the_keys(suite: Path) -> None:
    table = build_table("main", request(suite))
    markdown, latex, csv = to_markdown(table), to_latex(table), to_csv(table)
    header = markdown.splitlines()[0]
    assert "S²Former" in header and "Fine-tune†" in header and "s2former" not in header
    assert "| Meadows & grass " in markdown and "Meadows_&_grass" not in markdown
    assert r"S$^{2}$Former & MAE & SVM & 3D-CNN & SSFTT & DCFSL$^{\dagger}$ & Fine-tune$^{\dagger}$ \\" in latex
    assert r"Meadows \& grass" in latex
    assert csv.splitlines()[0].endswith(",row_key,column_key")
    assert "Meadows & grass,S²Former," in csv and csv.splitlines()[1].endswith(",Asphalt,s2former")


def test_latex_labels_are_unique_per_protocol_and_kind(suite: Path) -> None:
    assert r"\label{tab:main-demo}" in to_latex(build_table("main", request(suite)))
    assert r"\label{tab:ablation-demo}" in to_latex(build_table("ablation", request(suite)))
    assert latex_label("main", "sa_a_r2l") == "tab:main-sa_a_r2l"
    assert latex_label("main", "demo", "split_mode=clean") == "tab:main-demo-split_mode-clean"
    assert latex_label("shots", "my protocol{x}") == "tab:shots-my-protocol-x-"


def test_kappa_is_shown_times_100_and_the_caption_says_so(suite: Path) -> None:
    table = build_table("main", request(suite))
    kappa = dict(table.rows)["κ ×100"][0]
    offset = 0.01 * list(BUILTINS).index("s2former")  # the suite's OA offset; records store κ = OA − 0.05
    assert kappa.mean == pytest.approx(100 * (sum(PROPOSED) / len(PROPOSED) - offset - 0.05))
    assert "Cohen's κ ×100" in table.caption
    sweep = build_table("shots", request(suite, metric="kappa", methods=["s2former"]))
    assert "κ: Cohen's kappa ×100." in sweep.caption


def folder_state(root: Path) -> dict[str, tuple[str, int]]:
    return {str(path.relative_to(root)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
            for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("argv", [["table", "main"], ["table", "ablation"], ["table", "shots"],
                                  ["table", "main", "--format", "csv"], ["figure", "ablation"], ["figure", "shots"]])
def test_without_write_nothing_is_written(suite: Path, argv: list[str], capsys) -> None:
    committed = make_table("main", request(suite))[1]  # files there already, as under results/
    before = folder_state(suite)
    assert main([*argv, "--protocol", "demo", "--out", str(suite)]) == 0
    assert folder_state(suite) == before
    captured = capsys.readouterr()
    assert "not written" in captured.err
    if argv[0] == "figure":
        assert all(line.startswith(f"would write {suite / 'demo' / 'figures'}") for line in captured.out.splitlines())
    assert committed["md"].is_file()


def test_the_printed_table_is_the_written_file(suite: Path, capsys) -> None:
    for printed, extension in (("md", "md"), ("latex", "tex"), ("csv", "csv")):
        assert main(["table", "main", "--protocol", "demo", "--out", str(suite), "--format", printed, "--write"]) == 0
        assert capsys.readouterr().out == (suite / "demo" / f"main.{extension}").read_text()


def test_write_and_to_are_exclusive(suite: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["table", "main", "--protocol", "demo", "--out", str(suite), "--write", "--to", str(tmp_path / "x")])
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_table_imports_neither_torch_nor_matplotlib_nor_scipy_stats() -> None:
    """What keeps `hsibench table` at about a second: the report path loads no heavy library."""
    script = ("import sys\nfrom hsibench.cli import main\n"
              "assert main(['table', 'main', '--protocol', 'sa_a_r2l', '--out', 'results/superseded']) == 0\n"
              "heavy = sorted(m for m in ('torch', 'matplotlib', 'scipy.stats', 'ray') if m in sys.modules)\n"
              "assert not heavy, heavy\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
