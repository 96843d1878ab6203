"""Protocol layer: protocol files, few-shot splits with fingerprints, normalisation and patches."""

from hsibench.protocol.patches import PatchSampler
from hsibench.protocol.protocol import (
    PUBLISHED_SEEDS,
    Protocol,
    ProtocolError,
    SceneRegion,
    load_protocol,
    protocol_names,
)
from hsibench.protocol.split import LabeledPixels, Split, SplitError, clean_split, legacy_split, split_fingerprint
from hsibench.protocol.task import (
    Domain,
    FewShotTask,
    SourceLabelsRefused,
    build_source_domain,
    build_task,
    make_split,
)

__all__ = [
    "PUBLISHED_SEEDS", "Domain", "FewShotTask", "LabeledPixels", "PatchSampler", "Protocol", "ProtocolError",
    "SceneRegion", "SourceLabelsRefused", "Split", "SplitError", "build_source_domain", "build_task",
    "clean_split", "legacy_split", "load_protocol", "make_split", "protocol_names", "split_fingerprint",
]
