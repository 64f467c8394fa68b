"""No rows at all: for runs whose point is the snapshot store (``--db``), as cron runs them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tiktok_cli.writers.base import Writer


class NoWriter(Writer):
    name = "none"
    supports_raw = True
    writes_rows = False
    default_columns = ("unique_id",)  # nothing is written; the fewest columns to make

    def write(self, row: Mapping[str, Any]) -> None:
        pass

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        pass

    def flush(self) -> None:
        pass  # nothing was written: a closed pipe or full disk is no concern of this run


WRITER = NoWriter
