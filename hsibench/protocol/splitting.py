"""From a protocol and a seed to its split; needs only the target's ground truth (never the cube, never torch)."""

from __future__ import annotations

import numpy as np

from hsibench.data import GroundTruth
from hsibench.protocol.protocol import Protocol
from hsibench.protocol.regions import region_ground_truth
from hsibench.protocol.split import LabeledPixels, Split, apply_spatial_buffer, clean_split, legacy_split


def make_split(protocol: Protocol, seed: int, ground_truth: GroundTruth | None = None) -> Split:
    """The split of ``protocol`` for ``seed``; needs only the target's ground truth."""
    gt = ground_truth if ground_truth is not None else region_ground_truth(protocol.target)
    if protocol.support_from == "official":
        return _official_split(gt, protocol, seed)
    if protocol.split_mode == "legacy":
        return legacy_split(gt.labels, protocol.shots, seed, gt.class_names, protocol.short_classes)
    return clean_split(gt.labels, protocol.shots, seed, gt.class_names, protocol.validation_per_class,
                       protocol.spatial_buffer, protocol.short_classes)


def _official_split(gt: GroundTruth, protocol: Protocol, seed: int) -> Split:
    """Support (and, in clean mode, validation) drawn from the official training map only; test from its test map.

    The official maps fix which pixels may ever be labeled, so support and validation both come out of the
    training map, per class and seeded, exactly as :func:`clean_split` draws them from a whole map (validation
    farther than the buffer from support first). The test set is the whole official test map, less — with a
    spatial buffer — its pixels within the buffer of any support or validation pixel: official maps are often
    spatially disjoint, but not everywhere, and a protocol's buffer must hold whichever map the pixels come from.
    The legacy mode has neither validation nor a buffer (the protocol refuses them), so it is unchanged.
    """
    missing = {"train", "test"} - set(gt.official_maps)
    if missing:
        raise ValueError(f"{gt.scene}: `support_from = \"official\"` needs official {sorted(missing)} maps, "
                         "which this scene does not provide")
    train_map = gt.official_maps["train"]
    if protocol.split_mode == "legacy":
        from_train = legacy_split(train_map, protocol.shots, seed, gt.class_names, short_classes=protocol.short_classes)
    else:
        from_train = clean_split(train_map, protocol.shots, seed, gt.class_names, protocol.validation_per_class,
                                 protocol.spatial_buffer, protocol.short_classes)
    test_map = gt.official_maps["test"]
    rows, cols = np.nonzero(test_map)
    test = LabeledPixels(np.column_stack([rows, cols]).astype(np.int64), test_map[rows, cols].astype(np.int64))
    test, excluded = apply_spatial_buffer(test, [from_train.support, from_train.validation], test_map.shape,
                                          protocol.spatial_buffer)
    return Split(support=from_train.support, validation=from_train.validation, test=test, mode=from_train.mode,
                 seed=seed, shots=protocol.shots, excluded_by_buffer=excluded, skipped_classes=from_train.skipped_classes)
