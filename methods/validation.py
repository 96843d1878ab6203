"""Epoch selection on validation pixels, the same for every method that trains in epochs.

A protocol may carve validation pixels out of the target's labelled pixels (``validation_per_class``).
When it does, a method may pick *when to stop* on them — never on test pixels — and every method
must get that chance, or a table compares one tuned length against fixed ones. This is the one
place that does it, so S²Former's fine-tuning, the shared supervised loop (HybridSN, SSFTT,
fine-tuning, MAE) and DCFSL's episodes select the same way:

- every ``interval`` epochs (and after the last) the model's accuracy on the validation pixels is
  measured; the state of the best one is kept (the earliest epoch on ties, so a plateau does not
  drift towards the end), and restored when training ends;
- each measurement is handed to the loop's progress report as ``validation_accuracy``, which is
  what a Ray Tune scheduler reads (``hsibench tune``);
- a task without validation pixels, or ``select_on_validation = False``, gives no selection at all:
  the loop then runs exactly as it did without this module (nothing is predicted, no state copied).

Checking costs one prediction of the validation pixels; it draws no random numbers, so the
training trajectory is the same with and without selection — only the returned state differs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from hsibench.protocol import FewShotTask

#: ``predict(coords)`` → class indices of the validation pixels (the method's own prediction path)
Predict = Callable[[np.ndarray], np.ndarray]


@dataclass
class ValidationSelection:
    """Keeps the state of ``model`` at its best validation accuracy so far (see the module docstring)."""

    model: nn.Module
    predict: Predict
    coords: np.ndarray
    labels: np.ndarray
    interval: int
    epochs: int
    history: list[tuple[int, float]] = field(default_factory=list)  # (epoch, accuracy) of every check
    chosen_epoch: int | None = None
    best_accuracy: float = -1.0
    _best_state: dict | None = None

    def due(self, epoch: int) -> bool:
        """``epoch`` is 1-based: checks every ``interval`` epochs and after the last one."""
        return epoch % self.interval == 0 or epoch == self.epochs

    def after_epoch(self, epoch: int) -> dict[str, float]:
        """Check when due; returns ``{"validation_accuracy": …}`` for the progress report, else ``{}``."""
        if not self.due(epoch):
            return {}
        was_training = self.model.training
        self.model.eval()
        accuracy = float(np.mean(np.asarray(self.predict(self.coords)) == self.labels))
        self.model.train(was_training)
        self.history.append((epoch, accuracy))
        if accuracy > self.best_accuracy:
            self.best_accuracy, self.chosen_epoch = accuracy, epoch
            self._best_state = copy.deepcopy(self.model.state_dict())
        return {"validation_accuracy": accuracy}

    def restore(self) -> None:
        """Load the best state into the model (nothing when no check ran)."""
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state)

    def summary(self) -> dict:
        return {"chosen_epoch": self.chosen_epoch, "best_accuracy": self.best_accuracy, "history": list(self.history)}


def validation_selection(task: FewShotTask, model: nn.Module, predict: Predict, enabled: bool, interval: int,
                         epochs: int) -> ValidationSelection | None:
    """A :class:`ValidationSelection` when ``enabled`` and the task has validation pixels, else ``None``."""
    if interval < 1:
        raise ValueError(f"validation_interval must be >= 1, got {interval}")
    if not enabled or len(task.validation_coords) == 0 or epochs < 1:
        return None
    return ValidationSelection(model, predict, np.asarray(task.validation_coords), np.asarray(task.validation_labels),
                               interval, epochs)
