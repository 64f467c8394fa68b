"""The contract every output format implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar


@dataclass(frozen=True, slots=True)
class WriterOptions:
    """Format-specific switches; a writer ignores the ones that are not its own."""

    header: bool = True  # False when appending to a resumed export
    formula_guard: bool = True  # CSV: neutralize cells a spreadsheet would run
    excel: bool = False  # CSV: BOM and ids kept as text for Excel
    terminal: bool = False  # table: the output is a terminal (colour, its width)
    rows_written: int = 0  # rows the output already holds (a resumed export)
    # table: the accounts of the run (a batch's list owners, user-info's accounts), known
    # before any row, so the name columns start wide enough for them.
    names: tuple[str, ...] = ()


class Writer(ABC):
    """Writes rows (mappings of column -> value) to a binary stream, as they come.

    ``flush`` is called after every page so pipelines see rows as pages arrive; a
    writer holds at most what it needs to render the current page.
    """

    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]] = ()
    supports_raw: ClassVar[bool] = False
    # The format-specific WriterOptions this format honours ("excel", "formula_guard");
    # asking another format for one of them is a usage error.
    options_used: ClassVar[frozenset[str]] = frozenset()
    # Columns shown when --fields is not given; None means every field.
    default_columns: ClassVar[tuple[str, ...] | None] = None
    # False for a format that writes nothing (`none`): it takes no -o.
    writes_rows: ClassVar[bool] = True

    def __init__(self, stream: BinaryIO, columns: Sequence[str], options: WriterOptions) -> None:
        self.stream = stream
        self.columns = tuple(columns)
        self.options = options

    @abstractmethod
    def write(self, row: Mapping[str, Any]) -> None:
        """Write one row (or, with --raw, one API object)."""

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Write a page of rows: the same output as ``write`` for each, in order. A format
        overrides it when a page costs less written at once than row by row."""
        for row in rows:
            self.write(row)

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        """Finish the output; the stream itself stays open (it may be stdout)."""
        self.flush()
