"""What the commands do, between parsed arguments and written rows.

The CLI builds a ``Settings`` and an ``OutputSpec`` and calls one function here. This
module picks backends, drives the one paginator, applies --limit, and streams rows to
the writer; errors propagate as ``TikTokCliError`` to the CLI's single handler.
"""

from __future__ import annotations

import contextlib
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tiktok_cli import backends, console, writers
from tiktok_cli.backends.base import Backend, BackendContext, ListQuery, Operation
from tiktok_cli.client import HttpClient
from tiktok_cli.config import Settings
from tiktok_cli.errors import UsageError
from tiktok_cli.identifiers import Account
from tiktok_cli.models import FIELDS, OWNER_FIELD, User
from tiktok_cli.paginate import paginate
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

    def close(self) -> None:
        self.client.close()

    def backend(self, operation: Operation) -> Backend:
        """The backend instance serving ``operation`` under the --backend choice."""
        chosen = backends.choose(operation, self.settings.backend, self.settings)
        if chosen.name not in self._backends:
            context = BackendContext(self.settings, self.client, self.lookup)
            self._backends[chosen.name] = chosen(context)
        return self._backends[chosen.name]

    def lookup(self, username: str) -> User:
        """Profile of ``username`` through whichever backend serves user-info (cached)."""
        key = username.lower()
        if key not in self._lookups:
            self._lookups[key] = self._user_info_backend().user_info(username)
        return self._lookups[key]

    def _user_info_backend(self) -> Backend:
        chosen = self.settings.backend
        if chosen != backends.AUTO and Operation.USER_INFO not in backends.load(chosen).operations:
            # e.g. --backend tkapi: its API has no profiles, so names resolve through auto.
            chosen = backends.AUTO
        backend_class = backends.choose(Operation.USER_INFO, chosen, self.settings)
        if backend_class.name not in self._backends:
            context = BackendContext(self.settings, self.client, self.lookup)
            self._backends[backend_class.name] = backend_class(context)
        return self._backends[backend_class.name]


def run_user_info(usernames: Sequence[str], settings: Settings, output: OutputSpec, *, trace: bool) -> None:
    """Write one record per username, in the order given."""
    session = Session(settings, trace=trace)
    try:
        backend = session.backend(Operation.USER_INFO)
        with _writer(output, owner=False) as (writer, to_row):
            for username in usernames:
                user = backend.user_info(username)
                writer.write(to_row(user, None))
                writer.flush()
    finally:
        session.close()


def run_list(
    operation: Operation,
    query: ListQuery,
    settings: Settings,
    output: OutputSpec,
    *,
    limit: int | None,
    pacing: Pacing,
    trace: bool,
) -> None:
    """Export every account in a followings/followers list (or the first ``limit``)."""
    session = Session(settings, trace=trace)
    try:
        backend = session.backend(operation)
        fetch = backend.page_fetcher(operation, query)
        pages = paginate(fetch, backend.start_cursor(query), pause=pacing.pause)
        written, total = 0, None
        with _writer(output, owner=False) as (writer, to_row):
            for page in pages:
                total = page.total if page.total is not None else total
                batch = page.users if limit is None else page.users[: limit - written]
                for user in batch:
                    writer.write(to_row(user, query.account))
                written += len(batch)
                writer.flush()
                if limit is not None and written >= limit:
                    break
        _summary(operation, query.account, written, total, output.path)
    finally:
        session.close()


def _summary(
    operation: Operation, account: Account, written: int, total: int | None, path: Path | None
) -> None:
    where = f" to {path}" if path else ""
    reported = f" (TikTok reports ~{total:,})" if total is not None else ""
    console.info(f"{written:,} {operation.value} of {account} written{where}{reported}")


RowMaker = Callable[[User, Account | None], Any]


@contextlib.contextmanager
def _writer(output: OutputSpec, *, owner: bool) -> Iterator[tuple[Writer, RowMaker]]:
    """Open the destination and a writer on it; rows written stay written on failure."""
    name = resolve_format(output)
    writer_class = writers.load(name)
    if output.raw and not writer_class.supports_raw:
        raise UsageError(f"--raw writes the API's own objects, which only -f jsonl can hold (not {name})")
    columns = resolve_columns(output.fields, writer_class, owner=owner)
    with _open_stream(output.path) as (stream, is_terminal):
        options = WriterOptions(formula_guard=output.formula_guard, excel=output.excel, terminal=is_terminal)
        writer = writer_class(stream, columns, options)
        try:
            yield writer, _row_maker(columns, raw=output.raw)
        finally:
            writer.close()


def resolve_format(output: OutputSpec) -> str:
    """Explicit -f; else the -o file's extension; else table on a terminal, jsonl elsewhere."""
    if output.format:
        return output.format
    if output.path is not None:
        return writers.for_path(output.path) or "jsonl"
    return "table" if _stdout_is_terminal() else "jsonl"


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


def _row_maker(columns: tuple[str, ...], *, raw: bool) -> RowMaker:
    if raw:
        return lambda user, _owner: dict(user.raw)

    def row(user: User, owner: Account | None) -> dict[str, Any]:
        return {
            column: (owner.value if owner else None) if column == OWNER_FIELD else getattr(user, column)
            for column in columns
        }

    return row


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def _open_stream(path: Path | None) -> Iterator[tuple[BinaryIO, bool]]:
    if path is None:
        yield sys.stdout.buffer, _stdout_is_terminal()
        return
    try:
        stream = path.open("wb")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    with stream:
        yield stream, False
