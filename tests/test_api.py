"""The Python API (hsibench.run, load_results, table) and the example script that uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_runner_fake_method import CENTROID, PLUGIN

import hsibench
from hsibench.runner import RecordError

REPO = Path(__file__).resolve().parents[1]


def test_import_hsibench_exposes_the_api_and_stays_light() -> None:
    assert {"run", "load_results", "table"} <= set(dir(hsibench))
    code = "import sys, hsibench; print('torch' in sys.modules, 'ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"], "import hsibench alone imports neither torch nor Ray"


def test_run_returns_the_records_and_load_results_reads_them_back(tmp_path: Path) -> None:
    records = hsibench.run(method=CENTROID, protocol="demo", seeds=[1330, 1220], out=tmp_path, cache=tmp_path / "c",
                           plugins=[PLUGIN])
    assert [(r.method, r.seed, r.status) for r in records] == [(CENTROID, 1330, "ok"), (CENTROID, 1220, "ok")]
    again = hsibench.run(method=CENTROID, protocol="demo", seeds=[1330], out=tmp_path, cache=tmp_path / "c",
                         plugins=[PLUGIN])
    assert again[0].run_id == records[0].run_id and again[0].finished_at == records[0].finished_at, "reused"
    frame = hsibench.load_results(tmp_path, protocol="demo")
    assert sorted(frame["seed"]) == [1220, 1330]
    by_seed = frame.set_index("seed")
    for record in records:
        assert by_seed.loc[record.seed, "overall_accuracy"] == record.overall_accuracy
        assert by_seed.loc[record.seed, "code"] == record.code.digest and by_seed.loc[record.seed, "cpu"]
    assert hsibench.load_results(tmp_path, method="svm").empty
    with pytest.raises(RecordError, match="no such results folder"):
        hsibench.load_results(tmp_path / "nowhere")


def test_table_is_a_dataframe_of_the_paper_table(tmp_path: Path) -> None:
    records = hsibench.run(method=CENTROID, protocol="demo", seeds=[1330, 1220], out=tmp_path, cache=tmp_path / "c",
                           plugins=[PLUGIN])
    before = sorted(path.name for path in (tmp_path / "demo").iterdir())
    table = hsibench.table("main", protocol="demo", results_dir=tmp_path, methods=[CENTROID])
    assert sorted(path.name for path in (tmp_path / "demo").iterdir()) == before, "a DataFrame, no files"
    oa_row = next(label for label in table.index if label.startswith("OA"))
    column = table.columns[0]
    mean_oa = 100 * sum(r.overall_accuracy for r in records) / len(records)
    assert table.loc[oa_row, column] == pytest.approx(mean_oa)
    assert table.attrs["count"].loc[oa_row, column] == 2 and "demo" in table.attrs["caption"]


@pytest.mark.slow
def test_the_example_script_runs(tmp_path: Path) -> None:
    env = {**os.environ, "HSIBENCH_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, str(REPO / "examples" / "quickstart.py"), str(tmp_path / "results")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "svm    seed 1330: OA" in done.stdout and "ssftt  seed 1220: OA" in done.stdout
    assert "κ" in done.stdout or "kappa" in done.stdout
