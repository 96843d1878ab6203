"""`hsibench run --save-model` and `hsibench predict`: a trial's adapted model, kept beside its record, applied to a
user's own cube (.mat v5/v7.3, .npy, GeoTIFF) gives back the trial's own predictions, and every bad input is a
clear one-line error."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from fake_scene_files import write_v73

from hsibench.cli import main
from hsibench.data import load_scene
from hsibench.protocol import load_protocol, make_split
from hsibench.protocol.normalise import band_statistics
from hsibench.protocol.task import class_index
from hsibench.runner.records import read_record
from hsibench.runner.saved_models import (
    MODEL_FORMAT,
    BandCountError,
    SavedModelError,
    load_saved_model,
    model_path,
)
from hsibench.runner.spec import TrialSpec, resolve
from hsibench.runner.trial import execute_trial
from hsibench.runner.user_cube import UserCubeError, read_user_cube

SEED = 1330
METHODS = ("svm", "ssftt", "cnn3d")  # a fitted estimator (pickled); a transformer; a CNN with a PCA fitted on the target


def _spec(method: str, out: Path, **changes) -> TrialSpec:
    values = dict(method=method, protocol="demo", seed=SEED, preset="smoke", out_dir=str(out),
                  cache_dir=str(out / "cache"), device="cpu", save_model=True)
    return TrialSpec(**{**values, **changes})


@pytest.fixture(scope="module")
def trials(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One demo trial per method with --save-model, its record, and the demo target saved as user files."""
    out = tmp_path_factory.mktemp("results")
    records = {}
    for method in METHODS:
        record = execute_trial(_spec(method, out))
        assert record.ok, record.error
        records[method] = record
    files = tmp_path_factory.mktemp("cubes")
    scene = load_scene("demo_target")
    np.save(files / "target.npy", scene.cube)
    scipy.io.savemat(files / "target.mat", {"cube": scene.cube, "gt": scene.labels.astype(np.uint8)})
    split = make_split(load_protocol("demo"), SEED)
    return {"out": out, "records": records, "files": files, "scene": scene, "split": split}


def _model(trials: dict, method: str) -> Path:
    return model_path(trials["out"], "demo", trials["records"][method].name)


def _digest(class_ids, labels: np.ndarray, coords: np.ndarray) -> str:
    indices = class_index(class_ids, labels[coords[:, 0], coords[:, 1]])
    return hashlib.sha256(np.ascontiguousarray(indices, np.int64).tobytes()).hexdigest()


def _predict(*argv, expect: int = 0) -> None:
    assert main(["predict", *map(str, argv), "--no-progress"]) == expect


def _labels(folder: Path, name: str) -> np.ndarray:
    with np.load(folder / f"{name}.labels.npz") as saved:
        return saved["labels"]


# --- the file ------------------------------------------------------------------------------------------------


def test_the_model_file_sits_beside_its_record_and_holds_what_predict_needs(trials) -> None:
    record, scene = trials["records"]["ssftt"], trials["scene"]
    path = _model(trials, "ssftt")
    assert path.name == f"{record.name}.model.pt" and path.parent == record.path.parent
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary left behind
    model = load_saved_model(path)
    assert model.record_path == record.path and read_record(model.record_path).run_id == model.run_id == record.run_id
    assert (model.method, model.preset, model.seed, model.protocol_name) == ("ssftt", "smoke", SEED, "demo")
    assert model.class_ids == tuple(c.class_id for c in record.per_class) == (1, 2, 3, 4, 5, 6)
    assert model.class_names == tuple(c.name for c in record.per_class)
    assert (model.bands, model.patch_size, model.padding, model.normalisation) == (60, 7, "zero", "scene")
    np.testing.assert_array_equal(model.wavelengths_nm, scene.wavelengths_nm)
    mean, std = band_statistics(scene.cube.reshape(-1, 60))  # the protocol's scene z-score of the target
    np.testing.assert_array_equal(model.mean, mean)
    np.testing.assert_array_equal(model.std, std)
    assert model.config == record.config and model.code["digest"] == record.code.digest
    assert model.split_fingerprint == record.split.fingerprint


def test_save_model_changes_neither_the_run_id_nor_writes_a_model_unless_asked(trials, tmp_path: Path) -> None:
    with_model, without = _spec("svm", tmp_path), _spec("svm", tmp_path, save_model=False)
    assert resolve(with_model).run_id == resolve(without).run_id
    assert TrialSpec.from_dict(with_model.to_dict()) == with_model
    old = with_model.to_dict()
    del old["save_model"]  # a spec stored before the key existed
    assert TrialSpec.from_dict(old).save_model is False
    record = execute_trial(without)
    assert record.ok and not list(record.path.parent.glob("*.model.pt"))


def test_a_neural_methods_state_round_trips_exactly(trials) -> None:
    model = load_saved_model(_model(trials, "cnn3d"))
    method = model.build_method("cpu")
    saved, rebuilt = model.state["model"], method.state_dict()["model"]
    assert set(saved) == set(rebuilt) and any("reduction" in key for key in saved)  # the target's PCA comes along
    assert all(torch.equal(saved[key], rebuilt[key]) for key in saved)


# --- the trial's own predictions back ------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_predicting_the_training_cube_gives_the_trials_own_predictions(trials, method: str, tmp_path: Path) -> None:
    record, coords = trials["records"][method], trials["split"].test.coords
    model = load_saved_model(_model(trials, method))
    _predict("--model", _model(trials, method), "--cube", trials["files"] / "target.npy", "--out", tmp_path)
    labels = _labels(tmp_path, "target")
    assert labels.shape == (48, 48) and set(np.unique(labels)) <= set(model.class_ids)
    assert _digest(model.class_ids, labels, coords) == record.predictions_sha256
    # tiles of one row (and a halo of 3 rows) give the same labels as one tile of the whole scene
    _predict("--model", _model(trials, method), "--cube", trials["files"] / "target.mat", "--key", "cube",
             "--batch-pixels", 40, "--out", tmp_path, "--name", "tiled")
    np.testing.assert_array_equal(_labels(tmp_path, "tiled"), labels)


def test_a_v73_mat_and_a_bands_first_cube_read_the_same(trials, tmp_path: Path) -> None:
    cube = trials["scene"].cube
    write_v73(tmp_path / "v73.mat", {"cube": cube})
    np.save(tmp_path / "bands_first.npy", np.ascontiguousarray(np.moveaxis(cube, -1, 0)))
    model = _model(trials, "svm")
    _predict("--model", model, "--cube", tmp_path / "v73.mat", "--key", "cube", "--out", tmp_path)
    _predict("--model", model, "--cube", tmp_path / "bands_first.npy", "--bands-first", "--out", tmp_path)
    _predict("--model", model, "--cube", trials["files"] / "target.npy", "--out", tmp_path)
    np.testing.assert_array_equal(_labels(tmp_path, "v73"), _labels(tmp_path, "target"))
    np.testing.assert_array_equal(_labels(tmp_path, "bands_first"), _labels(tmp_path, "target"))


def test_the_outputs_name_their_classes_and_their_model(trials, tmp_path: Path) -> None:
    _predict("--model", _model(trials, "svm"), "--cube", trials["files"] / "target.npy", "--out", tmp_path)
    with np.load(tmp_path / "target.labels.npz") as saved:
        assert saved["class_ids"].tolist() == [1, 2, 3, 4, 5, 6]
        assert saved["class_names"].tolist() == [f"material {k}" for k in range(1, 7)]
        provenance = json.loads(str(saved["provenance"]))
    assert provenance["run_id"] == trials["records"]["svm"].run_id and provenance["statistics"] == "model"
    png = (tmp_path / "target.labels.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5_000
    assert not (tmp_path / "target.labels.tif").exists()  # the input was no GeoTIFF


# --- scores with --gt ------------------------------------------------------------------------------------------


def test_scores_on_the_test_labels_are_the_records_scores(trials, tmp_path: Path) -> None:
    """Ground truth = the split's test pixels only: the same pixels the record was scored on, so OA/AA/κ and the
    confusion matrix must equal the record's. The full ground truth adds the support pixels: more pixels scored."""
    record, split, scene = trials["records"]["ssftt"], trials["split"], trials["scene"]
    test_only = np.zeros(scene.labels.shape, np.int32)
    test_only[split.test.coords[:, 0], split.test.coords[:, 1]] = split.test.labels
    np.save(tmp_path / "test_gt.npy", test_only)
    _predict("--model", _model(trials, "ssftt"), "--cube", trials["files"] / "target.npy", "--gt",
             tmp_path / "test_gt.npy", "--out", tmp_path)
    scores = json.loads((tmp_path / "target.scores.json").read_text())
    assert scores["pixels_scored"] == len(split.test) == record.split.test
    assert scores["overall_accuracy"] == pytest.approx(record.overall_accuracy, abs=1e-12)
    assert scores["average_accuracy"] == pytest.approx(record.average_accuracy, abs=1e-12)
    assert scores["kappa"] == pytest.approx(record.kappa, abs=1e-12)
    assert scores["confusion_matrix"] == record.confusion_matrix
    _predict("--model", _model(trials, "ssftt"), "--cube", trials["files"] / "target.mat", "--key", "cube",
             "--gt", trials["files"] / "target.mat", "--gt-key", "gt", "--out", tmp_path, "--name", "full")
    full = json.loads((tmp_path / "full.scores.json").read_text())
    assert full["pixels_scored"] == int((scene.labels > 0).sum()) == len(split.test) + len(split.support)


def test_ground_truth_pixels_of_unknown_classes_are_counted_and_left_out(trials, tmp_path: Path, capsys) -> None:
    gt = trials["scene"].labels.astype(np.int32)
    gt[:4, :4] = 9  # a class the model never saw
    np.save(tmp_path / "gt9.npy", gt)
    _predict("--model", _model(trials, "svm"), "--cube", trials["files"] / "target.npy", "--gt", tmp_path / "gt9.npy",
             "--out", tmp_path)
    scores = json.loads((tmp_path / "target.scores.json").read_text())
    assert scores["pixels_of_other_classes"] == {"9": 16}
    assert scores["pixels_scored"] == int(((gt > 0) & (gt != 9)).sum())
    assert "does not know" in capsys.readouterr().err


# --- normalisation ---------------------------------------------------------------------------------------------


def test_statistics_refit_on_the_cube_undo_a_change_of_units(trials, tmp_path: Path, capsys) -> None:
    """×4 is exact in float32, so per-band statistics refitted on the scaled cube give bit-identical z-scores
    and labels; the model's statistics see a shifted cube, and predict says so."""
    np.save(tmp_path / "scaled.npy", trials["scene"].cube * np.float32(4.0))
    model, cube = _model(trials, "ssftt"), trials["files"] / "target.npy"
    _predict("--model", model, "--cube", cube, "--out", tmp_path)
    _predict("--model", model, "--cube", cube, "--statistics", "cube", "--out", tmp_path, "--name", "refit")
    _predict("--model", model, "--cube", tmp_path / "scaled.npy", "--statistics", "cube", "--out", tmp_path,
             "--name", "scaled_refit")
    capsys.readouterr()
    _predict("--model", model, "--cube", tmp_path / "scaled.npy", "--out", tmp_path, "--name", "scaled_model")
    assert "--statistics cube refits" in capsys.readouterr().err
    original = _labels(tmp_path, "target")
    np.testing.assert_array_equal(_labels(tmp_path, "refit"), original)  # scene statistics of the same cube
    np.testing.assert_array_equal(_labels(tmp_path, "scaled_refit"), original)
    assert not np.array_equal(_labels(tmp_path, "scaled_model"), original)


def test_pixels_with_a_non_finite_band_are_not_classified(trials, tmp_path: Path) -> None:
    cube = trials["scene"].cube.copy()
    cube[10, 10, 5] = np.nan
    cube[0, :, :] = np.nan
    np.save(tmp_path / "holes.npy", cube)
    _predict("--model", _model(trials, "ssftt"), "--cube", tmp_path / "holes.npy", "--out", tmp_path)
    labels = _labels(tmp_path, "holes")
    assert labels[10, 10] == 0 and not labels[0].any()
    assert (labels == 0).sum() == 49 and labels.dtype == np.uint8


# --- bands and wavelengths -------------------------------------------------------------------------------------


def test_a_wrong_band_count_names_both_counts_and_the_way_out(trials, tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "fifty.npy", trials["scene"].cube[..., :50])
    _predict("--model", _model(trials, "svm"), "--cube", tmp_path / "fifty.npy", "--out", tmp_path, expect=1)
    err = capsys.readouterr().err
    assert err.startswith("hsibench: error: fifty.npy has 50 bands, but the model (svm, adapted to demo_target) "
                          "takes 60 bands") and err.count("\n") == 1
    assert "430.0–960.0 nm" in err and "--wavelengths FILE" in err and "--resample" in err
    np.save(tmp_path / "transposed.npy", np.ascontiguousarray(np.moveaxis(trials["scene"].cube, -1, 0)))
    _predict("--model", _model(trials, "svm"), "--cube", tmp_path / "transposed.npy", "--out", tmp_path, expect=1)
    assert "add --bands-first" in capsys.readouterr().err
    model = load_saved_model(_model(trials, "svm"))
    with pytest.raises(BandCountError, match="has 50 bands.*takes 60"):
        model.predict_scene(read_user_cube(tmp_path / "fifty.npy").scene, device="cpu")


def test_resampling_onto_the_models_band_centres(trials, tmp_path: Path, capsys) -> None:
    scene, model = trials["scene"], _model(trials, "svm")
    np.savetxt(tmp_path / "own.txt", scene.wavelengths_nm)
    # the cube's own centres: resampling is the identity, the labels those of the plain cube
    _predict("--model", model, "--cube", trials["files"] / "target.npy", "--wavelengths", tmp_path / "own.txt",
             "--resample", "--out", tmp_path, "--name", "identity")
    _predict("--model", model, "--cube", trials["files"] / "target.npy", "--out", tmp_path)
    np.testing.assert_array_equal(_labels(tmp_path, "identity"), _labels(tmp_path, "target"))
    # a sensor at twice the spectral sampling, over the same range: resampled back, then classified
    fine_nm = np.linspace(430.0, 960.0, 119)
    fine = np.stack([np.interp(fine_nm, scene.wavelengths_nm, spectrum)
                     for spectrum in scene.cube.reshape(-1, 60)]).reshape(48, 48, 119).astype(np.float32)
    np.save(tmp_path / "fine.npy", fine)
    np.save(tmp_path / "fine_nm.npy", fine_nm)
    _predict("--model", model, "--cube", tmp_path / "fine.npy", "--out", tmp_path, expect=1)
    err = capsys.readouterr().err
    assert "has 119 bands" in err and "takes 60" in err
    _predict("--model", model, "--cube", tmp_path / "fine.npy", "--wavelengths", tmp_path / "fine_nm.npy",
             "--resample", "--out", tmp_path)
    assert (_labels(tmp_path, "fine") == _labels(tmp_path, "target")).mean() > 0.98
    # a sensor that stops at 900 nm cannot give the model's bands up to 960 nm
    np.save(tmp_path / "short.npy", fine[..., fine_nm <= 900])
    np.save(tmp_path / "short_nm.npy", fine_nm[fine_nm <= 900])
    _predict("--model", model, "--cube", tmp_path / "short.npy", "--wavelengths", tmp_path / "short_nm.npy",
             "--out", tmp_path, expect=1)
    assert "not the model's whole range" in capsys.readouterr().err
    _predict("--model", model, "--cube", tmp_path / "short.npy", "--wavelengths", tmp_path / "short_nm.npy",
             "--resample", "--out", tmp_path, expect=1)
    assert "resampling cannot make bands the sensor did not record" in capsys.readouterr().err


# --- bad inputs ------------------------------------------------------------------------------------------------


def test_a_missing_key_lists_the_keys_the_file_holds(trials, tmp_path: Path, capsys) -> None:
    _predict("--model", _model(trials, "svm"), "--cube", trials["files"] / "target.mat", "--key", "data",
             "--out", tmp_path, expect=1)
    err = capsys.readouterr().err
    assert "has no variable 'data'; it holds: cube, gt" in err and err.count("\n") == 1
    _predict("--model", _model(trials, "svm"), "--cube", trials["files"] / "target.mat", "--out", tmp_path, expect=1)
    assert "holds 2 variables (cube, gt); name the one to use with --key" in capsys.readouterr().err
    with pytest.raises(UserCubeError, match="a cube must be 3-D.*is --key the cube's variable"):
        read_user_cube(trials["files"] / "target.mat", "gt")


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    (b"not a model at all", "cannot be read as an hsibench model file"),
    ({"method": "svm", "state": {}}, "bare Method.save checkpoint"),
    ({"format": MODEL_FORMAT, "format_version": 99}, "format version 99"),
    ({"format": MODEL_FORMAT, "format_version": 1, "method": "svm"}, "lacks"),
])
def test_a_wrong_or_damaged_model_file_is_a_clear_error(content, message: str, tmp_path: Path) -> None:
    path = tmp_path / "x.model.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(SavedModelError, match=message):
        load_saved_model(path)
    assert main(["predict", "--model", str(path), "--info"]) == 1


def test_a_truncated_model_file_is_a_clear_error(trials, tmp_path: Path) -> None:
    data = _model(trials, "ssftt").read_bytes()
    (tmp_path / "cut.model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(SavedModelError, match="damaged or not a model file"):
        load_saved_model(tmp_path / "cut.model.pt")


def test_info_describes_the_model(trials, capsys) -> None:
    assert main(["predict", "--model", str(_model(trials, "cnn3d")), "--info"]) == 0
    out = capsys.readouterr().out
    assert "cnn3d (preset smoke)" in out and "60 bands (430.0–960.0 nm)" in out and "1 material 1" in out


# --- GeoTIFF ---------------------------------------------------------------------------------------------------

GEO_TAGS = [(33550, "d", 3, (30.0, 30.0, 0.0), True), (33922, "d", 6, (0.0, 0.0, 0.0, 500000.0, 4200000.0, 0.0), True),
            (34735, "H", 16, (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633), True)]


def test_a_geotiff_cube_gives_a_geotiff_map_on_the_same_grid(trials, tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    tifffile.imwrite(tmp_path / "scene.tif", trials["scene"].cube, photometric="minisblack", planarconfig="contig",
                     extratags=GEO_TAGS)
    _predict("--model", _model(trials, "svm"), "--cube", tmp_path / "scene.tif", "--out", tmp_path)
    _predict("--model", _model(trials, "svm"), "--cube", trials["files"] / "target.npy", "--out", tmp_path)
    labels = _labels(tmp_path, "scene")
    np.testing.assert_array_equal(labels, _labels(tmp_path, "target"))
    with tifffile.TiffFile(tmp_path / "scene.labels.tif") as tiff:
        np.testing.assert_array_equal(tiff.asarray(), labels)
        tags = tiff.pages[0].tags
        for code, _dtype, _count, value, _once in GEO_TAGS:
            assert tuple(np.atleast_1d(tags[code].value).tolist()) == value


def test_a_geotiff_without_tifffile_says_how_to_proceed(trials, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "tifffile", None)  # as if not installed
    (tmp_path / "scene.tif").write_bytes(b"II*\x00")
    _predict("--model", _model(trials, "svm"), "--cube", tmp_path / "scene.tif", "--out", tmp_path, expect=1)
    assert "pip install tifffile" in capsys.readouterr().err


def test_a_cube_and_ground_truth_of_other_sizes_are_refused(trials, tmp_path: Path) -> None:
    np.save(tmp_path / "small_gt.npy", np.zeros((10, 10), np.int32))
    with pytest.raises(UserCubeError, match="is 10×10 pixels but the cube is 48×48"):
        read_user_cube(trials["files"] / "target.npy", gt=tmp_path / "small_gt.npy")


def test_the_user_cube_is_a_scene_named_after_its_file(trials) -> None:
    cube = read_user_cube(trials["files"] / "target.mat", "cube", trials["files"] / "target.mat", "gt",
                          class_names={1: "material 1"})
    assert cube.scene.name == "target[cube]" and cube.labeled and not cube.is_geotiff
    assert cube.scene.class_names[1] == "material 1" and cube.scene.class_names[2] == "class 2"
    assert dataclasses.replace(cube.scene).bands == 60


def test_printed_scores_give_kappa_times_100_like_every_table(trials, tmp_path: Path, capsys) -> None:
    _predict("--model", _model(trials, "ssftt"), "--cube", trials["files"] / "target.mat", "--key", "cube",
             "--gt", trials["files"] / "target.mat", "--gt-key", "gt", "--out", tmp_path)
    scores = json.loads((tmp_path / "target.scores.json").read_text())
    assert f"κ ×100 {100 * scores['kappa']:.2f}" in capsys.readouterr().out
