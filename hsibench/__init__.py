"""hsibench: a benchmark and reproduction suite for cross-domain few-shot hyperspectral classification.

Layers, each importing only the ones before it:
``hsibench.data`` (scenes) → ``hsibench.protocol`` (splits, patches) → ``hsibench.methods``
(method registry, S2Former, baselines) → ``hsibench.runner`` (trials, records) →
``hsibench.report`` (tables, figures) → ``hsibench.cli``, with the Python API (:mod:`hsibench.api`) beside
the CLI: ``hsibench.run(…)``, ``hsibench.load_results(…)``, ``hsibench.table(…)``, imported on first use, so
``import hsibench`` stays as light as every module that imports the package needs it to be.
"""

from pathlib import Path as _Path

from hsibench._checkout import install_if_checkout as _install_if_checkout
from hsibench.lazy import lazy_exports as _lazy_exports

__version__ = "0.2.0"  # the one place the version is written (pyproject.toml reads it)

_install_if_checkout(_Path(__file__).resolve().parent)

#: the Python API (hsibench/api.py): names, not imports, until first use
_API = {"run": "hsibench.api", "load_results": "hsibench.api", "table": "hsibench.api", "record_row": "hsibench.api"}
__getattr__ = _lazy_exports(__name__, _API)
__all__ = sorted([*_API, "__version__"])


def __dir__() -> list[str]:
    return __all__
