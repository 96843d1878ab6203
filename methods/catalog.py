"""Imports every method module so that each registers itself."""

# Add one line per method module; the order is the order of `hsibench methods list`.
from hsibench.methods import (
    cnn3d,  # noqa: F401
    dcfsl,  # noqa: F401
    finetune,  # noqa: F401
    mae,  # noqa: F401
    s2former,  # noqa: F401
    ssftt,  # noqa: F401
    svm,  # noqa: F401
)
