"""Registry of output formats: every public module in this package is one writer.

A writer module defines ``WRITER``, a ``Writer`` subclass named after the module.
Adding a format means adding one module; nothing else changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tiktok_cli.registry import Registry

if TYPE_CHECKING:  # only annotations: listing names (as `tiktok --help` does) stays cheap
    from tiktok_cli.writers.base import Writer


_registry: Registry[type[Writer]] = Registry(__name__, __path__, "WRITER", "format")


def names() -> tuple[str, ...]:
    """Every format's name, without importing any writer."""
    return _registry.names()


def load(name: str) -> type[Writer]:
    return _registry.load(name)


def for_path(path: Path) -> str | None:
    """The format a file name asks for by its extension (out.csv -> csv), if any."""
    suffix = path.suffix.lower()
    return next((name for name in names() if suffix in load(name).extensions), None)
