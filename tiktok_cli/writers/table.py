"""A human-readable table for terminals, rendered page by page.

Rows are held only until the next flush (one API page), then printed as a chunk of the
same table: every chunk uses the same column geometry, so they line up as one table,
and memory stays flat however long the list. Text from TikTok is shown with control
and bidi characters escaped, and never parsed as markup.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tiktok_cli.safetext import for_terminal
from tiktok_cli.writers.base import Writer, WriterOptions

_COUNTS = frozenset({"followers", "following", "likes", "videos"})
_FLAGS = frozenset({"verified", "private"})
# Flexible columns share the width left after the fixed ones, in these proportions.
_RATIOS = {
    "bio": 4,
    "sec_uid": 3,
    "avatar_url": 3,
    "nickname": 2,
    "unique_id": 2,
    "owner": 2,
    "user_id": 2,
}
FILE_WIDTH = 160  # when the table goes to a file or pipe, not a terminal


class TableWriter(Writer):
    name = "table"
    extensions = (".txt",)
    default_columns = (
        "unique_id",
        "nickname",
        "followers",
        "following",
        "likes",
        "videos",
        "verified",
        "private",
        "bio",
    )

    def __init__(self, stream: BinaryIO, columns: Sequence[str], options: WriterOptions) -> None:
        super().__init__(stream, columns, options)
        self._text = io.TextIOWrapper(stream, encoding="utf-8", errors="backslashreplace", write_through=True)
        self._console = _Console(
            file=self._text,
            force_terminal=options.terminal,
            no_color=not options.terminal,
            width=None if options.terminal else FILE_WIDTH,
            highlight=False,
            markup=False,
            emoji=False,
        )
        self._rows: list[list[Text]] = []
        self._show_header = options.header

    def write(self, row: Mapping[str, Any]) -> None:
        self._rows.append([_cell(column, row.get(column)) for column in self.columns])

    def flush(self) -> None:
        if self._rows:
            self._console.print(self._chunk(self._rows))
            self._rows = []
            self._show_header = False
        super().flush()

    def _chunk(self, rows: list[list[Text]]) -> Table:
        table = Table(
            box=box.SIMPLE_HEAD,
            show_header=self._show_header,
            expand=True,
            pad_edge=False,
            show_edge=False,
            header_style="bold" if self.options.terminal else "",
        )
        for column in self.columns:
            if column in _COUNTS:
                table.add_column(column, justify="right", width=9, no_wrap=True)
            elif column in _FLAGS:
                table.add_column(column, justify="center", width=8, no_wrap=True)
            else:
                table.add_column(column, ratio=_RATIOS.get(column, 2), no_wrap=True, overflow="ellipsis")
        for cells in rows:
            table.add_row(*cells)
        return table

    def close(self) -> None:
        self.flush()
        self._text.flush()
        self._text.detach()


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # Rich exits with status 1 here; let the CLI's error edge answer as for every format.
        raise BrokenPipeError


def _cell(column: str, value: Any) -> Text:
    if value is None:
        return Text("")
    if column in _FLAGS:
        return Text("yes" if value else "")
    if column in _COUNTS and isinstance(value, int):
        return Text(compact_count(value))
    return Text(for_terminal(str(value)))


def compact_count(value: int) -> str:
    """6900000 -> 6.9M, as TikTok shows counts; exact figures are in csv and jsonl."""
    if value < 10_000:
        return f"{value:,}"
    for divisor, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if value >= divisor:
            shown = f"{value / divisor:.1f}".rstrip("0").rstrip(".")
            return shown + suffix
    return str(value)  # pragma: no cover


WRITER = TableWriter
