"""The audit habits the runner itself must carry out: names, checks, and the test-pixel checkpoint probe.

``hsibench audit`` (``hsibench/audit/``) measures the field's evaluation habits one at a time. Most are
protocol or config changes the runner already knows how to run (scene-wide statistics, no spatial buffer);
two change how a trial *executes*, and only the runner can do them, because only the runner holds the test
labels and seeds the generators:

- :data:`TEST_CHECKPOINT` — the trial's method keeps the checkpoint with the best test accuracy
  (:class:`~hsibench.methods.validation.CheckpointProbe`, built here and nowhere else);
- :data:`RNG_CHAINING` — the trials of one method run in order in one process with only NumPy reseeded
  (:func:`hsibench.runner.chain.run_chained`; :func:`run_trial` refuses such a trial anywhere else).

A trial's ``audit`` is ``None`` for every command but ``hsibench audit``, which is the only code that sets it.
"""

from __future__ import annotations

import re

import numpy as np

from hsibench.errors import HsibenchError
from hsibench.methods.validation import CheckpointProbe, label_accuracy

TEST_CHECKPOINT = "test_checkpoint"
RNG_CHAINING = "rng_chaining"

_AUDIT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class AuditModeError(HsibenchError, ValueError):
    """A trial's ``audit`` value that cannot name a habit, or a habit run where it cannot be run."""


def check_audit_mode(audit: str | None, seed: int, chain_seeds: tuple[int, ...] = ()) -> None:
    """``audit`` is None or a lower-case identifier (it becomes part of the record's file name); a chained trial
    lists its chain's seeds, its own among them, and no other trial lists any."""
    if audit is not None and not (isinstance(audit, str) and _AUDIT_NAME.match(audit)):
        raise AuditModeError(f"a trial's audit habit must be a lower-case name such as {TEST_CHECKPOINT!r}, "
                             f"got {audit!r}")
    if (audit == RNG_CHAINING) != bool(chain_seeds) or (chain_seeds and seed not in chain_seeds):
        raise AuditModeError(f"an {RNG_CHAINING!r} trial lists the seeds of its chain (its own among them) and no "
                             f"other trial lists any; got audit={audit!r}, seed {seed}, chain_seeds={list(chain_seeds)}")


def test_checkpoint_probe(test_coords: np.ndarray, test_truth: np.ndarray) -> CheckpointProbe:
    """The probe of a :data:`TEST_CHECKPOINT` trial: scores the test pixels against the runner's labels."""
    return CheckpointProbe(np.asarray(test_coords), label_accuracy(np.asarray(test_truth)))


def probe_detail(probe: CheckpointProbe) -> dict:
    """What the record keeps of the probe's checks: every (epoch, test OA) and the one kept (earliest best)."""
    history = [(int(epoch), float(accuracy)) for epoch, accuracy in probe.history]
    chosen = max(history, key=lambda item: (item[1], -item[0]))[0] if history else None
    return {"checkpoints": [list(item) for item in history], "chosen_epoch": chosen}
