"""What each habit does to the numbers: paired changes over seeds, and the spread of single-seed reports.

Pure functions of records (no runs): :func:`habit_effects` pairs every habit's trials with the reference's
by seed — mean OA change in points, its paired 95 % interval and the Wilcoxon p —, :func:`single_seed_spreads`
reads what one seed would have reported from the reference's seeds, and :func:`method_pairs` asks, for two
methods that do not differ over all seeds, how often a single seed shows one ahead by a point or more.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass

from hsibench.audit.habits import HABIT_ORDER, HABITS, REFERENCE
from hsibench.report.statistics import Summary, paired_interval, paired_wilcoxon, summarise
from hsibench.runner.audit_modes import RNG_CHAINING, TEST_CHECKPOINT
from hsibench.runner.record_schema import TrialRecord

#: the gain a single seed is asked to show (points of OA)
GAIN_POINTS = 1.0
#: a pair of methods "does not differ over the seeds" when its paired Wilcoxon p is at least this
NO_DIFFERENCE_P = 0.05

Records = dict[tuple[str, str], dict[int, TrialRecord]]  # (method, habit) → seed → ok record


def oa_points(by_seed: dict[int, TrialRecord]) -> dict[int, float]:
    return {seed: 100 * record.overall_accuracy for seed, record in by_seed.items()}


@dataclass(frozen=True)
class HabitEffect:
    method: str
    habit: str
    seeds: tuple[int, ...]  # the seeds both the reference and the habit ran
    reference: Summary  # OA (%) of the reference on those seeds
    with_habit: Summary
    change: float  # mean paired change, OA points (habit − reference)
    interval: tuple[float, float] | None  # its paired 95 % interval
    p_value: float | None  # two-sided Wilcoxon signed-rank, paired by seed
    detail: str  # what the habit did in these trials


@dataclass(frozen=True)
class SingleSeedSpread:
    method: str
    over_seeds: Summary  # the reference's OA (%) over every seed
    lowest: tuple[int, float]  # (seed, OA) of the worst single seed
    highest: tuple[int, float]
    equal_methods_chance: float  # P(|OA_i − OA_j| ≥ GAIN_POINTS), i ≠ j: two equal methods seen through one seed each
    seed_pairs: int


@dataclass(frozen=True)
class MethodPair:
    first: str
    second: str
    seeds: tuple[int, ...]
    change: float  # mean OA of second − first, points
    p_value: float | None
    single_seed_chance: float  # share of seeds where |second − first| ≥ GAIN_POINTS

    @property
    def differ(self) -> bool:
        return self.p_value is not None and self.p_value < NO_DIFFERENCE_P


def _checkpoint_detail(records: list[TrialRecord]) -> str:
    chosen = [(r.audit_detail or {}).get("chosen_epoch") for r in records]
    checks = [len((r.audit_detail or {}).get("checkpoints") or ()) for r in records]
    if not any(checks):
        return "no checkpoints: the method trains in no epochs, so there is nothing to select"
    last = max(epoch for r in records for epoch, _ in (r.audit_detail or {}).get("checkpoints") or ())
    kept = [epoch for epoch in chosen if epoch is not None]
    early = sum(epoch < last for epoch in kept)
    return (f"{max(checks)} checks per run; the kept checkpoint is epoch {statistics.median(kept):g} of {last} "
            f"(median), before the last in {early} of {len(kept)} runs")


def _buffer_detail(reference: list[TrialRecord]) -> str:
    removed = [r.split.excluded_by_buffer for r in reference]
    total = [r.split.test + r.split.excluded_by_buffer for r in reference]
    share = 100 * sum(removed) / max(1, sum(total))
    return (f"the reference's buffer removes {statistics.mean(removed):.0f} of {statistics.mean(total):.0f} test "
            f"pixels per run (mean, {share:.1f} %), which this habit keeps")


def _identical(reference: list[TrialRecord], habit: list[TrialRecord]) -> bool:
    return all(a.predictions_sha256 == b.predictions_sha256 for a, b in zip(reference, habit))


def _detail(habit: str, reference: list[TrialRecord], with_habit: list[TrialRecord]) -> str:
    if habit == TEST_CHECKPOINT:
        return _checkpoint_detail(with_habit)
    if habit == "no_buffer":
        return _buffer_detail(reference)
    if habit == RNG_CHAINING and _identical(reference, with_habit):
        return "identical predictions on every seed: nothing the method draws continues from earlier runs"
    if _identical(reference, with_habit):
        return "identical predictions on every seed"
    return HABITS.get(habit).what


def habit_effect(method: str, habit: str, records: Records) -> HabitEffect | None:
    """The paired effect of one habit on one method; ``None`` when fewer than two seeds pair up."""
    reference, with_habit = records.get((method, REFERENCE), {}), records.get((method, habit), {})
    seeds = tuple(sorted(set(reference) & set(with_habit)))
    if len(seeds) < 2:
        return None
    before, after = oa_points({s: reference[s] for s in seeds}), oa_points({s: with_habit[s] for s in seeds})
    differences = [after[s] - before[s] for s in seeds]
    p_value, _ = paired_wilcoxon(before, after)
    return HabitEffect(method, habit, seeds, summarise(list(before.values())), summarise(list(after.values())),
                       statistics.mean(differences), paired_interval(differences), p_value,
                       _detail(habit, [reference[s] for s in seeds], [with_habit[s] for s in seeds]))


def habit_effects(methods: list[str], records: Records, habits: tuple[str, ...] = HABIT_ORDER) -> list[HabitEffect]:
    """Every (method, habit) with paired seeds, methods in the given order, habits in the table's."""
    found = (habit_effect(method, habit, records) for method in methods for habit in habits)
    return [effect for effect in found if effect is not None]


def single_seed_spread(method: str, records: Records) -> SingleSeedSpread | None:
    values = oa_points(records.get((method, REFERENCE), {}))
    if len(values) < 2:
        return None
    pairs = [(a, b) for a, b in itertools.permutations(values, 2)]
    chance = sum(abs(values[a] - values[b]) >= GAIN_POINTS for a, b in pairs) / len(pairs)
    lowest, highest = min(values.items(), key=lambda item: item[1]), max(values.items(), key=lambda item: item[1])
    return SingleSeedSpread(method, summarise(list(values.values())), lowest, highest, chance, len(pairs))


def single_seed_spreads(methods: list[str], records: Records) -> list[SingleSeedSpread]:
    found = (single_seed_spread(method, records) for method in methods)
    return [spread for spread in found if spread is not None]


def method_pairs(methods: list[str], records: Records) -> list[MethodPair]:
    """Every pair of methods with at least two common reference seeds, in the given order."""
    pairs = []
    for first, second in itertools.combinations(methods, 2):
        a, b = oa_points(records.get((first, REFERENCE), {})), oa_points(records.get((second, REFERENCE), {}))
        seeds = tuple(sorted(set(a) & set(b)))
        if len(seeds) < 2:
            continue
        differences = [b[s] - a[s] for s in seeds]
        p_value, _ = paired_wilcoxon({s: a[s] for s in seeds}, {s: b[s] for s in seeds})
        chance = sum(abs(d) >= GAIN_POINTS for d in differences) / len(seeds)
        pairs.append(MethodPair(first, second, seeds, statistics.mean(differences), p_value, chance))
    return pairs
