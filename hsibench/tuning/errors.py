"""The tuning layer's input errors: each says what is wrong and what to write instead (shown as one line)."""

from __future__ import annotations

from hsibench.errors import HsibenchError


class TuningError(HsibenchError, ValueError):
    """A search that cannot be run as asked (no validation pixels, no budget, an unknown scheduler…)."""


class PresetFileError(HsibenchError, ValueError):
    """A preset file that cannot be used: missing, malformed, made for another method, or naming unknown keys."""
