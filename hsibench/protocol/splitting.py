"""From a protocol and a seed to its split; needs only the target's ground truth (never the cube, never torch)."""

from __future__ import annotations

import numpy as np

from hsibench.data import GroundTruth
from hsibench.protocol.protocol import Protocol
from hsibench.protocol.regions import region_ground_truth
from hsibench.protocol.split import LabeledPixels, Split, clean_split, legacy_split


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
    """Support drawn from the official training map only; the test set is the whole official test map."""
    missing = {"train", "test"} - set(gt.official_maps)
    if missing:
        raise ValueError(f"{gt.scene}: `support_from = \"official\"` needs official {sorted(missing)} maps, "
                         "which this scene does not provide")
    train_map = gt.official_maps["train"]
    chooser = legacy_split if protocol.split_mode == "legacy" else clean_split
    from_train = chooser(train_map, protocol.shots, seed, gt.class_names, short_classes=protocol.short_classes)
    rows, cols = np.nonzero(gt.official_maps["test"])
    test = LabeledPixels(np.column_stack([rows, cols]).astype(np.int64), gt.official_maps["test"][rows, cols].astype(np.int64))
    return Split(support=from_train.support, validation=from_train.validation, test=test, mode=from_train.mode,
                 seed=seed, shots=protocol.shots, skipped_classes=from_train.skipped_classes)
