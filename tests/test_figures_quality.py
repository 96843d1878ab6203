"""What makes the figures readable: map panels sized by the scene's shape, distinct class colours, masked
background, marked support pixels, an ablation axis zoomed to the data, curves nudged apart, titles in words."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from test_report_tables import PROPOSED, SEEDS, make_record

import hsibench.report.figure_maps as figure_maps
import hsibench.report.figures as figures
from hsibench.protocol import load_protocol
from hsibench.protocol.split import legacy_split
from hsibench.report.collect import group_records
from hsibench.report.figure_maps import map_grid, maps_figure, shown_prediction
from hsibench.report.figures import ablation_figure, sweep_figure, sweep_offsets
from hsibench.report.palette import BACKGROUND, CLASS_COLOURS, class_colour, delta_e, min_pairwise_delta_e
from hsibench.runner.records import load_records

SEED = 1330


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels, read from the PNG header."""
    return struct.unpack(">II", path.read_bytes()[16:24])


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list:
    """The figures the builders would save, kept instead of written."""
    kept: list = []

    def keep(figure, folder, stem):
        kept.append(figure)
        return []

    monkeypatch.setattr(figures, "save_figure", keep)
    monkeypatch.setattr(figure_maps, "save_figure", keep)
    return kept


# -- map panels ---------------------------------------------------------------------------------------------------

def test_a_tall_scene_gets_one_row_of_tall_panels_and_a_square_one_larger_panels_in_rows() -> None:
    tall = map_grid((83, 43), 8)  # Salinas-A's halves beside seven methods
    assert (tall.rows, tall.columns) == (1, 8)
    assert tall.panel_height / tall.panel_width == pytest.approx(83 / 43)
    assert tall.width <= 7.0 + 1e-9 and tall.width == pytest.approx(7.0)  # the page's width, no wide gaps
    square = map_grid((48, 48), 8)
    assert square.rows == 2 and square.panel_width > tall.panel_width
    assert square.panel_height == pytest.approx(square.panel_width)
    assert square.height <= 3.6 + 1e-9


def test_a_few_panels_of_a_tall_scene_make_a_narrow_figure_not_wide_cells() -> None:
    grid = map_grid((200, 50), 2, max_height=3.6)
    assert grid.panel_height + grid.title_height == pytest.approx(3.6)  # height is the limit
    assert grid.width == pytest.approx(2 * grid.panel_width + figure_maps.PANEL_GAP)  # the figure hugs the panels
    assert grid.width < 3.0


def test_the_cells_make_room_for_the_titles() -> None:
    grid = map_grid((83, 43), 8, label_width=1.5)  # titles too wide for eight columns: fewer, wider cells
    assert grid.columns < 8 and grid.cell_width >= 1.5


def write_scene(root: Path, shape: tuple[int, int]) -> None:
    """s2former and svm records with maps of one seed on a scene of ``shape``; the support fingerprint is real."""
    truth = np.zeros(shape, np.int16)
    rows, cols = shape
    truth[: rows // 2, : cols // 2] = 1
    truth[rows // 2 + 1:, cols // 2:] = 2
    protocol = load_protocol("demo")
    split = legacy_split(truth, protocol.shots, SEED)
    for method, shift in (("s2former", 0), ("svm", 1)):
        prediction = np.roll(np.where(truth == 0, 1, truth), shift, axis=1)
        name = f"{method}-{SEED}.map.npz"
        path = root / "demo" / "runs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, prediction=prediction, ground_truth=truth, class_ids=np.array([1, 2], np.int16),
                            class_names=np.array(["Asphalt", "Meadows_&_grass"]))
        make_record(root, method, SEED, 0.8, map_file=name, fingerprint=split.fingerprint)
    return truth, split


def groups_of(root: Path, methods: list[str] | None = None):
    records = load_records(root, "demo")
    return group_records(records, methods=methods)


def test_the_maps_figure_follows_the_scene_shape(tmp_path: Path) -> None:
    sizes = {}
    for name, shape in (("tall", (60, 12)), ("wide", (12, 60))):
        root = tmp_path / name
        write_scene(root, shape)
        png = next(p for p in maps_figure(groups_of(root), SEED, root / "figures") if p.suffix == ".png")
        sizes[name] = png_size(png)
    (tall_width, tall_height), (wide_width, wide_height) = sizes["tall"], sizes["wide"]
    assert tall_height / tall_width > 1.0 > wide_height / wide_width


def painted(figure, index: int) -> np.ndarray:
    return np.asarray(figure.axes[index].images[0].get_array())


def test_predictions_are_masked_outside_labeled_pixels_by_default(tmp_path: Path, captured: list) -> None:
    truth, _ = write_scene(tmp_path, (12, 10))
    maps_figure(groups_of(tmp_path, ["s2former", "svm"]), SEED, tmp_path)
    maps_figure(groups_of(tmp_path, ["s2former", "svm"]), SEED, tmp_path, mask_unlabeled=False)
    masked, full = captured
    white = np.asarray(to_rgb(BACKGROUND))
    for index in (1, 2):  # the methods' panels (0 is the ground truth)
        assert np.allclose(painted(masked, index)[truth == 0], white)
        assert not np.allclose(painted(full, index)[truth == 0], white)  # every pixel painted when asked
        assert np.array_equal(painted(masked, index)[truth > 0], painted(full, index)[truth > 0])


def test_shown_prediction() -> None:
    truth = np.array([[0, 1], [2, 0]])
    prediction = np.array([[3, 1], [1, 2]])
    assert shown_prediction(prediction, truth).tolist() == [[0, 1], [1, 0]]
    assert shown_prediction(prediction, truth, mask_unlabeled=False).tolist() == prediction.tolist()


def test_support_pixels_are_marked_on_the_ground_truth_only(tmp_path: Path, captured: list) -> None:
    _, split = write_scene(tmp_path, (12, 10))
    maps_figure(groups_of(tmp_path), SEED, tmp_path)
    ground_truth_panel, *method_panels = captured[0].axes
    (markers,) = ground_truth_panel.collections
    marked = {(int(round(y)), int(round(x))) for x, y in markers.get_offsets()}
    assert marked == {tuple(c) for c in split.support.coords.tolist()}
    assert all(not axis.collections for axis in method_panels)
    assert any("support pixel" in text.get_text() for text in captured[0].legends[0].get_texts())


def test_support_pixels_are_not_marked_when_the_split_cannot_be_confirmed(tmp_path: Path, captured: list) -> None:
    write_scene(tmp_path, (12, 10))
    for record in load_records(tmp_path, "demo"):  # a record whose split is not the one the map re-draws
        make_record(tmp_path, record.method, SEED, 0.8, map_file=record.map_file, fingerprint="another split")
    maps_figure(groups_of(tmp_path), SEED, tmp_path)
    assert not captured[0].axes[0].collections


def test_the_legend_is_readable(tmp_path: Path, captured: list) -> None:
    write_scene(tmp_path, (12, 10))
    maps_figure(groups_of(tmp_path), SEED, tmp_path)
    texts = captured[0].legends[0].get_texts()
    assert all(text.get_fontsize() >= 9 for text in texts)
    assert "Meadows & grass" in {text.get_text() for text in texts}  # names in words, not identifiers


# -- palette ------------------------------------------------------------------------------------------------------

def test_twenty_class_colours_are_far_apart_in_cielab() -> None:
    assert len(set(CLASS_COLOURS)) == 20
    assert min_pairwise_delta_e(CLASS_COLOURS) > 25.0  # CIE76; tab20's light/dark pairs are about 17 apart
    assert min(delta_e(colour, BACKGROUND) for colour in CLASS_COLOURS) > 30.0  # none vanishes into the page
    assert delta_e("#000000", "#ffffff") == pytest.approx(100.0, abs=0.01)


def test_salinas_a_classes_differ() -> None:
    colours = [class_colour(c) for c in (1, 10, 11, 12, 13, 14)]
    assert min_pairwise_delta_e(colours) > 25.0


# -- ablation and sweeps ------------------------------------------------------------------------------------------

VARIANT_GAPS = {"s2former-no-daft": -0.004, "s2former-no-pretrain": -0.075, "s2former-no-xattn": 0.017}


@pytest.fixture
def ablation_groups(tmp_path: Path):
    for index, (seed, value) in enumerate(zip(SEEDS, PROPOSED)):
        make_record(tmp_path, "s2former", seed, 0.15 + value)  # OA 92–100 %
        for variant, gap in VARIANT_GAPS.items():
            make_record(tmp_path, variant, seed, 0.15 + value + gap + 0.002 * (index % 3), method_base="s2former")
    return groups_of(tmp_path, ["s2former", *VARIANT_GAPS])


def all_texts(figure) -> list[str]:
    texts = [figure._suptitle.get_text() if figure._suptitle else ""]
    texts += [t.get_text() for t in figure.texts]
    for axis in figure.axes:
        texts += [axis.get_title(), axis.get_xlabel(), axis.get_ylabel()]
    return texts


def test_the_ablation_axis_is_zoomed_to_the_data(ablation_groups, tmp_path: Path, captured: list) -> None:
    ablation_figure(ablation_groups, tmp_path)
    left, right = captured[0].axes
    low, high = left.get_xlim()
    assert low > 80.0 and high < 105.0  # not 0–100: the spread is a few points
    means = [float(np.asarray(line.get_xdata())[0]) for line in left.lines if len(line.get_xdata()) == 1]
    assert low < min(means) and high > max(means)
    low, high = right.get_xlim()
    assert low < -7.0 and high > 1.7 and low > -15.0  # the paired changes and 0, nothing more


def test_the_ablation_marks_the_tables_significant_variants(ablation_groups, tmp_path: Path, captured: list) -> None:
    ablation_figure(ablation_groups, tmp_path)
    right = captured[0].axes[1]
    stars = [text for text in right.texts if text.get_text() == "*"]
    assert len(stars) == 3  # every variant moves on every seed (ten seeds): all three differ after Holm
    labels = [label.get_text() for label in captured[0].axes[0].get_yticklabels()]
    assert labels == ["S²Former (full model)", "w/o DAFT", "w/o pretraining", "w/o cross-attention"]


def test_titles_are_words_not_jargon(ablation_groups, tmp_path: Path, captured: list) -> None:
    ablation_figure(ablation_groups, tmp_path)
    sweep_figure(ablation_groups, "shots", tmp_path, ddof=1)
    sweep_figure(ablation_groups, "shots", tmp_path, ddof=0)
    texts = [text for figure in captured for text in all_texts(figure)]
    assert not any("ddof" in text for text in texts)
    joined = " ".join(texts)
    assert "mean ± standard deviation over 10 seeds" in joined.replace("\n", " ")
    assert "population standard deviation" in joined


def test_sweep_curves_are_nudged_apart_with_ticks_at_the_true_values(tmp_path: Path, captured: list) -> None:
    for seed, value in zip(SEEDS[:3], PROPOSED):
        for method, offset in (("s2former", 0.0), ("svm", -0.01), ("mae", 0.01)):
            for shots in (1, 3, 5):
                make_record(tmp_path, method, seed, value + offset, shots=shots)
    groups = group_records(load_records(tmp_path, "demo"), "shots")
    sweep_figure(groups, "shots", tmp_path)
    axis = captured[0].axes[0]
    xs = [tuple(np.round(np.asarray(line.get_xdata(), float), 6)) for line in axis.lines if len(line.get_xdata()) == 3]
    assert len(set(xs)) == 3  # each method at its own offset
    assert [float(t) for t in axis.get_xticks()] == [1.0, 3.0, 5.0]
    assert all(abs(x - round(x)) <= 0.25 for line in xs for x in line)


def test_sweep_offsets_are_symmetric_and_small() -> None:
    assert sweep_offsets(1, 1.0) == [0.0]
    offsets = sweep_offsets(3, 2.0)
    assert offsets[0] == -offsets[2] and offsets[1] == 0.0 and max(offsets) <= 0.25
    assert max(sweep_offsets(10, 1.0)) <= 0.125
