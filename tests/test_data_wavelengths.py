"""Band centres of every registered scene: the nominal sensor tables, where each scene's come from, and the
Scene fields that carry them (with the valid-pixel mask)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fake_scene_files import fake_cube, fake_labels, fake_scene, remote_for, write_v5

from hsibench.data import GroundTruth, Scene, SceneFileError, get_scene_source, load_scene, scene_names
from hsibench.data.catalog import BOTSWANA_KEPT_BANDS, KSC_KEPT_BANDS, SALINAS_KEPT_BANDS, URBAN_KEPT_BANDS
from hsibench.data.files import LAYOUT_BANDS_BY_PIXELS, FileScene
from hsibench.data.matfile import read_mat_array
from hsibench.data.registry import SceneInfo
from hsibench.data.wavelengths import (
    AVIRIS_BAND_CENTRES_NM,
    HYDICE_BAND_CENTRES_NM,
    HYPERION_BAND_CENTRES_NM,
    FileWavelengths,
    NominalWavelengths,
    band_ranges,
    centres_of,
    kept_band_numbers,
)


@pytest.mark.parametrize("name", scene_names())
def test_every_scene_says_where_its_wavelengths_come_from(name: str) -> None:
    source = get_scene_source(name)
    info = source.info
    assert info.wavelength_source, f"{name}: no wavelength source"
    low, high = info.spectral_range_nm
    assert 350 <= low < high <= 2600
    wavelengths = getattr(source, "wavelengths", None)
    if isinstance(wavelengths, NominalWavelengths):
        assert len(wavelengths.values_nm) == info.shape[2]
        assert (low, high) == wavelengths.range_nm
        assert wavelengths.source.startswith("nominal")
    elif isinstance(wavelengths, FileWavelengths):
        assert info.wavelength_source == f"file key `{wavelengths.key}`"
    else:
        assert info.access == "generated"


def test_nominal_aviris_table_is_the_files_calibration(real_data: Path) -> None:
    path = real_data / "a_hsi_img_for_VI_demo.mat"
    if not path.is_file():
        pytest.skip(f"{path.name} is not in the mirror")
    np.testing.assert_array_equal(np.asarray(AVIRIS_BAND_CENTRES_NM), read_mat_array(path, "wavelengths").ravel())


def test_aviris_table_shape_and_spectrometer_joins() -> None:
    table = np.asarray(AVIRIS_BAND_CENTRES_NM)
    assert table.shape == (224,) and 360 < table[0] < 370 and 2490 < table[-1] < 2500
    # four overlapping spectrometers: the centres step back three times, at the joins
    assert (np.flatnonzero(np.diff(table) < 0) + 1).tolist() == [32, 96, 160]


@pytest.mark.parametrize("name, table, kept", [
    ("sa", AVIRIS_BAND_CENTRES_NM, SALINAS_KEPT_BANDS),
    ("sa_a_corrected", AVIRIS_BAND_CENTRES_NM, SALINAS_KEPT_BANDS),
    ("sa_a", AVIRIS_BAND_CENTRES_NM, tuple(range(1, 225))),
    ("ksc", AVIRIS_BAND_CENTRES_NM, KSC_KEPT_BANDS),
    ("bo", HYPERION_BAND_CENTRES_NM, BOTSWANA_KEPT_BANDS),
    ("urban", HYDICE_BAND_CENTRES_NM, URBAN_KEPT_BANDS),
])
def test_nominal_centres_follow_the_kept_band_numbers(name: str, table, kept) -> None:
    source: FileScene = get_scene_source(name)
    assert len(kept) == source.info.shape[2]
    assert source.wavelengths.values_nm == centres_of(table, kept)
    assert band_ranges(kept) in source.info.wavelength_source


def test_band_lists_of_the_scenes() -> None:
    assert band_ranges(SALINAS_KEPT_BANDS) == "1–107, 113–153, 168–223"
    assert band_ranges(BOTSWANA_KEPT_BANDS) == "10–55, 82–97, 102–119, 134–164, 187–220"
    assert len(BOTSWANA_KEPT_BANDS) == 145 and len(KSC_KEPT_BANDS) == 176
    assert band_ranges(set(range(1, 211)) - set(URBAN_KEPT_BANDS)) == "1–4, 76, 87, 101–111, 136–153, 198–210"
    assert "ASSUMED" in get_scene_source("ksc").info.wavelength_source


def test_hyperion_table_matches_documented_centres() -> None:
    # USGS Hyperion band table: band 10 447.17, 57 925.41, 77 912.45, 224 2395.53 nm
    for band, documented in ((10, 447.17), (57, 925.41), (77, 912.45), (224, 2395.53)):
        assert HYPERION_BAND_CENTRES_NM[band - 1] == pytest.approx(documented, abs=0.1)


@pytest.mark.parametrize("name, grid", [("demo_source", (400.0, 1000.0, 72)), ("demo_target", (430.0, 960.0, 60))])
def test_generated_scenes_carry_their_synthetic_grid(name: str, grid) -> None:
    scene = load_scene(name)
    np.testing.assert_allclose(scene.wavelengths_nm, np.linspace(*grid))
    assert "synthetic band grid" in get_scene_source(name).info.wavelength_source


def test_kept_band_numbers_and_table_lookups_refuse_bands_outside_the_sensor() -> None:
    assert kept_band_numbers(6, (2, 5)) == (1, 3, 4, 6)
    with pytest.raises(ValueError, match=r"\[7\]"):
        kept_band_numbers(6, (7,))
    with pytest.raises(ValueError, match="outside"):
        centres_of((400.0, 410.0), (3,))


# --- Scene fields ---------------------------------------------------------------------------------


def _scene(**fields) -> Scene:
    cube = np.zeros((4, 5, 3), np.float32)
    return Scene("s", cube, GroundTruth.unlabeled("s", (4, 5)), **fields)


def test_scene_checks_wavelengths_and_mask() -> None:
    scene = _scene(wavelengths_nm=[400, 500, 600], valid_mask=np.ones((4, 5), np.uint8))
    assert scene.wavelengths_nm.dtype == np.float64 and scene.valid_mask.dtype == bool
    assert not scene.labeled and scene.ground_truth.class_names == {}
    with pytest.raises(ValueError, match="one band centre per band"):
        _scene(wavelengths_nm=[400.0, 500.0])
    with pytest.raises(ValueError, match="valid mask"):
        _scene(valid_mask=np.ones((5, 4), bool))
    assert _scene().wavelengths_nm is None and _scene().valid_mask is None


def test_crop_keeps_wavelengths_and_crops_the_mask() -> None:
    mask = np.arange(20).reshape(4, 5) % 3 == 0
    cropped = _scene(wavelengths_nm=[400.0, 500.0, 600.0], valid_mask=mask).crop(slice(1, 3), slice(2, 5))
    assert cropped.cube.shape == (2, 3, 3) and cropped.wavelengths_nm.tolist() == [400.0, 500.0, 600.0]
    np.testing.assert_array_equal(cropped.valid_mask, mask[1:3, 2:5])


def test_scene_info_label_kinds_are_checked() -> None:
    with pytest.raises(ValueError, match="labels must be one of"):
        SceneInfo("x", "x", (1, 1, 1), {}, labels="maybe")
    with pytest.raises(ValueError, match="label_note"):
        SceneInfo("x", "x", (1, 1, 1), {1: "a"}, labels="derived")
    with pytest.raises(ValueError, match="no class names"):
        SceneInfo("x", "x", (1, 1, 1), {1: "a"}, labels="none")
    assert not SceneInfo("x", "x", (1, 1, 1), {}, labels="none").labeled


# --- file scenes with the new facts, on fake files ------------------------------------------------


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "mirror"
    folder.mkdir()
    monkeypatch.setenv("HSIBENCH_MIRROR", str(folder))
    return folder


def test_file_wavelengths_follow_dropped_bands(mirror: Path) -> None:
    cube = fake_cube(bands=6)
    source = fake_scene(mirror, cube=cube, dropped_bands=(2, 5))
    path = write_v5(mirror / "with_wavelengths.mat", {"cube": cube, "wl": np.arange(400.0, 460.0, 10.0)[:, None]})
    with_file = FileScene(info=source.info, cube_files=(remote_for(path, "cube"),),
                          ground_truth_files=source.ground_truth_files, dropped_bands=(2, 5),
                          wavelengths=FileWavelengths("wl"))
    assert with_file.load().wavelengths_nm.tolist() == [400.0, 420.0, 430.0, 450.0]


def test_wrong_number_of_nominal_wavelengths_is_refused_at_registration(mirror: Path) -> None:
    source = fake_scene(mirror)
    with pytest.raises(ValueError, match="3 nominal wavelengths for 8 bands"):
        FileScene(info=source.info, cube_files=source.cube_files, ground_truth_files=source.ground_truth_files,
                  wavelengths=NominalWavelengths((1.0, 2.0, 3.0), "test"))


def test_bands_by_pixels_layout_is_column_major(mirror: Path) -> None:
    cube = fake_cube(6, 5, 4).astype(np.float32)  # (H, W, B)
    stored = cube.reshape(30, 4, order="F").T  # (B, H·W), pixel p = (p % H, p // H), as MATLAB's Y
    path = write_v5(mirror / "y.mat", {"Y": stored})
    gt = remote_for(write_v5(mirror / "gt.mat", {"gt": fake_labels()}), "gt")
    info = SceneInfo("y", "y", (6, 5, 4), {1: "one", 2: "two", 3: "three"})
    source = FileScene(info=info, cube_files=(remote_for(path, "Y"),), ground_truth_files=(gt,),
                       cube_layout=LAYOUT_BANDS_BY_PIXELS)
    np.testing.assert_array_equal(source.load().cube, cube)


def test_registered_band_numbers_must_match_the_file(mirror: Path) -> None:
    cube = fake_cube()
    path = write_v5(mirror / "cube.mat", {"cube": cube, "bands": np.arange(1, 9)[:, None]})
    gt = remote_for(write_v5(mirror / "gt.mat", {"gt": fake_labels()}), "gt")
    info = SceneInfo("b", "b", cube.shape, {1: "one", 2: "two", 3: "three"})
    good = FileScene(info=info, cube_files=(remote_for(path, "cube"),), ground_truth_files=(gt,),
                     band_numbers_key="bands", band_numbers=tuple(range(1, 9)))
    assert good.load().bands == 8
    bad = FileScene(info=info, cube_files=good.cube_files, ground_truth_files=(gt,),
                    band_numbers_key="bands", band_numbers=tuple(range(2, 10)))
    with pytest.raises(SceneFileError, match="kept band numbers"):
        bad.load()


def test_unlabeled_file_scene_needs_only_its_cube(mirror: Path) -> None:
    cube = fake_cube()
    path = write_v5(mirror / "cube.mat", {"cube": cube, "mask": (fake_labels() > 0).astype(np.uint8)})
    info = SceneInfo("u", "u", cube.shape, {}, labels="none")
    source = FileScene(info=info, cube_files=(remote_for(path, "cube"),), valid_mask_key="mask")
    assert source.ground_truth_roles() == () and source.ground_truth_available()
    scene = source.load()
    assert not scene.labeled and not scene.labels.any()
    np.testing.assert_array_equal(scene.valid_mask, fake_labels() > 0)
    with pytest.raises(ValueError, match="SceneInfo.labels is 'survey'"):
        FileScene(info=SceneInfo("u", "u", cube.shape, {}), cube_files=source.cube_files)
