"""Training curves: every progress update a method sends during a trial or pretraining, kept per stage.

Methods already report each epoch (``context.progress(stage=…, epoch=…, epochs=…, loss=…, **validation)``,
see :class:`~hsibench.methods.RunContext`); the runner records those updates instead of only
displaying them, so a record carries the loss curve of each of its stages and, where the task
has validation pixels, the validation accuracy at the epochs it was checked. ``epoch`` is the
method's own counter: epochs of a supervised fit, episodes of DCFSL, optimiser updates of a
pretraining (which reports every few updates). Capture is generic, so a new method's curves are
recorded without code of its own.

A stage's curve is stored column-wise (``{"epochs": 20, "epoch": [1, …], "loss": […],
"validation_accuracy": [None, …]}``): one list per value, aligned, ``None`` where a value was not
reported at that epoch or was not finite (JSON has no NaN), ready for ``pandas.DataFrame``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

#: keys of a progress update that describe it rather than measure something
DESCRIPTIVE_KEYS = ("stage", "epoch", "epochs")


def curve_values(info: dict[str, Any]) -> dict[str, float | None]:
    """The measured numbers of one progress update (loss, validation accuracy…), non-finite ones as ``None``."""
    values: dict[str, float | None] = {}
    for key, value in info.items():
        if key in DESCRIPTIVE_KEYS or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        values[key] = float(value) if math.isfinite(value) else None
    return values


def curve_point(info: dict[str, Any]) -> dict[str, Any]:
    """One progress update as a curve point: stage, epoch, epochs and its measured values (what travels to loggers)."""
    return {**{key: info.get(key) for key in DESCRIPTIVE_KEYS}, **curve_values(info)}


class CurveRecorder:
    """A progress callback that keeps every update per stage and passes it on to ``forward`` (the display)."""

    def __init__(self, forward: Callable[..., None] | None = None) -> None:
        self.forward = forward
        self._stages: dict[str, dict[str, Any]] = {}

    def __call__(self, **info: Any) -> None:
        if info.get("epoch") is not None:
            self.add(str(info.get("stage") or "train"), int(info["epoch"]), info.get("epochs"), curve_values(info))
        if self.forward is not None:
            self.forward(**info)

    def add(self, stage: str, epoch: int, epochs: int | None, values: dict[str, float | None]) -> None:
        curve = self._stages.setdefault(stage, {"epochs": None, "epoch": []})
        if epochs is not None:
            curve["epochs"] = int(epochs)
        length = len(curve["epoch"])
        curve["epoch"].append(epoch)
        for key, value in values.items():
            curve.setdefault(key, [None] * length).append(value)
        for column in curve.values():  # values this update did not carry
            if isinstance(column, list) and len(column) == length:
                column.append(None)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Stage → columns; a copy, safe to store while recording goes on."""
        return {stage: {key: list(value) if isinstance(value, list) else value for key, value in curve.items()}
                for stage, curve in self._stages.items()}
