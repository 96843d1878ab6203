"""What a method is, as plain data: shown by ``hsibench methods list`` and written into every record."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MethodInfo:
    name: str
    family: str  # e.g. "proposed", "classical", "supervised deep", "cross-domain few-shot", "self-supervised"
    uses_source_labels: bool
    pretrains: bool
    reference: str
    description: str = ""
