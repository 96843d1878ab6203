"""What the list commands (``data list``, ``protocols list``, ``methods list``, ``results ls``) share.

- :func:`format_table`: an aligned table that fits :data:`LINE_WIDTH` columns. Each column is as
  wide as its widest cell; when the line is too long, the columns a command names (in its order,
  each down to a minimum width) are cut with an ellipsis, and only as far as needed.
- :func:`print_json`: ``--json`` output, a JSON array of objects printed to stdout (plain numbers,
  registry names, nothing shortened, no colours); each command documents its keys.
- :func:`print_note`: a footnote wrapped to the same width.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: the width every list command's default output fits (in characters)
LINE_WIDTH = 120
ELLIPSIS = "…"
GAP = "  "


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False  # right-aligned (numbers)


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when anything was cut."""
    if len(text) <= width:
        return text
    if width <= 0:
        return ""
    return text[:width - 1].rstrip() + ELLIPSIS


def column_widths(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int = LINE_WIDTH,
                  shrink: Sequence[tuple[int, int]] = ()) -> list[int]:
    """Each column's width: its widest cell, then cut by ``shrink`` steps ``(column index, minimum width)``,
    in order, until the line fits ``width`` (a step cuts no more than the line is too long)."""
    widths = [max([len(column.header), *(len(row[i]) for row in rows)]) for i, column in enumerate(columns)]
    for index, minimum in shrink:
        excess = sum(widths) + len(GAP) * (len(widths) - 1) - width
        if excess <= 0:
            break
        widths[index] = max(min(widths[index], minimum), widths[index] - excess)
    return widths


def format_table(columns: Sequence[Column], rows: Iterable[Sequence[Any]], width: int = LINE_WIDTH,
                 shrink: Sequence[tuple[int, int]] = ()) -> list[str]:
    """The header line and one line per row (cells as ``str``), fitted to ``width`` as :func:`column_widths` says."""
    cells = [[str(value) for value in row] for row in rows]
    widths = column_widths(columns, cells, width, shrink)
    lines = []
    for row in [[column.header for column in columns], *cells]:
        parts = [truncate(value, size).rjust(size) if column.right else truncate(value, size).ljust(size)
                 for value, size, column in zip(row, widths, columns)]
        lines.append(GAP.join(parts).rstrip())
    return lines


def print_table(columns: Sequence[Column], rows: Iterable[Sequence[Any]], width: int = LINE_WIDTH,
                shrink: Sequence[tuple[int, int]] = ()) -> None:
    print("\n".join(format_table(columns, rows, width, shrink)))


def print_note(text: str, width: int = LINE_WIDTH) -> None:
    """A footnote, wrapped to ``width`` (words are never split, so a long path stays whole)."""
    print(textwrap.fill(text, width=width, break_long_words=False, break_on_hyphens=False))


def print_json(items: list[dict[str, Any]]) -> None:
    print(json.dumps(items, indent=2, ensure_ascii=False))


def add_json_argument(parser: argparse.ArgumentParser, keys: str) -> None:
    """``--json``; ``keys`` documents the objects' keys in the option's help."""
    parser.add_argument("--json", action="store_true",
                        help=f"print a JSON array of objects instead of the table; keys: {keys}")
