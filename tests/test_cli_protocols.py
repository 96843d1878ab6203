"""`hsibench protocols` and `hsibench split`, with only the real ground-truth maps in the mirror."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from hsibench.cli import main
from hsibench.data import load_ground_truth
from hsibench.protocol import load_protocol, make_split

GROUND_TRUTH_FILES = {"ip": "Indian_pines_gt.mat", "pu": "PaviaU_gt.mat", "sa": "Salinas_gt.mat"}


@pytest.fixture
def labels_only_mirror(tmp_path, real_data, monkeypatch):
    """A mirror holding the three real GT maps and no cube at all."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in GROUND_TRUTH_FILES.values():
        shutil.copy(real_data / name, mirror / name)
    monkeypatch.setenv("HSIBENCH_MIRROR", str(mirror))
    return mirror


@pytest.mark.parametrize("protocol_name, target", [("sa2ip", "ip"), ("ip2pu", "pu"), ("ip2sa", "sa")])
def test_split_export_needs_only_the_ground_truth(protocol_name, target, labels_only_mirror, tmp_path, capsys) -> None:
    out = tmp_path / "f.csv"
    assert main(["split", protocol_name, "--seed", "1330", "--out", str(out)]) == 0
    with open(out) as handle:
        rows = list(csv.DictReader(handle))
    gt = load_ground_truth(target)
    assert len(rows) == sum(gt.class_counts().values())
    support = [r for r in rows if r["subset"] == "support"]
    assert len(support) == 5 * len(gt.class_counts())
    for row in rows[:: max(len(rows) // 200, 1)]:
        assert gt.labels[int(row["row"]), int(row["col"])] == int(row["label"]) != 0
    expected = make_split(load_protocol(protocol_name), 1330)
    assert expected.fingerprint in capsys.readouterr().err


def test_split_clean_mode_differs_from_legacy(labels_only_mirror, tmp_path) -> None:
    legacy, clean = tmp_path / "legacy.csv", tmp_path / "clean.csv"
    assert main(["split", "sa2ip", "--seed", "1330", "--out", str(legacy)]) == 0
    assert main(["split", "sa2ip", "--seed", "1330", "--mode", "clean", "--out", str(clean)]) == 0
    assert legacy.read_text() != clean.read_text()


def test_protocols_list_and_show(labels_only_mirror, capsys) -> None:
    assert main(["protocols", "list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("pu2pc", "sa2ip", "ch2ip", "hu13", "demo"))
    assert main(["protocols", "show", "sa2ip", "--seed", "1229"]) == 0
    shown = capsys.readouterr().out
    assert "Oats" in shown and "10169" in shown.replace(",", "")  # 10,249 labeled − 80 support


def test_short_class_error_reaches_the_user_as_one_line(labels_only_mirror, tmp_path, capsys) -> None:
    assert main(["split", "sa2ip", "--seed", "1330", "--shots", "20", "--out", str(tmp_path / "x.csv")]) == 1
    error = capsys.readouterr().err
    assert "class 9 (Oats) has 20 labeled pixels" in error and "Traceback" not in error
    assert not (tmp_path / "x.csv").exists()


def test_split_csv_lists_support_then_test_and_leaves_no_temporary_file(labels_only_mirror, tmp_path) -> None:
    out = tmp_path / "f.csv"
    main(["split", "ip2pu", "--seed", "1220", "--out", str(out)])
    subsets = [r["subset"] for r in csv.DictReader(open(out))]
    assert subsets[:45] == ["support"] * 45 and set(subsets[45:]) == {"test"}
    assert not list(tmp_path.glob(".*.tmp"))
    assert np.unique(subsets).size == 2
