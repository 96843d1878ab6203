"""The spatial buffer keeps every test patch off every labeled pixel (support and validation), in both split paths.

Clean splits with no validation or no buffer must stay the plain seeded draw (their fingerprints are in published
records), so those are checked against an independent re-implementation of that draw.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hsibench.data import GroundTruth, load_ground_truth
from hsibench.protocol import LabeledPixels, clean_split, legacy_split, load_protocol, make_split
from hsibench.protocol.split import Split


def toy_map(seed: int = 3, shape=(60, 60), classes: int = 5) -> np.ndarray:
    labels = np.random.default_rng(seed).integers(0, classes + 1, size=shape).astype(np.uint8)
    labels[0, :classes] = np.arange(1, classes + 1)
    return labels


def chebyshev(a: LabeledPixels, b: LabeledPixels) -> np.ndarray:
    """(len(a), len(b)) Chebyshev distances."""
    return np.abs(a.coords[:, None, :] - b.coords[None, :, :]).max(-1)


def pixel_set(pixels: LabeledPixels) -> set[tuple[int, int]]:
    return set(map(tuple, pixels.coords.tolist()))


def plain_seeded_draw(labels: np.ndarray, shots: int, seed: int, validation: int) -> dict[str, set]:
    """The clean draw before buffering, written independently: per class a permutation; support, validation, rest."""
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(labels)
    subsets: dict[str, set] = {"support": set(), "val": set(), "test": set()}
    for class_id in sorted(set(labels[rows, cols].tolist())):
        members = [(int(rows[j]), int(cols[j])) for j in rng.permutation(np.flatnonzero(labels[rows, cols] == class_id))]
        subsets["support"] |= set(members[:shots])
        subsets["val"] |= set(members[shots:shots + validation])
        subsets["test"] |= set(members[shots + validation:])
    return subsets


def assert_test_clear_of_labeled(split: Split, radius: int) -> None:
    for labeled in (split.support, split.validation):
        if len(labeled) and len(split.test):
            assert chebyshev(split.test, labeled).min() > radius


@pytest.mark.parametrize("seed", [1330, 7])
def test_test_pixels_keep_the_buffer_from_validation_pixels_too(seed: int) -> None:
    labels = toy_map()
    split = clean_split(labels, shots=3, seed=seed, validation_per_class=2, spatial_buffer=4)
    assert_test_clear_of_labeled(split, 4)
    assert np.all(np.unique(split.validation.labels, return_counts=True)[1] == 2)
    unbuffered = clean_split(labels, shots=3, seed=seed, validation_per_class=2)
    assert len(split.test) + split.excluded_by_buffer == len(unbuffered.test)
    assert pixel_set(split.support) == pixel_set(unbuffered.support)  # the buffer never moves support


def test_validation_pixels_are_drawn_outside_the_support_buffer_when_the_class_allows() -> None:
    split = clean_split(toy_map(), shots=3, seed=5, validation_per_class=2, spatial_buffer=2)
    assert chebyshev(split.validation, split.support).min() > 2


def test_a_small_class_keeps_its_validation_count_when_every_pixel_is_near_support() -> None:
    labels = toy_map()
    labels[labels == 5] = 1
    labels[30:33, 30:33] = 5  # a compact class of 9 pixels: every one within 2 of any other
    split = clean_split(labels, shots=3, seed=5, validation_per_class=2, spatial_buffer=2)
    assert int((split.validation.labels == 5).sum()) == 2
    assert int((split.support.labels == 5).sum()) == 3
    assert not np.any(split.test.labels == 5)  # all its test pixels lie in the buffer, so it is not tested
    assert_test_clear_of_labeled(split, 2)


@pytest.mark.parametrize(("validation", "buffer"), [(0, 0), (2, 0), (0, 4)])
def test_without_validation_or_buffer_the_split_is_the_plain_seeded_draw(validation: int, buffer: int) -> None:
    labels = toy_map()
    split = clean_split(labels, shots=3, seed=11, validation_per_class=validation, spatial_buffer=buffer)
    expected = plain_seeded_draw(labels, 3, 11, validation)
    near = {p for p in expected["test"] if any(max(abs(p[0] - s[0]), abs(p[1] - s[1])) <= buffer
                                                for s in expected["support"])} if buffer else set()
    assert pixel_set(split.support) == expected["support"] and pixel_set(split.validation) == expected["val"]
    assert pixel_set(split.test) == expected["test"] - near and split.excluded_by_buffer == len(near)


# --- official training/test maps (Houston 2013's convention) --------------------------------------------


def official_ground_truth() -> GroundTruth:
    """A generated scene whose official train and test maps interleave (left: train-heavy, right: test-heavy)."""
    labels = toy_map(9, shape=(40, 50), classes=4)
    chooser = np.random.default_rng(9).random(labels.shape) < np.linspace(0.6, 0.1, labels.shape[1])[None, :]
    train, test = np.where(chooser, labels, 0), np.where(chooser, 0, labels)
    return GroundTruth("fixed", labels, {c: f"class {c}" for c in range(1, 5)}, {"train": train, "test": test})


def official_protocol(**changes):
    return dataclasses.replace(load_protocol("demo"), support_from="official", **changes)


def check_official_split(split: Split, gt: GroundTruth, validation: int, buffer: int) -> None:
    train, test = gt.official_maps["train"], gt.official_maps["test"]
    for labeled in (split.support, split.validation):
        assert np.all(train[labeled.coords[:, 0], labeled.coords[:, 1]] == labeled.labels)
    assert not pixel_set(split.support) & pixel_set(split.validation)
    assert np.all(np.unique(split.validation.labels, return_counts=True)[1] == validation)
    assert np.all(test[split.test.coords[:, 0], split.test.coords[:, 1]] == split.test.labels)
    assert len(split.test) + split.excluded_by_buffer == int((test != 0).sum())
    assert split.excluded_by_buffer > 0
    assert_test_clear_of_labeled(split, buffer)


def test_official_maps_clean_split_honours_validation_and_buffer() -> None:
    gt = official_ground_truth()
    split = make_split(official_protocol(split_mode="clean", shots=3, validation_per_class=2, spatial_buffer=3),
                       1330, gt)
    check_official_split(split, gt, validation=2, buffer=3)


def test_official_maps_legacy_split_is_unchanged() -> None:
    gt = official_ground_truth()
    split = make_split(official_protocol(split_mode="legacy", shots=3), 1330, gt)
    from_train = legacy_split(gt.official_maps["train"], 3, 1330, gt.class_names)
    assert np.array_equal(split.support.coords, from_train.support.coords)  # order included
    assert len(split.validation) == 0 and split.excluded_by_buffer == 0
    assert len(split.test) == int((gt.official_maps["test"] != 0).sum())


def test_houston_2013_clean_split_carves_validation_from_the_official_training_map(real_data) -> None:
    gt = load_ground_truth("hu13")
    protocol = dataclasses.replace(load_protocol("hu13"), split_mode="clean", validation_per_class=3, spatial_buffer=8)
    split = make_split(protocol, 1330, gt)
    assert len(split.support) == 5 * 15 and len(split.validation) == 3 * 15
    check_official_split(split, gt, validation=3, buffer=8)
    plain = make_split(dataclasses.replace(protocol, validation_per_class=0, spatial_buffer=0), 1330, gt)
    assert pixel_set(plain.support) == pixel_set(split.support) and len(plain.test) == 12_197
