"""Tables from hand-written fixture records: numbers against hand computation, marks, selection, formats."""

from __future__ import annotations

import csv
import dataclasses
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
from hsibench.report.collect import Group
from hsibench.report.multiple_testing import holm_adjust
from hsibench.report.statistics import PAIRED_TEST, paired_wilcoxon
from hsibench.runner import protocol_identity
from hsibench.runner.record_schema import ClassScore, CodeProvenance, ErrorDetail, SplitSummary, TrialRecord
from hsibench.runner.records import write_record

CLASSES = {1: "Asphalt", 2: "Meadows_&_grass"}  # `&` and `_` exercise the LaTeX escaping
SEEDS = [1330, 1220, 1336, 1337, 1224, 1236, 1226, 1235, 1233, 1229]  # the ten published seeds


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
                       machine=fields.pop("machine", MACHINE), **fields)


def make_record(root: Path, method: str, seed: int, overall: float, per_class: dict[int, float] | None = None,
                *, fingerprint: str | None = None, preset: str = "paper", uses_source_labels: bool = False,
                method_base: str | None = None, shots: int | None = None, method_overrides: dict | None = None,
                status: str = "ok", map_file: str | None = None, config: dict | None = None,
                precision: str = "fp32") -> TrialRecord:
    """A record as the runner writes it (schema-2 JSON), with chosen numbers (AA and κ derived from OA so each is
    distinct)."""
    protocol = protocol_identity(load_protocol("demo"))
    if shots is not None:
        protocol["shots"] = shots
    per_class = per_class or {1: overall, 2: overall}
    identity = f"{method}-{seed}-{shots}-{preset}-{sorted((method_overrides or {}).items())}-{precision}"
    record = trial_record(
        method, seed, protocol, run_id=hashlib.sha256(identity.encode()).hexdigest()[:16], status=status,
        method_base=method_base, preset=preset, uses_source_labels=uses_source_labels, family="test",
        protocol_name="demo", method_overrides=method_overrides or {}, config=config or {"width": 8},
        overall_accuracy=overall, average_accuracy=overall - 0.01, kappa=overall - 0.05,
        per_class=tuple(ClassScore(c, CLASSES[c], a, 10, 5) for c, a in per_class.items()),
        split=SplitSummary(fingerprint or f"split-{seed}-{shots}", protocol["split_mode"], protocol["shots"], 10, 0, 20),
        timings={"total_s": 1.0}, finished_at=f"2026-01-01T00:00:{seed % 60:02d}+00:00", map_file=map_file,
        error=ErrorDetail("RuntimeError", "deliberate") if status == "failed" else None,
        machine=dataclasses.replace(MACHINE, precision=precision),
    )
    record.path = write_record(root / "demo" / "runs" / f"{record.name}.json", record)
    return record


# per seed OA of three methods: "worse" is 5 points below s2former on every seed; "mixed" is not consistently different
PROPOSED = [0.80, 0.82, 0.78, 0.85, 0.81, 0.79, 0.83, 0.80, 0.84, 0.77]
WORSE = [value - 0.05 for value in PROPOSED]
MIXED = [0.82, 0.80, 0.80, 0.84, 0.79, 0.78, 0.84, 0.79, 0.83, 0.78]
MAIN_TESTS = 10  # the main table's family: worse and mixed, each tested on two classes and OA, AA, κ


def one_sided_run_p(pairs: int) -> float:
    """The exact two-sided signed-rank p of ``pairs`` differences all of one sign: the smallest there is."""
    return 2 / 2**pairs


def write_results(root: Path, seeds: list[int]) -> Path:
    """s2former, worse and mixed on ``seeds``. s2former's classes are 5 points above and below its OA, so worse (and
    mixed) differ from it on every seed of Asphalt; worse ties it exactly on Meadows (all differences zero)."""
    for seed, proposed, worse, mixed in zip(seeds, PROPOSED, WORSE, MIXED):
        make_record(root, "s2former", seed, proposed, {1: proposed + 0.05, 2: proposed - 0.05})
        make_record(root, "worse", seed, worse, uses_source_labels=True)
        make_record(root, "mixed", seed, mixed)
    return root


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return write_results(tmp_path, SEEDS)


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
        assert overall.count == len(SEEDS)
        assert cell(table, "κ ×100", method).mean == pytest.approx(100 * (statistics.mean(values) - 0.05))
    assert cell(table, "Asphalt", "s2former").mean == pytest.approx(100 * (statistics.mean(PROPOSED) + 0.05))
    assert f"{std} standard deviation (ddof = {ddof})" in table.caption


def test_best_in_bold_significance_and_source_label_marks(results: Path) -> None:
    table, _ = make_table("main", request(results))
    assert cell(table, "OA (%)", "s2former").bold and not cell(table, "OA (%)", "worse").bold
    assert cell(table, "Meadows_&_grass", "mixed").bold  # mixed beats s2former's weaker class
    # ten seeds all in one direction: the exact two-sided signed-rank p is 2 / 2^10; six cells of the ten share it
    # (worse: Asphalt, OA, AA, κ; mixed: both classes), so Holm multiplies it by 10 for all six
    worse = cell(table, "OA (%)", "worse")
    assert worse.p_unadjusted == pytest.approx(one_sided_run_p(10))
    assert worse.p_value == pytest.approx(MAIN_TESTS * one_sided_run_p(10)) and worse.significant
    assert not cell(table, "OA (%)", "mixed").significant
    assert cell(table, "Meadows_&_grass", "worse").p_value == 1.0  # a tie on every seed
    assert not cell(table, "Meadows_&_grass", "worse").significant
    reference = cell(table, "OA (%)", "s2former")  # the reference is not tested against itself
    assert reference.p_value is None and reference.p_unadjusted is None
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
    assert worse.count == 9 and worse.mean == pytest.approx(100 * statistics.mean(WORSE[1:]))
    assert worse.p_unadjusted == pytest.approx(one_sided_run_p(9))  # nine pairs, not ten
    # mixed's two class cells (2 / 2^10) rank first, so worse's four tests at 2 / 2^9 get Holm's factor 10 − 2
    assert worse.p_value == pytest.approx((MAIN_TESTS - 2) * one_sided_run_p(9)) and worse.significant
    assert "9–10 seeds" in table.caption


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


def test_several_precisions_need_a_choice_and_the_choice_selects_their_records(results: Path) -> None:
    make_record(results, "s2former", 1330, 0.1, precision="bf16")  # the same seed again, another trial
    with pytest.raises(ReportError, match=r"s2former has records of several precisions \['bf16', 'fp32'\].*--precision"):
        make_table("main", request(results))
    table, _ = make_table("main", request(results, precision="fp32"))
    assert cell(table, "OA (%)", "s2former").mean == pytest.approx(100 * statistics.mean(PROPOSED))
    table, _ = make_table("main", request(results, precision="bf16", methods=["s2former"]))
    assert cell(table, "OA (%)", "s2former").mean == pytest.approx(10.0) and cell(table, "OA (%)", "s2former").count == 1


def test_main_table_ignores_failed_changed_and_other_protocol_records(results: Path) -> None:
    make_record(results, "s2former", 1, 0.0, status="failed")
    make_record(results, "s2former", 1330, 0.0, method_overrides={"mask_ratio": "0.9"})
    make_record(results, "s2former", 1330, 0.0, shots=3)
    table, _ = make_table("main", request(results))
    assert cell(table, "OA (%)", "s2former").count == len(SEEDS)


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
    assert variant.mean == pytest.approx(100 * (statistics.mean(PROPOSED) - 0.02))
    # 2 points below on all ten seeds, in each of the three columns: Holm's factor is 3
    assert variant.p_value == pytest.approx(3 * one_sided_run_p(10)) and variant.significant
    assert "Holm–Bonferroni over the 3 paired tests of this table" in table.caption


def test_no_matching_records_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no records under"):
        make_table("main", request(tmp_path))


# --- multiple testing -------------------------------------------------------------------------------


def family_of(table) -> list:
    return [c for _, cells in table.rows for c in cells if c.p_unadjusted is not None]


def test_adjusted_p_is_holm_over_every_test_of_the_table(results: Path) -> None:
    table, _ = make_table("main", request(results))
    family = family_of(table)
    assert len(family) == MAIN_TESTS
    assert [c.p_value for c in family] == pytest.approx(holm_adjust([c.p_unadjusted for c in family]))
    assert all(c.significant == (c.p_value < 0.05) for c in family)
    untested = [c for _, cells in table.rows for c in cells if c.p_unadjusted is None]
    assert untested and all(c.p_value is None and not c.significant for c in untested)
    # the unadjusted p is the paired test's own
    by_seed = {seed: 100 * value for seed, value in zip(SEEDS, PROPOSED)}
    mixed = {seed: 100 * value for seed, value in zip(SEEDS, MIXED)}
    assert cell(table, "OA (%)", "mixed").p_unadjusted == paired_wilcoxon(by_seed, mixed)[0]
    assert (f"*: differs from S²Former at Holm-adjusted p < 0.05 ({PAIRED_TEST}; "
            f"Holm–Bonferroni over the {MAIN_TESTS} paired tests of this table).") in table.caption
    assert PAIRED_TEST.startswith("two-sided Wilcoxon signed-rank test on per-seed values, paired by seed")
    assert "no difference can reach" not in table.caption


def test_a_star_before_the_adjustment_is_gone_after_it(tmp_path: Path) -> None:
    table, _ = make_table("main", request(write_results(tmp_path, SEEDS[:6])))
    worse = cell(table, "OA (%)", "worse")
    assert worse.p_unadjusted == pytest.approx(one_sided_run_p(6)) and worse.p_unadjusted < 0.05  # a star, unadjusted
    assert worse.p_value == pytest.approx(MAIN_TESTS * one_sided_run_p(6)) and not worse.significant
    assert not any(c.significant for c in family_of(table))
    assert f"With at most 6 paired seeds and {MAIN_TESTS} tests no difference can reach adjusted p < 0.05." in table.caption
    assert r"$^{*}$" not in to_latex(table)


def test_a_sweep_table_is_one_family_across_its_rows(results: Path) -> None:
    for shots, offset in ((1, -0.2), (3, -0.1)):
        for seed, value in zip(SEEDS, PROPOSED):
            make_record(results, "s2former", seed, value + offset, shots=shots)
            make_record(results, "worse", seed, value + offset - 0.05, shots=shots, uses_source_labels=True)
    table, _ = make_table("shots", request(results, methods=["s2former", "worse", "mixed"]))
    family = family_of(table)
    assert len(family) == 4  # worse at every k, mixed at k = 5 only
    assert [c.p_value for c in family] == pytest.approx(holm_adjust([c.p_unadjusted for c in family]))
    # alone in its row, worse at k = 1 is still adjusted over the table: its p ranks among the three smallest of four
    assert dict(table.rows)["shots = 1"][1].p_value == pytest.approx(4 * one_sided_run_p(10))
    assert "Holm–Bonferroni over the 4 paired tests of this table" in table.caption


def test_a_table_without_a_paired_test_says_so(results: Path) -> None:
    make_record(results, "lonely", 1330, 0.5)  # one seed: nothing to pair
    table, _ = make_table("main", request(results, methods=["s2former", "lonely"]))
    assert not family_of(table)
    assert "No significance test (no method shares two seeds with S²Former here)." in table.caption
    assert "Holm" not in table.caption


def test_daft_on_unlabeled_target_pixels_is_called_transductive_in_the_caption() -> None:
    from hsibench.report.tables import _caption

    protocol = protocol_identity(load_protocol("demo"))

    def group(method: str, config: dict) -> Group:
        return Group(method, None, {1: trial_record(method, 1, protocol, config=config)})

    transductive = group("s2former-daft-unlabeled", {"daft": True, "daft_unlabeled": True})
    inductive = group("s2former", {"daft": True, "daft_unlabeled": False})
    switched_off = group("s2former-no-daft", {"daft": False, "daft_unlabeled": True})  # the flag acts only with DAFT
    caption = _caption("Ablation", [inductive, transductive, switched_off], 1, None, 0.05, tests=0)
    start = caption.index("Transductive fine-tuning: ")
    sentence = caption[start:caption.index("(never their labels).", start)]
    assert sentence.startswith("Transductive fine-tuning: S²Former (daft-unlabeled) ran with daft_unlabeled = True")
    assert "unlabeled target pixels" in sentence and "test pixels' spectra" in sentence
    assert "no-daft" not in sentence
    assert "Transductive" not in _caption("Ablation", [inductive, switched_off], 1, None, 0.05, tests=0)


def test_an_ablation_with_daft_unlabeled_runs_says_they_are_transductive(results: Path) -> None:
    for seed, value in zip(SEEDS, PROPOSED):
        make_record(results, "s2former-daft-unlabeled", seed, value, method_base="s2former",
                    config={"width": 8, "daft_unlabeled": True})
    ablation, _ = make_table("ablation", request(results))
    assert "Transductive fine-tuning: S²Former (daft-unlabeled) ran with daft_unlabeled = True" in ablation.caption
    main, _ = make_table("main", request(results, methods=["s2former", "worse", "mixed"]))
    assert "Transductive" not in main.caption


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
    assert r"Meadows \& grass" in latex and r"\textbf{" in latex and r"$^{*}$" in latex
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
    overall = next(r for r in rows if r["Class"] == "OA (%)" and r["column_key"] == "s2former")
    assert overall["column"] == "S²Former"  # the header shown; column_key is the registry name
    assert float(overall["mean"]) == pytest.approx(100 * statistics.mean(PROPOSED), abs=1e-9)
    assert overall["p_value"] == overall["p_unadjusted"] == ""  # the reference has no test
    header = next(csv.reader(io.StringIO(to_csv(table))))
    assert header[header.index("p_value") + 1] == "p_unadjusted"
    worse = next(r for r in rows if r["Class"] == "OA (%)" and r["column_key"] == "worse")
    assert float(worse["p_value"]) == cell(table, "OA (%)", "worse").p_value
    assert float(worse["p_unadjusted"]) == cell(table, "OA (%)", "worse").p_unadjusted
    assert float(worse["p_unadjusted"]) < float(worse["p_value"])


def test_table_command_writes_every_format_only_when_asked(results: Path, tmp_path: Path, capsys) -> None:
    argv = ["table", "main", "--protocol", "demo", "--out", str(results), "--format", "latex"]
    assert main(argv + ["--write"]) == 0
    assert r"\begin{tabular}" in capsys.readouterr().out
    written = {extension: results / "demo" / f"main.{extension}" for extension in ("md", "tex", "csv")}
    assert all(path.is_file() for path in written.values())
    assert main(argv + ["--to", str(tmp_path / "paper")]) == 0
    assert sorted(p.name for p in (tmp_path / "paper").iterdir()) == ["main.csv", "main.md", "main.tex"]
    assert (tmp_path / "paper" / "main.tex").read_text() == written["tex"].read_text()


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
    caption = _caption("Main", [pretrained, supervised, across], 1, None, 0.05, tests=0)
    assert "Transductive self-supervision: S²Former pretrained on the target scene's own pixels" in caption
    # the transductive sentence alone (the provenance phrase after it names every method's code)
    sentence = caption[caption.index("Transductive"):caption.index("because this protocol's source is its target.")]
    assert "MAE" not in sentence and "Transductive" not in _caption("Main", [across], 1, None, 0.05, tests=0)


def test_a_single_metric_ablation_is_its_own_family_and_file(tmp_path) -> None:
    """`table ablation --metric OA`: one column, Holm over the OA tests only, written as ablation-OA.*"""
    from conftest import REPO_ROOT

    from hsibench.cli import main as cli_main

    results = REPO_ROOT / "results"
    assert cli_main(["table", "ablation", "--protocol", "demo", "--out", str(results), "--to", str(tmp_path / "all")]) == 0
    assert cli_main(["table", "ablation", "--protocol", "demo", "--out", str(results), "--metric", "OA",
                     "--to", str(tmp_path / "oa")]) == 0
    full = (tmp_path / "all" / "ablation.csv").read_text()
    single = (tmp_path / "oa" / "ablation-OA.csv").read_text()
    assert "AA (%)" in full and "AA (%)" not in single and "OA (%)" in single
    import csv
    import io

    def tested(text: str) -> list[dict]:
        return [row for row in csv.DictReader(io.StringIO(text)) if row["p_unadjusted"]]

    assert len(tested(single)) == 11 and len(tested(full)) == 33  # eleven variants against the full model
    assert "over the 11 paired tests" in (tmp_path / "oa" / "ablation-OA.md").read_text()


def test_a_single_metric_main_table_tests_only_that_row(tmp_path) -> None:
    from conftest import REPO_ROOT

    from hsibench.cli import main as cli_main

    assert cli_main(["table", "main", "--protocol", "demo", "--out", str(REPO_ROOT / "results"), "--metric", "OA",
                     "--to", str(tmp_path)]) == 0
    text = (tmp_path / "main-OA.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert len(rows) == 3 and rows[2].startswith("| OA (%)")  # header, rule and the OA row: no class rows
    assert "over the 6 paired tests" in text  # six baselines against S²Former
