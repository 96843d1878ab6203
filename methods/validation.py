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
#: ``score(predicted class indices)`` → accuracy in [0, 1] on the pixels being checked
Score = Callable[[np.ndarray], float]

VALIDATION_REPORT_KEY = "validation_accuracy"
AUDIT_REPORT_KEY = "audit_test_accuracy"


@dataclass
class CheckpointSelection:
    """Keeps the state of ``model`` at its best accuracy so far on ``coords`` (see the module docstring).

    ``score`` turns the predictions of ``coords`` into an accuracy; for validation pixels it compares them with
    the validation labels the task carries. ``check_first`` adds a check after the first epoch.
    """

    model: nn.Module
    predict: Predict
    coords: np.ndarray
    score: Score
    interval: int
    epochs: int
    report_key: str = VALIDATION_REPORT_KEY
    check_first: bool = False
    history: list[tuple[int, float]] = field(default_factory=list)  # (epoch, accuracy) of every check
    chosen_epoch: int | None = None
    best_accuracy: float = -1.0
    _best_state: dict | None = None

    def due(self, epoch: int) -> bool:
        """``epoch`` is 1-based: checks every ``interval`` epochs and after the last one (and the first one)."""
        return epoch % self.interval == 0 or epoch == self.epochs or (self.check_first and epoch == 1)

    def after_epoch(self, epoch: int) -> dict[str, float]:
        """Check when due; returns ``{report_key: accuracy}`` for the progress report, else ``{}``."""
        if not self.due(epoch):
            return {}
        was_training = self.model.training
        self.model.eval()
        accuracy = float(self.score(np.asarray(self.predict(self.coords))))
        self.model.train(was_training)
        self.history.append((epoch, accuracy))
        if accuracy > self.best_accuracy:
            self.best_accuracy, self.chosen_epoch = accuracy, epoch
            self._best_state = copy.deepcopy(self.model.state_dict())
        return {self.report_key: accuracy}

    def restore(self) -> None:
        """Load the best state into the model (nothing when no check ran)."""
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state)

    def summary(self) -> dict:
        return {"chosen_epoch": self.chosen_epoch, "best_accuracy": self.best_accuracy, "history": list(self.history)}


def label_accuracy(labels: np.ndarray) -> Score:
    """The score of predictions against known ``labels``: the fraction predicted right."""
    labels = np.asarray(labels)
    return lambda predicted: float(np.mean(predicted == labels))


@dataclass
class CheckpointProbe:
    """The field's habit of keeping the checkpoint with the best *test* accuracy — for ``hsibench audit`` only.

    The published DCFSL code (and the repositories built on it) score the test pixels after the first episode and
    every 1,000 of 10,000 episodes and keep the best state and its scores. The audit measures what that habit
    adds, so it needs the same checks: the runner builds a probe only for a trial whose spec names the audit's
    ``test_checkpoint`` habit (``hsibench/runner/audit_modes.py``), and hands it over in the method's
    :class:`~hsibench.methods.base.RunContext`; every other trial has none, and nothing else can select on test
    pixels. The method sees the test coordinates and one accuracy per check — never a label: ``score`` is the
    runner's, closed over the test labels it keeps. ``history`` keeps every check for the audit record.
    """

    coords: np.ndarray
    score: Score
    fraction: float = 0.1  # one check per tenth of training, as 1,000 of 10,000 episodes
    history: list[tuple[int, float]] = field(default_factory=list)

    def selection(self, model: nn.Module, predict: Predict, epochs: int) -> CheckpointSelection:
        interval = max(1, round(epochs * self.fraction))
        return CheckpointSelection(model, predict, np.asarray(self.coords), self.score, interval, epochs,
                                   report_key=AUDIT_REPORT_KEY, check_first=True, history=self.history)


def validation_selection(task: FewShotTask, model: nn.Module, predict: Predict, enabled: bool, interval: int,
                         epochs: int, probe: CheckpointProbe | None = None) -> CheckpointSelection | None:
    """The selection of a training loop: on validation pixels when ``enabled`` and the task has them, else ``None``.

    ``probe`` (the audit's test-checkpoint habit, from ``RunContext.checkpoint_probe``) replaces it: the loop then
    selects on test pixels as the published code does, whatever ``enabled`` says.
    """
    if interval < 1:
        raise ValueError(f"validation_interval must be >= 1, got {interval}")
    if epochs < 1:
        return None
    if probe is not None:
        return probe.selection(model, predict, epochs)
    if not enabled or len(task.validation_coords) == 0:
        return None
    return CheckpointSelection(model, predict, np.asarray(task.validation_coords),
                               label_accuracy(task.validation_labels), interval, epochs)
