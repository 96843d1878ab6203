"""hsibench: a benchmark and reproduction suite for cross-domain few-shot hyperspectral classification.

Layers, each importing only the ones before it:
``hsibench.data`` (scenes) → ``hsibench.protocol`` (splits, patches) → ``hsibench.methods``
(method registry, S2Former, baselines) → ``hsibench.runner`` (trials, records) →
``hsibench.report`` (tables, figures) → ``hsibench.cli``.
"""

from pathlib import Path as _Path

from hsibench._checkout import install_if_checkout as _install_if_checkout

__version__ = "0.2.0"  # the one place the version is written (pyproject.toml reads it)

_install_if_checkout(_Path(__file__).resolve().parent)
