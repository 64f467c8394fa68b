"""What the commands do, between parsed arguments and written rows.

The CLI builds a ``Settings`` and an ``OutputSpec`` and calls one function here. This
module checks the output options (before any request), picks backends, drives the one
paginator, applies --limit, streams rows to the writer, checkpoints file exports, and
adds "how far it got" to any failure. Errors reach the CLI's single handler as
``TikTokCliError``.
"""

from __future__ import annotations

import contextlib
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

from tiktok_cli import backends, console, writers
from tiktok_cli.backends.base import Backend, BackendContext, ListQuery, Operation
from tiktok_cli.checkpoint import Checkpoint, FileExport
from tiktok_cli.client import HttpClient
from tiktok_cli.config import Settings
from tiktok_cli.errors import ExitCode, Interrupted, TikTokCliError, UsageError
from tiktok_cli.identifiers import Account
from tiktok_cli.models import FIELDS, OWNER_FIELD, Cursor, User
from tiktok_cli.paginate import SeenAccounts, paginate
from tiktok_cli.progress import Progress, wanted
from tiktok_cli.writers.base import Writer, WriterOptions

# The option that continues a list from a cursor, per command, for "how to resume" hints.
CURSOR_OPTIONS = {Operation.FOLLOWINGS: "--min-cursor", Operation.FOLLOWERS: "--cursor"}


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
class Pacing:
    """Politeness between pages: sleep a random time in [low, high] seconds."""

    low: float = 0.0
    high: float = 0.0

    def pause(self) -> None:
        if self.high > 0:
            time.sleep(random.uniform(self.low, self.high))  # noqa: S311 - jitter, not crypto


class Session:
    """One run's shared state: settings, the HTTP client, and the backends in use."""

    def __init__(self, settings: Settings, *, trace: bool = False, concurrency: int = 1) -> None:
        self.settings = settings
        self.client = HttpClient(
            timeout=settings.timeout,
            retries=settings.retries,
            rate=settings.rate,
            secrets=(settings.api_token,),
            trace=trace,
            max_connections=max(4, concurrency * 2),
        )
        self._backends: dict[str, Backend] = {}
        self._lookups: dict[str, User] = {}

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def backend(self, operation: Operation, choice: str | None = None) -> Backend:
        """The backend instance serving ``operation`` under the --backend choice."""
        backend_class = backends.choose(operation, choice or self.settings.backend, self.settings)
        if backend_class.name not in self._backends:
            context = BackendContext(self.settings, self.client, self.lookup)
            self._backends[backend_class.name] = backend_class(context)
        return self._backends[backend_class.name]

    def lookup(self, username: str) -> User:
        """Profile of ``username`` through whichever backend serves user-info (cached)."""
        key = username.lower()
        if key not in self._lookups:
            choice = self.settings.backend
            if choice != backends.AUTO and Operation.USER_INFO not in backends.load(choice).operations:
                choice = backends.AUTO  # e.g. tkapi has no profiles: names resolve through auto
            self._lookups[key] = self.backend(Operation.USER_INFO, choice).user_info(username)
        return self._lookups[key]


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
    return OutputPlan(spec, writer_class, resolve_columns(spec.fields, writer_class, owner=owner))


def resolve_format(spec: OutputSpec) -> str:
    """Explicit -f; else the -o file's extension; else table on a terminal, jsonl elsewhere."""
    if spec.format:
        return spec.format
    if spec.path is not None:
        return writers.for_path(spec.path) or "jsonl"
    return "table" if _is_terminal(sys.stdout) else "jsonl"


def resolve_columns(
    fields: Sequence[str] | None, writer_class: type[Writer], *, owner: bool
) -> tuple[str, ...]:
    """Validate --fields, or take the writer's default columns."""
    valid = (OWNER_FIELD, *FIELDS)
    if fields:
        unknown = [f for f in fields if f not in valid]
        if unknown:
            raise UsageError(f"unknown field {unknown[0]!r} in --fields (valid: {', '.join(valid)})")
        return tuple(dict.fromkeys(fields))
    columns = writer_class.default_columns or FIELDS
    return (OWNER_FIELD, *columns) if owner else tuple(columns)


def run_user_info(usernames: Sequence[str], settings: Settings, spec: OutputSpec, *, trace: bool) -> None:
    """Write one record per username, in the order given."""
    plan = plan_output(spec, owner=False)
    with Session(settings, trace=trace) as session, _signals_as_interrupts():
        backend = session.backend(Operation.USER_INFO)
        sink = _open_sink(plan, identity=None)
        writer = _make_writer(plan, sink.stream, resumed=False)
        to_row = _row_maker(plan)
        try:
            for username in usernames:
                writer.write(to_row(backend.user_info(username), None))
                writer.flush()
        except BaseException:
            _close_quietly(writer)
            sink.close()
            raise
        writer.close()
        sink.commit()


def run_list(
    operation: Operation,
    query: ListQuery,
    settings: Settings,
    spec: OutputSpec,
    *,
    limit: int | None,
    pacing: Pacing,
    trace: bool,
) -> None:
    """Export every account in a followings/followers list (or the first ``limit``)."""
    plan = plan_output(spec, owner=False)
    with Session(settings, trace=trace) as session, _signals_as_interrupts():
        backend = session.backend(operation)
        fetch = backend.page_fetcher(operation, query)  # resolves the account: may fail fast
        identity = {
            **plan.identity(),
            "command": operation.value,
            "account": [query.account.kind.value, query.account.value],
            "backend": backend.name,
            "start": [query.cursor, query.max_cursor, query.page_size],
        }
        sink = _open_sink(plan, identity=identity)
        job = _ListJob(operation, query.account, sink, spec.path)
        start = sink.resumed.next_cursor if sink.resumed else backend.start_cursor(query)
        if sink.resumed:
            console.info(f"resuming {sink.path}: {sink.resumed.rows:,} rows already written")
        writer = _make_writer(plan, sink.stream, resumed=sink.resumed is not None)
        to_row = _row_maker(plan)
        show = wanted(
            quiet=console.is_quiet(), data_to_terminal=spec.path is None and _is_terminal(sys.stdout)
        )
        try:
            with Progress(f"{operation.value} of {query.account}", enabled=show) as progress:
                if start is not None and (limit is None or job.written < limit):
                    for page in paginate(fetch, start, seen=sink.seen, pause=pacing.pause):
                        batch = page.users if limit is None else page.users[: limit - job.written]
                        for user in batch:
                            writer.write(to_row(user, query.account))
                        writer.flush()
                        job.page_done(page.next_cursor, len(batch), page.total)
                        progress.update(job.written, job.total)
                        if limit is not None and job.written >= limit:
                            break
        except BaseException as exc:  # noqa: BLE001 - closes the output, then re-raises with context
            _close_quietly(writer)
            sink.close()
            raise job.explain(exc) from None
        writer.close()
        sink.commit()
        job.summary()


class _ListJob:
    """How far a list export got, for checkpoints, summaries and failure messages."""

    def __init__(self, operation: Operation, account: Account, sink: _Sink, path: Path | None) -> None:
        self.operation = operation
        self.account = account
        self.sink = sink
        self.path = path
        resumed = sink.resumed
        self.written = resumed.rows if resumed else 0
        self.total = resumed.total if resumed else None
        self.next_cursor: Cursor | None = resumed.next_cursor if resumed else None

    def page_done(self, next_cursor: Cursor | None, rows: int, total: int | None) -> None:
        self.written += rows
        self.next_cursor = next_cursor
        self.total = total if total is not None else self.total
        self.sink.save(next_cursor, self.written, self.total)

    def summary(self) -> None:
        where = f" to {self.path}" if self.path else ""
        reported = f" (TikTok reports ~{self.total:,})" if self.total is not None else ""
        console.info(f"{self.written:,} {self.operation.value} of {self.account} written{where}{reported}")

    def explain(self, exc: BaseException) -> BaseException:
        """Add how far the export got, and how to go on, to the failure that ended it."""
        if isinstance(exc, KeyboardInterrupt):
            exc = Interrupted("interrupted", exit_code=ExitCode.INTERRUPTED)
        elif isinstance(exc, _Terminated):
            exc = Interrupted("terminated", exit_code=ExitCode.TERMINATED)
        if not isinstance(exc, TikTokCliError):
            return exc
        if self.path is not None and self.sink.has_progress:
            note = (
                f"{self.written:,} rows kept in {self.sink.part}; "
                "run the same command again to resume (--no-resume starts over)"
            )
        elif self.path is None and self.next_cursor is not None:
            option = CURSOR_OPTIONS[self.operation]
            note = f"{self.written:,} rows written; continue with {option} {self.next_cursor}"
        elif self.path is None and self.written:
            note = f"{self.written:,} rows written"
        else:
            return exc
        exc.hint = f"{exc.hint}; {note}" if exc.hint else note
        return exc


class _Sink:
    """Standard output: nothing to checkpoint, nothing to resume."""

    resumed: Checkpoint | None = None
    path: Path | None = None
    part: Path | None = None
    has_progress = False

    def __init__(self) -> None:
        self.stream: BinaryIO = sys.stdout.buffer
        self.seen = SeenAccounts()

    def save(self, next_cursor: Cursor | None, rows: int, total: int | None) -> None:
        self.seen.fresh.clear()

    def commit(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()


class _FileSink(_Sink):
    """-o FILE: a part file, checkpointed after each page, renamed over FILE at the end."""

    def __init__(self, path: Path, identity: dict[str, Any] | None) -> None:
        self.path = path
        self._export = FileExport(path, identity or {}, resume=identity is not None)
        self._export.open()
        self._checkpoints = identity is not None
        self.stream = self._export.stream
        self.seen = self._export.seen
        self.resumed = self._export.resumed
        self.part = self._export.part
        self.has_progress = self.resumed is not None

    def save(self, next_cursor: Cursor | None, rows: int, total: int | None) -> None:
        if self._checkpoints:
            self._export.save(next_cursor, rows, total)
            self.has_progress = True

    def commit(self) -> None:
        self._export.commit()

    def close(self) -> None:
        if self.has_progress:
            self._export.close()  # keep the part file and checkpoint for a resume
        else:
            self._export.discard()


def _open_sink(plan: OutputPlan, *, identity: dict[str, Any] | None) -> _Sink:
    """stdout, or a checkpointed part file when -o is given (identity None: no resume)."""
    path = plan.spec.path
    if path is None:
        return _Sink()
    if path.exists() and path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")
    if not plan.spec.resume and identity is not None:
        FileExport(path, identity).discard()
    return _FileSink(path, identity)


def _make_writer(plan: OutputPlan, stream: BinaryIO, *, resumed: bool) -> Writer:
    to_terminal = plan.spec.path is None and _is_terminal(sys.stdout)
    options = WriterOptions(
        header=not resumed, formula_guard=plan.spec.formula_guard, excel=plan.spec.excel, terminal=to_terminal
    )
    return plan.writer_class(stream, plan.columns, options)


RowMaker = Callable[[User, Account | None], Any]


def _row_maker(plan: OutputPlan) -> RowMaker:
    if plan.spec.raw:
        return lambda user, _owner: dict(user.raw)
    columns = plan.columns

    def row(user: User, owner: Account | None) -> dict[str, Any]:
        return {
            column: (owner.value if owner else None) if column == OWNER_FIELD else getattr(user, column)
            for column in columns
        }

    return row


def _close_quietly(writer: Writer) -> None:
    """Flush what was written before a failure; a second failure must not hide the first."""
    with contextlib.suppress(Exception):
        writer.close()


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt is for SIGINT."""


@contextlib.contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """Turn SIGTERM into an exception, so exports stop as cleanly as on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
