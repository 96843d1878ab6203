"""Errors of the data layer: each message says what is wrong and how to fix it."""

from hsibench.errors import HsibenchError
from hsibench.registry import UnknownNameError


class HsibenchDataError(HsibenchError):
    """Base class of every data-layer error."""


class UnknownSceneError(HsibenchDataError, UnknownNameError):
    """A scene name that is not registered."""


class SceneNotAvailableError(HsibenchDataError):
    """A scene file is neither in the mirror nor in the cache and cannot be downloaded."""


class ChecksumMismatchError(HsibenchDataError):
    """A file exists but its sha256 is not the registered one."""


class SceneFileError(HsibenchDataError):
    """A file is present with the right hash (or none registered) but cannot be read as expected."""


class SceneOptionError(HsibenchDataError, ValueError):
    """A scene option that the scene does not have, or a value outside its valid range."""
