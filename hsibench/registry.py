"""One small registry type for everything hsibench looks up by name: scenes, methods, executors.

A :class:`Registry` maps names to items. Built-in items are *declared as data* — the modules
that register them are listed by name and imported only on the first lookup — so no registry
imports its registrants (no import cycles, and a command that needs one executor does not
import Ray). An unknown name is an error that lists the valid names and suggests close ones.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from hsibench.errors import HsibenchError

Item = TypeVar("Item")


class UnknownNameError(HsibenchError, KeyError):
    """A name no registry entry has; the message lists the valid names (a ``KeyError`` for ``in``-style callers)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(HsibenchError, ValueError):
    """Two registrations under one name (a module imported twice under two names, or a real clash)."""


def close_matches(name: str, valid: Iterable[str], cutoff: float = 0.6) -> list[str]:
    """Valid names close to ``name``, compared case-insensitively (``PU`` → ``pu``)."""
    by_lower = {v.lower(): v for v in valid}
    return [by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=cutoff)]


class Registry(Generic[Item]):
    """Name → item, with built-in registrants imported lazily from the modules listed in ``builtin_modules``.

    ``kind`` names the items in messages ("scene", "method"); ``error`` is the exception type an
    unknown name raises (a subclass of :class:`UnknownNameError`, so callers can catch their layer's).
    ``builtin_modules`` may be a mapping name → module (one module per name: only that one is
    imported on lookup) or a plain sequence of modules (all imported on the first lookup).
    """

    def __init__(self, kind: str, builtin_modules: Iterable[str] | dict[str, str] = (),
                 error: type[UnknownNameError] = UnknownNameError) -> None:
        self.kind = kind
        self.error = error
        self._items: dict[str, Item] = {}
        if isinstance(builtin_modules, dict):
            self._modules_by_name = dict(builtin_modules)
            self._modules = tuple(dict.fromkeys(builtin_modules.values()))
        else:
            self._modules_by_name = {}
            self._modules = tuple(builtin_modules)
        self._imported: set[str] = set()

    # --- registering ---------------------------------------------------------------------------------------
    def register(self, name: str, item: Item) -> Item:
        if name in self._items:
            raise DuplicateNameError(f"{self.kind} {name!r} is registered twice (is its module imported under two "
                                     "names, e.g. `methods.x` and `hsibench.methods.x`?)")
        self._items[name] = item
        return item

    def decorator(self, name: str) -> Callable[[Item], Item]:
        """``@registry.decorator("name")`` registers the decorated object."""
        def decorate(item: Item) -> Item:
            return self.register(name, item)

        return decorate

    # --- looking up ----------------------------------------------------------------------------------------
    def _import(self, modules: Iterable[str]) -> None:
        for module in modules:
            if module not in self._imported:
                self._imported.add(module)  # first, so a lookup while the module registers does not re-enter
                try:
                    importlib.import_module(module)
                except BaseException:
                    # not imported: the next lookup tries again and shows the same error, not "unknown name"
                    self._imported.discard(module)
                    raise

    def load_all(self) -> None:
        """Import every built-in registrant (needed before listing every item with its details)."""
        self._import(self._modules)

    def names(self) -> list[str]:
        """Every name, built-ins included, sorted; imports nothing when the built-ins are declared by name."""
        if not self._modules_by_name:
            self.load_all()
        return sorted(set(self._items) | set(self._modules_by_name))

    @contextlib.contextmanager
    def replaced(self, name: str, item: Item) -> Iterator[Item]:
        """Within the block, ``name`` means ``item`` (tests that poison a scene or fake a method); restored after."""
        previous = self.get(name)
        self._items[name] = item
        try:
            yield item
        finally:
            self._items[name] = previous

    def peek(self, name: str) -> Item | None:
        """The item if it is registered already, without importing anything (``None`` otherwise)."""
        return self._items.get(name)

    def get(self, name: str) -> Item:
        if name not in self._items:
            module = self._modules_by_name.get(name)
            self._import([module] if module else self._modules)
        try:
            return self._items[name]
        except KeyError:
            if name in self._modules_by_name:  # not a typo: the declaration is wrong (a bug, not bad input)
                raise LookupError(f"{self.kind} {name!r} is declared as registered by {self._modules_by_name[name]}, "
                                  "but importing that module did not register it") from None
            valid = self.names()
            close = close_matches(name, valid, cutoff=0.5)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise self.error(f"unknown {self.kind} {name!r}.{hint} Valid names: {', '.join(valid)}") from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, Item]]:
        self.load_all()
        return sorted(self._items.items())
