"""Read the scalars of tensorboardX event files (TFRecord framing: length, CRC, payload, CRC) for tests."""

from __future__ import annotations

import struct
from pathlib import Path

from tensorboardX.proto import event_pb2


def events(path: Path):
    data, offset = Path(path).read_bytes(), 0
    while offset < len(data):
        (length,) = struct.unpack("<Q", data[offset:offset + 8])
        event = event_pb2.Event()
        event.ParseFromString(data[offset + 12:offset + 12 + length])
        offset += 12 + length + 4
        yield event


def scalars(logs_dir: Path) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """Run folder name → tag → [(step, value)] over every event file below ``logs_dir``."""
    runs: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for path in sorted(Path(logs_dir).glob("*/events.out.tfevents.*")):
        tags = runs.setdefault(path.parent.name, {})
        for event in events(path):
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    tags.setdefault(value.tag, []).append((event.step, value.simple_value))
    return runs
