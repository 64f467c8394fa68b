"""Where rows go: the checked output options, the destination, and the writer.

Every output mistake is found by ``plan_output`` before any request is made. A
destination ("sink") is standard output, or with ``-o FILE`` a checkpointed part file
that becomes FILE only when the export completes.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO

from tiktok_cli import writers
from tiktok_cli.checkpoint import Checkpoint, FileExport
from tiktok_cli.errors import UsageError
from tiktok_cli.models import FIELDS, OWNER_FIELD, User
from tiktok_cli.paginate import SeenAccounts
from tiktok_cli.writers.base import Writer, WriterOptions


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Where and how rows are written, as the user asked."""

    format: str | None = None
    path: Path | None = None
    fields: tuple[str, ...] | None = None
    raw: bool = False
    formula_guard: bool = True
    excel: bool = False
    resume: bool = True


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """The checked output options: which writer, which columns, which options."""

    spec: OutputSpec
    writer_class: type[Writer]
    columns: tuple[str, ...]

    def identity(self) -> dict[str, Any]:
        """What makes two exports "the same command" for resuming (JSON-safe)."""
        return {
            "format": self.writer_class.name,
            "columns": list(self.columns),
            "raw": self.spec.raw,
            "formula_guard": self.spec.formula_guard,
            "excel": self.spec.excel,
        }


def plan_output(spec: OutputSpec, *, owner: bool) -> OutputPlan:
    """Check the output options; every mistake here is a usage error before any request."""
    name = resolve_format(spec)
    writer_class = writers.load(name)
    if spec.raw and not writer_class.supports_raw:
        raise UsageError(f"--raw writes the API's own objects, which only -f jsonl can hold (not {name})")
    if spec.raw and (owner or spec.fields):
        # Raw objects have no columns to pick, and no room for the owner column of a batch.
        raise UsageError("--raw writes the API's objects unchanged: use it without --fields, for one account")
    if spec.path is not None and not spec.path.parent.is_dir():
        raise UsageError(f"cannot write {spec.path}: folder {spec.path.parent} does not exist")
    return OutputPlan(spec, writer_class, resolve_columns(spec.fields, writer_class, owner=owner))


def resolve_format(spec: OutputSpec) -> str:
    """Explicit -f; else the -o file's extension; else table on a terminal, jsonl elsewhere."""
    if spec.format:
        return spec.format
    if spec.path is not None:
        return writers.for_path(spec.path) or "jsonl"
    return "table" if is_terminal(sys.stdout) else "jsonl"


def resolve_columns(
    fields: Sequence[str] | None, writer_class: type[Writer], *, owner: bool
) -> tuple[str, ...]:
    """Validate --fields, or take the writer's default columns (with `owner` first in batches)."""
    valid = (OWNER_FIELD, *FIELDS)
    if fields:
        unknown = [f for f in fields if f not in valid]
        if unknown:
            raise UsageError(f"unknown field {unknown[0]!r} in --fields (valid: {', '.join(valid)})")
        return tuple(dict.fromkeys(fields))
    columns = writer_class.default_columns or FIELDS
    return (OWNER_FIELD, *columns) if owner else tuple(columns)


class Sink:
    """Standard output: nothing to checkpoint, nothing to resume."""

    resumed: Checkpoint | None = None
    path: Path | None = None
    part: Path | None = None
    has_progress = False

    def __init__(self) -> None:
        self.stream: BinaryIO = sys.stdout.buffer
        self.seen = SeenAccounts()

    def mark(self, keys: Iterable[int]) -> None:
        """A page is fully written (the digests of its accounts are ``keys``)."""

    def save(self, progress: Mapping[str, Any]) -> None:
        """Checkpoint up to the last mark."""

    def commit(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()


class FileSink(Sink):
    """-o FILE: a part file, checkpointed after each page, renamed over FILE at the end."""

    def __init__(self, path: Path, identity: Mapping[str, Any] | None) -> None:
        self.path = path
        self._export = FileExport(path, identity or {}, resume=identity is not None)
        self._export.open()
        self._checkpoints = identity is not None
        self.stream = self._export.stream
        self.seen = self._export.seen
        self.resumed = self._export.resumed
        self.part = self._export.part
        self.has_progress = self.resumed is not None

    def mark(self, keys: Iterable[int]) -> None:
        if self._checkpoints:
            self._export.mark(keys)

    def save(self, progress: Mapping[str, Any]) -> None:
        if self._checkpoints:
            self._export.save(progress)
            self.has_progress = True

    def commit(self) -> None:
        self._export.commit()

    def close(self) -> None:
        if self.has_progress:
            self._export.close()  # keep the part file and checkpoint for a resume
        else:
            self._export.discard()


def open_sink(plan: OutputPlan, *, identity: Mapping[str, Any] | None) -> Sink:
    """stdout, or a part file when -o is given; ``identity`` None means not resumable."""
    path = plan.spec.path
    if path is None:
        return Sink()
    if not plan.spec.resume and identity is not None:
        FileExport(path, identity).discard()
    return FileSink(path, identity)


def make_writer(plan: OutputPlan, stream: BinaryIO, *, resumed: bool) -> Writer:
    to_terminal = plan.spec.path is None and is_terminal(sys.stdout)
    options = WriterOptions(
        header=not resumed, formula_guard=plan.spec.formula_guard, excel=plan.spec.excel, terminal=to_terminal
    )
    return plan.writer_class(stream, plan.columns, options)


RowMaker = Callable[[User, str | None], Any]


def row_maker(plan: OutputPlan) -> RowMaker:
    """Turns a User (and the list owner, in batches) into what the writer writes."""
    if plan.spec.raw:
        return lambda user, _owner: dict(user.raw)
    columns = plan.columns
    if OWNER_FIELD not in columns:
        values = attrgetter(*columns)
        if len(columns) == 1:
            return lambda user, _owner: {columns[0]: values(user)}
        return lambda user, _owner: dict(zip(columns, values(user), strict=True))

    def row(user: User, owner: str | None) -> dict[str, Any]:
        return {column: owner if column == OWNER_FIELD else getattr(user, column) for column in columns}

    return row


def close_quietly(writer: Writer) -> None:
    """Flush what was written before a failure; a second failure must not hide the first."""
    with contextlib.suppress(Exception):
        writer.close()


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
