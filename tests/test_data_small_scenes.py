"""The small real cubes (Jasper Ridge, the AVIRIS-like demo scene, MUUFL Gulfport, the Pavia U subset, Urban):
their registrations against the real files of the mirror, derived labels, options and valid masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from hsibench.data import SceneOptionError, get_scene_source, load_ground_truth, load_scene, storage
from hsibench.data.catalog import AV_ZERO_BANDS, JASPER_RIDGE_KEPT_BANDS, SALINAS_KEPT_BANDS
from hsibench.data.files import FileScene
from hsibench.data.matfile import read_mat_array
from hsibench.data.wavelengths import AVIRIS_BAND_CENTRES_NM

# name → (file, shape of the variable in the file, bands as loaded)
SMALL_SCENES = {
    "jr": ("jasperRidge2_R198.mat", (198, 10_000), 198),
    "av": ("a_hsi_img_for_VI_demo.mat", (90, 90, 224), 181),
    "muufl": ("an_hsi_image_sub_for_demo.mat", (51, 88, 72), 72),
    "pusub": ("paviaU_subimg.mat", (50, 50, 103), 103),
    "urban": ("subimage_Urban_R162.mat", (34, 78, 162), 162),
}
UNLABELED = ("av", "muufl", "pusub", "urban")


def _file_or_skip(real_data: Path, name: str) -> Path:
    path = real_data / name
    if not path.is_file():
        pytest.skip(f"{name} is not in the mirror {real_data}")
    return path


@pytest.fixture
def real_mirror(real_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HSIBENCH_MIRROR", str(real_data))
    return real_data


# --- registrations --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SMALL_SCENES)
def test_registration_names_a_pinned_github_file(name: str) -> None:
    source: FileScene = get_scene_source(name)
    (remote,) = source.cube_files
    assert remote.name == SMALL_SCENES[name][0] and remote.size and len(remote.sha256) == 64
    (url,) = remote.urls
    assert url.startswith("https://raw.githubusercontent.com/") and url.endswith("/" + remote.name)
    commit = url.split("/")[5]
    assert len(commit) == 40 and int(commit, 16) >= 0  # a commit, not a branch that can move
    assert source.info.licence and source.info.citation and source.info.wavelength_source


@pytest.mark.parametrize("name", SMALL_SCENES)
def test_registration_matches_the_real_file(real_mirror: Path, name: str) -> None:
    file_name, raw_shape, bands = SMALL_SCENES[name]
    path = _file_or_skip(real_mirror, file_name)
    source: FileScene = get_scene_source(name)
    (remote,) = source.cube_files
    assert storage.file_sha256(path) == remote.sha256 and path.stat().st_size == remote.size
    raw = read_mat_array(path, remote.key)  # the variable as stored
    assert raw.shape == raw_shape and str(raw.dtype) == source.cube_dtype
    scene = load_scene(name)
    assert scene.cube.shape == source.info.shape and scene.bands == bands and scene.cube.dtype == np.float32
    assert scene.wavelengths_nm.shape == (bands,) and scene.wavelengths_nm.dtype == np.float64
    low, high = source.info.spectral_range_nm
    assert scene.wavelengths_nm.min() == pytest.approx(low, abs=0.01)
    assert scene.wavelengths_nm.max() == pytest.approx(high, abs=0.01)
    assert scene.metadata["wavelength_source"] == source.info.wavelength_source


@pytest.mark.parametrize("name", UNLABELED)
def test_unlabeled_scenes_have_an_empty_ground_truth(real_mirror: Path, name: str) -> None:
    _file_or_skip(real_mirror, SMALL_SCENES[name][0])
    info = get_scene_source(name).info
    assert info.labels == "none" and not info.labeled and info.class_names == {}
    ground_truth = load_ground_truth(name)
    assert ground_truth.shape == info.shape[:2] and not ground_truth.labeled
    assert not ground_truth.labels.any() and ground_truth.class_ids() == []
    scene = load_scene(name)
    assert not scene.labeled and scene.crop(slice(0, 5), slice(0, 7)).labels.shape == (5, 7)


def test_gatorsense_files_carry_their_own_wavelengths(real_mirror: Path) -> None:
    for name, file_name in (("av", "a_hsi_img_for_VI_demo.mat"), ("muufl", "an_hsi_image_sub_for_demo.mat")):
        path = _file_or_skip(real_mirror, file_name)
        in_file = read_mat_array(path, "wavelengths").ravel()
        kept = np.setdiff1d(np.arange(in_file.size), np.asarray(get_scene_source(name).dropped_bands, int) - 1)
        np.testing.assert_array_equal(load_scene(name).wavelengths_nm, in_file[kept])
        assert get_scene_source(name).info.wavelength_source == "file key `wavelengths`"


def test_av_drops_exactly_its_all_zero_bands(real_mirror: Path) -> None:
    path = _file_or_skip(real_mirror, "a_hsi_img_for_VI_demo.mat")
    raw = read_mat_array(path, "hsi_img")
    all_zero = [band + 1 for band in range(raw.shape[2]) if not raw[:, :, band].any()]
    assert tuple(all_zero) == AV_ZERO_BANDS and len(all_zero) == 224 - 181
    assert load_scene("av").cube.std(axis=(0, 1)).min() > 0  # no constant band left


def test_muufl_valid_mask_is_the_files_mask(real_mirror: Path) -> None:
    _file_or_skip(real_mirror, "an_hsi_image_sub_for_demo.mat")
    scene = load_scene("muufl")
    assert scene.valid_mask.dtype == bool and scene.valid_mask.shape == (51, 88)
    assert int(scene.valid_mask.sum()) == 3_884
    cropped = scene.crop(slice(10, 30), slice(0, 40))
    np.testing.assert_array_equal(cropped.valid_mask, scene.valid_mask[10:30, :40])
    np.testing.assert_array_equal(cropped.wavelengths_nm, scene.wavelengths_nm)


# --- Jasper Ridge: derived labels -----------------------------------------------------------------


def test_jasper_ridge_labels_are_derived_and_say_so() -> None:
    info = get_scene_source("jr").info
    assert info.labels == "derived" and info.labeled and info.options == {"purity": 0.8}
    assert info.label_note == ("Jasper Ridge labels are derived from unmixing reference abundances "
                               "(arg-max, purity ≥ 0.8), not from a field survey.")
    assert info.class_names == {1: "Tree", 2: "Water", 3: "Dirt", 4: "Road"}


@pytest.mark.parametrize("purity, counts", [
    (None, {1: 1830, 2: 3070, 3: 626, 4: 327}),
    (0.8, {1: 1830, 2: 3070, 3: 626, 4: 327}),
    (0.6, {1: 2834, 2: 3259, 3: 1534, 4: 522}),
])
def test_jasper_ridge_label_counts_by_purity(real_mirror: Path, purity: float | None, counts: dict) -> None:
    _file_or_skip(real_mirror, "jasperRidge2_R198.mat")
    options = {} if purity is None else {"purity": purity}
    assert load_ground_truth("jr", **options).class_counts() == counts
    scene = load_scene("jr", **options)
    assert scene.ground_truth.class_counts() == counts
    assert f"purity ≥ {purity or 0.8:g}" in scene.metadata["label_note"]
    assert scene.metadata["labels"] == "derived"


def test_jasper_ridge_plain_arg_max_counts(real_mirror: Path) -> None:
    _file_or_skip(real_mirror, "jasperRidge2_R198.mat")
    # every pixel's largest abundance is ≥ 1/4 (four abundances summing to one): purity 0.25 labels all
    assert load_ground_truth("jr", purity=0.25).class_counts() == {1: 3493, 2: 3326, 3: 2428, 4: 753}


@pytest.mark.parametrize("purity", [0, 0.0, 1.5, -0.2, "high", True, None])
def test_jasper_ridge_invalid_purity_is_a_clear_error(purity) -> None:
    with pytest.raises(SceneOptionError, match=r"scene 'jr': option purity=.* not valid.*\(0, 1\]"):
        load_ground_truth("jr", purity=purity)
    with pytest.raises(SceneOptionError, match=r"scene 'jr'"):
        load_scene("jr", purity=purity)


def test_unknown_scene_options_name_the_valid_ones() -> None:
    with pytest.raises(SceneOptionError, match=r"scene 'jr' has no option 'purty'; its options are purity \(default 0.8\)"):
        load_scene("jr", purty=0.8)
    with pytest.raises(SceneOptionError, match=r"scene 'pusub' has no option 'purity'.*takes no options"):
        load_scene("pusub", purity=0.8)
    with pytest.raises(SceneOptionError, match=r"scene 'demo_source' has no option 'bands'"):
        load_scene("demo_source", bands=3)


def test_jasper_ridge_orientation_gives_coherent_maps(real_mirror: Path) -> None:
    """Y is bands × pixels in MATLAB's column-major pixel order; read that way, the water (the river) is one
    connected region and neighbouring spectra are alike. Any other pixel order would scramble both."""
    _file_or_skip(real_mirror, "jasperRidge2_R198.mat")
    scene = load_scene("jr", purity=0.25)  # every pixel labeled
    water = scene.labels == 2
    regions, count = ndimage.label(water)
    assert np.bincount(regions.ravel())[1:].max() >= 0.95 * water.sum()
    same_as_below = (scene.labels[1:] == scene.labels[:-1]).mean()
    same_as_right = (scene.labels[:, 1:] == scene.labels[:, :-1]).mean()
    assert min(same_as_below, same_as_right) > 0.75  # a shuffled map gives about 0.3
    # the derived labels and the cube share the pixel order: water is dark in the near infrared
    near_infrared = int(np.argmin(np.abs(scene.wavelengths_nm - 850.0)))
    brightness = scene.cube[:, :, near_infrared]
    assert brightness[water].mean() < 0.3 * brightness[scene.labels == 1].mean()


def test_jasper_ridge_kept_bands_are_the_files(real_mirror: Path) -> None:
    path = _file_or_skip(real_mirror, "jasperRidge2_R198.mat")
    listed = tuple(int(band) for band in read_mat_array(path, "SlectBands").ravel())
    assert listed == JASPER_RIDGE_KEPT_BANDS and len(listed) == 198
    np.testing.assert_array_equal(load_scene("jr").wavelengths_nm,
                                  np.asarray(AVIRIS_BAND_CENTRES_NM)[np.asarray(listed) - 1])


def test_aviris_band_30_has_one_wavelength_in_salinas_a_and_jasper_ridge(real_mirror: Path) -> None:
    jasper_path = _file_or_skip(real_mirror, "jasperRidge2_R198.mat")
    _file_or_skip(real_mirror, "SalinasA.mat")
    jasper_bands = read_mat_array(jasper_path, "SlectBands").ravel().astype(int)
    jasper_channel = int(np.flatnonzero(jasper_bands == 30)[0])  # Jasper Ridge keeps bands from 4 on: channel 26
    salinas_channel = SALINAS_KEPT_BANDS.index(30)  # Salinas-A corrected keeps 1–107: channel 29
    assert (jasper_channel, salinas_channel) == (26, 29)
    jasper, salinas = load_scene("jr").wavelengths_nm, load_scene("sa_a_corrected").wavelengths_nm
    assert jasper[jasper_channel] == salinas[salinas_channel] == AVIRIS_BAND_CENTRES_NM[29]
    shared = sorted(set(JASPER_RIDGE_KEPT_BANDS) & set(SALINAS_KEPT_BANDS))
    assert len(shared) == 197
    np.testing.assert_array_equal(jasper[[JASPER_RIDGE_KEPT_BANDS.index(b) for b in shared]],
                                  salinas[[SALINAS_KEPT_BANDS.index(b) for b in shared]])
