"""``tune_method``: a Ray Tune search over a method's search space, scored on validation pixels, saved as a preset file.

Two steps, so that bad input fails in a second and not after Ray's start-up:

1. :func:`plan_search` (no Ray): the method, its preset and ``--set`` keys, the protocol — which must have
   validation pixels —, the seeds, the space (the method's, restricted to ``keys``, minus what ``--set``
   fixes, training lengths made concrete for the preset) and the budget, each checked with a clear error;
2. :func:`run_search`: Ray started here unless it is already (one CPU per trial, no dashboard, quiet
   logs, the data layer's environment handed to workers, as the Ray executor does), a ``Tuner`` with
   ``metric="validation_accuracy"``, ``mode="max"`` and the chosen scheduler and searcher, a line per
   finished trial, and the best *finished* trial (one a scheduler stopped early never completed its
   seeds, so its last number is not comparable). Ties go to the earlier trial.

Schedulers and searchers are tables of factories (Ray imported inside them); ``optuna`` is used only
when it is installed (it is not a dependency).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hsibench import __version__
from hsibench.data import storage
from hsibench.methods import get_method_entry, resolve_config
from hsibench.methods.search_spaces import (
    ConcreteSpec,
    Fixed,
    check_budget,
    check_search_space,
    concrete_space,
    restrict_space,
    search_space_for,
)
from hsibench.protocol import load_protocol, make_split
from hsibench.protocol.protocol import Protocol, protocol_identity
from hsibench.protocol.regions import region_ground_truth
from hsibench.provenance import code_fingerprint
from hsibench.runner.layout import default_pretraining_cache
from hsibench.runner.spec import apply_protocol_overrides, load_plugins, resolve, split_overrides
from hsibench.tuning.errors import TuningError
from hsibench.tuning.preset_file import PresetFile, write_preset_file
from hsibench.tuning.search_space import searched_keys, to_param_space
from hsibench.tuning.trainable import TuneRequest, plain_settings, tune_trainable

Echo = Callable[[str], None]

#: the data layer's environment (mirror, cache, offline) every worker must see
WORKER_ENV = (storage.MIRROR_ENV, storage.CACHE_ENV, storage.OFFLINE_ENV)
#: ASHA rungs count reports (validation checks), starting after the second; max_t only bounds the rungs, it
#: must never stop a trial before its final report
ASHA_SETTINGS = {"time_attr": "training_iteration", "grace_period": 2, "reduction_factor": 3, "max_t": 10_000}


def _asha() -> Any:
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(**ASHA_SETTINGS)


def _fifo() -> Any:
    from ray.tune.schedulers import FIFOScheduler

    return FIFOScheduler()


def _random(seed: int) -> Any:
    from ray.tune.search.basic_variant import BasicVariantGenerator

    return BasicVariantGenerator(random_state=seed)


def _optuna(seed: int) -> Any:
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(seed=seed)


#: --scheduler name → factory
SCHEDULERS: dict[str, Callable[[], Any]] = {"asha": _asha, "fifo": _fifo}
#: --search name → factory of the sampler, seeded (the same seed samples the same configs)
SEARCHERS: dict[str, Callable[[int], Any]] = {"random": _random, "optuna": _optuna}
#: searchers that need a package hsibench does not depend on
SEARCHER_PACKAGES = {"optuna": "optuna"}


@dataclass(frozen=True)
class SearchBudget:
    """What one search may spend, as its preset file's provenance states it."""

    trials: int
    preset: str
    seeds: tuple[int, ...]
    scheduler: str
    search: str
    sampler_seed: int
    searched_keys: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"trials": self.trials, "preset": self.preset, "seeds": list(self.seeds), "scheduler": self.scheduler,
                "search": self.search, "sampler_seed": self.sampler_seed, "searched_keys": list(self.searched_keys)}


@dataclass(frozen=True)
class SearchPlan:
    """A checked search: everything :func:`run_search` needs, decided before Ray starts."""

    request: TuneRequest
    protocol: Protocol
    space: dict[str, ConcreteSpec]  # the keys sampled (Fixed keys are in request.method_overrides)
    budget: SearchBudget
    user_overrides: dict[str, Any] = field(default_factory=dict)  # the --set method keys


@dataclass(frozen=True)
class TrialOutcome:
    """One sampled config: its settings and, when it finished every seed, its mean validation accuracy."""

    trial_id: str
    settings: dict[str, Any]
    validation_accuracy: float | None  # the last reported value (a stopped trial's is of one seed, mid-training)
    finished: bool
    per_seed: list[float] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class TuningResult:
    method: str
    protocol: str
    best: TrialOutcome
    outcomes: list[TrialOutcome]
    preset_file: PresetFile
    path: Path | None
    seconds: float

    @property
    def best_settings(self) -> dict[str, Any]:
        return self.preset_file.settings

    @property
    def best_validation_accuracy(self) -> float:
        return float(self.best.validation_accuracy)


def _check_choices(trials: int, scheduler: str, search: str) -> None:
    if not isinstance(trials, int) or trials < 1:
        raise TuningError(f"--trials must be at least 1 (the number of sampled configs), got {trials!r}")
    if scheduler not in SCHEDULERS:
        raise TuningError(f"unknown scheduler {scheduler!r}; valid: {', '.join(SCHEDULERS)}")
    if search not in SEARCHERS:
        raise TuningError(f"unknown search {search!r}; valid: {', '.join(SEARCHERS)}")
    package = SEARCHER_PACKAGES.get(search)
    if package and importlib.util.find_spec(package) is None:
        raise TuningError(f"--search {search} needs the {package!r} package, which is not installed "
                          f"(`pip install {package}`), or use --search random")


def no_validation_message(protocol: Protocol) -> str:
    return (f"protocol {protocol.name!r} has no validation pixels (validation_per_class = "
            f"{protocol.validation_per_class}, split_mode = {protocol.split_mode!r}): tuning scores settings on "
            "validation pixels only, never on test pixels. Tune on a development protocol (e.g. demo_dev, "
            "sa_a_r2l_dev), or add them: --set split_mode=clean --set validation_per_class=3, or "
            "`split_mode = \"clean\"` and `validation_per_class = 3` in the protocol TOML")


def check_validation_pixels(protocol: Protocol, seed: int) -> None:
    """Refuse a protocol whose split has no validation pixels (read from the ground truth only: no cube, no method)."""
    if protocol.validation_per_class < 1:
        raise TuningError(no_validation_message(protocol))
    split = make_split(protocol, seed, ground_truth=region_ground_truth(protocol.target))
    if len(split.validation) == 0:
        raise TuningError(no_validation_message(protocol))


def _protocol_argument(protocol: str) -> str:
    """A TOML path made absolute (Ray workers may start in another folder); a shipped name as it is."""
    return str(Path(protocol).resolve()) if str(protocol).endswith(".toml") else str(protocol)


def plan_search(method: str, protocol: str, preset: str | None = None, trials: int = 8,
                seeds: list[int] | None = None, scheduler: str = "asha", search: str = "random",
                overrides: Mapping[str, Any] | None = None, keys: list[str] | None = None,
                plugins: tuple[str, ...] = (), cache_dir: str | Path | None = None, device: str = "cpu",
                sampler_seed: int = 0, precision: str = "fp32") -> SearchPlan:
    """Check every input and decide the search (see the module docstring); raises clear errors, starts nothing."""
    _check_choices(trials, scheduler, search)
    load_plugins(plugins)
    get_method_entry(method)  # an unknown name fails here, listing the registered ones
    protocol_overrides, method_overrides = split_overrides(dict(overrides or {}))
    loaded = apply_protocol_overrides(load_protocol(protocol), protocol_overrides)
    preset = preset or loaded.default_preset
    seeds = tuple(seeds) if seeds else tuple(loaded.seeds)
    if len(set(seeds)) != len(seeds):
        raise TuningError(f"--seeds lists a seed twice: {list(seeds)}")
    base_config = resolve_config(method, preset, method_overrides)
    full_space = search_space_for(method)
    check_budget(full_space, base_config)  # also a training length fixed by --set
    space = restrict_space(full_space, keys, method_overrides)
    check_search_space(method, space)
    space = concrete_space(space, base_config)
    sampled = {key: spec for key, spec in space.items() if key in searched_keys(space)}
    if not sampled:
        raise TuningError(f"nothing to search for method {method!r}: every key of its search space is fixed "
                          "(by --set, --keys or the variant); search at least one key")
    fixed = {key: spec.value for key, spec in space.items() if isinstance(spec, Fixed)}
    request = TuneRequest(method=method, protocol=_protocol_argument(protocol), preset=preset, seeds=seeds,
                          method_overrides={**method_overrides, **fixed}, protocol_overrides=protocol_overrides,
                          cache_dir=str(Path(cache_dir or default_pretraining_cache()).resolve()), device=device,
                          threads=1, plugins=tuple(plugins), precision=precision)
    resolve(request.spec(seeds[0], {}))  # the method fits the protocol (source labels, pooled sources)
    check_validation_pixels(loaded, seeds[0])
    budget = SearchBudget(trials, preset, seeds, scheduler, search, sampler_seed, tuple(sampled))
    return SearchPlan(request, loaded, sampled, budget, dict(method_overrides))


def _start_ray(cpus: int | None) -> bool:
    """Start a local Ray as the Ray executor does (quiet, no dashboard); ``False`` when one was running already."""
    import ray

    from hsibench.runner.ray_executor import quiet_tune_environment, start_local_ray

    quiet_tune_environment()
    if ray.is_initialized():
        return False
    start_local_ray(cpus)
    return True


def describe_settings(settings: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
                     for key, value in settings.items())


def _line_callback(echo: Echo, total: int) -> Any:
    """A Tune callback printing one line per trial as it ends (Tune's own table is off: verbose=0)."""
    from ray import tune

    class TrialLines(tune.Callback):
        def __init__(self) -> None:
            self.done = 0

        def on_trial_complete(self, iteration, trials, trial, **info) -> None:
            self.done += 1
            result = trial.last_result or {}
            accuracy = result.get("validation_accuracy")
            if result.get("final"):
                what = f"validation {accuracy:.4f} ({result.get('seconds', 0):.1f} s)"
            else:
                what = (f"stopped early at report {result.get('training_iteration')} (validation {accuracy:.4f} "
                        f"on seed {result.get('seed')})" if accuracy is not None else "stopped early")
            echo(f"[{self.done}/{total}] {what}  {describe_settings(trial.config)}")

        def on_trial_error(self, iteration, trials, trial, **info) -> None:
            self.done += 1
            echo(f"[{self.done}/{total}] FAILED  {describe_settings(trial.config)} (see the error below)")

    return TrialLines()


def _outcomes(grid: Any) -> list[TrialOutcome]:
    outcomes = []
    for result in grid:
        metrics = result.metrics or {}
        outcomes.append(TrialOutcome(
            trial_id=str(metrics.get("trial_id") or (result.path and Path(result.path).name) or ""),
            settings=plain_settings(dict(result.config or {})), validation_accuracy=metrics.get("validation_accuracy"),
            finished=bool(metrics.get("final")) and result.error is None,
            per_seed=list(metrics.get("validation_accuracy_per_seed") or []),
            error=f"{type(result.error).__name__}: {result.error}" if result.error is not None else None))
    return sorted(outcomes, key=lambda outcome: outcome.trial_id)


def best_outcome(outcomes: list[TrialOutcome]) -> TrialOutcome:
    """The finished trial with the highest mean validation accuracy; the earliest one on ties."""
    finished = [outcome for outcome in outcomes if outcome.finished]
    if not finished:
        errors = [outcome.error for outcome in outcomes if outcome.error]
        raise TuningError("no trial of the search finished" + (f"; the first error: {errors[0]}" if errors else ""))
    return max(finished, key=lambda outcome: outcome.validation_accuracy)  # max keeps the first of equal ones


def run_search(plan: SearchPlan, cpus: int | None = None, echo: Echo = print) -> list[TrialOutcome]:
    """Run the planned search on Ray; every trial's outcome, in trial order."""
    from ray import tune

    started_ray = _start_ray(cpus)
    scratch = Path(tempfile.mkdtemp(prefix="hsibench-tune-"))
    budget = plan.budget
    trainable = tune.with_resources(tune.with_parameters(tune_trainable, request=plan.request.to_dict()), {"cpu": 1})
    tuner = tune.Tuner(
        trainable,
        param_space=to_param_space(plan.space),
        tune_config=tune.TuneConfig(metric="validation_accuracy", mode="max", num_samples=budget.trials,
                                    scheduler=SCHEDULERS[budget.scheduler](),
                                    search_alg=SEARCHERS[budget.search](budget.sampler_seed),
                                    trial_dirname_creator=lambda trial: trial.trial_id),
        run_config=tune.RunConfig(name="tune", storage_path=str(scratch), verbose=0,
                                  callbacks=[_line_callback(echo, budget.trials)],
                                  failure_config=tune.FailureConfig(max_failures=0)),
    )
    try:
        return _outcomes(tuner.fit())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if started_ray:
            import ray

            ray.shutdown()


def _identity_digest(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def preset_file_for(plan: SearchPlan, best: TrialOutcome, outcomes: list[TrialOutcome]) -> PresetFile:
    """The winner as a preset file: the --set keys, the space's fixed keys and the sampled ones, typed by the config."""
    request = plan.request
    chosen = {**request.method_overrides, **best.settings}
    config = resolve_config(request.method, request.preset, chosen)
    settings = {key: getattr(config, key) for key in chosen}
    fingerprint = code_fingerprint(get_method_entry(request.method).method_class.__module__)
    identity = protocol_identity(plan.protocol)
    provenance = {
        "protocol": plan.protocol.name, "protocol_path": plan.protocol.path,
        "protocol_overrides": dict(request.protocol_overrides),
        "protocol_identity_sha256": _identity_digest(identity), "protocol_identity": identity,
        "budget": {**plan.budget.to_dict(), "finished_trials": sum(outcome.finished for outcome in outcomes)},
        "search_space": {key: repr(spec) for key, spec in plan.space.items()},
        "precision": request.precision,
        "best_validation_accuracy": float(best.validation_accuracy),
        "best_validation_accuracy_per_seed": list(best.per_seed),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": {"digest": fingerprint.digest, "shared_digest": fingerprint.shared_digest,
                 "method_module": get_method_entry(request.method).method_class.__module__,
                 "git_commit": fingerprint.git_commit, "git_dirty": fingerprint.git_dirty},
        "hsibench_version": __version__,
    }
    return PresetFile(request.method, request.preset, settings, provenance)


def default_out_path(method: str, protocol_name: str) -> Path:
    return Path("presets") / f"{method}-{protocol_name}.toml"


def tune_method(method: str, protocol: str, preset: str | None = None, trials: int = 8,
                seeds: list[int] | None = None, scheduler: str = "asha", search: str = "random",
                out_path: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
                keys: list[str] | None = None, cpus: int | None = None, plugins: tuple[str, ...] = (),
                cache_dir: str | Path | None = None, device: str = "cpu", sampler_seed: int = 0,
                echo: Echo = print, precision: str = "fp32") -> TuningResult:
    """Plan (checks, no Ray), search on validation pixels, write the best settings as a preset file."""
    started = time.perf_counter()
    plan = plan_search(method, protocol, preset, trials, seeds, scheduler, search, overrides, keys, plugins,
                       cache_dir, device, sampler_seed, precision)
    budget = plan.budget
    echo(f"tuning {method} on {plan.protocol.name} (preset {budget.preset}, seeds {list(budget.seeds)}): "
         f"{budget.trials} trial(s), {budget.search} search, {budget.scheduler} scheduler, "
         f"keys {', '.join(budget.searched_keys)}")
    outcomes = run_search(plan, cpus, echo)
    for outcome in outcomes:
        if outcome.error:
            echo(f"  trial {outcome.trial_id} failed: {outcome.error}")
    best = best_outcome(outcomes)
    preset_file = preset_file_for(plan, best, outcomes)
    path = write_preset_file(out_path or default_out_path(method, plan.protocol.name), preset_file)
    return TuningResult(method, plan.protocol.name, best, outcomes, preset_file, path, time.perf_counter() - started)
