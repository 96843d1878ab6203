"""Protocol layer: protocol files, few-shot splits with fingerprints, normalisation and patches.

Splits need only NumPy; the names that need torch (patches, the views methods see) are imported on
first use, so `hsibench split` and `hsibench protocols` start in a fraction of a second.
"""

from hsibench.lazy import lazy_exports
from hsibench.protocol.protocol import (
    PUBLISHED_SEEDS,
    PooledSourceRefused,
    Protocol,
    ProtocolError,
    SceneRegion,
    SourceLabelsRefused,
    check_source_labels,
    load_protocol,
    protocol_names,
)
from hsibench.protocol.split import LabeledPixels, Split, SplitError, clean_split, legacy_split, split_fingerprint
from hsibench.protocol.splitting import make_split

_NEEDS_TORCH = {
    "PatchSampler": "hsibench.protocol.patches",
    "Domain": "hsibench.protocol.task",
    "FewShotTask": "hsibench.protocol.task",
    "PooledSource": "hsibench.protocol.task",
    "Source": "hsibench.protocol.task",
    "build_source_domain": "hsibench.protocol.task",
    "build_sources": "hsibench.protocol.task",
    "build_task": "hsibench.protocol.task",
    "source_domains": "hsibench.protocol.task",
}


__getattr__ = lazy_exports(__name__, _NEEDS_TORCH)


__all__ = [
    "PUBLISHED_SEEDS", "Domain", "FewShotTask", "LabeledPixels", "PatchSampler", "PooledSource", "PooledSourceRefused", "Protocol",
    "ProtocolError", "SceneRegion", "Source", "SourceLabelsRefused", "Split", "SplitError", "build_source_domain",
    "build_sources", "build_task", "check_source_labels", "clean_split", "legacy_split", "load_protocol", "make_split",
    "protocol_names", "source_domains", "split_fingerprint",
]
