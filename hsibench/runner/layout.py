"""Where results live: one folder per protocol, records, maps, tables and figures side by side.

    DIR/<protocol>/runs/<method>-seed<seed>-<run id>.json     one record per finished trial
    DIR/<protocol>/runs/<method>-seed<seed>-<run id>.map.npz  full-scene prediction (optional)
    DIR/<protocol>/pretraining/<key>.json                      one record per shared pretraining
    DIR/<protocol>/main.md|.tex|.csv, ablation.*, shots.*      tables
    DIR/<protocol>/figures/*.png|.pdf                          figures
    DIR/tmp/…                                                  scratch (Ray Tune's own files), removed after a run
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from hsibench.data.storage import cache_dir

DEFAULT_RESULTS_DIR = Path("results")


def default_pretraining_cache() -> Path:
    """Shared pretraining checkpoints: ``$HSIBENCH_CACHE/pretraining`` (else the user cache folder)."""
    return cache_dir() / "pretraining"


@dataclass(frozen=True)
class ResultsLayout:
    root: Path

    def protocol_dir(self, protocol_name: str) -> Path:
        return self.root / protocol_name

    def runs_dir(self, protocol_name: str) -> Path:
        return self.protocol_dir(protocol_name) / "runs"

    def record_path(self, protocol_name: str, record_name: str) -> Path:
        return self.runs_dir(protocol_name) / f"{record_name}.json"

    def map_path(self, protocol_name: str, record_name: str) -> Path:
        return self.runs_dir(protocol_name) / f"{record_name}.map.npz"

    def pretraining_record_path(self, protocol_name: str, key: str) -> Path:
        return self.protocol_dir(protocol_name) / "pretraining" / f"{key}.json"

    def table_path(self, protocol_name: str, table: str, extension: str) -> Path:
        return self.protocol_dir(protocol_name) / f"{table}.{extension}"

    def figures_dir(self, protocol_name: str) -> Path:
        return self.protocol_dir(protocol_name) / "figures"

    def new_scratch_dir(self, prefix: str) -> Path:
        """A fresh folder under ``DIR/tmp`` (git-ignored) for an executor's own bookkeeping."""
        parent = self.root / "tmp"
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=parent))
