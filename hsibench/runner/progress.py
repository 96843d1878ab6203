"""Live progress of a batch of trials: a tqdm bar in a terminal, one plain line per finished trial in CI logs.

Methods report through ``RunContext.progress(stage=…, epoch=…, epochs=…, loss=…)``; the local
executor calls :meth:`ProgressBoard.update` directly, the Ray executor forwards the same keywords
from workers, batched by :class:`BatchedProgress`, through ``ray.tune.report`` (trials) or a Ray
queue (pretrainings) to the driver, which calls it.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from tqdm import tqdm

from hsibench.runner.curves import curve_point
from hsibench.runner.record_schema import TrialRecord


def is_interactive(stream: TextIO) -> bool:
    """A live display only for a person at a terminal; CI logs (``CI=true``) get plain lines."""
    in_ci = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
    return not in_ci and hasattr(stream, "isatty") and stream.isatty()


def fan_out(*callbacks: Callable[..., None]) -> Callable[..., None]:
    """One progress callback that calls each of ``callbacks`` with the same update (display and loggers)."""
    def progress(**info: Any) -> None:
        for callback in callbacks:
            callback(**info)
    return progress


def describe_progress(info: dict[str, Any]) -> str:
    """``adapt 3/20 loss 0.412`` from a progress update."""
    parts = [str(info.get("stage", ""))]
    if info.get("epoch") is not None:
        parts.append(f"{info['epoch']}/{info['epochs']}" if info.get("epochs") else str(info["epoch"]))
    if isinstance(info.get("loss"), int | float) and math.isfinite(info["loss"]):
        parts.append(f"loss {info['loss']:.3g}")
    return " ".join(p for p in parts if p)


def describe_record(record: TrialRecord) -> str:
    """One line of a finished trial: its scores, or its error."""
    if record.ok:
        # κ ×100, as in every table (papers print it beside OA and AA in %)
        kappa_text = f"{100 * record.kappa:.2f}" if record.kappa is not None else "n/a"
        seconds = record.timings.get("total_s")
        return (f"OA {100 * record.overall_accuracy:.2f}%  AA {100 * record.average_accuracy:.2f}%  "
                f"κ ×100 {kappa_text}" + (f"  ({seconds:.1f} s)" if seconds is not None else ""))
    error = record.error
    return f"{error.type}: {error.message}".strip() if error else "failed"


class BatchedProgress:
    """Sends progress on at a stage change or at most every ``interval`` seconds, with every update since the last.

    Each send is ``{latest update's plain values…, "points": JSON list of every update since the
    last send}``: the display needs only the latest, the curves and loggers on the driver need
    them all. Batching matters under Ray, where each ``tune.report`` waits for the driver (~5 ms,
    measured on 2 cores): reporting every epoch of a fit whose epochs take 17 ms would cost a
    third of its time. The points travel as one JSON string so Tune's own loggers, which take
    numbers and arrays, skip them. Call :meth:`flush` before the last report of a trial or stage.
    """

    def __init__(self, send: Callable[[dict[str, Any]], None], interval: float = 0.5) -> None:
        self.send, self.interval = send, interval
        self._last_time, self._last_stage = 0.0, None
        self._pending: list[dict[str, Any]] = []
        self._latest: dict[str, Any] = {}

    def __call__(self, **info: Any) -> None:
        self._latest = {k: v for k, v in info.items() if isinstance(v, str | int | float | bool | type(None))}
        if info.get("epoch") is not None:
            self._pending.append(curve_point(info))
        now = time.monotonic()
        if info.get("stage") != self._last_stage or now - self._last_time >= self.interval:
            self._last_stage = info.get("stage")
            self.flush()

    def flush(self) -> None:
        """Send what has not been sent (nothing when nothing is pending)."""
        if not self._pending and not self._latest:
            return
        self._last_time = time.monotonic()
        latest = {k: v for k, v in self._latest.items() if not (isinstance(v, float) and not math.isfinite(v))}
        self.send({**latest, "points": json.dumps(self._pending)})
        self._pending, self._latest = [], {}


def unpack_points(update: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-epoch points a :class:`BatchedProgress` send carries (none for other updates)."""
    points = update.get("points")
    return json.loads(points) if isinstance(points, str) and points else []


class ProgressBoard:
    """Counts trials done / running / failed and shows each running trial's current epoch."""

    def __init__(self, total: int, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = is_interactive(self.stream) if live is None else live
        self.total = total
        self.finished_count = 0
        self.failed: list[str] = []
        self.running: dict[str, str] = {}  # trial key → label
        self.activity: dict[str, str] = {}  # trial key → "adapt 3/20"
        self._bar = tqdm(total=total, file=self.stream, unit="trial", dynamic_ncols=True) if self.live and total else None
        self._last_refresh = 0.0

    def note(self, message: str) -> None:
        """A line that stays visible (pretraining stage, warnings)."""
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def started(self, key: str, label: str) -> None:
        self.running[key] = label
        self._refresh(force=True)

    def forget(self, key: str) -> None:
        """Drop a running entry that is not a trial (a pretraining stage job) without counting it."""
        self.running.pop(key, None)
        self.activity.pop(key, None)
        self._refresh(force=True)

    def update(self, key: str, **info: Any) -> None:
        self.activity[key] = describe_progress(info)
        self._refresh()

    def finished(self, key: str, ok: bool, summary: str, label: str | None = None) -> None:
        """A trial ended: ``summary`` is :func:`describe_record` of its record, or why it has none."""
        label = self.running.pop(key, None) or label or key
        self.activity.pop(key, None)
        self.finished_count += 1
        if not ok:
            self.failed.append(label)
        line = f"[{self.finished_count}/{self.total}] {'ok    ' if ok else 'FAILED'} {label}  {summary}"
        if self._bar is not None:
            if not ok:
                self._bar.write(line, file=self.stream)
            self._bar.update(1)
            self._refresh(force=True)
        else:
            print(line, file=self.stream, flush=True)

    def _refresh(self, force: bool = False) -> None:
        if self._bar is None or (not force and time.monotonic() - self._last_refresh < 0.5):
            return
        running = "; ".join(f"{label} {self.activity.get(key, '')}".strip() for key, label in self.running.items())
        self._bar.set_postfix_str(f"failed {len(self.failed)} | running {len(self.running)}: {running}", refresh=True)
        self._last_refresh = time.monotonic()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
