"""hsibench: a benchmark and reproduction suite for cross-domain few-shot hyperspectral classification.

Layers, each importing only the ones before it:
``hsibench.data`` (scenes) → ``hsibench.protocol`` (splits, patches) → ``hsibench.methods``
(method registry, S2Former, baselines) → ``hsibench.runner`` (trials, records) →
``hsibench.report`` (tables, figures) → ``hsibench.cli``.
"""

__version__ = "0.1.0"
