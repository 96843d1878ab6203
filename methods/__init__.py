"""Methods layer (installed as ``hsibench.methods``): the method interface, the registry, S²Former and the baselines.

The registry and the built-in table (``catalog.py``) are plain Python; a method's module (and
torch) is imported only when that method is looked up, so listing commands start fast. The names
below that need torch are imported on first use.
"""

if __name__ != "hsibench.methods":  # e.g. `import methods.svm` from the repository root
    raise ImportError(
        f"this folder is the package `hsibench.methods`, not `{__name__}`: import `hsibench.methods…` "
        "(importing it under a second name would register every method twice)")

from hsibench.lazy import lazy_exports
from hsibench.methods.info import MethodInfo
from hsibench.methods.registry import (
    MethodEntry,
    UnknownMethodError,
    create_method,
    get_method_entry,
    method_names,
    register_method,
    register_variant,
    resolve_config,
)

_NEEDS_TORCH = {
    "Method": "hsibench.methods.base",
    "RunContext": "hsibench.methods.base",
    "default_inference_batch_size": "hsibench.methods.base",
    "resolve_device": "hsibench.methods.base",
}


__getattr__ = lazy_exports(__name__, _NEEDS_TORCH)


__all__ = [
    "Method", "MethodEntry", "MethodInfo", "RunContext", "UnknownMethodError", "create_method", "default_inference_batch_size",
    "get_method_entry", "method_names", "register_method", "register_variant", "resolve_config", "resolve_device",
]
