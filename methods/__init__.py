"""Methods layer (installed as ``hsibench.methods``): the method interface, the registry, S²Former and the baselines.

Importing this package registers every method.
"""

from hsibench.methods.base import Method, MethodInfo, RunContext, default_inference_batch_size, resolve_device
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

__all__ = [
    "Method", "MethodEntry", "MethodInfo", "RunContext", "UnknownMethodError", "create_method", "default_inference_batch_size",
    "get_method_entry", "method_names", "register_method", "register_variant", "resolve_config", "resolve_device",
]
