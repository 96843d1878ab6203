"""From a command's choices (methods, seeds, ``--set`` values, sweep axes) to the list of trial specs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hsibench.protocol import PUBLISHED_SEEDS, Protocol
from hsibench.runner.spec import TrialSpec, split_overrides

# Full-scene maps cost a prediction over every pixel: by default only for the first published seed.
MAP_SEED = PUBLISHED_SEEDS[0]
MAP_POLICIES = ("auto", "all", "none")


@dataclass(frozen=True)
class TrialSettings:
    """Settings shared by every trial of one command."""

    out_dir: Path
    cache_dir: Path
    preset: str = "paper"
    device: str = "auto"
    threads: int = 1
    deterministic: bool = False
    precision: str = "fp32"  # fp32, bf16 or fp16 (concrete: `--precision auto` is resolved before planning)
    maps: str = "auto"  # auto: seed MAP_SEED only; all; none
    plugins: tuple[str, ...] = ()
    save_model: bool = False  # keep each trial's adapted model beside its record (`run --save-model`)


def choose_seeds(protocol: Protocol, seeds: list[int] | None = None, runs: int | None = None) -> list[int]:
    """Explicit ``--seeds``, else the protocol's first ``--runs`` seeds, else all of them."""
    if seeds:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"--seeds lists a seed twice: {seeds}")
        return list(seeds)
    if runs is not None:
        if not 1 <= runs <= len(protocol.seeds):
            raise ValueError(f"--runs must be between 1 and {len(protocol.seeds)} (the protocol's seeds: "
                             f"{list(protocol.seeds)}); use --seeds for other seeds")
        return list(protocol.seeds[:runs])
    return list(protocol.seeds)


def parse_assignments(pairs: list[str] | None, split_lists: bool = False) -> dict[str, Any]:
    """``["key=value", …]`` → dict; with ``split_lists`` a value ``a,b,c`` becomes the list of a sweep axis."""
    values: dict[str, Any] = {}
    for pair in pairs or []:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE (e.g. --set shots=3)")
        key = key.strip()
        if key in values:
            raise ValueError(f"--set gives {key!r} twice")
        if split_lists:
            items = [item.strip() for item in value.split(",") if item.strip()]
            if not items:
                raise ValueError(f"--set {pair!r}: no values to sweep over")
            values[key] = items
        else:
            values[key] = value.strip()
    return values


def expand_grid(axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the sweep axes (one empty combination when there are none)."""
    keys = list(axes)
    return [dict(zip(keys, combination)) for combination in itertools.product(*(axes[k] for k in keys))]


def plan_trials(methods: list[str], protocol: str, seeds: list[int], settings: TrialSettings,
                fixed: dict[str, Any] | None = None, grid: dict[str, list[Any]] | None = None) -> list[TrialSpec]:
    """One spec per method × grid point × seed, in that nesting order."""
    if settings.maps not in MAP_POLICIES:
        raise ValueError(f"maps must be one of {MAP_POLICIES}, got {settings.maps!r}")
    specs = []
    for method in methods:
        for point in expand_grid(grid or {}):
            protocol_overrides, method_overrides = split_overrides({**(fixed or {}), **point})
            for seed in seeds:
                specs.append(TrialSpec(
                    method=method, protocol=protocol, seed=seed, preset=settings.preset,
                    method_overrides=method_overrides, protocol_overrides=protocol_overrides,
                    out_dir=str(Path(settings.out_dir).resolve()), cache_dir=str(Path(settings.cache_dir).resolve()),
                    device=settings.device, threads=settings.threads, plugins=settings.plugins,
                    deterministic=settings.deterministic, precision=settings.precision,
                    save_map=settings.maps == "all" or (settings.maps == "auto" and seed == MAP_SEED),
                    save_model=settings.save_model,
                ))
    return specs
