"""``hsibench data list|fetch|verify|info`` through ``hsibench.cli.main`` (offline, real files as the mirror)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsibench.cli import main
from hsibench.data import get_scene_source, scene_names


@pytest.fixture
def real_mirror(real_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HSIBENCH_MIRROR", str(real_data))
    return real_data


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str]:
    code = main(["data", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _row(output: str, name: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.split()[:1] == [name])


def test_list_shows_every_scene_and_where_its_files_are(real_mirror: Path, capsys) -> None:
    code, output = _run(capsys, "list")
    assert code == 0
    assert all(_row(output, name) for name in scene_names())
    assert _row(output, "sa_a")[-1] == "mirror" and _row(output, "sa_a")[-5:-2] == ["83×86×224", "6", "surveyed"]
    assert _row(output, "pu")[-2:] == ["labels", "only"]
    assert _row(output, "pc")[-1] == "missing"
    assert _row(output, "hu13")[-2:] == ["labels", "only*"]  # * registration-only: files by hand
    assert str(real_mirror) in output


def test_mirror_option_after_the_action(tmp_path: Path, capsys) -> None:
    code, output = _run(capsys, "list", "--mirror", str(tmp_path))
    assert code == 0 and f"mirror: {tmp_path}" in output and _row(output, "sa_a")[-1] == "missing"
    code, output = _run(capsys, "list", "--mirror", str(tmp_path / "nowhere"))
    assert code == 1 and "does not exist" in output


def test_info_counts_classes_from_the_ground_truth_file(real_mirror: Path, capsys) -> None:
    code, output = _run(capsys, "info", "hu13")
    assert code == 0 and "ITRES CASI-1500" in output and "read from the ground-truth file" in output
    assert _row(output, "6")[-4:] == ["Water", "325", "182", "143"]


def test_info_without_ground_truth_shows_documented_counts(real_mirror: Path, capsys) -> None:
    code, output = _run(capsys, "info", "pc")
    assert code == 0 and "reported counts" in output and _row(output, "1")[-2:] == ["Water", "65971"]


def test_fetch_finds_mirrored_files(real_mirror: Path, capsys) -> None:
    code, output = _run(capsys, "fetch", "sa_a", "demo_source")
    assert code == 0 and str(real_mirror / "SalinasA.mat") in output and "nothing to fetch" in output


def test_fetch_offline_says_where_to_put_the_file(real_mirror: Path, capsys) -> None:
    code, output = _run(capsys, "fetch", "ip")
    assert code == 1
    assert "Indian_pines_corrected.mat" in output and "https://www.ehu.es/ccwintco/uploads/6/67/" in output
    assert "ec2f8808710919d566f70f0d4aa885aae1ddfd42b734aba71c5e12ca65450939" in output


def test_fetch_without_mirror_names_every_missing_file_with_size_hash_and_urls(tmp_path: Path, monkeypatch,
                                                                              capsys) -> None:
    monkeypatch.delenv("HSIBENCH_MIRROR", raising=False)
    monkeypatch.setenv("HSIBENCH_CACHE", str(tmp_path))
    code, output = _run(capsys, "fetch", "pu")
    assert code == 1 and "needs 2 files" in output
    source = get_scene_source("pu")
    for remote in (*source.ground_truth_files, *source.cube_files):
        assert remote.name in output and remote.sha256 in output and all(url in output for url in remote.urls)
    assert "34.8 MB (34,806,917 bytes)" in output and "11.0 kB (11,005 bytes)" in output
    assert "TRpaviaU.mat" not in output  # optional maps are not required


def test_fetch_registration_only_scene_explains_itself(real_mirror: Path, capsys) -> None:
    code, output = _run(capsys, "fetch", "hu13")
    assert code == 1 and "registration-only" in output and "2013_DFTC.zip" in output
    assert str(real_mirror / "houston2013") in output


def test_verify_reports_ok_and_missing(real_mirror: Path, capsys) -> None:
    code, output = _run(capsys, "verify", "sa_a", "pu")
    assert code == 0
    assert _row(output, "ok")[1] in {"SalinasA.mat", "SalinasA_gt.mat", "PaviaU_gt.mat", "splits/TRpaviaU.mat",
                                     "splits/TSpaviaU.mat"}
    assert ["missing", "PaviaU.mat"] in [line.split() for line in output.splitlines()]


def test_verify_exits_non_zero_on_a_mismatch(tmp_path: Path, real_data: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HSIBENCH_MIRROR", str(tmp_path))
    (tmp_path / "SalinasA_gt.mat").write_bytes((real_data / "SalinasA_gt.mat").read_bytes()[:-10])
    code, output = _run(capsys, "verify", "sa_a")
    assert code == 1 and "MISMATCH" in output and "17814c1d3296c0e29b27f320f2c4174d2a68adb87e376abe78f02923e2c2e454" in output


def test_unknown_scene_is_one_clear_line(capsys) -> None:
    code, output = _run(capsys, "info", "indian_pines")
    assert code == 1 and "unknown scene 'indian_pines'" in output and "Valid names:" in output


# --- labels, options and wavelengths --------------------------------------------------------------


def test_list_shows_unlabeled_and_derived_scenes(real_mirror: Path, capsys) -> None:
    code, output = _run(capsys, "list")
    assert code == 0
    for name in ("av", "muufl", "pusub", "urban"):
        assert "unlabeled" in _row(output, name) and _row(output, name)[-1] == "mirror"
    assert "derived" in _row(output, "jr") and "surveyed" in _row(output, "sa_a")
    assert _row(output, "demo_source")[-4:-2] == ["6", "generated"] and _row(output, "demo_source")[-1] == "generated"


def test_info_jasper_ridge_says_its_labels_are_derived(real_mirror: Path, capsys) -> None:
    code, output = _run(capsys, "info", "jr")
    assert code == 0
    assert "DERIVED, not surveyed" in output
    assert "Jasper Ridge labels are derived from unmixing reference abundances (arg-max, purity ≥ 0.8)" in output
    assert "394.92–2446.6 nm" in output and "nominal AVIRIS band centres" in output and "SlectBands" in output
    assert _row(output, "2")[-2:] == ["Water", "3070"]


def test_info_takes_scene_options(real_mirror: Path, capsys) -> None:
    code, output = _run(capsys, "info", "jr", "--option", "purity=0.6")
    assert code == 0 and "purity ≥ 0.6" in output and _row(output, "2")[-2:] == ["Water", "3259"]
    code, output = _run(capsys, "info", "jr", "--option", "purity=1.5")
    assert code == 1 and "option purity=1.5 is not valid" in output and "(0, 1]" in output
    code, output = _run(capsys, "info", "pusub", "--option", "purity=0.5")
    assert code == 1 and "takes no options" in output


def test_info_unlabeled_scene_shows_wavelengths_and_no_classes(real_mirror: Path, capsys) -> None:
    code, output = _run(capsys, "info", "muufl")
    assert code == 0 and "unlabeled" in output and "classes: none" in output
    assert "367.7–1043.4 nm" in output and "file key `wavelengths`" in output
