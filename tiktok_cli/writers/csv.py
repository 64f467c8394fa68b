"""CSV: RFC 4180 quoting, UTF-8, one header row; safe to open in a spreadsheet.

Cells keep every character from TikTok except NUL, written as U+FFFD: Python's csv
reader (3.10 and older) and PostgreSQL's COPY refuse a file that holds one.
"""

from __future__ import annotations

import csv
import io
import numbers
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any, BinaryIO

from defusedcsv import csv as defused

from tiktok_cli.writers.base import Writer, WriterOptions

# Columns that can hold 64-bit ids: Excel keeps only 15 significant digits of a number.
_ID_COLUMNS = frozenset({"user_id", "owner"})
# First characters that make a spreadsheet treat a cell as a formula or command:
# defusedcsv's list (= + - @ | %), plus tab and CR, which some spreadsheets skip first.
_RISKY = frozenset("=+-@|%\t\r")
_LAYOUT = frozenset("\t\r")
_NUL, _REPLACEMENT = "\x00", "\ufffd"


class _ExcelText(str):
    """An id spelled as the formula ="123", the one form Excel shows as text unrounded.

    Registered as a Number so the formula guard (which passes numbers through) leaves
    this one formula alone; only the writer itself ever creates it.
    """

    __slots__ = ()


numbers.Number.register(_ExcelText)


class CsvWriter(Writer):
    name = "csv"
    extensions = (".csv",)
    options_used = frozenset({"excel", "formula_guard"})

    def __init__(self, stream: BinaryIO, columns: Sequence[str], options: WriterOptions) -> None:
        super().__init__(stream, columns, options)
        # backslashreplace: a lone surrogate from upstream must not abort the export.
        self._text = io.TextIOWrapper(
            stream,
            encoding="utf-8-sig" if options.excel else "utf-8",
            errors="backslashreplace",
            newline="",
        )
        lines = _WithoutNul(self._text)
        self._plain = csv.writer(lines, lineterminator="\r\n")
        # Only rows with a risky cell pay for defusedcsv's per-cell escaping.
        self._guarded = defused.writer(lines, lineterminator="\r\n") if options.formula_guard else None
        self._values = itemgetter(*self.columns) if len(self.columns) > 1 else None
        self._excel_ids = [i for i, c in enumerate(self.columns) if c in _ID_COLUMNS] if options.excel else []
        if options.header:
            self._plain.writerow(self.columns)

    def write(self, row: Mapping[str, Any]) -> None:
        values = self._values(row) if self._values else (row[self.columns[0]],)
        # None as an empty cell, booleans as true/false, everything else as it is.
        cells = ["" if v is None else "true" if v is True else "false" if v is False else v for v in values]
        for index in self._excel_ids:
            if type(cells[index]) is str and cells[index].isdigit():
                cells[index] = _ExcelText(f'="{cells[index]}"')
        if self._guarded is not None and not _RISKY.isdisjoint([c[:1] for c in cells if type(c) is str]):
            # defusedcsv covers = + - @ | %; a leading tab or CR gets the same quote mark.
            self._guarded.writerow(["'" + c if type(c) is str and c[:1] in _LAYOUT else c for c in cells])
        else:
            self._plain.writerow(cells)

    def flush(self) -> None:
        self._text.flush()  # page by page: the text layer buffers rows in between
        super().flush()

    def close(self) -> None:
        self.flush()
        self._text.detach()  # leave the underlying stream (stdout, or the export file) open


class _WithoutNul:
    """Where the csv module writes its lines: each NUL becomes U+FFFD on the way to ``text``."""

    __slots__ = ("_write",)

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._write = text.write

    def write(self, line: str) -> int:
        return self._write(line.replace(_NUL, _REPLACEMENT))


WRITER = CsvWriter
