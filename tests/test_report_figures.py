"""Figures from hand-written fixture records and maps: written as PNG and PDF, non-empty; fixed class colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_report_tables import PROPOSED, SEEDS, make_record

from hsibench.cli import main
from hsibench.report import ReportError, ReportRequest, make_figure
from hsibench.report.figures import BACKGROUND, class_colour

SIGNATURES = {".png": b"\x89PNG", ".pdf": b"%PDF"}


def write_map(root: Path, name: str, shift: int) -> str:
    truth = np.zeros((12, 10), np.int16)
    truth[2:6, 1:5], truth[7:11, 4:9] = 1, 2
    prediction = np.roll(np.where(truth == 0, 1, truth), shift, axis=1)
    path = root / "demo" / "runs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, prediction=prediction, ground_truth=truth, class_ids=np.array([1, 2], np.int16),
                        class_names=np.array(["Asphalt", "Meadows_&_grass"]))
    return name


@pytest.fixture
def results(tmp_path: Path) -> Path:
    for seed, value in zip(SEEDS, PROPOSED):
        for method, offset, shift in (("s2former", 0.0, 0), ("svm", -0.1, 1)):
            maps = {"map_file": write_map(tmp_path, f"{method}-{seed}.map.npz", shift)} if seed == 1330 else {}
            make_record(tmp_path, method, seed, value + offset, **maps)
            make_record(tmp_path, method, seed, value + offset - 0.2, shots=1)
        make_record(tmp_path, "s2former-no-daft", seed, value - 0.03, method_base="s2former")
    return tmp_path


def assert_figures(paths: list[Path], stem: str) -> None:
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    for path in paths:
        assert path.stem == stem and path.parent.name == "figures"
        content = path.read_bytes()
        assert len(content) > 1000 and content.startswith(SIGNATURES[path.suffix])


@pytest.mark.parametrize(("kind", "stem"), [("maps", "maps-seed1330"), ("shots", "shots"), ("ablation", "ablation")])
def test_figures_are_written(results: Path, kind: str, stem: str) -> None:
    assert_figures(make_figure(kind, ReportRequest(results_dir=results, protocol="demo")), stem)


def test_maps_need_saved_maps(results: Path) -> None:
    with pytest.raises(ReportError, match="no classification maps saved for seed 1220"):
        make_figure("maps", ReportRequest(results_dir=results, protocol="demo", seed=1220))


def test_class_colours_are_fixed_by_class_id() -> None:
    assert class_colour(0) == BACKGROUND
    assert [class_colour(c) for c in range(1, 17)] == [class_colour(c) for c in range(1, 17)]
    assert len({class_colour(c) for c in range(1, 17)}) == 16  # Indian Pines' and Salinas' 16 classes all differ


def test_figure_command_says_where_the_files_would_go_and_writes_only_when_asked(results: Path, capsys) -> None:
    argv = ["figure", "shots", "--protocol", "demo", "--out", str(results)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"would write {results / 'demo' / 'figures' / name}" for name in ("shots.png", "shots.pdf")]
    assert not (results / "demo" / "figures").exists()
    assert main(argv + ["--write"]) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == ["shots.png", "shots.pdf"] and all(Path(p).is_file() for p in printed)
