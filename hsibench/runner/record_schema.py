"""The trial record as a typed schema: what the runner writes and the report layer reads.

One JSON file per trial. A record says what was run (method, resolved config, protocol content,
seed), what made its numbers (:class:`CodeProvenance`: the fingerprint of the code; and
:class:`~hsibench.provenance.machine.MachineInfo`: CPU, threads, torch build, device,
precision) and what came out (scores per class, the split's fingerprint, timings) — or, for a
failed trial, the error. Reading checks the schema version and required fields and names the
file and the missing field; schema-1 records (written before code and machine were recorded)
are read with their code marked unrecorded.

Imports neither torch nor numpy: ``results ls`` and the report layer read records fast.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hsibench.errors import HsibenchError
from hsibench.provenance.machine import MachineInfo

RECORD_SCHEMA = 2
SUPPORTED_SCHEMAS = (1, 2)
STATUS_OK = "ok"
STATUS_FAILED = "failed"


class RecordError(HsibenchError, ValueError):
    """A file in a runs folder that is not a valid trial record; the message names the file and the field."""


def record_stem(method: str, seed: int, run_id: str, audit: str | None = None) -> str:
    """A record's file stem: ``<method>-seed<seed>-<run id>``, with the habit after the method for an audit trial."""
    return f"{method}-{audit}-seed{seed}-{run_id}" if audit else f"{method}-seed{seed}-{run_id}"


@dataclass(frozen=True)
class CodeProvenance:
    """The code that produced a record (see :mod:`hsibench.provenance.code`); ``digest`` None = unrecorded."""

    digest: str | None
    shared_digest: str | None = None  # the data/protocol/scoring layers alone: equal across methods of one code
    method_module: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    git_commit: str | None = None
    git_dirty: bool | None = None

    @property
    def recorded(self) -> bool:
        return self.digest is not None

    def label(self) -> str:
        """``git 1a2b3c4d (dirty), code 0d4d2406`` for captions."""
        parts = []
        if self.git_commit:
            parts.append(f"git {self.git_commit[:8]}" + (" (uncommitted changes)" if self.git_dirty else ""))
        parts.append(f"code {self.digest[:8]}" if self.digest else "code unrecorded")
        return ", ".join(parts)


@dataclass(frozen=True)
class ClassScore:
    class_id: int
    name: str
    accuracy: float | None
    test_pixels: int
    support_pixels: int


@dataclass(frozen=True)
class SplitSummary:
    fingerprint: str
    mode: str
    shots: int
    support: int
    validation: int
    test: int
    excluded_by_buffer: int = 0
    skipped_classes: tuple = ()


@dataclass(frozen=True)
class ErrorDetail:
    type: str
    message: str
    traceback: str = ""


@dataclass
class TrialRecord:
    """One trial. ``status`` ``ok`` records carry scores and ``split``; ``failed`` ones carry ``error``."""

    run_id: str
    status: str
    method: str
    seed: int
    spec: dict[str, Any] = field(default_factory=dict)
    method_base: str | None = None
    family: str | None = None
    uses_source_labels: bool = False
    pretrains: bool = False
    preset: str | None = None
    method_overrides: dict[str, Any] = field(default_factory=dict)
    protocol_overrides: dict[str, Any] = field(default_factory=dict)
    # added within schema 2 (absent from older records: None): {"path", "sha256", "base"} of `run --preset FILE.toml`
    preset_file: dict[str, Any] | None = None
    # added within schema 2 (absent: None): the evaluation habit an `hsibench audit` trial measures; None for every
    # other trial. Records with an audit never enter main, ablation or sweep tables (hsibench/report/collect.py)
    audit: str | None = None
    # what the habit did in this trial, e.g. the test-pixel checkpoints of `test_checkpoint` ({"checkpoints": …})
    audit_detail: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    protocol_name: str | None = None
    protocol: dict[str, Any] = field(default_factory=dict)
    code: CodeProvenance = field(default_factory=lambda: CodeProvenance(None))
    machine: MachineInfo | None = None
    versions: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None
    # --- ok records
    overall_accuracy: float | None = None
    average_accuracy: float | None = None
    kappa: float | None = None
    per_class: tuple[ClassScore, ...] = ()
    confusion_matrix: list[list[int]] = field(default_factory=list)
    predictions_sha256: str | None = None
    split: SplitSummary | None = None
    timings: dict[str, float | None] = field(default_factory=dict)
    pretraining_key: str | None = None
    # added within schema 2 (older records: empty): what the trial spent, in samples and optimiser updates
    # (Method.training_budget: pretrain_steps, pretrain_samples_seen, finetune_updates, episodes, …)
    budget: dict[str, int] = field(default_factory=dict)
    # added within schema 2 (older records: empty): stage → the epoch curve its method reported, column-wise
    # ({"epochs", "epoch": […], "loss": […], "validation_accuracy": […]}; see hsibench/runner/curves.py)
    curves: dict[str, dict[str, Any]] = field(default_factory=dict)
    map_file: str | None = None
    # added within schema 2 (absent: None): the adapted model kept by `run --save-model` (runs/<name>.model.pt)
    model_file: str | None = None
    peak_memory_mb: dict[str, float | None] = field(default_factory=dict)
    # --- failed records
    error: ErrorDetail | None = None
    schema: int = RECORD_SCHEMA
    path: Path | None = field(default=None, compare=False)  # where it was read from (not stored)

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    @property
    def name(self) -> str:
        """The file stem: ``<method>-seed<seed>-<run id>`` (``<method>-<audit>-seed…`` for an audit trial)."""
        return record_stem(self.method, self.seed, self.run_id, self.audit)

    def to_dict(self) -> dict[str, Any]:
        data = {item.name: getattr(self, item.name) for item in dataclasses.fields(self) if item.name != "path"}
        data["code"] = dataclasses.asdict(self.code)
        data["machine"] = self.machine.to_dict() if self.machine else None
        data["per_class"] = [dataclasses.asdict(score) for score in self.per_class]
        data["split"] = dataclasses.asdict(self.split) if self.split else None
        data["error"] = dataclasses.asdict(self.error) if self.error else None
        return data

    @staticmethod
    def from_dict(data: Any, path: Path | str | None = None) -> TrialRecord:
        """Validate and convert; raises :class:`RecordError` naming ``path`` and what is wrong."""
        where = str(path) if path else "a record"
        if not isinstance(data, dict):
            raise RecordError(f"{where}: not a trial record (a JSON object is expected)")
        schema = data.get("schema", 1)
        if schema not in SUPPORTED_SCHEMAS:
            raise RecordError(f"{where}: record schema {schema!r} is not one this hsibench reads "
                              f"({', '.join(map(str, SUPPORTED_SCHEMAS))}); upgrade hsibench or rerun the trial")
        required = ["run_id", "status", "method", "seed"]
        if data.get("status") == STATUS_OK:
            required += ["overall_accuracy", "average_accuracy", "kappa", "per_class", "split", "protocol",
                         "config", "preset"]
        missing = [name for name in required if name not in data]
        if missing:
            raise RecordError(f"{where}: record (schema {schema}) lacks field(s) {', '.join(missing)}; rerun that "
                              "trial (`hsibench run … --force`) or move the file out of the runs folder")
        values = {item.name: data[item.name] for item in dataclasses.fields(TrialRecord)
                  if item.name in data and item.name != "path"}
        try:
            values["code"] = _code(data, schema)
            values["machine"] = _machine(data, schema)
            values["per_class"] = tuple(ClassScore(**score) for score in data.get("per_class") or ())
            values["split"] = _split(data.get("split"))
            values["error"] = ErrorDetail(**data["error"]) if data.get("error") else None
        except TypeError as error:
            raise RecordError(f"{where}: a nested field of the record is malformed: {error}") from None
        for name in ("method_overrides", "protocol_overrides", "config", "protocol", "spec", "versions",
                     "timings", "peak_memory_mb", "budget", "curves"):
            values[name] = values.get(name) or {}
        values["schema"] = schema
        return TrialRecord(path=Path(path) if path else None, **values)


def _split(data: dict | None) -> SplitSummary | None:
    if not data:
        return None
    return SplitSummary(**{**data, "skipped_classes": tuple(data.get("skipped_classes") or ())})


def _code(data: dict, schema: int) -> CodeProvenance:
    if schema == 1:  # before code fingerprints: only the checkout's commit, if any, was written
        return CodeProvenance(None, git_commit=data.get("git_commit"))
    code = data.get("code") or {}
    return CodeProvenance(**{key: code.get(key) for key in ("digest", "shared_digest", "method_module",
                                                              "git_commit", "git_dirty")},
                          files=dict(code.get("files") or {}))


def _machine(data: dict, schema: int) -> MachineInfo | None:
    if schema == 1:  # host facts only: no CPU model, flags or torch build
        host = data.get("host") or {}
        return MachineInfo(cpu_model=None, isa_flags=(), logical_cpus=None, threads=data.get("threads"),
                           torch_version=(data.get("versions") or {}).get("torch"), torch_cpu_capability=None,
                           cuda_version=None, device=data.get("device"), device_name=None, precision=None,
                           hostname=host.get("hostname"), platform=host.get("platform"))
    return MachineInfo.from_dict(data["machine"]) if data.get("machine") else None
