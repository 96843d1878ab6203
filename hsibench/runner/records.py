"""Durable trial records: one JSON file per trial, written atomically, read back leniently.

A record is written to a temporary file in the same folder and renamed over the final name
(``os.replace`` is atomic on POSIX), so a crash or ``kill -9`` leaves either the whole record or
none — never a truncated one. Records are named by run id, so a trial that runs twice overwrites
its own record instead of adding a duplicate.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

RECORD_SCHEMA = 1
STATUS_OK = "ok"
STATUS_FAILED = "failed"


def _plain(value: Any) -> Any:
    """JSON-safe copy: NumPy scalars/arrays to Python, NaN/inf to ``None`` (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json_atomically(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w") as handle:
        json.dump(_plain(data), handle, indent=2, sort_keys=True, allow_nan=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


def save_map_atomically(path: Path, **arrays: np.ndarray) -> Path:
    """A compressed ``.npz`` written the same crash-safe way as records."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez_compressed(temporary, **arrays)
    os.replace(temporary, path)
    return path


def read_record(path: Path) -> dict[str, Any] | None:
    """A record, or ``None`` (with a warning) when the file is not a valid record."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        log.warning("skipping unreadable record %s: %s", path, error)
        return None
    if not isinstance(record, dict) or "run_id" not in record or "status" not in record:
        log.warning("skipping %s: not a trial record", path)
        return None
    record["record_path"] = str(path)
    return record


def is_finished_ok(path: Path) -> bool:
    record = read_record(path) if path.is_file() else None
    return record is not None and record["status"] == STATUS_OK


def iter_record_paths(root: Path, protocol: str | None = None) -> Iterator[Path]:
    """Record files under ``root`` (all protocols, or one); hidden temporary files are ignored."""
    pattern = f"{protocol}/runs/*.json" if protocol else "*/runs/*.json"
    for path in sorted(Path(root).glob(pattern)):
        if not path.name.startswith("."):
            yield path


def load_records(root: Path, protocol: str | None = None) -> list[dict[str, Any]]:
    return [record for path in iter_record_paths(root, protocol) if (record := read_record(path)) is not None]
