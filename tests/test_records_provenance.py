"""Records know their code and their machine: typed schema, code fingerprints, stale reruns, mixed-code refusal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from hsibench.provenance import code_fingerprint
from hsibench.provenance.machine import MachineInfo, cpu_description, describe_machine
from hsibench.report.provenance import MixedCodeError, check_single_code, code_status, hardware_phrase
from hsibench.runner.record_schema import RECORD_SCHEMA, CodeProvenance, RecordError, TrialRecord
from hsibench.runner.records import read_record, supersede, write_record

DEMO_RECORDS = sorted((REPO_ROOT / "results" / "demo" / "runs").glob("*.json"))


def machine(cpu: str = "AMD EPYC", threads: int = 1) -> MachineInfo:
    return MachineInfo(cpu, ("avx2", "fma"), 2, threads, "2.14.1", "AVX2", None, "cpu", None, "fp32")


def ok_record(method: str = "svm", seed: int = 1330, digest: str | None = "a" * 16, shared: str = "s" * 16,
              cpu: str = "AMD EPYC") -> TrialRecord:
    return TrialRecord(run_id=f"{method}{seed}", status="ok", method=method, seed=seed, preset="smoke",
                       code=CodeProvenance(digest, shared, "hsibench.methods.svm"), machine=machine(cpu),
                       overall_accuracy=0.8, average_accuracy=0.7, kappa=0.6, protocol={"shots": 5}, config={})


# --- the schema ---------------------------------------------------------------------------------------------
def test_a_record_round_trips_through_json(tmp_path: Path) -> None:
    record = ok_record()
    path = write_record(tmp_path / "runs" / f"{record.name}.json", record)
    again = read_record(path, strict=True)
    assert again.to_dict() == record.to_dict() and again.path == path
    assert json.loads(path.read_text())["schema"] == RECORD_SCHEMA


def test_a_record_missing_a_field_names_the_file_and_the_field(tmp_path: Path) -> None:
    data = ok_record().to_dict()
    del data["preset"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError, match=r"broken\.json.*lacks field\(s\) preset"):
        read_record(path, strict=True)
    assert read_record(path) is None  # lenient readers skip it (with a warning naming it)


def test_an_unknown_schema_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "future.json"
    path.write_text(json.dumps({**ok_record().to_dict(), "schema": 99}))
    with pytest.raises(RecordError, match="schema 99.*upgrade hsibench or rerun"):
        read_record(path, strict=True)


@pytest.mark.skipif(not DEMO_RECORDS, reason="no committed demo records")
def test_schema_1_records_read_with_their_code_unrecorded(tmp_path: Path) -> None:
    legacy = {**json.loads(DEMO_RECORDS[0].read_text()), "schema": 1}
    legacy.pop("code", None)
    legacy.pop("machine", None)
    path = tmp_path / "legacy.json"
    path.write_text(json.dumps(legacy))
    record = read_record(path, strict=True)
    assert record.schema == 1 and not record.code.recorded and code_status(record) == "unrecorded"
    assert record.machine is not None and record.machine.cpu_model is None


# --- code fingerprints --------------------------------------------------------------------------------------
def test_the_fingerprint_covers_the_method_its_shared_blocks_and_the_layers_below() -> None:
    files = code_fingerprint("hsibench.methods.s2former.method").files
    assert {"hsibench/methods/s2former/model.py", "hsibench/methods/s2former/daft.py", "hsibench/methods/base.py",
            "hsibench/protocol/split.py", "hsibench/data/scene.py", "hsibench/runner/metrics.py"} <= set(files)
    assert "hsibench/methods/svm.py" not in files and "hsibench/methods/catalog.py" not in files
    svm = code_fingerprint("hsibench.methods.svm")
    assert not any("s2former" in name for name in svm.files)
    assert svm.shared_digest == code_fingerprint("hsibench.methods.s2former.method").shared_digest
    assert svm.digest != code_fingerprint("hsibench.methods.s2former.method").digest


def test_a_pretraining_fingerprint_leaves_out_the_scoring_code() -> None:
    with_scoring = code_fingerprint("hsibench.methods.mae").files
    without = code_fingerprint("hsibench.methods.mae", scoring=False).files
    assert "hsibench/runner/trial.py" in with_scoring and "hsibench/runner/trial.py" not in without


def copy_of_the_package(root: Path) -> Path:
    """A checkout-like copy (hsibench/, methods/, protocols/, pyproject.toml) whose code a test may change."""
    for folder in ("hsibench", "methods", "protocols"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def hsibench_in(copy: Path, *argv: str) -> subprocess.CompletedProcess:
    """Run the CLI of the copy (its folder first on sys.path, as `python -m` at a checkout's root)."""
    code = "import sys; from hsibench.cli import main; sys.exit(main(sys.argv[1:]))"
    environment = {**os.environ, "PYTHONPATH": str(copy), "CI": "true"}
    return subprocess.run([sys.executable, "-c", code, *argv], cwd=copy, capture_output=True, text=True,
                          env=environment, timeout=300)


@pytest.mark.slow
def test_changed_method_code_reruns_its_trial_and_keeps_the_old_record(tmp_path: Path) -> None:
    copy = copy_of_the_package(tmp_path / "checkout")
    out = tmp_path / "out"
    run = ["run", "--method", "svm", "--protocol", "demo", "--executor", "local", "--seeds", "1330", "--no-maps",
           "--out", str(out)]
    first = hsibench_in(copy, *run)
    assert first.returncode == 0, first.stderr
    (path,) = (out / "demo" / "runs").glob("svm-seed1330-*.json")
    before = json.loads(path.read_text())
    assert before["code"]["digest"] and "hsibench/methods/svm.py" in before["code"]["files"]

    again = hsibench_in(copy, *run)
    assert "1 skipped" in again.stdout and not (out / "demo" / "superseded").exists()

    svm = copy / "methods" / "svm.py"
    svm.write_text(svm.read_text() + "\n# a change of the method's code\n")
    listing = hsibench_in(copy, "results", "ls", "--out", str(out))
    assert listing.returncode == 0 and " stale " in listing.stdout, listing.stdout

    # a seed made by the new code beside one made by the old: one table may not mix them unless told
    assert hsibench_in(copy, *[("1220" if value == "1330" else value) for value in run]).returncode == 0
    table = ["table", "main", "--protocol", "demo", "--out", str(out)]
    refused = hsibench_in(copy, *table)
    assert refused.returncode == 1 and "made by different code" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    mixed = hsibench_in(copy, *table, "--allow-mixed-code")
    assert mixed.returncode == 0 and "MIXED code" in mixed.stdout, mixed.stderr
    (out / "demo" / "runs" / next(p.name for p in (out / "demo" / "runs").glob("svm-seed1220-*.json"))).unlink()

    rerun = hsibench_in(copy, *run)
    assert rerun.returncode == 0, rerun.stderr
    assert "1 rerun because their records were made by other code" in rerun.stdout
    (kept,) = (out / "demo" / "superseded").glob("svm-seed1330-*.json")
    assert json.loads(kept.read_text()) == before  # moved aside whole, never deleted
    after = json.loads(path.read_text())
    assert after["run_id"] == before["run_id"] and after["code"]["digest"] != before["code"]["digest"]
    assert after["predictions_sha256"] == before["predictions_sha256"]  # a comment changes no number
    assert " current " in hsibench_in(copy, "results", "ls", "--out", str(out)).stdout


def test_supersede_moves_the_record_and_its_map(tmp_path: Path) -> None:
    record = ok_record()
    path = write_record(tmp_path / "demo" / "runs" / f"{record.name}.json", record)
    path.with_name(f"{record.name}.map.npz").write_bytes(b"map")
    kept = supersede(path, record)
    assert not path.exists() and kept.parent == tmp_path / "demo" / "superseded"
    assert kept.with_name(kept.name.replace(".json", ".map.npz")).read_bytes() == b"map"


# --- tables: one code, stated hardware ----------------------------------------------------------------------
def test_tables_refuse_records_of_one_method_made_by_different_code() -> None:
    with pytest.raises(MixedCodeError, match="svm: aaaaaaaa, bbbbbbbb"):
        check_single_code([ok_record(seed=1), ok_record(seed=2, digest="b" * 16)])


def test_tables_refuse_methods_run_on_different_data_layers() -> None:
    with pytest.raises(MixedCodeError, match="data, protocol or scoring code"):
        check_single_code([ok_record("svm"), ok_record("mae", digest="c" * 16, shared="t" * 16)])
    check_single_code([ok_record("svm"), ok_record("mae", digest="c" * 16)])  # one code: methods differ, layers agree


def test_a_hardware_mix_is_flagged_not_hidden() -> None:
    assert hardware_phrase([ok_record(seed=1), ok_record(seed=2)]).startswith("Hardware: AMD EPYC (avx2 fma), 1 thread")
    mixed = hardware_phrase([ok_record(seed=1), ok_record(seed=2, cpu="Intel Xeon")])
    assert mixed.startswith("MIXED hardware (2 configurations)") and "Intel Xeon" in mixed


def test_this_machine_is_described() -> None:
    model, flags = cpu_description()
    info = describe_machine(threads=2, device="cpu", precision="fp32", deterministic=True)
    assert info.cpu_model == model and info.isa_flags == flags and info.threads == 2
    assert info.torch_version and info.precision == "fp32" and info.deterministic
    assert MachineInfo.from_dict(info.to_dict()) == info


def test_reading_records_imports_no_torch() -> None:
    code = ("import sys; import hsibench.report, hsibench.report.collect, hsibench.report.provenance; "
            "from hsibench.cli import main; main(['results', 'ls', '--out', sys.argv[1]]); "
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code, str(REPO_ROOT / "results")], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "False False"


@pytest.mark.parametrize("method", ["s2former", "mae", "finetune"])
def test_a_pretraining_made_by_other_code_is_never_reused(method: str, monkeypatch) -> None:
    """Every pretraining method's cache key covers its code fingerprint (not a hand-bumped version)."""
    from hsibench.methods import RunContext, create_method, get_method_entry
    from hsibench.protocol import load_protocol
    from hsibench.runner.source_domains import source_domain

    entry = get_method_entry(method)
    source = source_domain(load_protocol("demo"), grant_labels=entry.info.uses_source_labels)
    created = create_method(method, RunContext(seed=1330), "smoke")
    key = created.pretraining_key(source)
    assert key is not None and key == created.pretraining_key(source)
    monkeypatch.setattr(entry.method_class, "code_digest", classmethod(lambda cls: "other code"))
    assert created.pretraining_key(source) != key


@pytest.mark.parametrize("force", [False, True])
def test_a_record_of_other_code_is_superseded_even_when_forced(tmp_path: Path, force: bool) -> None:
    from hsibench.runner import ExecutorOptions, TrialSettings, create_executor, plan_trials, run_campaign

    settings = TrialSettings(out_dir=tmp_path, cache_dir=tmp_path / "cache", preset="smoke", maps="none")
    specs = plan_trials(["svm"], "demo", [1330], settings)
    executor = lambda: create_executor("local", ExecutorOptions(results_dir=tmp_path))  # noqa: E731
    assert run_campaign(specs, executor()).ran == 1
    (path,) = (tmp_path / "demo" / "runs").glob("*.json")
    data = json.loads(path.read_text())
    data["code"]["digest"] = "0" * 16  # as if another version of the code had made it
    path.write_text(json.dumps(data))
    result = run_campaign(specs, executor(), force=force)
    assert result.ran == 1 and len(result.superseded) == 1
    assert json.loads(result.superseded[0].read_text())["code"]["digest"] == "0" * 16
    assert json.loads(path.read_text())["code"]["digest"] == code_fingerprint("hsibench.methods.svm").digest
