"""The real-scene registrations: their facts, and the real files of the test mirror (read through the mirror code path)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hsibench.data import SceneNotAvailableError, get_scene_source, load_ground_truth, load_scene, scene_names, storage
from hsibench.data.files import FileScene

REAL_SCENES = ("ip", "pu", "pc", "sa", "sa_a", "sa_a_corrected", "ksc", "bo", "hu13", "ch",
               "jr", "av", "muufl", "pusub", "urban")
FILE_SCENES = [name for name in scene_names() if isinstance(get_scene_source(name), FileScene)]

# The EHU wiki's "path under uploads/" folders, to check the md5 rule ehu_urls() follows
EHU_UPLOAD_FOLDERS = {
    "Indian_pines_corrected.mat": "6/67", "Indian_pines_gt.mat": "c/c4", "PaviaU.mat": "e/ee",
    "PaviaU_gt.mat": "5/50", "Pavia.mat": "e/e3", "Pavia_gt.mat": "5/53", "Salinas_corrected.mat": "a/a3",
    "Salinas_gt.mat": "f/fa", "SalinasA.mat": "d/df", "SalinasA_gt.mat": "a/aa", "KSC.mat": "2/26",
    "KSC_gt.mat": "a/a6", "Botswana.mat": "7/72", "Botswana_gt.mat": "5/58",
}


def test_every_real_scene_is_registered_as_a_file_scene() -> None:
    assert set(REAL_SCENES) <= set(FILE_SCENES)


@pytest.mark.parametrize("name", FILE_SCENES)
def test_registration_facts_are_consistent(name: str) -> None:
    source: FileScene = get_scene_source(name)
    info = source.info
    assert info.name == name and len(info.shape) == 3 and info.files == source.all_files()
    assert info.access in {"download", "registration"}
    for remote in info.files:
        assert remote.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", remote.sha256), remote
        assert remote.urls or remote.how_to_get, f"{remote.name}: no URL and no instructions"
    for table in source.documented_counts.values():
        assert set(table) == set(info.class_names), "documented counts and class names disagree"


@pytest.mark.parametrize("file_name, folder", EHU_UPLOAD_FOLDERS.items())
def test_ehu_urls_use_both_hosts_and_the_wiki_folder(file_name: str, folder: str) -> None:
    assert storage.ehu_urls(file_name) == (
        f"https://www.ehu.eus/ccwintco/uploads/{folder}/{file_name}",
        f"https://www.ehu.es/ccwintco/uploads/{folder}/{file_name}",
    )
    registered = {remote.name: remote for name in FILE_SCENES for remote in get_scene_source(name).info.files}
    assert registered[file_name].urls == storage.ehu_urls(file_name)


def test_salinas_a_corrected_is_derived_and_says_so() -> None:
    source: FileScene = get_scene_source("sa_a_corrected")
    assert source.cube_files == get_scene_source("sa_a").cube_files
    assert len(source.dropped_bands) == 224 - 204 and "DERIVED" in source.info.notes
    assert set(source.info.class_names) == {1, 10, 11, 12, 13, 14}


# --- the real files -------------------------------------------------------------------------------


@pytest.fixture
def real_mirror(real_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real files as the mirror, whatever mirror the environment names."""
    monkeypatch.setenv("HSIBENCH_MIRROR", str(real_data))
    return real_data


VERIFIED = [(name, map_name) for name in FILE_SCENES for map_name in get_scene_source(name).documented_counts
            if get_scene_source(name).counts_verified]


@pytest.mark.parametrize("name, map_name", VERIFIED)
def test_verified_class_counts_match_the_real_files(real_mirror: Path, name: str, map_name: str) -> None:
    source: FileScene = get_scene_source(name)
    ground_truth = source.load_ground_truth()
    labels = ground_truth.labels if map_name == "labels" else ground_truth.official_maps[map_name]
    ids, counts = np.unique(labels[labels != 0], return_counts=True)
    assert dict(zip(ids.tolist(), counts.tolist())) == source.documented_counts[map_name]


@pytest.mark.parametrize("name, total", [("ip", 10_249), ("pu", 42_776), ("sa", 54_129), ("sa_a", 5_348),
                                         ("hu13", 2_832 + 12_197)])
def test_labeled_pixel_totals(real_mirror: Path, name: str, total: int) -> None:
    assert int((load_ground_truth(name).labels != 0).sum()) == total


def test_houston_labels_are_train_union_test(real_mirror: Path) -> None:
    ground_truth = load_ground_truth("hu13")
    train, test = ground_truth.official_maps["train"], ground_truth.official_maps["test"]
    assert ground_truth.shape == (349, 1905) and not np.any((train != 0) & (test != 0))
    np.testing.assert_array_equal(ground_truth.labels, np.where(train != 0, train, test))


def test_houston_cube_missing_says_how_to_get_it(real_mirror: Path) -> None:
    with pytest.raises(SceneNotAvailableError, match=r"(?s)2013_IEEE_GRSS_DF_Contest_CASI\.tif.*2013_DFTC\.zip"):
        load_scene("hu13")


def test_pavia_university_ground_truth_needs_no_cube(real_data: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "PaviaU_gt.mat").symlink_to(real_data / "PaviaU_gt.mat")  # a mirror holding only the labels
    monkeypatch.setenv("HSIBENCH_MIRROR", str(tmp_path))
    source: FileScene = get_scene_source("pu")
    ground_truth = load_ground_truth("pu")
    assert ground_truth.shape == (610, 340) and ground_truth.official_maps == {}
    assert source.ground_truth_available() and not source.is_available()


def test_pavia_university_official_maps_from_the_splits_folder(real_mirror: Path) -> None:
    maps = load_ground_truth("pu").official_maps
    assert {name: int((labels != 0).sum()) for name, labels in maps.items()} == {"train": 3_921, "test": 40_002}


@pytest.mark.parametrize("name, bands", [("sa_a", 224), ("sa_a_corrected", 204)])
def test_salinas_a_real_cube_loads(real_mirror: Path, name: str, bands: int) -> None:
    scene = load_scene(name)
    assert scene.cube.shape == (83, 86, bands) and scene.cube.dtype == np.float32
    assert scene.ground_truth.class_ids() == [1, 10, 11, 12, 13, 14]
    assert get_scene_source(name).is_available()


def test_salinas_a_corrected_keeps_bands_1_107_113_153_168_223(real_mirror: Path) -> None:
    raw, corrected = load_scene("sa_a").cube, load_scene("sa_a_corrected").cube
    kept_1based = [*range(1, 108), *range(113, 154), *range(168, 224)]
    np.testing.assert_array_equal(corrected, raw[:, :, np.asarray(kept_1based) - 1])
    assert load_scene("sa_a_corrected").metadata["derived_by_dropping_bands_1based"][-1] == 224
