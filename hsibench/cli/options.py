"""Options that mean the same in every sub-command: method lists, ``--set``, ``--sweep``, seeds.

- ``--method NAME`` (repeatable) and ``--methods A,B`` are one option: both forms, mixed freely,
  give one ordered list of method names.
- ``--set KEY=VALUE`` always sets *one* value of a protocol or method key (a bare key goes to
  the protocol when it is a protocol key, else to the method; ``protocol.KEY`` / ``method.KEY``
  force the side). The value is kept whole: ``--set block_channels=4,8`` is one tuple value.
- ``--sweep KEY=V1,V2,…`` is an axis of a grid (``hsibench sweep`` only); values of a tuple-valued
  key are separated by ``;`` instead (``--sweep 'block_channels=4,8;8,16'``).

Bad values are :class:`UsageError`\\ s: the CLI shows them as one line, like every other
:class:`~hsibench.errors.HsibenchError`.
"""

from __future__ import annotations

import argparse
from typing import Any

from hsibench.errors import HsibenchError


class UsageError(HsibenchError, ValueError):
    """A command line that cannot be run as written; the message says what to write instead."""


# --- method lists ---------------------------------------------------------------------------------


#: the precisions ``--precision`` names (methods/training.py PRECISION_DTYPES, which imports torch; the parser must not)
PRECISIONS = ("fp32", "bf16", "fp16")


def comma_list(text: str) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]``."""
    return [item.strip() for item in text.split(",") if item.strip()]


class _ExtendCommaList(argparse.Action):
    """Each occurrence adds its comma-separated names to one list (order kept, repeats dropped)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        names = comma_list(values)
        if not names:
            parser.error(f"{option_string} needs a name (e.g. {option_string} s2former)")
        current = getattr(namespace, self.dest, None) or []
        setattr(namespace, self.dest, list(dict.fromkeys([*current, *names])))


def add_methods_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup, help: str,
                         flags: tuple[str, ...] = ("--method", "--methods"), dest: str = "methods") -> None:
    """``--method A --method B`` and ``--methods A,B`` (and any mix) → ``args.<dest> == ["A", "B"]`` (None if absent)."""
    parser.add_argument(*flags, dest=dest, action=_ExtendCommaList, default=None, metavar="NAME[,NAME…]",
                        help=f"{help} (repeatable: {flags[0]} A {flags[0]} B, or {flags[-1]} A,B)")


# --- --set and --sweep ----------------------------------------------------------------------------


def add_set_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup, help: str = "") -> None:
    parser.add_argument("--set", dest="set", action="append", default=[], metavar="KEY=VALUE",
                        help=help or "set one protocol key (shots, split_mode, normalisation, spatial_buffer, "
                                     "validation_per_class, patch_size, …) or method config key to one value; "
                                     "`protocol.KEY` / `method.KEY` force the side; a comma list is one tuple "
                                     "value (block_channels=4,8) (repeatable)")


def add_sweep_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2,…",
                        help="a sweep axis: run every listed value of a protocol or method key; separate "
                             "tuple values by `;` (block_channels='4,8;8,16'); repeatable: several axes make a "
                             "grid of every combination")


def _key_and_value(option: str, pair: str) -> tuple[str, str]:
    key, separator, value = pair.partition("=")
    example = "shots=1,2,3" if option == "--sweep" else "shots=3"
    if not separator or not key.strip():
        raise UsageError(f"{option} {pair!r}: expected KEY=VALUE (e.g. {option} {example})")
    return key.strip(), value.strip()


def assignments(pairs: list[str] | None, option: str = "--set") -> dict[str, str]:
    """``["key=value", …]`` → ``{key: "value"}``; the value stays one string (the config field's type
    decides what it becomes, so a tuple key takes ``4,8``)."""
    values: dict[str, str] = {}
    for pair in pairs or []:
        key, value = _key_and_value(option, pair)
        if key in values:
            raise UsageError(f"{option} gives {key!r} twice ({values[key]!r} and {value!r})")
        values[key] = value
    return values


def sweep_axes(pairs: list[str] | None, fixed: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """``["key=v1,v2", …]`` → ``{key: ["v1", "v2"]}``; a key may not be both swept and ``--set``."""
    axes: dict[str, list[str]] = {}
    for key, text in assignments(pairs, "--sweep").items():
        # a tuple-valued key has commas inside each value, so its values are separated by `;`
        values = [value.strip() for value in text.split(";") if value.strip()] if ";" in text else comma_list(text)
        if not values:
            raise UsageError(f"--sweep {key}={text}: no values to sweep over (e.g. --sweep {key}=1,2,3)")
        if len(set(values)) != len(values):
            raise UsageError(f"--sweep {key}={text} lists a value twice")
        axes[key] = values
    clash = sorted(set(axes) & set(fixed or {}))
    if clash:
        raise UsageError(f"{', '.join(clash)} is given by both --set and --sweep; keep one")
    return axes


# --- seeds ----------------------------------------------------------------------------------------


def seed_list(text: str) -> list[int]:
    """argparse type of ``--seeds 1330,1220``: integers, none twice."""
    try:
        seeds = [int(part) for part in comma_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes comma-separated integers, got {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("--seeds needs at least one seed")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"--seeds lists a seed twice: {text!r}")
    return seeds


# --- counts ---------------------------------------------------------------------------------------


def _at_least(minimum: int, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ {minimum}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type of counts that must be at least 1 (``--max-concurrent``)."""
    return _at_least(1, text)


def non_negative_int(text: str) -> int:
    """argparse type of counts that may be 0 (``--retries``)."""
    return _at_least(0, text)
