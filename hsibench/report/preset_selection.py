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
    tuned_on: str | None = None  # the development protocol of its [provenance]


def _chosen_file(path: Path, method: str) -> ChosenFile:
    data, raw = read_preset_data(path, method)  # the shape and method checked, no method module imported
    provenance = data.get("provenance") if isinstance(data.get("provenance"), dict) else {}
    return ChosenFile(data["base_preset"], frozenset(data["settings"]), hashlib.sha256(raw).hexdigest(),
                      provenance.get("protocol"))


@dataclass(frozen=True)
class PresetSelection:
    """``name`` is the records' preset (a file's base preset), ``files`` method → its preset file (empty: a named
    preset), ``label`` how file names call the selection and ``caption`` how captions do (``None`` for a named
    preset)."""

    name: str | None
    files: dict[str, ChosenFile] = field(default_factory=dict)
    label: str | None = None
    caption: str | None = None

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
    return PresetSelection(bases.pop(), files, selection_label(preset), caption_phrase(preset, files))


def caption_phrase(preset: str, files: dict[str, ChosenFile]) -> str:
    """``tuned presets {method}-dev.toml (base cpu, tuned on sa_a2jr_dev)``: the file names without their folder,
    so a table regenerated from a copy of the results reads the same."""
    tuned_on = sorted({file.tuned_on for file in files.values() if file.tuned_on})
    where = f", tuned on {', '.join(tuned_on)}" if tuned_on else ""
    base = next(iter(files.values())).base_preset
    return f"tuned presets {Path(preset).name} (base {base}{where})"


def describe_presets(preset: str, methods: list[str] | None = None) -> str:
    """The caption phrase of ``--preset`` (:func:`caption_phrase`) for ``methods``, by default every method whose
    file a ``{method}`` template names in its folder."""
    from hsibench.tuning.errors import PresetFileError

    if methods is None:
        methods = _template_methods(preset) if METHOD_FIELD in preset else []
    files = {}
    for method in methods:
        try:
            files[method] = _chosen_file(preset_file_path(preset, method), method)
        except PresetFileError:  # reported where the records are selected; the caption only names the files
            continue
    return caption_phrase(preset, files) if files else f"tuned presets {Path(preset).name}"


def _template_methods(preset: str) -> list[str]:
    prefix, _, suffix = Path(preset).name.partition(METHOD_FIELD)
    names = (path.name for path in Path(preset).parent.glob(f"{prefix}*{suffix}"))
    return sorted(name[len(prefix):len(name) - len(suffix)] for name in names)
