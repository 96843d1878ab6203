"""results/campaign/compare_machines.py: the same trial on two kinds of CPU, paired by run id."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "results" / "campaign" / "compare_machines.py"
spec = importlib.util.spec_from_file_location("compare_machines", SCRIPT)
compare_machines = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_machines)


def write_record(folder: Path, run_id: str, method: str, accuracy: float, level: str, predictions: str,
                 **extra) -> None:
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    record = {"run_id": run_id, "method": method, "status": "ok", "overall_accuracy": accuracy,
              "predictions_sha256": predictions, "machine": {"torch_cpu_capability": level}, **extra}
    (folder / "runs" / f"{method}-{run_id}.json").write_text(json.dumps(record))


def test_pairs_the_same_trial_across_kernel_levels_and_skips_copies(tmp_path: Path) -> None:
    here, there = tmp_path / "avx2", tmp_path / "avx512"
    for seed, (mine, theirs) in enumerate([(0.90, 0.80), (0.70, 0.75), (0.60, 0.60)]):
        write_record(here, f"s{seed}", "deep", mine, "AVX2", f"p{seed}a")
        write_record(there, f"s{seed}", "deep", theirs, "AVX512", f"p{seed}b" if mine != theirs else f"p{seed}a")
    write_record(here, "copy", "copied", 0.5, "AVX2", "c")      # a byte-identical copy: the same machine kind
    write_record(there, "copy", "copied", 0.5, "AVX2", "c")
    write_record(here, "alone", "deep", 0.1, "AVX2", "x")       # no counterpart: not paired
    write_record(there, "audited", "deep", 0.2, "AVX512", "y", audit="no_buffer")
    pairs = compare_machines.machine_pairs(here, there)
    assert sorted(x["run_id"] for x, _ in pairs) == ["s0", "s1", "s2"]
    (row,) = compare_machines.comparison_rows(pairs)
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[:7] == ["deep", "3", "1", "73.33", "71.67", "5.00", "10.00"]


def test_says_what_is_missing_when_nothing_pairs(tmp_path: Path, monkeypatch) -> None:
    write_record(tmp_path / "a", "s0", "deep", 0.9, "AVX2", "p")
    write_record(tmp_path / "b", "s1", "deep", 0.9, "AVX512", "q")
    monkeypatch.setattr("sys.argv", ["compare_machines.py", str(tmp_path / "a"), str(tmp_path / "b")])
    with pytest.raises(SystemExit, match="no trial of .* was also run on another kind of CPU"):
        compare_machines.main()
