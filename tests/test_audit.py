"""``hsibench audit``: its plan, its paired statistics, its table and figure, and its records kept out of tables."""

from __future__ import annotations

import csv
import dataclasses
import io
import statistics
from pathlib import Path

import pytest
from scipy.stats import t as student_t
from scipy.stats import wilcoxon
from test_report_tables import make_record, request

from hsibench.audit.effects import habit_effect, method_pairs, single_seed_spread
from hsibench.audit.habits import HABIT_ORDER, REFERENCE, AuditError
from hsibench.audit.plan import plan_audit
from hsibench.audit.table import AuditFindings, audit_csv, audit_table
from hsibench.cli import main
from hsibench.report import make_table, to_latex, to_markdown
from hsibench.runner.plan import TrialSettings
from hsibench.runner.record_schema import SplitSummary, TrialRecord
from hsibench.runner.records import load_records, write_record

SEEDS = [1, 2, 3, 4, 5]


def settings(tmp_path: Path) -> TrialSettings:
    return TrialSettings(out_dir=tmp_path / "audit", cache_dir=tmp_path / "cache", preset="smoke")


# --- the plan --------------------------------------------------------------------------------------


def test_the_plan_is_the_clean_reference_and_one_habit_at_a_time(tmp_path: Path) -> None:
    plan = plan_audit(["ssftt", "svm"], "demo", SEEDS, settings(tmp_path))
    habits = {(g.method, g.habit) for g in plan.groups}
    assert habits == {(m, h) for m in ("ssftt", "svm") for h in (REFERENCE, *HABIT_ORDER) if h != "final_epoch"}
    assert set(plan.not_applicable) == {("ssftt", "final_epoch"), ("svm", "final_epoch")}  # demo: no validation
    reference = plan.group("ssftt", REFERENCE).specs[0].protocol_overrides
    assert reference == {"split_mode": "clean", "normalisation": "train", "spatial_buffer": 6}  # 7×7 patches: 2r = 6
    for group in plan.groups:
        assert [s.seed for s in group.specs] == SEEDS and all(s.audit for s in group.specs)
        changed = {k: v for k, v in group.specs[0].protocol_overrides.items() if reference.get(k) != v}
        assert changed == {"scene_statistics": {"normalisation": "scene"}, "no_buffer": {"spatial_buffer": 0}}.get(
            group.habit, {})
        assert all(s.save_map is False for s in group.specs)
    chain = plan.group("ssftt", "rng_chaining")
    assert chain.chained and all(s.chain_seeds == tuple(SEEDS) for s in chain.specs)
    assert {s.audit for s in plan.group("svm", "test_checkpoint").specs} == {"test_checkpoint"}


def test_final_epoch_is_audited_where_validation_pixels_exist_and_the_method_selects(tmp_path: Path) -> None:
    plan = plan_audit(["ssftt", "svm"], "demo_dev", [11, 12], settings(tmp_path))
    final = plan.group("ssftt", "final_epoch")
    assert final is not None and final.specs[0].method_overrides == {"select_on_validation": False}
    assert plan.group("svm", "final_epoch") is None
    assert "does not select epochs" in plan.not_applicable[("svm", "final_epoch")]


def test_the_plan_refuses_what_the_audit_controls_and_too_few_seeds(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="normalisation"):
        plan_audit(["svm"], "demo", SEEDS, settings(tmp_path), fixed={"normalisation": "scene"})
    with pytest.raises(AuditError, match="at least two"):
        plan_audit(["svm"], "demo", [1], settings(tmp_path))
    plan = plan_audit(["svm"], "demo", SEEDS, settings(tmp_path), fixed={"shots": "3"}, habits=["no_buffer"])
    assert [g.habit for g in plan.groups] == [REFERENCE, "no_buffer"]
    assert all(s.protocol_overrides["shots"] == "3" for s in plan.specs)


# --- the statistics --------------------------------------------------------------------------------------


def record(method: str, seed: int, oa: float, audit: str, digest: str | None = None, excluded: int = 0,
           test: int = 100, detail: dict | None = None) -> TrialRecord:
    return TrialRecord(run_id=f"{method}{audit}{seed}", status="ok", method=method, seed=seed, audit=audit,
                       overall_accuracy=oa, predictions_sha256=digest or f"{method}{audit}{seed}",
                       split=SplitSummary("f", "clean", 5, 10, 0, test, excluded), audit_detail=detail)


def records_of(method: str, audit: str, values: list[float], **fields) -> dict[int, TrialRecord]:
    return {seed: record(method, seed, value, audit, **fields) for seed, value in zip(SEEDS, values)}


REFERENCE_OA = [0.80, 0.84, 0.78, 0.90, 0.82]
HABIT_OA = [0.83, 0.85, 0.80, 0.95, 0.82]


def test_a_habits_effect_is_the_paired_mean_change_its_t_interval_and_the_wilcoxon_p() -> None:
    records = {("m", REFERENCE): records_of("m", REFERENCE, REFERENCE_OA, excluded=40, test=60),
               ("m", "no_buffer"): records_of("m", "no_buffer", HABIT_OA, test=100)}
    effect = habit_effect("m", "no_buffer", records)
    differences = [100 * (b - a) for a, b in zip(REFERENCE_OA, HABIT_OA)]
    half = student_t.ppf(0.975, 4) * statistics.stdev(differences) / 5 ** 0.5
    assert effect.change == pytest.approx(statistics.mean(differences))
    assert effect.interval == pytest.approx((effect.change - half, effect.change + half))
    assert effect.p_value == pytest.approx(wilcoxon([d for d in differences if abs(d) > 1e-9]).pvalue)
    assert effect.reference.mean == pytest.approx(100 * statistics.mean(REFERENCE_OA))
    assert "removes 40 of 100 test pixels" in effect.detail
    missing = {("m", REFERENCE): records[("m", REFERENCE)], ("m", "no_buffer"): {1: records[("m", "no_buffer")][1]}}
    assert habit_effect("m", "no_buffer", missing) is None  # one paired seed: nothing to say


def test_identical_predictions_and_methods_without_checkpoints_are_said_plainly() -> None:
    same = {("svm", REFERENCE): records_of("svm", REFERENCE, REFERENCE_OA, digest="d"),
            ("svm", "rng_chaining"): records_of("svm", "rng_chaining", REFERENCE_OA, digest="d"),
            ("svm", "test_checkpoint"): records_of("svm", "test_checkpoint", REFERENCE_OA, digest="d",
                                                    detail={"checkpoints": [], "chosen_epoch": None})}
    chained = habit_effect("svm", "rng_chaining", same)
    assert chained.change == 0 and chained.p_value == 1.0 and "identical predictions" in chained.detail
    assert "no checkpoints" in habit_effect("svm", "test_checkpoint", same).detail


def test_single_seed_spread_and_the_chance_of_a_one_point_gain_between_equal_methods() -> None:
    records = {("m", REFERENCE): records_of("m", REFERENCE, [0.800, 0.805, 0.830, 0.790, 0.801])}
    spread = single_seed_spread("m", records)
    values = [80.0, 80.5, 83.0, 79.0, 80.1]
    pairs = [(a, b) for i, a in enumerate(values) for j, b in enumerate(values) if i != j]
    assert spread.seed_pairs == 20
    assert spread.equal_methods_chance == pytest.approx(sum(abs(a - b) >= 1 for a, b in pairs) / 20)
    assert spread.lowest == (4, pytest.approx(79.0)) and spread.highest == (3, pytest.approx(83.0))


def test_method_pairs_say_when_single_seeds_show_a_gain_the_seeds_do_not() -> None:
    records = {("a", REFERENCE): records_of("a", REFERENCE, [0.80, 0.82, 0.78, 0.85, 0.81]),
               ("b", REFERENCE): records_of("b", REFERENCE, [0.82, 0.80, 0.80, 0.83, 0.81])}
    pair = method_pairs(["a", "b"], records)[0]
    assert (pair.first, pair.second) == ("a", "b") and not pair.differ
    assert pair.single_seed_chance == pytest.approx(4 / 5)  # |Δ| = 2, 2, 2, 2, 0 points


def test_the_table_renders_words_and_numbers_in_every_format() -> None:
    records = {("m", REFERENCE): records_of("m", REFERENCE, REFERENCE_OA),
               ("m", "scene_statistics"): records_of("m", "scene_statistics", HABIT_OA)}
    effect = habit_effect("m", "scene_statistics", records)
    findings = AuditFindings("demo", "Clean reference: …", [effect], [single_seed_spread("m", records)], [], {},
                             [r for by_seed in records.values() for r in by_seed.values()])
    table = audit_table(findings)
    markdown, latex = to_markdown(table), to_latex(table)
    assert "m: scene-wide statistics" in markdown and f"{effect.change:+.2f}" in markdown
    assert r"\label{tab:audit}" in latex and "±" not in latex and "−" not in latex
    rows = list(csv.DictReader(io.StringIO(audit_csv(findings))))
    assert [row["habit"] for row in rows] == ["scene_statistics", "one_seed"]
    assert float(rows[0]["change"]) == effect.change  # full precision


# --- records stay out of the tables of methods ----------------------------------------------------------------


def test_audit_records_never_enter_a_table_of_methods(tmp_path: Path) -> None:
    for seed in (1330, 1220, 1336):
        make_record(tmp_path, "s2former", seed, 0.80)
        ordinary = make_record(tmp_path, "svm", seed, 0.70)
        audited = dataclasses.replace(ordinary, run_id=ordinary.run_id + "a", audit="test_checkpoint",
                                      overall_accuracy=0.99)
        write_record(tmp_path / "demo" / "runs" / f"{audited.name}.json", audited)
    assert sum(r.audit is not None for r in load_records(tmp_path, "demo")) == 3
    table, _ = make_table("main", request(tmp_path))
    svm = dict(table.rows)["OA (%)"][table.columns.index("svm")]
    assert svm.mean == pytest.approx(70.0) and svm.count == 3


# --- the command ----------------------------------------------------------------------------------------


def test_the_command_writes_its_table_and_figure_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["audit", "demo", "--method", "svm", "--method", "ssftt", "--seeds", "1330,1220", "--executor", "local",
            "--out", str(tmp_path)]
    assert main(argv) == 0
    folder = tmp_path / "audit" / "demo"
    written = {path.name for path in [*folder.glob("audit.*"), *(folder / "figures").glob("audit.*")]}
    assert written == {"audit.md", "audit.tex", "audit.csv", "audit.png", "audit.pdf"}
    markdown = (folder / "audit.md").read_text()
    for row in ("ssftt: test-set checkpoint selection", "svm: no spatial buffer", "ssftt: RNG chaining",
                "ssftt: one seed instead of 2", "ssftt − svm: one seed"):
        assert row in markdown
    records = load_records(tmp_path / "audit", "demo")
    assert len(records) == 20 and all(r.ok and r.audit for r in records)
    assert not (tmp_path / "demo").exists()  # nothing in the folder of ordinary records
    capsys.readouterr()
    assert main(argv) == 0
    assert "0 trial(s) ran, 20 skipped" in capsys.readouterr().err
    assert (folder / "audit.md").read_text() == markdown
    assert main(["audit", "demo", "--method", "svm", "--habits", "no_such", "--out", str(tmp_path)]) == 1
