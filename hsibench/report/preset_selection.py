"""Which records a table takes by preset: a named preset (``cpu``), or each method's tuned preset file.

A trial run with ``--preset FILE.toml`` records the file's path and sha256 and carries the file's settings as
method overrides; tables otherwise refuse records with method overrides (they compare methods at their preset
configs). ``--preset FILE.toml`` (one method) or ``--preset 'DIR/{method}-dev.toml'`` (a template: one file per
method, ``{method}`` replaced by each method's name) selects exactly the records made from those files, by sha256:
a file that was tuned again selects none of the records made from its older content, so a table never mixes a
stale tuning with a new one. Records of a named preset are those made without a preset file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hsibench.report.errors import ReportError
from hsibench.tuning.preset_file import METHOD_FIELD, preset_file_path, read_preset_data
from hsibench.tuning.preset_file import is_preset_file as is_preset_file_name

if TYPE_CHECKING:
    from hsibench.runner.records import TrialRecord



@dataclass(frozen=True)
class ChosenFile:
    """What a table needs of a preset file: the preset it starts from, the keys it sets and its content's sha256."""

    base_preset: str
    settings: frozenset[str]
    sha256: str


def _chosen_file(path: Path, method: str) -> ChosenFile:
    data, raw = read_preset_data(path, method)  # the shape and method checked, no method module imported
    return ChosenFile(data["base_preset"], frozenset(data["settings"]), hashlib.sha256(raw).hexdigest())


@dataclass(frozen=True)
class PresetSelection:
    """``name`` is the records' preset (a file's base preset), ``files`` method → its preset file (empty: a named
    preset), ``label`` how captions and file names call the selection (``None`` for a named preset)."""

    name: str | None
    files: dict[str, ChosenFile] = field(default_factory=dict)
    label: str | None = None

    def admits(self, record: TrialRecord) -> bool:
        if not self.files:
            return record.preset_file is None
        chosen = self.files.get(record.method)
        return chosen is not None and (record.preset_file or {}).get("sha256") == chosen.sha256

    def settings_of(self, record: TrialRecord) -> set[str]:
        """The method override keys the record may carry because its preset file set them."""
        chosen = self.files.get(record.method)
        return set(chosen.settings) if chosen is not None else set()


def selection_label(preset: str) -> str:
    """``tuned-sa_a2jr_dev`` for ``results/presets/{method}-sa_a2jr_dev.toml``, ``preset-svm-dev`` for one file:
    a name for table files, so tuned tables never overwrite the parity ones."""
    stem = Path(preset).name.removesuffix(".toml")
    if METHOD_FIELD in stem:
        return "tuned-" + (stem.replace(METHOD_FIELD, "").strip("-_.") or "presets")
    return f"preset-{stem}"


def select_presets(preset: str | None, methods: list[str]) -> PresetSelection:
    """The selection ``--preset`` asks for over ``methods``; a preset file that is missing or made for another
    method is a :class:`ReportError` naming the file."""
    if not is_preset_file_name(preset):
        return PresetSelection(preset)
    from hsibench.tuning.errors import PresetFileError

    if METHOD_FIELD not in preset and len(methods) != 1:
        raise ReportError(f"--preset {preset} is one method's preset file, and this table has {', '.join(methods)}; "
                          f"give --methods with one method, or a template naming each method's file "
                          f"(e.g. --preset 'results/presets/{METHOD_FIELD}-sa_a2jr_dev.toml')")
    try:
        files = {method: _chosen_file(preset_file_path(preset, method), method) for method in methods}
    except PresetFileError as error:
        raise ReportError(str(error)) from None
    bases = {file.base_preset for file in files.values()}
    if len(bases) > 1:
        raise ReportError(f"the preset files of --preset {preset} start from different presets {sorted(bases)}; "
                          "a table compares methods tuned from one preset")
    return PresetSelection(bases.pop(), files, selection_label(preset))
