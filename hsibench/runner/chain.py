"""The RNG-chaining habit: one method's trials run in seed order, in one process, with only NumPy reseeded.

The published DCFSL code runs its ten seeds in one loop and calls ``np.random.seed`` before each; torch and
Python are never seeded, so run k depends on runs 0…k−1 (and the first run on the clock). :func:`run_chained`
reproduces that, made repeatable: every generator is seeded once from the first seed, then each trial runs in
order inside :func:`~hsibench.methods.training.numpy_only_seeding`, which turns every ``seed_everything`` of the
runner and the methods into a NumPy reseed. The chain is one unit: it runs whole or not at all (a later trial's
state needs every earlier one), and its pretrainings are not shared with other trials (each trial pretrains
in its chain, in a scratch cache removed afterwards).
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
import tempfile
from pathlib import Path

from hsibench.methods.training import numpy_only_seeding, seed_everything
from hsibench.runner.audit_modes import RNG_CHAINING, AuditModeError
from hsibench.runner.progress import ProgressBoard, describe_record
from hsibench.runner.record_schema import TrialRecord
from hsibench.runner.spec import ResolvedTrial
from hsibench.runner.trial import execute_trial


def check_chain(trials: list[ResolvedTrial]) -> None:
    """One method's ``rng_chaining`` trials, each seed once (the order given is the order run)."""
    if not trials:
        raise AuditModeError("an RNG chain needs at least one trial")
    if any(t.spec.audit != RNG_CHAINING for t in trials):
        raise AuditModeError(f"only {RNG_CHAINING!r} trials run in a chain")
    identities = {(t.spec.method, t.spec.preset, repr(sorted(t.spec.method_overrides.items())),
                   repr(sorted(t.spec.protocol_overrides.items())), t.spec.protocol) for t in trials}
    if len(identities) != 1:
        raise AuditModeError("an RNG chain holds the trials of one method, preset and protocol; got several")
    seeds = tuple(t.spec.seed for t in trials)
    if len(set(seeds)) != len(seeds) or any(t.spec.chain_seeds != seeds for t in trials):
        raise AuditModeError(f"an RNG chain runs each seed once, in the order every trial's chain_seeds lists; got "
                             f"seeds {list(seeds)}")


def run_chained(trials: list[ResolvedTrial], board: ProgressBoard | None = None) -> list[TrialRecord]:
    """Run ``trials`` in order as one chain and write their records (``ok`` or ``failed``); returns them."""
    check_chain(trials)
    scratch = Path(tempfile.mkdtemp(prefix="hsibench-chain-"))
    records = []
    try:
        seed_everything(trials[0].spec.seed)  # once, for every generator: the chain is repeatable
        with numpy_only_seeding():
            for index, trial in enumerate(trials):
                key = f"chain-{index}"
                spec = dataclasses.replace(trial.spec, cache_dir=str(scratch))
                if board is not None:
                    board.started(key, spec.label + " (chained)")
                record = execute_trial(spec, progress=functools.partial(board.update, key) if board else None,
                                       resolved=dataclasses.replace(trial, spec=spec))
                if board is not None:
                    board.finished(key, record.ok, describe_record(record))
                records.append(record)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return records
