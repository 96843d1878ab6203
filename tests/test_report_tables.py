"""Tables from hand-written fixture records: numbers against hand computation, marks, selection, formats."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import statistics
import subprocess
from pathlib import Path

import pytest

from hsibench.cli import main
from hsibench.protocol import load_protocol
from hsibench.provenance.machine import MachineInfo
from hsibench.report import ReportError, ReportRequest, make_table, to_csv, to_latex, to_markdown
from hsibench.runner import protocol_identity
from hsibench.runner.record_schema import ClassScore, CodeProvenance, ErrorDetail, SplitSummary, TrialRecord
from hsibench.runner.records import write_record

CLASSES = {1: "Asphalt", 2: "Meadows_&_grass"}  # `&` and `_` exercise the LaTeX escaping
SEEDS = [1330, 1220, 1336, 1337, 1224, 1236]


#: one code for every fixture record (the tables refuse a mix): per method its digest, for all one shared digest
SHARED_DIGEST = hashlib.sha256(b"data, protocol and scoring layers").hexdigest()
MACHINE = MachineInfo(cpu_model="Test CPU", isa_flags=("avx2", "fma"), logical_cpus=2, threads=1,
                      torch_version="2.0.0", torch_cpu_capability="AVX2", cuda_version=None, device="cpu",
                      device_name=None, precision="fp32", hostname="test-host", platform="Linux")


def code_of(method: str) -> CodeProvenance:
    return CodeProvenance(digest=hashlib.sha256(f"code of {method}".encode()).hexdigest(), shared_digest=SHARED_DIGEST,
                          method_module=f"tests.fake.{method}", git_commit="1a2b3c4d5e6f", git_dirty=False)


def trial_record(method: str, seed: int, protocol: dict | None = None, *, pretrains: bool = False,
                 **fields) -> TrialRecord:
    """A schema-2 record with the code and machine blocks every fixture record shares."""
    return TrialRecord(run_id=fields.pop("run_id", f"{method}-{seed}"), status=fields.pop("status", "ok"),
                       method=method, seed=seed, protocol=protocol or {}, pretrains=pretrains, code=code_of(method),
                       machine=MACHINE, **fields)


def make_record(root: Path, method: str, seed: int, overall: float, per_class: dict[int, float] | None = None,
                *, fingerprint: str | None = None, preset: str = "paper", uses_source_labels: bool = False,
                method_base: str | None = None, shots: int | None = None, method_overrides: dict | None = None,
                status: str = "ok", map_file: str | None = None) -> TrialRecord:
    """A record as the runner writes it (schema-2 JSON), with chosen numbers (AA and κ derived from OA so each is
    distinct)."""
    protocol = protocol_identity(load_protocol("demo"))
    if shots is not None:
        protocol["shots"] = shots
    per_class = per_class or {1: overall, 2: overall}
    identity = f"{method}-{seed}-{shots}-{preset}-{sorted((method_overrides or {}).items())}"
    record = trial_record(
        method, seed, protocol, run_id=hashlib.sha256(identity.encode()).hexdigest()[:16], status=status,
        method_base=method_base, preset=preset, uses_source_labels=uses_source_labels, family="test",
        protocol_name="demo", method_overrides=method_overrides or {}, config={"width": 8},
        overall_accuracy=overall, average_accuracy=overall - 0.01, kappa=overall - 0.05,
        per_class=tuple(ClassScore(c, CLASSES[c], a, 10, 5) for c, a in per_class.items()),
        split=SplitSummary(fingerprint or f"split-{seed}-{shots}", protocol["split_mode"], protocol["shots"], 10, 0, 20),
        timings={"total_s": 1.0}, finished_at=f"2026-01-01T00:00:{seed % 60:02d}+00:00", map_file=map_file,
        error=ErrorDetail("RuntimeError", "deliberate") if status == "failed" else None,
    )
    record.path = write_record(root / "demo" / "runs" / f"{record.name}.json", record)
    return record


# per seed OA of three methods: "worse" is 5 points below s2former on every seed; "mixed" is not consistently different
PROPOSED = [0.80, 0.82, 0.78, 0.85, 0.81, 0.79]
WORSE = [value - 0.05 for value in PROPOSED]
MIXED = [0.82, 0.80, 0.80, 0.84, 0.79, 0.78]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    for seed, proposed, worse, mixed in zip(SEEDS, PROPOSED, WORSE, MIXED):
        make_record(tmp_path, "s2former", seed, proposed, {1: proposed + 0.05, 2: proposed - 0.05})
        make_record(tmp_path, "worse", seed, worse, uses_source_labels=True)
        make_record(tmp_path, "mixed", seed, mixed)
    return tmp_path


def request(root: Path, **changes) -> ReportRequest:
    return ReportRequest(results_dir=root, protocol="demo", **changes)


def cell(table, row: str, column: str):
    cells = dict(table.rows)[row]
    return cells[table.columns.index(column)]


@pytest.mark.parametrize(("std", "ddof", "spread"), [("sample", 1, statistics.stdev), ("population", 0, statistics.pstdev)])
def test_main_table_means_and_stds_match_hand_computation(results: Path, std: str, ddof: int, spread) -> None:
    table, _ = make_table("main", request(results, ddof=ddof, methods=["s2former", "worse", "mixed"]))
    assert table.columns == ["s2former", "worse", "mixed"]
    assert [label for label, _ in table.rows] == ["Asphalt", "Meadows_&_grass", "OA (%)", "AA (%)", "κ ×100"]
    for method, values in (("s2former", PROPOSED), ("worse", WORSE), ("mixed", MIXED)):
        overall = cell(table, "OA (%)", method)
        assert overall.mean == pytest.approx(100 * statistics.mean(values))
        assert overall.std == pytest.approx(100 * spread(values))
        assert overall.count == 6
        assert cell(table, "κ ×100", method).mean == pytest.approx(100 * (statistics.mean(values) - 0.05))
    assert cell(table, "Asphalt", "s2former").mean == pytest.approx(100 * (statistics.mean(PROPOSED) + 0.05))
    assert f"{std} standard deviation (ddof = {ddof})" in table.caption


def test_best_in_bold_significance_and_source_label_marks(results: Path) -> None:
    table, _ = make_table("main", request(results))
    assert cell(table, "OA (%)", "s2former").bold and not cell(table, "OA (%)", "worse").bold
    assert cell(table, "Meadows_&_grass", "mixed").bold  # mixed beats s2former's weaker class
    # six seeds all in one direction: the exact two-sided signed-rank p is 2 / 2^6
    worse = cell(table, "OA (%)", "worse")
    assert worse.p_value == pytest.approx(2 / 2**6) and worse.significant
    assert not cell(table, "OA (%)", "mixed").significant
    assert cell(table, "OA (%)", "s2former").p_value is None  # the reference is not tested against itself
    assert table.column_label("worse") == "worse†" and "†: uses source-domain labels" in table.caption
    assert "Wilcoxon signed-rank" in table.caption
    # the caption ends by naming the code and the hardware behind the numbers
    fingerprints = ", ".join(f"{m} {code_of(m).digest[:8]}" for m in ("mixed", "s2former", "worse"))
    assert f"Code: git 1a2b3c4d; fingerprints {fingerprints} (shared layers {SHARED_DIGEST[:8]})." in table.caption
    assert table.caption.endswith("Hardware: Test CPU (avx2 fma), 1 thread, torch 2.0.0 [AVX2], cpu, fp32.")


def test_pairs_only_common_seeds(results: Path) -> None:
    next((results / "demo" / "runs").glob("worse-seed1330-*.json")).unlink()
    table, _ = make_table("main", request(results))
    worse = cell(table, "OA (%)", "worse")
    assert worse.count == 5 and worse.mean == pytest.approx(100 * statistics.mean(WORSE[1:]))
    assert worse.p_value == pytest.approx(2 / 2**5) and not worse.significant
    assert "5–6 seeds" in table.caption


def test_different_splits_for_one_seed_are_refused(results: Path) -> None:
    make_record(results, "other", 1330, 0.5, fingerprint="a-different-split")
    with pytest.raises(ReportError, match="different splits"):
        make_table("main", request(results))


def test_several_presets_need_a_choice(results: Path) -> None:
    make_record(results, "s2former", 1330, 0.1, preset="smoke")
    with pytest.raises(ReportError, match="several presets"):
        make_table("main", request(results))
    table, _ = make_table("main", request(results, preset="paper"))
    assert cell(table, "OA (%)", "s2former").mean == pytest.approx(100 * statistics.mean(PROPOSED))


def test_main_table_ignores_failed_changed_and_other_protocol_records(results: Path) -> None:
    make_record(results, "s2former", 1, 0.0, status="failed")
    make_record(results, "s2former", 1330, 0.0, method_overrides={"mask_ratio": "0.9"})
    make_record(results, "s2former", 1330, 0.0, shots=3)
    table, _ = make_table("main", request(results))
    assert cell(table, "OA (%)", "s2former").count == 6


def test_shots_table_rows_are_shot_counts(results: Path) -> None:
    for shots, offset in ((1, -0.2), (3, -0.1)):
        for seed, value in zip(SEEDS, PROPOSED):
            make_record(results, "s2former", seed, value + offset, shots=shots)
    table, written = make_table("shots", request(results, methods=["s2former"]))
    assert [label for label, _ in table.rows] == ["shots = 1", "shots = 3", "shots = 5"]
    assert dict(table.rows)["shots = 1"][0].mean == pytest.approx(100 * (statistics.mean(PROPOSED) - 0.2))
    assert written["md"].name == "shots.md" and written["md"].is_file()


def test_ablation_table_lists_variants_against_the_full_model(results: Path) -> None:
    for seed, value in zip(SEEDS, PROPOSED):
        make_record(results, "s2former-no-fdc", seed, value - 0.02, method_base="s2former")
    table, _ = make_table("ablation", request(results))
    assert [label for label, _ in table.rows] == ["s2former", "s2former-no-fdc"]
    assert table.columns == ["OA (%)", "AA (%)", "κ ×100"]
    variant = dict(table.rows)["s2former-no-fdc"][0]
    assert variant.significant and variant.mean == pytest.approx(100 * (statistics.mean(PROPOSED) - 0.02))


def test_no_matching_records_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no records under"):
        make_table("main", request(tmp_path))


# --- formats ----------------------------------------------------------------------------------------


def unescaped(text: str, character: str) -> int:
    return len(re.findall(rf"(?<!\\){re.escape(character)}", text))


def test_latex_is_a_well_formed_tabular(results: Path, tmp_path: Path) -> None:
    table, _ = make_table("main", request(results))
    latex = to_latex(table)
    assert unescaped(latex, "{") == unescaped(latex, "}")
    body = latex.split(r"\midrule", 1)[1].split(r"\bottomrule")[0]
    header = latex.split(r"\toprule", 1)[1].split(r"\midrule")[0]
    rows = [line for line in (header + body).splitlines() if line.strip() and line.strip() != r"\midrule"]
    assert len(rows) == len(table.rows) + 1
    for row in rows:
        assert row.rstrip().endswith(r"\\")
        assert unescaped(row, "&") == len(table.columns), row  # columns − 1 separators, plus the label column
    assert r"\begin{tabular}{l" + "c" * len(table.columns) + "}" in latex
    assert r"Meadows\_\&\_grass" in latex and r"\textbf{" in latex and r"$^{*}$" in latex
    if shutil.which("pdflatex"):  # compile for real where a TeX installation exists
        document = tmp_path / "table.tex"
        document.write_text("\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n" + latex + "\\end{document}\n")
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", document.name], cwd=tmp_path,
                       check=True, capture_output=True, timeout=120)


def test_markdown_is_a_consistent_pipe_table(results: Path) -> None:
    table, _ = make_table("main", request(results))
    markdown = to_markdown(table)
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(lines) == len(table.rows) + 2
    assert {unescaped(line, "|") for line in lines} == {len(table.columns) + 2}
    assert re.fullmatch(r"\|(:?-+:?\|)+", lines[1].replace(" ", ""))
    assert "**" in markdown and "\\*" in markdown  # bold best, literal significance star
    assert "Table: " in markdown


def test_csv_holds_every_cell_at_full_precision(results: Path) -> None:
    table, _ = make_table("main", request(results))
    rows = list(csv.DictReader(io.StringIO(to_csv(table))))
    assert len(rows) == len(table.rows) * len(table.columns)
    overall = next(r for r in rows if r["Class"] == "OA (%)" and r["column"] == "s2former")
    assert float(overall["mean"]) == pytest.approx(100 * statistics.mean(PROPOSED), abs=1e-9)


def test_table_command_prints_and_writes_every_format(results: Path, capsys) -> None:
    assert main(["table", "main", "--protocol", "demo", "--out", str(results), "--format", "latex"]) == 0
    assert r"\begin{tabular}" in capsys.readouterr().out
    assert all((results / "demo" / f"main.{extension}").is_file() for extension in ("md", "tex", "csv"))


def test_pretraining_on_the_target_scene_is_called_transductive_in_the_caption() -> None:
    from hsibench.report.collect import Group, source_overlaps_target
    from hsibench.report.tables import _caption

    same = {"source": {"scene": "sa_a_corrected", "rows": None, "cols": None},
            "target": {"scene": "sa_a_corrected", "rows": None, "cols": None}}
    halves = {"source": {"scene": "sa_a_corrected", "rows": None, "cols": [43, 86]},
              "target": {"scene": "sa_a_corrected", "rows": None, "cols": [0, 43]}}
    assert source_overlaps_target(same) and not source_overlaps_target(halves)
    assert not source_overlaps_target(protocol_identity(load_protocol("demo")))
    pretrained = Group("s2former", None, {1: trial_record("s2former", 1, same, pretrains=True)})
    supervised = Group("svm", None, {1: trial_record("svm", 1, same, pretrains=False)})
    across = Group("mae", None, {1: trial_record("mae", 1, halves, pretrains=True)})
    assert pretrained.pretrains_on_target and not supervised.pretrains_on_target and not across.pretrains_on_target
    caption = _caption("Main", [pretrained, supervised, across], 1, None, 0.05)
    assert "Transductive self-supervision: s2former pretrained on the target scene's own pixels" in caption
    # the transductive sentence alone (the provenance phrase after it names every method's code)
    sentence = caption[caption.index("Transductive"):caption.index("because this protocol's source is its target.")]
    assert "mae" not in sentence and "Transductive" not in _caption("Main", [across], 1, None, 0.05)
