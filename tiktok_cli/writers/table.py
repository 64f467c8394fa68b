"""A human-readable table for terminals, rendered page by page.

Rows are held only until the next flush (one API page), then printed as a chunk of the
same table: the column geometry is fixed once, at the first chunk, from the width and
the names it holds, so every chunk lines up as one table and memory stays flat however
long the list. Usernames are never cut: the name columns are as wide as the names
known then (a later, longer name wraps), and when the width is short, other columns
are dropped in a fixed priority order instead. When
the whole output is a single account (one `user-info`), it is shown as a key/value
card holding every field. Text from TikTok is shown with control and bidi characters
escaped, and never parsed as markup.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tiktok_cli import reports
from tiktok_cli.models import FIELDS, OWNER_FIELD
from tiktok_cli.safetext import for_terminal
from tiktok_cli.writers.base import Writer, WriterOptions

# The reports' columns (changes, history, snapshots) are described in reports.py.
_COUNTS = frozenset(reports.COUNTS)
# How much a count moved (`tiktok history`): shown signed, rounded like the counts.
_CHANGES = frozenset(reports.COUNT_CHANGES)
# Other numbers of the reports: right-aligned, as wide as they need.
_NUMERIC = _COUNTS | _CHANGES | reports.NUMBERS
_FLAGS = frozenset({"verified", "private"})
# The table's columns when --fields is not given (the writer receives every field, for the card).
TABLE_COLUMNS = (
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
# Widths of the columns that never shrink. TikTok usernames are at most 24 characters and
# 64-bit ids at most 20 digits: cutting either would make the row useless.
_NAME_WIDTH = 24
# Columns of usernames: never dropped, and only as wide as the names they show need.
_NAME_COLUMNS = ("unique_id", OWNER_FIELD, *reports.NAMES)
_FIXED = {
    **dict.fromkeys(_NAME_COLUMNS, _NAME_WIDTH),
    "user_id": 20,
    **reports.WIDTHS,
}
# Columns that share what is left: (minimum width, maximum width or None, share of the rest).
_FLEXIBLE = {
    "nickname": (8, 30, 2),
    "bio": (12, None, 4),
    "sec_uid": (12, 80, 2),
    "avatar_url": (12, None, 2),
}
_OTHER = (8, 30, 2)
# When the width is short, columns go in this order; usernames (_NAME_COLUMNS) never do:
# a `renamed` change without its old name would say nothing.
DROP_ORDER = (
    *reports.DROP_FIRST,
    "bio",
    "avatar_url",
    "sec_uid",
    "verified",
    "private",
    "videos",
    "likes",
    "following",
    "user_id",
    "nickname",
    "followers",
    *reports.DROP_LAST,
)
FILE_WIDTH = 160  # when the table goes to a file or pipe and COLUMNS does not say otherwise


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    width: int
    justify: str = "left"
    fold: bool = False  # wrap onto more lines rather than cut (usernames)


class TableWriter(Writer):
    name = "table"
    extensions = (".txt",)
    default_columns = None  # every field: the one-account card shows them all; the table picks

    def __init__(self, stream: BinaryIO, columns: Sequence[str], options: WriterOptions) -> None:
        super().__init__(stream, columns, options)
        self._text = io.TextIOWrapper(stream, encoding="utf-8", errors="backslashreplace", write_through=True)
        self._console = _Console(
            file=self._text,
            force_terminal=options.terminal,
            no_color=not options.terminal,
            width=None if options.terminal else _file_width(),
            highlight=False,
            markup=False,
            emoji=False,
        )
        self._layout: list[_Column] | None = None  # fixed at the first chunk, for every chunk
        self._rows: list[Mapping[str, Any]] = []
        self._show_header = options.header
        # The first row waits for a second one (or close) to tell a card from a table.
        # A card only when --fields was not given and nothing was written before (a resume).
        self._first: dict[str, Any] | None = None
        self._may_be_card = options.header and _is_everything(self.columns)
        self._count = 0

    def write(self, row: Mapping[str, Any]) -> None:
        self._count += 1
        if self._may_be_card and self._count == 1:
            self._first = dict(row)
            return
        if self._first is not None:
            self._rows.append(self._first)
            self._first = None
        self._rows.append(row)

    def flush(self) -> None:
        if self._rows:
            if self._layout is None:
                columns = _table_columns(self.columns)
                names = _name_widths(columns, self._rows, self.options.names)
                self._layout = layout(columns, self._console.width, names)
            self._console.print(self._chunk(self._layout, self._rows))
            self._rows = []
            self._show_header = False
        super().flush()

    def _chunk(self, columns: Sequence[_Column], rows: Sequence[Mapping[str, Any]]) -> Table:
        table = Table(
            box=box.SIMPLE_HEAD,
            show_header=self._show_header,
            expand=False,
            pad_edge=False,
            show_edge=False,
            padding=(0, 0),  # the box's blank divider alone separates columns
            header_style="bold" if self.options.terminal else "",
        )
        for column in columns:
            table.add_column(
                column.name,
                justify=column.justify,  # type: ignore[arg-type]
                width=column.width,
                no_wrap=not column.fold,
                overflow="fold" if column.fold else "ellipsis",
            )
        for row in rows:
            table.add_row(*(_cell(column.name, row.get(column.name)) for column in columns))
        return table

    def close(self) -> None:
        if self._first is not None:
            self._console.print(self._card(self._first))
            self._first = None
        self.flush()
        self._text.flush()
        self._text.detach()

    def _card(self, row: Mapping[str, Any]) -> Table:
        """One account as `field  value` lines: every field, long values wrapped, nothing cut."""
        card = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0), expand=False)
        card.add_column(style="bold" if self.options.terminal else "", no_wrap=True)
        card.add_column(overflow="fold")
        for name in self.columns:
            card.add_row(name, _card_value(name, row.get(name)))
        return card


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # Rich exits with status 1 here; let the CLI's error edge answer as for every format.
        raise BrokenPipeError


def layout(columns: Sequence[str], width: int, names: Mapping[str, int] | None = None) -> list[_Column]:
    """The columns that fit in ``width`` and their widths, the same for every chunk.

    Fixed columns keep their width; flexible ones get their minimum and share the rest.
    ``names`` gives the width each name column needs (default: the longest username).
    While that does not fit, columns are dropped in DROP_ORDER. Usernames are never
    dropped or cut: below their width they wrap instead.
    """
    minimum = {name: _minimum(name) for name in columns} | dict(names or {})

    def needed(kept: Sequence[str]) -> int:  # at their minimum, with a one-character divider
        return sum(minimum[n] for n in kept) + max(0, len(kept) - 1)

    kept = list(columns)
    for name in DROP_ORDER:
        if needed(kept) <= width:
            break
        if name in kept and len(kept) > 1:
            kept.remove(name)
    spare = width - needed(kept)
    widths = {name: minimum[name] for name in kept}
    if spare < 0:  # only usernames (and ids) left, in a very narrow window: let them wrap
        for name in kept:
            widths[name] = max(4, widths[name] + spare // len(kept))
    else:
        _share(spare, kept, widths)
    return [
        _Column(
            name,
            widths[name],
            justify="right" if name in _NUMERIC else "center" if name in _FLAGS else "left",
            fold=name in ("unique_id", OWNER_FIELD) or name in _FIXED,
        )
        for name in kept
    ]


def _share(spare: int, kept: Sequence[str], widths: dict[str, int]) -> None:
    """Give ``spare`` columns to the flexible columns by their shares, up to their maxima."""
    growing = [n for n in kept if n not in _FIXED and n not in _NUMERIC and n not in _FLAGS]
    while spare > 0 and growing:
        shares = {n: _FLEXIBLE.get(n, _OTHER)[2] for n in growing}
        total = sum(shares.values())
        given = 0
        for name in list(growing):
            cap = _FLEXIBLE.get(name, _OTHER)[1]
            extra = max(1, spare * shares[name] // total)
            if cap is not None:
                extra = min(extra, cap - widths[name])
            extra = min(extra, spare - given)
            widths[name] += extra
            given += extra
            if cap is not None and widths[name] >= cap:
                growing.remove(name)
        spare -= given
        if given == 0:
            break


def _minimum(name: str) -> int:
    if name in _FIXED:
        return _FIXED[name]
    if name in _NUMERIC:
        return max(len(name), 6)  # 6: the widest compact count, like 999.9K
    if name in _FLAGS:
        return len(name)
    return _FLEXIBLE.get(name, _OTHER)[0]


def _name_widths(
    columns: Sequence[str], rows: Sequence[Mapping[str, Any]], known: Sequence[str]
) -> dict[str, int]:
    """How wide each name column must be for the names in ``rows`` (the first chunk) and
    the ``known`` accounts of the run: at least its header, at most the longest username."""
    widths = {}
    for column in (c for c in columns if c in _NAME_COLUMNS):
        names = [for_terminal(str(row[column])) for row in rows if row.get(column) is not None]
        if column != "old_unique_id":
            names.extend(known)
        longest = max(map(cell_len, names), default=0)
        widths[column] = min(_NAME_WIDTH, max(len(column), longest))
    return widths


def _table_columns(columns: Sequence[str]) -> tuple[str, ...]:
    """The default columns end with every field: those become TABLE_COLUMNS, after the
    columns before them (`owner`, or a report's own, such as `change`)."""
    if tuple(columns[-len(FIELDS) :]) != FIELDS:
        return tuple(columns)
    return (*columns[: -len(FIELDS)], *TABLE_COLUMNS)


def _is_everything(columns: Sequence[str]) -> bool:
    """Whether these are the default columns (every field), not a --fields choice."""
    return tuple(columns) in (FIELDS, (OWNER_FIELD, *FIELDS))


def _file_width() -> int:
    """COLUMNS when set (as for a pager, or a script that asks for a width), else FILE_WIDTH."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and 0 < int(columns) < 10_000 else FILE_WIDTH


def _cell(column: str, value: Any) -> Text:
    if value is None:
        return Text("")
    if column in _FLAGS:
        return Text("yes" if value else "")
    if column in _COUNTS and isinstance(value, int):
        return Text(compact_count(value))
    if column in _CHANGES and isinstance(value, int):
        return Text(("+" if value > 0 else "-" if value < 0 else "") + compact_count(abs(value)))
    return Text(for_terminal(str(value)))


def _card_value(column: str, value: Any) -> Text:
    if value is None:
        return Text("")
    if column in _FLAGS:
        return Text("yes" if value else "no")
    if column in _COUNTS and isinstance(value, int):
        return Text(f"{value:,}")  # one account: the exact figure
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
