"""One registry type for every named, pluggable thing: models, views, fold schemes, blend methods, metrics, pruners.

A registry maps a name to an object or to ``"module:attribute"`` (imported on first use, so that
``kaggletk --help`` never imports TensorFlow). When an entry is loaded it must carry a ``name``
equal to its key, so a class copied into a new file under a new key cannot keep its old name
unnoticed. The CLI takes its ``choices=`` from ``names()`` and the README's tables their rows.

Examples
--------
>>> from kaggletk._registry import Registry
>>> shapes = Registry("shape", "--shape")
>>> class Square:
...     name = "square"
>>> shapes.register("square", Square)
>>> shapes.get("square") is Square
True
>>> shapes.names()
('square',)
>>> shapes.get("sqare")
Traceback (most recent call last):
...
kaggletk.errors.KaggletkError: --shape 'sqare': unknown shape; did you mean square? known: square
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from typing import Generic, TypeVar

from kaggletk.errors import KaggletkError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind, in registration order.

    Parameters
    ----------
    kind : str
        What an entry is ("model", "view"), for messages.
    flag : str, optional
        The command-line option that names an entry ("--model"), for messages.
    """

    def __init__(self, kind: str, flag: str | None = None):
        self.kind = kind
        self.flag = flag
        self._targets: dict[str, str | T] = {}
        self._loaded: dict[str, T] = {}

    def register(self, name: str, target: str | T) -> None:
        """Add ``name``; ``target`` is the object or ``"module:attribute"``. A name is registered once."""
        if name in self._targets:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        if not isinstance(target, str):
            self._check(name, target)
            self._loaded[name] = target
        self._targets[name] = target

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a plugin that is unloaded, a test's temporary entry)."""
        self._targets.pop(name, None)
        self._loaded.pop(name, None)

    def get(self, name: str) -> T:
        """The entry registered as ``name`` (imported on first use)."""
        if name not in self._targets:
            raise KaggletkError(self.unknown_message(name))
        if name not in self._loaded:
            module_name, _, attribute = str(self._targets[name]).partition(":")
            entry = getattr(importlib.import_module(module_name), attribute)
            self._check(name, entry)
            self._loaded[name] = entry
        return self._loaded[name]

    def unknown_message(self, name: object) -> str:
        known = ", ".join(self._targets) or "(none)"
        close = difflib.get_close_matches(str(name), list(self._targets), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        prefix = f"{self.flag} {name!r}: unknown {self.kind}" if self.flag else f"unknown {self.kind} {name!r}"
        return f"{prefix}; {hint}known: {known}"

    def names(self) -> tuple[str, ...]:
        return tuple(self._targets)

    def items(self) -> Iterator[tuple[str, T]]:
        """(name, entry) pairs, loading every entry."""
        for name in self._targets:
            yield name, self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)

    def _check(self, name: str, entry: object) -> None:
        declared = getattr(entry, "name", name)
        if declared != name:
            raise ValueError(f"{self.kind} registered as {name!r} declares name = {declared!r}; make them equal")

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._targets)})"
