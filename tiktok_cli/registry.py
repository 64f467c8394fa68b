"""The plug-ins of a package, found by module name: ``backends/`` and ``writers/`` use it.

Every public module of the package (not ``base``, not ``_private``) is one plug-in and
defines one attribute (``BACKEND``, ``WRITER``). Listing the names imports none of them,
so `tiktok --help` can list every backend and format at no cost.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Generic, TypeVar, cast

from tiktok_cli.errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """The plug-ins of ``package``: what ``attribute`` holds in each public module."""

    def __init__(
        self, package: str, path: Iterable[str], attribute: str, kind: str, *, also: tuple[str, ...] = ()
    ) -> None:
        self.package = package
        self.path = list(path)
        self.attribute = attribute
        self.kind = kind  # what a plug-in is called in messages: "backend", "format"
        self.also = also  # other choices the option takes ("auto"), named when one is unknown
        self._names: tuple[str, ...] | None = None

    def names(self) -> tuple[str, ...]:
        """Every plug-in's name, sorted, without importing any of them."""
        if self._names is None:
            found = pkgutil.iter_modules(self.path)
            self._names = tuple(
                sorted(m.name for m in found if not m.name.startswith("_") and m.name != "base")
            )
        return self._names

    def load(self, name: str) -> T:
        """The plug-in ``name``; an unknown name is a usage error listing the choices."""
        if name not in self.names():
            choices = ", ".join((*self.also, *self.names()))
            raise UsageError(f"unknown {self.kind} {name!r} (choose from: {choices})")
        return cast(T, getattr(importlib.import_module(f"{self.package}.{name}"), self.attribute))
