"""Registry of output formats: every public module in this package is one writer.

A writer module defines ``WRITER``, a ``Writer`` subclass named after the module.
Adding a format means adding one module; nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from tiktok_cli.errors import UsageError

if TYPE_CHECKING:  # only annotations: listing names (as `tiktok --help` does) stays cheap
    from tiktok_cli.writers.base import Writer


@cache
def names() -> tuple[str, ...]:
    """Every format's name, without importing any writer."""
    return tuple(
        sorted(
            m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_") and m.name != "base"
        )
    )


def load(name: str) -> type[Writer]:
    if name not in names():
        raise UsageError(f"unknown format {name!r} (choose from: {', '.join(names())})")
    writer: type[Writer] = importlib.import_module(f"{__name__}.{name}").WRITER
    return writer


def for_path(path: Path) -> str | None:
    """The format a file name asks for by its extension (out.csv -> csv), if any."""
    suffix = path.suffix.lower()
    return next((name for name in names() if suffix in load(name).extensions), None)
