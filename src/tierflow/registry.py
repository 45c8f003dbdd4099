"""A small name → object registry, filled by built-ins and by plugins through entry points.

Example
-------
>>> from tierflow.registry import Registry
>>> codecs: Registry[type] = Registry("waveform codec", entry_point_group=None)
>>> @codecs.register("identity")
... class Identity: ...
>>> codecs["identity"] is Identity
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from tierflow.errors import NotFoundError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Objects of one kind by name.

    Parameters
    ----------
    kind
        What the registry holds, for error messages ("waveform codec", "DAQ decoder").
    entry_point_group
        Entry-point group whose plugins are loaded the first time a name is missing.
    """

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self._entry_point_group = entry_point_group
        self._items: dict[str, T] = {}
        self._plugins_loaded = entry_point_group is None

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers its target under `name`."""

        def add(item: T) -> T:
            self.add(name, item)
            return item

        return add

    def add(self, name: str, item: T) -> None:
        """Register `item` under `name`; a name is taken once."""
        if name in self._items and self._items[name] is not item:
            raise ValueError(f"{self.kind} {name!r} is registered already")
        self._items[name] = item

    def __getitem__(self, name: str) -> T:
        if name not in self._items:
            self._load_plugins()
        try:
            return self._items[name]
        except KeyError:
            raise NotFoundError(
                f"no {self.kind} named {name!r}", obj=name, candidates=self._items
            ) from None

    def __contains__(self, name: object) -> bool:
        if name not in self._items:
            self._load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self._load_plugins()
        return iter(self._items)

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._items)

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for entry_point in entry_points(group=str(self._entry_point_group)):
            self.add(entry_point.name, entry_point.load())
