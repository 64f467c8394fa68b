"""What the commands do, between parsed arguments and written rows.

The CLI builds ``Settings``, an ``OutputSpec`` and the ``Target`` accounts, and calls
``run_user_info`` or ``run_lists``. Output options are checked before any request;
backends are picked per operation; lists go through the one paginator on worker
threads while the main thread alone writes, checkpoints and reports. Errors reach
the CLI's single handler as ``TikTokCliError``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from tiktok_cli import console
from tiktok_cli.backends.base import Backend, ListQuery, Operation
from tiktok_cli.errors import (
    BusyError,
    ConfigError,
    ExitCode,
    IncompleteListError,
    Interrupted,
    NotFoundError,
    NotVisibleError,
    TikTokCliError,
    UsageError,
)
from tiktok_cli.identifiers import Target
from tiktok_cli.models import OWNER_FIELD, Cursor, Page
from tiktok_cli.output import (
    OutputPlan,
    OutputSpec,
    Sink,
    claim_output,
    close_quietly,
    make_writer,
    open_sink,
    plan_output,
    row_maker,
)
from tiktok_cli.paginate import paginate
from tiktok_cli.progress import Progress, wanted
from tiktok_cli.session import Session
from tiktok_cli.settings import Settings
from tiktok_cli.workers import interleave, ordered
from tiktok_cli.writers.base import Writer

# The option that continues a list from a cursor, per command, for "how to go on" hints.
CURSOR_OPTIONS = {Operation.FOLLOWINGS: "--min-cursor", Operation.FOLLOWERS: "--cursor"}
# Checkpoints are cheap but not free: a fast export saves one at most this often (seconds),
# and always when it stops. A resume after SIGKILL re-fetches at most this much.
CHECKPOINT_INTERVAL = 0.5
# Answers about the account itself: retrying later will not change them.
FINAL_ERRORS = (NotFoundError, NotVisibleError)

__all__ = ["OutputSpec", "Pacing", "run_lists", "run_user_info"]


@dataclass(frozen=True, slots=True)
class Pacing:
    """Politeness between pages: sleep a random time in [low, high] seconds."""

    low: float = 0.0
    high: float = 0.0

    def pause(self) -> None:
        if self.high > 0:
            time.sleep(random.uniform(self.low, self.high))  # noqa: S311 - jitter, not crypto


@dataclass(frozen=True, slots=True)
class Batch:
    """How a multi-account run behaves: workers, and where failed inputs are listed."""

    concurrency: int = 4
    errors_path: Path | None = None


def run_user_info(
    targets: Sequence[Target], settings: Settings, spec: OutputSpec, *, batch: Batch, trace: bool
) -> None:
    """Write one record per account, in the order given, fetching up to --concurrency at once."""
    plan = plan_output(spec, owner=False)
    with (
        claim_output(plan),
        Session(settings, trace=trace, concurrency=batch.concurrency) as session,
        _Failures(targets, batch.errors_path) as failures,
        _signals_as_interrupts(),
    ):
        backend = session.backend(Operation.USER_INFO)
        sink = open_sink(plan, identity=None)
        writer: Writer | None = None
        try:
            writer = make_writer(plan, sink)
            to_row = row_maker(plan)
            lookups = ordered(lambda t: backend.user_info(t.account.value), targets, batch.concurrency)
            for target, outcome in lookups:
                if outcome.error is not None:
                    failures.add(target, outcome.error)
                    continue
                writer.write(to_row(outcome.result(), None))
                writer.flush()
        except BaseException as exc:  # noqa: BLE001 - closes the output, then re-raises
            if writer is not None:
                close_quietly(writer)
            sink.close()
            raise _as_interrupt(exc) from None
        writer.close()
        sink.commit()
        failures.finish()


@dataclass(slots=True)
class _ListState:
    """One account's list within an export: where it is, and how it ended."""

    target: Target
    cursor: Cursor | None = None  # the next page to fetch; None: from the start
    done: bool = False
    rows: int = 0
    total: int | None = None
    skipped: int = 0  # list entries that were no account
    failed: TikTokCliError | None = None  # a final answer about the account (not found, hidden)

    def to_json(self) -> dict[str, Any]:
        # A failure is not saved: a resume asks the server again, from the page that failed.
        return {
            "cursor": self.cursor,
            "done": self.done and self.failed is None,
            "rows": self.rows,
            "total": self.total,
            "skipped": self.skipped,
        }


def run_lists(
    operation: Operation,
    targets: Sequence[Target],
    template: ListQuery,
    settings: Settings,
    spec: OutputSpec,
    *,
    limit: int | None,
    pacing: Pacing,
    batch: Batch,
    trace: bool,
) -> None:
    """Export the followings/followers of every target (the first ``limit`` of each)."""
    plan = plan_output(spec, owner=len(targets) > 1)
    with (
        claim_output(plan),
        Session(settings, trace=trace, concurrency=batch.concurrency) as session,
        _Failures(targets, batch.errors_path) as failures,
        _signals_as_interrupts(),
    ):
        backend = session.backend(operation)
        identity = {
            **plan.identity(),
            "command": operation.value,
            "accounts": [t.key for t in targets],
            "backend": backend.name,
            "start": [template.cursor, template.max_cursor, template.page_size],
        }
        sink = open_sink(plan, identity=identity)
        export: _ListExport | None = None
        writer: Writer | None = None
        try:
            export = _ListExport(operation, targets, plan, sink, failures, limit)
            if len(targets) == 1 and not export.states[0].done:
                # Resolve now, so a missing account fails before any row (or JSON's "[") is written.
                try:
                    backend.page_fetcher(operation, dataclasses.replace(template, account=targets[0].account))
                except TikTokCliError as exc:
                    failures.add(targets[0], exc)
            writer = make_writer(plan, sink, rows_written=export.rows)
            if sink.resumed is None:
                writer.flush()
                sink.mark(())  # a resume keeps the header the writer just wrote
            _export_pages(export, writer, backend, template, pacing, batch, limit)
        except BaseException as exc:  # noqa: BLE001 - closes the output, then re-raises with context
            if writer is not None:
                close_quietly(writer)
            if export is not None:
                with contextlib.suppress(Exception):
                    export.save()
            sink.close()
            failure = _as_interrupt(exc)
            raise (export.explain(failure) if export is not None else failure) from None
        writer.close()
        if export.unfinished:
            export.save()
            sink.close()  # transient failures: keep the part file for a resume
        else:
            sink.commit()
        export.summary()
        failures.finish(note=export.resume_note() if export.unfinished else None)
        if export.unfinished:  # never exit 0 for an export that was not completed
            raise IncompleteListError("the export did not finish", hint=export.resume_note())


def _export_pages(
    export: _ListExport,
    writer: Writer,
    backend: Backend,
    template: ListQuery,
    pacing: Pacing,
    batch: Batch,
    limit: int | None,
) -> None:
    """Fetch the pending lists on worker threads; write, mark and checkpoint each page here."""
    sink, operation = export.sink, export.operation
    to_row = row_maker(export.plan)
    owner = len(export.states) > 1 or OWNER_FIELD in export.plan.columns

    def pages_of(state: _ListState) -> Callable[[], Iterator[Page]]:
        def pages() -> Iterator[Page]:
            query = dataclasses.replace(template, account=state.target.account)
            fetch = backend.page_fetcher(operation, query)
            skipped = [0]

            def fetch_counting(cursor: Cursor) -> Page:
                page = fetch(cursor)
                skipped[0] = page.skipped
                return page

            start = state.cursor if state.cursor is not None else backend.start_cursor(query)
            emitted = state.rows
            seen = sink.seen.scoped(state.target.key)
            # paginate fetches a page and yields it before fetching the next one, so
            # ``skipped`` still holds the count of the page it yields.
            for page in paginate(fetch_counting, start, seen=seen, pause=pacing.pause):
                yield dataclasses.replace(page, skipped=skipped[0]) if skipped[0] else page
                emitted += len(page.users)
                if limit is not None and emitted >= limit:
                    return

        return pages

    pending = [s for s in export.states if not s.done]
    to_terminal = sink.to_terminal
    show = wanted(quiet=console.is_quiet())
    with Progress(export.description, enabled=show) as progress:
        events = interleave([pages_of(s) for s in pending], batch.concurrency, buffer=2 * batch.concurrency)
        for index, event in events:
            state = pending[index]
            if event is None:
                state.done = True
            elif event.error is not None:
                export.failed(state, event.error)
            else:
                page = event.result()
                rows = page.users if limit is None else page.users[: limit - state.rows]
                # Rows bound for the terminal the bar is drawn on: lift the bar while they print.
                with progress.suspended() if to_terminal else contextlib.nullcontext():
                    for user in rows:
                        writer.write(to_row(user, state.target.owner if owner else None))
                    writer.flush()
                    sink.mark(k for k in page.keys[: len(rows)] if k is not None)
                    export.advance(state, page, len(rows), limit)
                    progress.update(export.rows, export.expected)  # redrawn with this page counted
            export.changed()
            progress.update(export.rows, export.expected)


class _ListExport:
    """The states of every list in one export, and the words about them."""

    def __init__(
        self,
        operation: Operation,
        targets: Sequence[Target],
        plan: OutputPlan,
        sink: Sink,
        failures: _Failures,
        limit: int | None = None,
    ) -> None:
        self.operation = operation
        self.plan = plan
        self.sink = sink
        self.failures = failures
        self.limit = limit
        self._dirty, self._saved_at = False, -CHECKPOINT_INTERVAL
        saved = sink.resumed.progress.get("lists", {}) if sink.resumed else {}
        self.states = [self._restore(t, saved.get(t.key)) for t in targets]
        if sink.resumed:
            self._check_limit()
            console.info(f"resuming {sink.path}: {_count(self.rows, 'row')} already written")
        for state in self.states:
            if limit is not None and state.rows >= limit:
                state.done = True  # a resumed list that already holds --limit accounts

    def _restore(self, target: Target, saved: dict[str, Any] | None) -> _ListState:
        state = _ListState(target)
        if saved:
            state.cursor, state.done, state.rows = saved["cursor"], saved["done"], saved["rows"]
            state.total, state.skipped = saved["total"], saved.get("skipped", 0)
        return state

    def _check_limit(self) -> None:
        """A resume never leaves more than --limit rows of a list in FILE: it refuses instead."""
        over = [s for s in self.states if self.limit is not None and s.rows > self.limit]
        if not over:
            return
        state = over[0]
        raise UsageError(
            f"{self.sink.path} holds an unfinished export with {_count(state.rows, self.noun)} of "
            f"{state.target.account}, more than --limit {self.limit}: resuming it would keep them all",
            hint=f"finish it with --limit {state.rows} or more (or without --limit), "
            "or add --no-resume to start over",
        )

    @property
    def noun(self) -> str:
        return "following" if self.operation == Operation.FOLLOWINGS else "follower"

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.states)

    @property
    def total(self) -> int | None:
        totals = [s.total for s in self.states]
        return None if None in totals else sum(t for t in totals if t is not None)

    @property
    def expected(self) -> int | None:
        """How many rows this run should end with: TikTok's totals, capped by --limit."""
        expected = 0
        for state in self.states:
            if state.done:
                expected += state.rows
                continue
            bound = [n for n in (state.total, self.limit) if n is not None]
            if not bound:
                return None
            expected += max(min(bound), state.rows)
        return expected

    @property
    def unfinished(self) -> list[_ListState]:
        return [s for s in self.states if not s.done]

    @property
    def description(self) -> str:
        if len(self.states) == 1:
            return f"{self.operation.value} of {self.states[0].target.account}"
        return f"{self.operation.value} of {len(self.states)} accounts"

    def changed(self) -> None:
        """A page, an end or a failure was recorded; checkpoint if the last one is old enough."""
        self._dirty = True
        if time.monotonic() - self._saved_at >= CHECKPOINT_INTERVAL:
            self.save()

    def save(self) -> None:
        """Checkpoint now, if anything changed since the last checkpoint."""
        if self._dirty:
            self.sink.save({"lists": {s.target.key: s.to_json() for s in self.states}})
            self._dirty, self._saved_at = False, time.monotonic()

    def advance(self, state: _ListState, page: Page, written: int, limit: int | None) -> None:
        """Record a page of ``state``'s list whose first ``written`` accounts were written."""
        state.rows += written
        state.skipped += page.skipped
        state.cursor = page.next_cursor
        state.total = page.total if page.total is not None else state.total
        state.done = page.next_cursor is None or (limit is not None and state.rows >= limit)
        if page.capped:
            console.warn(
                f"TikTok stopped serving the {self.operation.value} of {state.target.account} after "
                f"{_count(state.rows, 'account')} (it reports ~{state.total or 0:,}); its lists end near "
                "5,000 to 10,000 entries"
            )

    def failed(self, state: _ListState, error: BaseException) -> None:
        self._dirty = True  # the failure ends this run's work on the list: checkpoint what it wrote
        if isinstance(error, FINAL_ERRORS):
            state.done, state.failed = True, error
        self.failures.add(state.target, error)

    def summary(self) -> None:
        """``N followers of @x written to FILE``: rows, and the accounts whose lists succeeded."""
        total = self.total
        where = f" to {self.sink.path}" if self.sink.path else ""
        reported = f" (TikTok reports ~{total:,})" if total is not None and len(self.states) == 1 else ""
        if len(self.states) == 1:
            whose = str(self.states[0].target.account)
        else:
            succeeded = [s for s in self.states if s.done and s.failed is None]
            whose = _count(len(succeeded), "account")
        skipped = sum(s.skipped for s in self.states)
        if skipped:
            entries = "1 entry that is" if skipped == 1 else f"{skipped:,} entries that are"
            reported += f" ({entries} no account skipped)"
        console.info(f"{_count(self.rows, self.noun)} of {whose} written{where}{reported}")

    def resume_note(self) -> str | None:
        return self._note(self.unfinished)

    def explain(self, exc: BaseException) -> BaseException:
        """Add how far the export got, and how to go on, to the failure that ended it."""
        if isinstance(exc, TikTokCliError) and not isinstance(exc, (UsageError, BusyError)):
            note = self._note(self.unfinished)
            if note and note not in (exc.hint or ""):
                exc.hint = f"{exc.hint}; {note}" if exc.hint else note
        return exc

    def _note(self, unfinished: Sequence[_ListState]) -> str | None:
        if self.sink.resumable:
            if not self.sink.has_progress:
                return None
            return (
                f"{_count(self.rows, 'row')} kept in {self.sink.part}; "
                "run the same command again to resume (--no-resume starts over)"
            )
        option = CURSOR_OPTIONS[self.operation]
        resumable = [s for s in unfinished if s.cursor is not None]
        where = f" to {self.sink.path}" if self.sink.path else ""
        if self.sink.path is not None:
            where += " (not a regular file, so nothing is kept to resume)"
        written = f"{_count(self.rows, 'row')} written{where}"
        if len(self.states) == 1:
            if resumable:
                return f"{written}; continue with {option} {resumable[0].cursor}"
            return written if self.rows else None
        if resumable:
            cursors = ", ".join(f"{s.target.text} with {option} {s.cursor}" for s in resumable)
            return f"{written}; continue {cursors}"
        return None


def _count(n: int, word: str) -> str:
    """``1 row``, ``2 rows``, ``1,000 followers``."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


class _Failures:
    """Collects per-account failures of a batch, reports them, and sets the exit code.

    With one account, its failure is simply raised. With several, each is reported on
    stderr as it happens and the batch goes on; ``--errors FILE`` lists the failed
    inputs one per line, so the file can be fed back with --input.
    """

    def __init__(self, targets: Sequence[Target], errors_path: Path | None) -> None:
        self.count = len(targets)
        self.errors: list[tuple[Target, TikTokCliError]] = []
        self._path = errors_path
        self._file: IO[str] | None = None

    def __enter__(self) -> _Failures:
        if self._path is not None:
            try:
                self._file = self._path.open("w", encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot write --errors {self._path}: {exc.strerror}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()

    def add(self, target: Target, error: BaseException) -> None:
        if not isinstance(error, TikTokCliError) or isinstance(error, (ConfigError, UsageError)):
            raise error  # a bug, or a setting every account would fail on: stop the batch
        if self._file is not None:
            self._file.write(target.text + "\n")
            self._file.flush()
        if self.count == 1:
            raise error
        self.errors.append((target, error))
        console.error(str(error))

    def finish(self, *, note: str | None = None) -> None:
        """Raise the batch's verdict when anything failed."""
        if not self.errors:
            return
        codes = {error.exit_code for _, error in self.errors}
        if len(self.errors) < self.count:
            code, verdict = ExitCode.PARTIAL, f"{len(self.errors)} of {self.count} accounts failed"
        elif len(codes) == 1:
            code, verdict = codes.pop(), f"all {self.count} accounts failed"
        else:
            code, verdict = ExitCode.ALL_FAILED, f"all {self.count} accounts failed, for different reasons"
        error = TikTokCliError(verdict, hint=note)
        error.exit_code = code
        raise error


def _as_interrupt(exc: BaseException) -> BaseException:
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted("interrupted", exit_code=ExitCode.INTERRUPTED)
    if isinstance(exc, _Terminated):
        return Interrupted("terminated", exit_code=ExitCode.TERMINATED)
    return exc


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
