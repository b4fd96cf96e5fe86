"""One registry shape for every named concept: spaces, proxies, selectors, orders, datasets.

`get(name)` on an unknown name raises `UnknownNameError` (a `ValueError`) whose message lists the
valid names, so a CLI can print it as its one-line error.

Installed packages add their own through an entry-point group (`group`, e.g. `ptnas.proxies`): in their
setup.cfg, `[options.entry_points] ptnas.proxies = my_proxy = my_package.module:MY_PROXY`. Each entry point's
object is registered under its name the first time the registry is asked for a name (so a plugin may import
ptnas itself); one that cannot be loaded is skipped with a warning that names it.
"""
from __future__ import annotations

import warnings
from importlib import metadata
from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


class UnknownNameError(ValueError):
    """A name that no registry entry has; the message says which names exist."""


class Registry(Generic[T]):
    def __init__(self, kind: str, group: str | None = None):
        self.kind = kind
        self.group = group  # the entry-point group of installed plugins (None: none are looked for)
        self._items: dict[str, T] = {}
        self._plugins_loaded = group is None

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for entry in metadata.entry_points(group=self.group):
            try:
                self._add(entry.name, entry.load())
            except Exception as e:  # a broken plugin must not break every program
                warnings.warn(f"{self.group} entry point {entry.name!r} ({entry.value}) was not loaded: "
                              f"{type(e).__name__}: {e}", stacklevel=3)

    def register(self, name: str, item: T | None = None):
        """`reg.register("x", obj)` or, as a decorator, `@reg.register("x")`."""
        if item is not None:
            self._add(name, item)
            return item

        def decorator(obj: T) -> T:
            self._add(name, obj)
            return obj

        return decorator

    def _add(self, name: str, item: T) -> None:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item

    def get(self, name: str) -> T:
        self._load_plugins()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}; choose from: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        self._load_plugins()
        return list(self._items)

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self._load_plugins()
        return iter(self._items)

