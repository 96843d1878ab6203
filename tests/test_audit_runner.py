"""The audit's runner-level habits: test-pixel checkpoint selection exists only for audit trials, RNG chains.

The test-checkpoint habit keeps the checkpoint with the best test OA, as the field's published code does; the
suite must make that impossible everywhere but inside ``hsibench audit``. These tests prove it three ways: the
probe is what selects (the kept OA is the best checked one), an ordinary trial never gets a probe (a spy), and
no module outside the audit and the runner's one switch can name the habit or hand a probe over (the source).
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from hsibench.methods.training import numpy_only_seeding, numpy_only_seeding_active, seed_everything
from hsibench.methods.validation import CheckpointProbe, validation_selection
from hsibench.protocol import build_task, load_protocol, make_split
from hsibench.runner import TrialSpec, plan_trials, resolve, run_trial
from hsibench.runner.audit_modes import RNG_CHAINING, TEST_CHECKPOINT, AuditModeError
from hsibench.runner.chain import run_chained
from hsibench.runner.plan import TrialSettings
from hsibench.runner.records import read_record
from hsibench.runner.trial import record_path

REPO = Path(__file__).resolve().parents[1]
SEEDS = (1330, 1220, 1336)


def spec(tmp_path: Path, method: str = "ssftt", seed: int = 1330, **changes) -> TrialSpec:
    values = {"method": method, "protocol": "demo", "seed": seed, "preset": "smoke", "out_dir": str(tmp_path / "out"),
              "cache_dir": str(tmp_path / "cache")}
    return TrialSpec(**{**values, **changes})


# --- the probe ------------------------------------------------------------------------------------


def test_the_probe_checks_after_the_first_epoch_and_every_tenth_like_the_published_code() -> None:
    task = build_task(load_protocol("demo"), make_split(load_protocol("demo"), 1330))
    probe = CheckpointProbe(np.zeros((4, 2), np.int64), lambda predicted: 0.5)
    model = torch.nn.Linear(1, 1)
    selection = validation_selection(task, model, lambda coords: np.zeros(len(coords)), False, 7, 100, probe=probe)
    assert selection is not None  # the probe selects even where validation selection is off
    checked = [epoch for epoch in range(1, 101) if selection.after_epoch(epoch)]
    assert checked == [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]  # DCFSL: episode 0, then every 1,000 of 10,000
    assert probe.history == [(epoch, 0.5) for epoch in checked]
    assert validation_selection(task, model, lambda coords: coords, True, 7, 100) is None  # no validation pixels


def test_a_test_checkpoint_trial_keeps_its_best_checked_test_accuracy(tmp_path: Path) -> None:
    record = run_trial(spec(tmp_path, audit=TEST_CHECKPOINT))
    checks = record.audit_detail["checkpoints"]
    assert record.audit == TEST_CHECKPOINT and len(checks) == 11
    best_epoch, best = max(checks, key=lambda item: (item[1], -item[0]))
    assert record.audit_detail["chosen_epoch"] == best_epoch
    assert record.overall_accuracy == pytest.approx(best)  # the restored state is the best checked one
    ordinary = run_trial(spec(tmp_path))
    assert ordinary.audit is None and ordinary.audit_detail is None
    assert ordinary.overall_accuracy == pytest.approx(checks[-1][1])  # the same training, its last epoch kept
    assert record.run_id != ordinary.run_id and record.name.startswith("ssftt-test_checkpoint-seed1330-")


def test_an_ordinary_trial_never_gets_a_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("an ordinary trial built a test-pixel probe")

    monkeypatch.setattr("hsibench.runner.trial.test_checkpoint_probe", refuse)
    monkeypatch.setattr(CheckpointProbe, "selection", refuse)
    for method in ("ssftt", "svm"):
        assert run_trial(spec(tmp_path, method=method)).ok
    settings = TrialSettings(out_dir=tmp_path / "out", cache_dir=tmp_path / "cache", preset="smoke")
    assert all(s.audit is None and s.chain_seeds == () for s in plan_trials(["ssftt", "svm"], "demo", list(SEEDS),
                                                                            settings, grid={"shots": [3, 5]}))


def _names_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.alias) and getattr(node, "id", getattr(node, "name", None)):
            found.add(getattr(node, "id", None) or node.name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
        elif isinstance(node, ast.keyword) and node.arg:
            found.add(f"keyword:{node.arg}")
        elif isinstance(node, ast.Attribute):
            found.add(f"attribute:{node.attr}")
    return found


def _hands_over_a_probe(path: Path) -> bool:
    """Assigns ``….checkpoint_probe = …`` or builds a context with ``checkpoint_probe=…``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "checkpoint_probe" for t in targets):
                return True
        if isinstance(node, ast.keyword) and node.arg == "checkpoint_probe":
            return True
    return False


def test_only_the_audit_and_the_runners_switch_can_select_on_test_pixels() -> None:
    """Naming the habit, building a probe, handing one to a method or marking a trial as an audit's: nowhere else."""
    allowed = {"hsibench/runner/audit_modes.py", "hsibench/runner/trial.py", "methods/validation.py",
               "methods/base.py"}
    markers = {TEST_CHECKPOINT, "TEST_CHECKPOINT", "test_checkpoint_probe", "CheckpointProbe"}
    offenders = []
    for path in sorted([*REPO.glob("hsibench/**/*.py"), *REPO.glob("methods/**/*.py")]):
        relative = path.relative_to(REPO).as_posix()
        in_audit = relative.startswith("hsibench/audit/")
        names = _names_in(path)
        if not in_audit and relative not in allowed and names & markers:
            offenders.append(f"{relative} names {sorted(names & markers)}")
        if relative != "hsibench/runner/trial.py" and _hands_over_a_probe(path):
            offenders.append(f"{relative} hands a checkpoint probe to a method")
        if not in_audit and relative != "hsibench/runner/trial.py" and "keyword:audit" in names:
            offenders.append(f"{relative} marks a trial as an audit's (audit=…)")
    assert offenders == []


# --- RNG chaining -------------------------------------------------------------------------------------


def test_numpy_only_seeding_leaves_torch_and_python_alone() -> None:
    seed_everything(5)
    expected = torch.rand(3)
    seed_everything(5)
    with numpy_only_seeding():
        assert numpy_only_seeding_active()
        seed_everything(99)
        assert np.random.get_state()[1][0] == np.random.RandomState(99).get_state()[1][0]
        assert torch.equal(torch.rand(3), expected)  # torch's stream went on, not reseeded by 99
    assert not numpy_only_seeding_active()


def _chain(tmp_path: Path, method: str, seeds=SEEDS, folder: str = "out") -> list:
    trials = [resolve(spec(tmp_path, method=method, seed=seed, audit=RNG_CHAINING, chain_seeds=tuple(seeds),
                           out_dir=str(tmp_path / folder))) for seed in seeds]
    return run_chained(trials)


def test_a_chained_trial_runs_only_inside_its_chain(tmp_path: Path) -> None:
    with pytest.raises(AuditModeError, match="only inside its chain"):
        run_trial(spec(tmp_path, audit=RNG_CHAINING, chain_seeds=SEEDS))
    with pytest.raises(AuditModeError, match="chain_seeds"):
        resolve(spec(tmp_path, audit=RNG_CHAINING))
    with pytest.raises(AuditModeError, match="chain_seeds"):
        resolve(spec(tmp_path, chain_seeds=SEEDS))
    trials = [resolve(spec(tmp_path, seed=seed, audit=RNG_CHAINING, chain_seeds=SEEDS)) for seed in reversed(SEEDS)]
    with pytest.raises(AuditModeError, match="order"):
        run_chained(trials)


def test_a_chain_is_repeatable_and_moves_only_what_reads_the_global_generators(tmp_path: Path) -> None:
    first, again = _chain(tmp_path, "ssftt", folder="a"), _chain(tmp_path, "ssftt", folder="b")
    assert [r.predictions_sha256 for r in first] == [r.predictions_sha256 for r in again]
    seeded = [run_trial(spec(tmp_path, seed=seed)) for seed in SEEDS]
    assert [r.predictions_sha256 for r in first] != [r.predictions_sha256 for r in seeded]  # initialisation moved
    # an SVM draws only from NumPy, which the chain reseeds: its chain predicts what per-run seeding does
    svm = _chain(tmp_path, "svm", folder="c")
    assert [r.predictions_sha256 for r in svm] == [run_trial(spec(tmp_path, "svm", s)).predictions_sha256 for s in SEEDS]
    assert all(read_record(record_path(resolve(dataclasses.replace(
        r_spec, out_dir=str(tmp_path / "c"))))).audit == RNG_CHAINING for r_spec in
        [spec(tmp_path, "svm", s, audit=RNG_CHAINING, chain_seeds=SEEDS) for s in SEEDS])


def test_the_chain_is_part_of_the_run_id(tmp_path: Path) -> None:
    one = resolve(spec(tmp_path, seed=1220, audit=RNG_CHAINING, chain_seeds=(1330, 1220)))
    other = resolve(spec(tmp_path, seed=1220, audit=RNG_CHAINING, chain_seeds=(1220, 1330)))
    plain = resolve(spec(tmp_path, seed=1220))
    assert len({one.run_id, other.run_id, plain.run_id}) == 3
