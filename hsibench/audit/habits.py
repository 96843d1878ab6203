"""The evaluation habits ``hsibench audit`` measures, each as one change to the suite's clean reference.

The **clean reference** is the protocol as the suite would report it with nothing leaking: a ``clean`` split,
statistics (z-score, PCA, band adapters) fitted on the support patches only (``normalisation = "train"``),
test pixels farther than 2r from every support pixel (``spatial_buffer = 2r``, r the patch radius, so no test
patch overlaps a support patch), every trial seeded whole, and the final epoch kept (or the best validation
epoch, where the protocol carves validation pixels out). The protocol's shots, patch size, scenes and
``validation_per_class`` are kept. Each :class:`Habit` switches one thing back to what the field's published
code does, on the same seeds; nothing else changes, so the difference in OA is that habit's alone.

``one_seed`` (one seed reported where ten are claimed) needs no runs of its own: it is read off the
reference's ten seeds (``hsibench/audit/effects.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hsibench.errors import HsibenchError
from hsibench.protocol import Protocol
from hsibench.registry import Registry, UnknownNameError
from hsibench.runner.audit_modes import RNG_CHAINING, TEST_CHECKPOINT

REFERENCE = "reference"
ONE_SEED = "one_seed"
#: protocol keys the clean reference fixes: an audit cannot take them from --set (they are what it measures)
REFERENCE_KEYS = ("split_mode", "normalisation", "spatial_buffer")


class AuditError(HsibenchError, ValueError):
    """An audit that cannot run as asked (an unknown habit, a --set of a key the audit controls, …)."""


class UnknownHabitError(UnknownNameError):
    """A habit name that is not registered."""


def buffer_radius(protocol: Protocol) -> int:
    """2r: a test patch farther than this from every support pixel shares no pixel with a support patch."""
    return 2 * (protocol.patch_size // 2)


def reference_overrides(protocol: Protocol) -> dict[str, Any]:
    """The protocol keys of the clean reference (see the module docstring)."""
    return {"split_mode": "clean", "normalisation": "train", "spatial_buffer": buffer_radius(protocol)}


@dataclass(frozen=True)
class Habit:
    """One habit: what it changes over the reference, and where it applies.

    ``protocol_changes`` and ``method_changes`` are applied on top of the reference; ``applies(protocol, config)``
    says whether the habit means anything for a method (a method without the config key a change needs, or a
    protocol without validation pixels for a comparison with validation selection, is left out, and the table
    says so). ``chained``: the trials run in seed order in one process (``hsibench.runner.chain``).
    """

    name: str
    title: str
    what: str  # one sentence for the caption: what the habit does
    protocol_changes: Callable[[Protocol], dict[str, Any]] = lambda protocol: {}
    method_changes: dict[str, Any] | None = None
    applies: Callable[[Protocol, Any], bool] = lambda protocol, config: True
    audit: str | None = None  # the runner-level mode (audit_modes) the trials carry, else the habit's name
    chained: bool = False

    @property
    def mode(self) -> str:
        return self.audit or self.name


def _selects_on_validation(protocol: Protocol, config: Any) -> bool:
    return protocol.validation_per_class > 0 and hasattr(config, "select_on_validation")


HABITS: Registry[Habit] = Registry("audit habit", error=UnknownHabitError)

for _habit in (
    Habit(TEST_CHECKPOINT, "test-set checkpoint selection",
          "the state with the best test OA is kept, checked after the first and every tenth of training "
          "(DCFSL: every 1,000 of 10,000 episodes)", audit=TEST_CHECKPOINT),
    Habit("final_epoch", "final epoch instead of validation selection",
          "the last epoch is kept where the reference keeps the best validation epoch",
          method_changes={"select_on_validation": False}, applies=_selects_on_validation),
    Habit("scene_statistics", "scene-wide statistics",
          "z-score and fitted reductions use every pixel of the target scene, test pixels included",
          protocol_changes=lambda protocol: {"normalisation": "scene"}),
    Habit("no_buffer", "no spatial buffer",
          "test pixels whose patch overlaps a support patch are kept", protocol_changes=lambda protocol: {"spatial_buffer": 0}),
    Habit(RNG_CHAINING, "RNG chaining",
          "the seeds run in order in one process and only NumPy is reseeded between runs", audit=RNG_CHAINING,
          chained=True),
):
    HABITS.register(_habit.name, _habit)

#: the order of the table's rows
HABIT_ORDER = (TEST_CHECKPOINT, "final_epoch", "scene_statistics", "no_buffer", RNG_CHAINING)
