"""CSV: RFC 4180 quoting, UTF-8, one header row; safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

from defusedcsv import csv as defused

from tiktok_cli.writers.base import Writer, WriterOptions

# Columns holding 64-bit ids: Excel keeps only 15 significant digits of a number.
_ID_COLUMNS = frozenset({"user_id"})


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

    def __init__(self, stream: BinaryIO, columns: Sequence[str], options: WriterOptions) -> None:
        super().__init__(stream, columns, options)
        # backslashreplace: a lone surrogate from upstream must not abort the export.
        self._text = io.TextIOWrapper(
            stream,
            encoding="utf-8-sig" if options.excel else "utf-8",
            errors="backslashreplace",
            newline="",
            write_through=True,
        )
        make_writer = defused.writer if options.formula_guard else csv.writer
        self._csv = make_writer(self._text, lineterminator="\r\n")
        self._excel_ids = options.excel and bool(_ID_COLUMNS & set(self.columns))
        if options.header:
            self._csv.writerow(self.columns)

    def write(self, row: Mapping[str, Any]) -> None:
        cells = [self._cell(column, row.get(column)) for column in self.columns]
        self._csv.writerow(cells)

    def _cell(self, column: str, value: Any) -> str:
        """The text of one cell: empty for None, true/false, guarded against formulas."""
        if value is None:
            return ""
        if value is True or value is False:
            return "true" if value else "false"
        text = str(value)
        if self._excel_ids and column in _ID_COLUMNS and text.isdigit():
            return _ExcelText(f'="{text}"')
        if self.options.formula_guard and text[:1] in ("\t", "\r"):
            # defusedcsv covers = + - @ | %; spreadsheets also act on a leading tab or CR.
            return "'" + text
        return text

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # leave the underlying stream (stdout, or the export file) open
        super().close()


WRITER = CsvWriter
