"""Durable trial records: one JSON file per trial (schema: :mod:`.record_schema`), written atomically.

A record is written to a temporary file in the same folder and renamed over the final name
(``os.replace`` is atomic on POSIX), so a crash or ``kill -9`` leaves either the whole record or
none — never a truncated one. Records are named by run id, so a trial that runs twice overwrites
its own record instead of adding a duplicate; a record made by other code is first moved to
``<protocol>/superseded/`` (never deleted).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hsibench.runner.record_schema import STATUS_OK, RecordError, TrialRecord

log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    """JSON-safe copy: NumPy scalars/arrays to Python, NaN/inf to ``None`` (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # NumPy arrays and scalars (NumPy not imported here)
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


@contextmanager
def atomic_file(path: Path, suffix: str = "") -> Iterator[Path]:
    """Yields a hidden temporary path beside ``path``; when the block ends it replaces ``path`` in one step, and
    when the block raises it is removed. ``suffix`` keeps the extension a writer insists on (``.npz``, ``.png``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_json_atomically(path: Path, data: dict[str, Any]) -> Path:
    with atomic_file(path) as temporary, open(temporary, "w") as handle:
        json.dump(_plain(data), handle, indent=2, sort_keys=True, allow_nan=False)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def save_map_atomically(path: Path, **arrays) -> Path:
    """A compressed ``.npz`` written the same crash-safe way as records."""
    import numpy as np

    with atomic_file(path, ".npz") as temporary:
        np.savez_compressed(temporary, **arrays)
    return path


def write_record(path: Path, record: TrialRecord) -> Path:
    return write_json_atomically(path, record.to_dict())


def read_record(path: Path, strict: bool = False) -> TrialRecord | None:
    """The record in ``path``; a file that is not a valid record raises :class:`RecordError` when ``strict``,
    else is skipped with a warning (both name the file and what is wrong)."""
    try:
        data = json.loads(Path(path).read_text())
        return TrialRecord.from_dict(data, path)
    except (OSError, json.JSONDecodeError) as error:
        problem = RecordError(f"{path}: unreadable record: {error}")
    except RecordError as error:
        problem = error
    if strict:
        raise problem
    log.warning("skipping %s", problem)
    return None


def is_finished_ok(path: Path) -> bool:
    record = read_record(path) if path.is_file() else None
    return record is not None and record.status == STATUS_OK


def iter_record_paths(root: Path, protocol: str | None = None) -> Iterator[Path]:
    """Record files under ``root`` (all protocols, or one); hidden temporary files are ignored."""
    pattern = f"{protocol}/runs/*.json" if protocol else "*/runs/*.json"
    for path in sorted(Path(root).glob(pattern)):
        if not path.name.startswith("."):
            yield path


def load_records(root: Path, protocol: str | None = None, strict: bool = False) -> list[TrialRecord]:
    return [record for path in iter_record_paths(root, protocol) if (record := read_record(path, strict)) is not None]


def supersede(path: Path, record: TrialRecord) -> Path:
    """Move a record made by other code (and its map and model) to ``<protocol>/superseded/``, stamped, never deleted."""
    folder = path.parent.parent / "superseded"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (record.finished_at or "unknown").replace(":", "").replace("+0000", "Z")
    target = folder / f"{path.stem}.{stamp}.json"
    os.replace(path, target)
    for suffix in (".map.npz", ".model.pt"):  # its full-scene map and its saved model go with it
        beside = path.with_name(f"{path.stem}{suffix}")
        if beside.is_file():
            os.replace(beside, folder / f"{path.stem}.{stamp}{suffix}")
    return target
