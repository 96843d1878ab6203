"""The file layer on fake files: .mat reading, mirror/cache/download logic, and every bad-input error."""

from __future__ import annotations

import dataclasses
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from fake_scene_files import (
    fake_cube,
    fake_labels,
    fake_scene,
    remote_for,
    sha256,
    write_v5,
    write_v73,
)

from hsibench.data import (
    ChecksumMismatchError,
    SceneFileError,
    SceneNotAvailableError,
    UnknownSceneError,
    get_scene_source,
    load_scene,
    storage,
)
from hsibench.data.files import FileScene, kept_band_indices
from hsibench.data.matfile import read_array_file, read_mat_array
from hsibench.data.storage import RemoteFile


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty temporary mirror and cache; offline."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    monkeypatch.setenv("HSIBENCH_MIRROR", str(folder))
    monkeypatch.setenv("HSIBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HSIBENCH_OFFLINE", "1")
    return folder


def _missing_remote(name: str = "Absent.mat") -> RemoteFile:
    return RemoteFile(name, "ab" * 32, 1234, "x", urls=storage.ehu_urls(name))


# --- reading .mat files ---------------------------------------------------------------------------


@pytest.mark.parametrize("writer", [write_v5, write_v73], ids=["v5", "v7.3"])
def test_read_mat_array_returns_matlab_orientation_in_c_order(tmp_path: Path, writer) -> None:
    cube = fake_cube()
    path = writer(tmp_path / "cube.mat", {"cube": cube, "other": np.zeros(3)})
    loaded = read_mat_array(path, "cube", dtype=np.float32)
    assert loaded.dtype == np.float32 and loaded.flags.c_contiguous
    np.testing.assert_array_equal(loaded, cube.astype(np.float32))
    np.testing.assert_array_equal(read_mat_array(path, "cube"), cube)  # native dtype when none is asked


def test_v73_struct_yields_its_first_field_in_matlab_order(tmp_path: Path) -> None:
    labels = fake_labels()
    # "zz_map" sorts after "a_info": only the MATLAB_fields attribute says it is the first field
    path = write_v73(tmp_path / "gt.mat", {}, structs={"GT": {"zz_map": labels, "a_info": np.ones(2)}})
    np.testing.assert_array_equal(read_mat_array(path, "GT"), labels)


def test_v5_struct_yields_its_first_field(tmp_path: Path) -> None:
    labels = fake_labels()
    path = write_v5(tmp_path / "gt.mat", {"GT": {"map": labels, "info": np.ones(2)}})
    np.testing.assert_array_equal(read_mat_array(path, "GT"), labels)


@pytest.mark.parametrize("writer", [write_v5, write_v73], ids=["v5", "v7.3"])
def test_missing_key_lists_the_keys_present(tmp_path: Path, writer) -> None:
    path = writer(tmp_path / "cube.mat", {"cube": fake_cube(), "bands": np.arange(3)})
    with pytest.raises(SceneFileError, match=r"no variable 'paviaU'.*\['cube', 'bands'\]|\['bands', 'cube'\]") as caught:
        read_mat_array(path, "paviaU")
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_mat_names_the_file(tmp_path: Path, damage: str) -> None:
    path = write_v5(tmp_path / "cube.mat", {"cube": fake_cube(40, 40, 30)})
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2] if damage == "truncate" else b"not a mat file " * 20)
    with pytest.raises(SceneFileError, match="truncated or corrupt") as caught:
        read_mat_array(path, "cube")
    assert str(path) in str(caught.value)


def test_only_variable_is_read_when_no_key_is_registered(tmp_path: Path) -> None:
    cube = fake_cube()
    np.testing.assert_array_equal(read_array_file(write_v5(tmp_path / "one.mat", {"mine": cube}), None), cube)
    np.save(tmp_path / "cube.npy", cube)
    np.testing.assert_array_equal(read_array_file(tmp_path / "cube.npy", None, np.float32), cube)
    with pytest.raises(SceneFileError, match="exactly one variable"):
        read_array_file(write_v5(tmp_path / "two.mat", {"a": cube, "b": cube}), None)


def test_tiff_without_tifffile_says_how_to_proceed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tifffile", None)  # as if not installed
    (tmp_path / "cube.tif").write_bytes(b"II*\x00")
    with pytest.raises(SceneFileError, match=r"pip install tifffile.*cube\.npy"):
        read_array_file(tmp_path / "cube.tif", None)


def test_loading_an_int16_cube_peaks_below_two_and_a_half_float32_cubes(tmp_path: Path) -> None:
    cube = fake_cube(200, 200, 256)  # int16, 20.5 MB; float32: 41 MB
    path = write_v5(tmp_path / "big.mat", {"cube": cube, "decoy": np.zeros((300, 300, 60))})  # decoy is not read
    del cube
    tracemalloc.start()
    try:
        loaded = read_mat_array(path, "cube", dtype=np.float32)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert loaded.shape == (200, 200, 256)
    assert peak < 2.5 * loaded.nbytes, f"peak {peak / 1e6:.1f} MB for a {loaded.nbytes / 1e6:.1f} MB float32 cube"


# --- storage: mirror, cache, offline, checksums ---------------------------------------------------


def test_mirror_file_is_used_in_place_without_copy_or_network(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HSIBENCH_OFFLINE")
    monkeypatch.setattr(storage.pooch, "retrieve", _no_network)
    path = write_v5(mirror / "houston2013" / "TRLabel.mat", {"TRLabel": fake_labels()})
    remote = remote_for(path, "TRLabel", subdir="houston2013", urls=("https://example.invalid/TRLabel.mat",))
    assert storage.fetch(remote) == path
    assert not storage.cache_dir().exists()


@pytest.mark.parametrize("place", ["mirror", "cache"])
@pytest.mark.parametrize("relative", ["houston2013/TRLabel.mat", "TRLabel.mat"])
def test_lookup_searches_relative_path_and_bare_name(mirror: Path, place: str, relative: str) -> None:
    root = mirror if place == "mirror" else storage.cache_dir()
    path = write_v5(root / relative, {"TRLabel": fake_labels()})
    remote = remote_for(path, "TRLabel", subdir="houston2013")
    assert storage.locate(remote) == path


def test_missing_file_offline_says_what_where_and_which_hash(mirror: Path) -> None:
    remote = _missing_remote("PaviaU.mat")
    with pytest.raises(SceneNotAvailableError) as caught:
        storage.fetch(remote, scene="pu")
    message = str(caught.value)
    for expected in ("PaviaU.mat", *remote.urls, remote.sha256, str(mirror), str(storage.cache_dir()),
                     "HSIBENCH_OFFLINE", "hsibench data verify pu"):
        assert expected in message


def test_hash_mismatch_is_neither_used_nor_overwritten(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HSIBENCH_OFFLINE")  # even with network allowed, nothing is downloaded over it
    monkeypatch.setattr(storage.pooch, "retrieve", _no_network)
    good = write_v5(mirror / "good.mat", {"gt": fake_labels()})
    remote = dataclasses.replace(remote_for(good, "gt"), name="bad.mat", urls=("https://example.invalid/bad.mat",))
    bad = storage.cache_dir() / "bad.mat"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"a different release")
    before = (bad.read_bytes(), bad.stat().st_mtime_ns)
    with pytest.raises(ChecksumMismatchError) as caught:
        storage.fetch(remote)
    message = str(caught.value)
    assert str(bad) in message and remote.sha256 in message and sha256(bad) in message
    assert (bad.read_bytes(), bad.stat().st_mtime_ns) == before


def test_good_copy_wins_over_a_bad_one(mirror: Path) -> None:
    good = write_v5(storage.cache_dir() / "gt.mat", {"gt": fake_labels()})
    (mirror / "gt.mat").write_bytes(b"truncated")
    assert storage.locate(remote_for(good, "gt")) == good


def test_download_tries_each_url_into_the_cache(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HSIBENCH_OFFLINE")
    source = write_v5(mirror.parent / "elsewhere" / "KSC_gt.mat", {"KSC_gt": fake_labels()})
    remote = remote_for(source, "KSC_gt", urls=storage.ehu_urls("KSC_gt.mat"))
    tried = []

    def fake_retrieve(url, known_hash, fname, path, downloader):
        tried.append(url)
        if "ehu.eus" in url:
            raise OSError("HTTP 403")
        assert known_hash == f"sha256:{remote.sha256}"
        target = Path(path) / fname
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        return str(target)

    monkeypatch.setattr(storage.pooch, "retrieve", fake_retrieve)
    assert storage.fetch(remote) == storage.cache_dir() / "KSC_gt.mat"
    assert tried == list(remote.urls)


def test_all_urls_failing_reports_each_reason(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HSIBENCH_OFFLINE")
    monkeypatch.setattr(storage.pooch, "retrieve", _no_network)
    remote = _missing_remote()
    with pytest.raises(SceneNotAvailableError) as caught:
        storage.fetch(remote)
    assert all(f"{url}: OSError" in str(caught.value) for url in remote.urls)


def test_verified_hash_is_memoised_per_path_size_and_mtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_hash = storage.pooch.file_hash
    monkeypatch.setattr(storage.pooch, "file_hash", lambda path, alg: calls.append(path) or real_hash(path, alg))
    path = tmp_path / "file.bin"
    path.write_bytes(b"one")
    first = storage.file_sha256(path)
    assert storage.file_sha256(path) == first and len(calls) == 1
    path.write_bytes(b"three")  # size (and mtime) change: hashed again
    assert storage.file_sha256(path) != first and len(calls) == 2


def test_set_mirror_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SceneNotAvailableError, match="does not exist"):
        storage.set_mirror(tmp_path / "nowhere")


def _no_network(*args, **kwargs):
    raise OSError("network is off in tests")


# --- FileScene ------------------------------------------------------------------------------------


def test_file_scene_loads_float32_cube_and_integer_labels(mirror: Path) -> None:
    scene = fake_scene(mirror).load()
    assert scene.cube.dtype == np.float32 and scene.cube.flags.c_contiguous
    np.testing.assert_array_equal(scene.cube, fake_cube().astype(np.float32))
    assert np.issubdtype(scene.labels.dtype, np.integer)
    np.testing.assert_array_equal(scene.labels, fake_labels())
    assert scene.metadata["cube_file"] == str(mirror / "fake_cube.mat")


def test_ground_truth_loads_without_the_cube(mirror: Path) -> None:
    source = fake_scene(mirror)
    (mirror / "fake_cube.mat").unlink()
    assert source.ground_truth_available() and not source.is_available()
    assert source.load_ground_truth().class_counts() == {1: 8, 2: 7, 3: 7}
    with pytest.raises(SceneNotAvailableError, match="fake_cube.mat"):
        source.load()


def test_a_scene_missing_several_files_names_all_of_them_at_once(mirror: Path) -> None:
    source = fake_scene(mirror)
    for remote in source.all_files():
        (mirror / remote.name).unlink()
    with pytest.raises(SceneNotAvailableError) as caught:
        source.load()
    message = str(caught.value)
    assert "needs 2 files" in message
    for remote in (*source.ground_truth_files, *source.cube_files):
        assert remote.name in message and remote.sha256 in message and f"{remote.size:,} bytes" in message
    assert message.count(str(mirror)) == 1 and "check them with" in message  # one folder list for both files


def test_missing_label_files_are_named_together_before_any_is_read(mirror: Path) -> None:
    first, second = _missing_remote("TRmissing.mat"), _missing_remote("TSmissing.mat")
    source = dataclasses.replace(fake_scene(mirror), ground_truth_files=(first, second))
    with pytest.raises(SceneNotAvailableError) as caught:
        source.load_ground_truth()
    assert "TRmissing.mat" in str(caught.value) and "TSmissing.mat" in str(caught.value)
    assert "fake_cube.mat" not in str(caught.value)  # the labels alone do not need the cube


def test_every_missing_file_keeps_its_own_download_failures(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HSIBENCH_OFFLINE")
    monkeypatch.setattr(storage.pooch, "retrieve", _no_network)
    cube, labels = _missing_remote("KSC.mat"), _missing_remote("KSC_gt.mat")
    with pytest.raises(SceneNotAvailableError) as caught:
        storage.fetch_all([(labels,), (cube,)], scene="ksc")
    message = str(caught.value)
    assert all(f"{url}: OSError" in message for url in (*cube.urls, *labels.urls))
    assert "HSIBENCH_OFFLINE" not in message


def test_a_bad_copy_is_reported_together_with_the_missing_files(mirror: Path) -> None:
    source = fake_scene(mirror)
    (mirror / "fake_cube.mat").unlink()
    (mirror / "fake_gt.mat").write_bytes(b"another release")
    with pytest.raises(SceneNotAvailableError) as caught:
        source.load()
    message = str(caught.value)
    assert "fake_cube.mat" in message and "do not match their registered sha256" in message
    assert str(mirror / "fake_gt.mat") in message


def test_several_bad_copies_are_one_checksum_error(mirror: Path) -> None:
    source = fake_scene(mirror)
    for name in ("fake_cube.mat", "fake_gt.mat"):
        (mirror / name).write_bytes(b"truncated")
    with pytest.raises(ChecksumMismatchError) as caught:
        source.load()
    assert str(mirror / "fake_cube.mat") in str(caught.value) and str(mirror / "fake_gt.mat") in str(caught.value)


@pytest.mark.parametrize(("size", "shown"), [(999, "999 B"), (11_005, "11.0 kB"), (34_806_917, "34.8 MB"),
                                             (1_234_567_890, "1.2 GB")])
def test_sizes_are_shown_in_decimal_units(size: int, shown: str) -> None:
    assert storage.human_size(size) == shown


def test_cube_and_labels_of_different_size_name_both_files(mirror: Path) -> None:
    source = fake_scene(mirror, labels=fake_labels(6, 4))
    with pytest.raises(SceneFileError) as caught:
        source.load()
    assert str(mirror / "fake_cube.mat") in str(caught.value) and str(mirror / "fake_gt.mat") in str(caught.value)


def test_missing_key_in_a_scene_file_lists_keys(mirror: Path) -> None:
    source = fake_scene(mirror)
    wrong_key = dataclasses.replace(source.ground_truth_files[0], key="salinas_gt")
    with pytest.raises(SceneFileError, match=r"no variable 'salinas_gt'.*\['gt'\]"):
        dataclasses.replace(source, ground_truth_files=(wrong_key,)).load_ground_truth()


def test_labels_without_a_class_name_are_a_file_error(mirror: Path) -> None:
    with pytest.raises(SceneFileError, match=r"class ids \[7\].*fake_gt.mat"):
        fake_scene(mirror, labels=np.full((6, 5), 7, np.uint8)).load_ground_truth()


def test_dropped_bands_are_one_based(mirror: Path) -> None:
    cube = fake_cube(bands=10)
    scene = fake_scene(mirror, cube=cube, dropped_bands=(1, 5, 6, 10)).load()
    np.testing.assert_array_equal(scene.cube, cube[:, :, [1, 2, 3, 6, 7, 8]].astype(np.float32))
    assert scene.metadata["derived_by_dropping_bands_1based"] == [1, 5, 6, 10]
    with pytest.raises(SceneFileError, match=r"bands \[11\]"):
        kept_band_indices(10, (11,))


def test_ground_truth_union_and_official_maps(mirror: Path) -> None:
    train, test = np.zeros((6, 5), np.uint8), np.zeros((6, 5), np.uint8)
    train[0, :] = 1
    test[1:3, :] = 2
    train_file = remote_for(write_v5(mirror / "TR.mat", {"TR": train}), "TR")
    test_file = remote_for(write_v5(mirror / "TS.mat", {"TS": test}), "TS")
    source = dataclasses.replace(fake_scene(mirror), ground_truth_files=(train_file, test_file),
                                 official_maps={"train": train_file, "test": test_file})
    ground_truth = source.load_ground_truth()
    np.testing.assert_array_equal(ground_truth.labels, np.maximum(train, test))
    np.testing.assert_array_equal(ground_truth.official_maps["test"], test)
    assert source.all_files().count(train_file) == 1


def test_conflicting_ground_truth_maps_are_refused(mirror: Path) -> None:
    first = remote_for(write_v5(mirror / "A.mat", {"A": np.ones((6, 5), np.uint8)}), "A")
    second = remote_for(write_v5(mirror / "B.mat", {"B": np.full((6, 5), 2, np.uint8)}), "B")
    source = dataclasses.replace(fake_scene(mirror), ground_truth_files=(first, second))
    with pytest.raises(SceneFileError, match="30 pixels have different classes"):
        source.load_ground_truth()


def test_optional_official_map_is_skipped_when_absent(mirror: Path) -> None:
    absent = dataclasses.replace(_missing_remote("TRfake.mat"), urls=())
    source = dataclasses.replace(fake_scene(mirror), optional_official_maps={"train": absent})
    assert source.load_ground_truth().official_maps == {}


def test_optional_official_map_that_is_damaged_is_an_error(mirror: Path) -> None:
    source = fake_scene(mirror)
    damaged = dataclasses.replace(source.ground_truth_files[0], name="TRdamaged.mat")
    (mirror / "TRdamaged.mat").write_bytes(b"damaged")
    with pytest.raises(ChecksumMismatchError, match="TRdamaged.mat"):
        dataclasses.replace(source, optional_official_maps={"train": damaged}).load_ground_truth()


def test_cube_alternatives_take_the_first_present(mirror: Path) -> None:
    cube = fake_cube()
    np.save(mirror / "converted.npy", cube)
    converted = RemoteFile("converted.npy", None, None, None)
    source = dataclasses.replace(fake_scene(mirror), cube_files=(_missing_remote("original.tif"), converted))
    np.testing.assert_array_equal(source.load().cube, cube.astype(np.float32))


def test_v73_scene_is_transposed_back(mirror: Path) -> None:
    """A Chikusei-like scene (v7.3, struct ground truth, no published hash) with the registry's own file facts."""
    chikusei: FileScene = get_scene_source("ch")
    cube, labels = fake_cube(), fake_labels()
    write_v73(mirror / "chikusei" / chikusei.cube_files[0].name, {"chikusei": cube})
    write_v73(mirror / "chikusei" / chikusei.ground_truth_files[0].name, {}, structs={"GT": {"gt": labels}})
    small = dataclasses.replace(chikusei, info=dataclasses.replace(chikusei.info, shape=cube.shape), wavelengths=None)
    scene = small.load()
    np.testing.assert_array_equal(scene.cube, cube.astype(np.float32))
    np.testing.assert_array_equal(scene.labels, labels)
    with pytest.raises(SceneFileError, match="registry expects 2517×2335×128"):
        chikusei.load()


def test_unknown_scene_lists_valid_names() -> None:
    with pytest.raises(UnknownSceneError, match=r"Did you mean .*sa_a.*Valid names: .*ip.*sa_a_corrected"):
        load_scene("sa-a")
