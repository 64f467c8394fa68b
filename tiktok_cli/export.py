"""`tiktok followings` / `tiktok followers`: export lists, resumably, one page at a time.

Read top to bottom, this is one export: ``export_lists`` checks the output, opens the
session, the output and the per-list states (resuming a checkpoint); ``write_pages``
is the main loop, where worker threads fetch pages through the one paginator and this
thread alone writes each page, marks it written and checkpoints; ``ListExport`` holds
the lists' states and the words about them (progress, summary, how to go on).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tiktok_cli import console
from tiktok_cli.backends.base import Backend, ListQuery, Operation
from tiktok_cli.batch import Batch, Failures
from tiktok_cli.console import counted
from tiktok_cli.errors import (
    IncompleteListError,
    Interrupted,
    NotFoundError,
    NotVisibleError,
    OutputError,
    StalledListError,
    TikTokCliError,
    UsageError,
    rerun_can_pass,
)
from tiktok_cli.identifiers import Target
from tiktok_cli.models import Cursor, User, is_window
from tiktok_cli.output import (
    Output,
    OutputPlan,
    OutputSpec,
    open_output,
    owner_column,
    plan_output,
    warn_if_kept_nowhere,
)
from tiktok_cli.paginate import FreshPage, Pacing, PageFetcher, paginate
from tiktok_cli.progress import Progress, wanted
from tiktok_cli.session import Session
from tiktok_cli.settings import Settings
from tiktok_cli.store import recordings
from tiktok_cli.workers import grouped, interleave

if TYPE_CHECKING:
    from tiktok_cli.store.list_recording import ListRecording, NewOnly, Recordings

# The option that continues a list from a cursor, per command, for "how to go on" hints.
CURSOR_OPTIONS = {Operation.FOLLOWINGS: "--min-cursor", Operation.FOLLOWERS: "--cursor"}
# Checkpoints are cheap but not free: a fast export saves one at most this often (seconds),
# and always when it stops. A resume after SIGKILL re-fetches at most this much.
CHECKPOINT_INTERVAL = 0.5
# Answers about the account itself: retrying later will not change them.
FINAL_ERRORS = (NotFoundError, NotVisibleError)
# Seconds between looks of a --new-only list's worker, waiting for its page to be recorded,
# at whether the export stopped meanwhile.
_POLL = 0.2


def export_lists(
    operation: Operation,
    targets: Sequence[Target],
    first_query: ListQuery,
    settings: Settings,
    spec: OutputSpec,
    *,
    limit: int | None,
    pacing: Pacing,
    batch: Batch,
    trace: bool,
    new_only: NewOnly | None = None,
) -> None:
    """Export the followings/followers of every target (the first ``limit`` of each);
    ``first_query`` asks for each list's first page (cursor, page size), for any account;
    ``new_only``: stop each list at members the store already holds (--new-only)."""
    plan = plan_output(spec, owner=owner_column(len(targets), listed=batch.listed))
    warn_if_kept_nowhere(plan, settings.db, "the lists")
    with (
        open_output(plan, names=[t.owner for t in targets]) as output,
        Session(settings, trace=trace, concurrency=batch.concurrency) as session,
        Failures(targets, batch.errors_path) as failures,
        recordings(settings.db, session.backend(operation).name) as recorder,
    ):
        backend = session.backend(operation)
        fingerprint = _fingerprint(plan, operation, targets, first_query, backend.name)
        if new_only is not None:  # another kind of run: it never continues a full one's file
            fingerprint["new_only"] = new_only.spelt or True
        output.set_fingerprint(fingerprint)
        export = ListExport(
            operation,
            targets,
            output,
            failures,
            backend=backend,
            first_query=first_query,
            pacing=pacing,
            limit=limit,
            recorder=recorder,
            lookup=session.lookup,
            looked_up_by=lambda: session.lookup_backend().name,
            new_only=new_only,
        )
        with output.writing(export, rows_written=export.rows):
            export.resolve_one()
            output.start()
            write_pages(export, output, batch.concurrency)
            if export.unfinished:
                export.save()
                output.keep_unfinished()  # transient failures: kept for a resume
        export.summary()
    note = export.resume_note() if export.unfinished else None
    verdict = failures.verdict(hint=note)
    if verdict is not None:
        raise verdict
    if export.unfinished:  # never exit 0 for an export that was not completed
        raise IncompleteListError("the export did not finish", hint=note)


def _fingerprint(
    plan: OutputPlan, operation: Operation, targets: Sequence[Target], first_query: ListQuery, backend: str
) -> dict[str, Any]:
    """What makes two exports "the same command" for resuming (JSON-safe)."""
    return {
        **plan.fingerprint(),
        "command": operation.value,
        "accounts": [t.list_key for t in targets],
        "backend": backend,
        "start": [first_query.cursor, first_query.max_cursor, first_query.page_size],
    }


def write_pages(export: ListExport, output: Output, concurrency: int) -> None:
    """Fetch the pending lists on worker threads; write, mark and checkpoint each page here."""
    pending = export.unfinished
    sources = [functools.partial(export.pages, state) for state in pending]
    events = interleave(sources, concurrency, buffer=2 * concurrency)
    if output.plan.writer_class.writes_rows:
        # Lists are fetched concurrently but written one after another, in input order, so
        # the same batch writes the same file every time (and a resume continues it exactly).
        # A list ahead of its turn waits on disk: beside FILE, where the export has room.
        folder = output.part.parent if output.part is not None else None
        events = grouped(events, len(sources), folder=folder)
    with (
        Progress(export.description, enabled=wanted(quiet=console.is_quiet())) as progress,
        contextlib.closing(events),
        export.stopping(),
    ):
        for index, event in events:
            state = pending[index]
            if event is None:
                export.ended(state)  # the paginator reached the end, or --limit
            elif event.error is not None:
                export.failed(state, event.error)
            else:
                page = event.result()
                # Rows bound for the terminal the bar is drawn on: lift the bar while they print.
                with progress.suspended() if output.to_terminal else contextlib.nullcontext():
                    digests = (d for d in page.digests if d is not None)
                    # The owner column, where the plan has one, names the list's account.
                    output.write_page(page.users, state.target.owner, page.fetched_at, digests)
                    export.advance(state, page)
                    progress.update(export.rows, export.expected)  # redrawn with this page counted
            export.changed()
            progress.update(export.rows, export.expected)


@dataclass(slots=True)
class ListState:
    """One account's list within an export: where it is, and how it ended."""

    target: Target
    recording: ListRecording  # what the store keeps of the list (with --db; else nothing)
    cursor: Cursor | None = None  # the next page to fetch; None: from the start
    done: bool = False
    rows: int = 0
    total: int | None = None
    skipped: int = 0  # list entries that were no account
    failed: TikTokCliError | None = None  # a final answer about the account (not found, hidden)
    stalled: bool = False  # its last failure: asked again from its cursor, the API answered the same
    fetch: PageFetcher | None = None  # the backend's page function, once the account is resolved
    window: bool = False  # read down to TikTok's cap, or to an end far short of its count
    # Set by this thread once a page is recorded: a --new-only list's worker waits for it
    # before it fetches the next page, which the recording may find not needed.
    recorded: threading.Event = field(default_factory=threading.Event)

    def to_json(self) -> dict[str, Any]:
        # A failure is not saved: a resume asks the server again, from the page that failed.
        return {
            "cursor": self.cursor,
            "done": self.done and self.failed is None,
            "rows": self.rows,
            "total": self.total,
            "skipped": self.skipped,
            **self.recording.progress(),
        }

    @classmethod
    def from_json(cls, target: Target, recording: ListRecording, saved: dict[str, Any] | None) -> ListState:
        state = cls(target, recording)
        if saved:
            state.cursor, state.done, state.rows = saved["cursor"], saved["done"], saved["rows"]
            state.total, state.skipped = saved["total"], saved.get("skipped", 0)
        return state


class ListExport:
    """The states of every list in one export, their checkpoints, and the words about them."""

    def __init__(
        self,
        operation: Operation,
        targets: Sequence[Target],
        output: Output,
        failures: Failures,
        *,
        backend: Backend,
        first_query: ListQuery,
        pacing: Pacing,
        limit: int | None,
        recorder: Recordings,
        lookup: Callable[[str], User],
        looked_up_by: Callable[[], str],
        new_only: NewOnly | None = None,
    ) -> None:
        """``lookup`` gives an owner's profile (by the backend ``looked_up_by`` names),
        which --db records with its snapshot; ``new_only``: --new-only, where each list's
        recording says when it has reached accounts already stored."""
        self.operation = operation
        self.new_only = new_only
        self._from_start = first_query.cursor is None and not first_query.max_cursor
        self._stopped = threading.Event()  # the export is over: waiting workers give up
        self.output = output
        self.failures = failures
        self.limit = limit
        self.recorder = recorder
        self._backend, self._first_query, self._pacing = backend, first_query, pacing
        self._dirty, self._saved_at = False, -CHECKPOINT_INTERVAL
        progress = output.resumed.progress if output.resumed else {}
        saved = progress.get("lists", {})

        def recording(target: Target) -> ListRecording:
            return recorder.list_run(
                target,
                operation.value,
                saved=saved.get(target.list_key),
                checkpoint=progress,
                from_start=self._from_start,
                limit=limit,
                seen=output.seen.scoped(target.list_key).has,
                lookup=lookup,
                looked_up_by=looked_up_by,
                new_only=new_only,
                page_size=first_query.page_size,
            )

        self.states = [ListState.from_json(t, recording(t), saved.get(t.list_key)) for t in targets]
        if output.resumed:
            self._check_limit()
            console.info(f"resuming {output.path}: {counted(self.rows, 'row')} already written")
        for state in self.states:
            if limit is not None and state.rows >= limit:
                state.done = True  # a resumed list that already holds --limit accounts

    def resolve_one(self) -> None:
        """One account is resolved now, so a missing one fails before any row (or JSON's
        "[") is written; a batch resolves each on its worker."""
        if len(self.states) == 1 and not self.states[0].done:
            try:
                self._resolve(self.states[0])
            except TikTokCliError as exc:
                self.failed(self.states[0], exc)

    def pages(self, state: ListState) -> Iterator[FreshPage]:
        """The pages of ``state``'s list still to write, from where it stands (run on a worker)."""
        fetch = state.fetch or self._resolve(state)
        state.recording.find_owner()
        query = dataclasses.replace(self._first_query, account=state.target.account)
        start = state.cursor if state.cursor is not None else self._backend.start_cursor(query)
        left = None if self.limit is None else self.limit - state.rows
        seen = self.output.seen.scoped(state.target.list_key)
        pages = paginate(fetch, start, seen=seen, limit=left, pause=self._pacing.pause)
        return pages if self.new_only is None else self._each_once_recorded(state, pages)

    def _each_once_recorded(self, state: ListState, pages: Iterator[FreshPage]) -> Iterator[FreshPage]:
        """``pages``, each fetched only once the page before it is recorded and the recording
        has not found the list caught up: --new-only never fetches a page it does not need."""
        for page in pages:
            state.recorded.clear()
            yield page
            while not state.recorded.wait(_POLL):
                if self._stopped.is_set():
                    return
            if state.recording.caught_up:
                return

    @contextlib.contextmanager
    def stopping(self) -> Iterator[None]:
        """The fetching and writing of pages; when it ends, workers waiting on this thread stop."""
        try:
            yield
        finally:
            self._stopped.set()

    def _resolve(self, state: ListState) -> PageFetcher:
        query = dataclasses.replace(self._first_query, account=state.target.account)
        state.fetch = self._backend.page_fetcher(self.operation, query)
        return state.fetch

    def _check_limit(self) -> None:
        """A resume never leaves more than --limit rows of a list in FILE: it refuses instead."""
        over = [s for s in self.states if self.limit is not None and s.rows > self.limit]
        if not over:
            return
        state = over[0]
        raise UsageError(
            f"{self.output.path} holds an unfinished export with {counted(state.rows, self.noun)} of "
            f"{state.target.account}, more than --limit {self.limit}: resuming it would keep them all",
            hint=f"finish it with --limit {state.rows} or more (or without --limit), "
            "or add --no-resume to start over",
        )

    # --- what happened to a list ------------------------------------------------------

    def advance(self, state: ListState, page: FreshPage) -> None:
        """Record a page of ``state``'s list, written whole."""
        total = page.total if page.total is not None else state.total
        try:
            state.recording.page(page, rows=state.rows + len(page.users), total=total)
        finally:
            state.recorded.set()  # recorded, or failed: either way its worker may look
        state.rows += len(page.users)
        state.skipped += page.skipped
        state.cursor = page.next_cursor
        state.total = total
        state.done = page.next_cursor is None or state.recording.caught_up
        if page.next_cursor is None and (self.limit is None or page.capped):
            whole = self._from_start or page.capped  # a cap is TikTok's, wherever the run started
            state.window = whole and is_window(state.rows + state.skipped, total, capped=page.capped)
        if state.window and len(self.states) > 1:
            console.info(f"the {self.operation.value} of {state.target.account}: {self._window_words(state)}")

    def ended(self, state: ListState) -> None:
        """The paginator is done with ``state``'s list: at its end, its cap, or --limit."""
        state.done = True
        state.recording.ended()

    def failed(self, state: ListState, error: BaseException) -> None:
        self._dirty = True  # the failure ends this run's work on the list: checkpoint what it wrote
        if isinstance(error, FINAL_ERRORS):
            state.done, state.failed = True, error
        state.stalled = isinstance(error, StalledListError)
        self.failures.add(state.target, error)
        state.recording.stopped(stop_note(error))

    def stopped(self, error: BaseException) -> None:
        """The run stops (interrupted, or a failure of its own): what it wrote is checkpointed,
        and open snapshots end incomplete. A resumed -o export continues them; a resume
        after SIGKILL finds them running."""
        with contextlib.suppress(Exception):
            self.save()
        for state in self.states:
            state.recording.stopped(stop_note(error))

    def changed(self) -> None:
        """A page, an end or a failure was recorded; checkpoint if the last one is old enough."""
        self._dirty = True
        if time.monotonic() - self._saved_at >= CHECKPOINT_INTERVAL:
            self.save()

    def save(self) -> None:
        """Checkpoint now, if anything changed since the last checkpoint. The store gets
        the pages first: whatever a checkpoint counts as written is recorded too."""
        if self._dirty:
            lists = {s.target.list_key: s.to_json() for s in self.states}
            self.output.save({"lists": lists, **self.recorder.progress()})
            self._dirty, self._saved_at = False, time.monotonic()

    # --- counts -----------------------------------------------------------------------

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
    def unfinished(self) -> list[ListState]:
        return [s for s in self.states if not s.done]

    # --- words --------------------------------------------------------------------------

    @property
    def description(self) -> str:
        if len(self.states) == 1:
            return f"{self.operation.value} of {self.states[0].target.account}"
        return f"{self.operation.value} of {len(self.states)} accounts"

    def summary(self) -> None:
        """``N followers of @x written to FILE``: rows, and the accounts whose lists succeeded;
        for one list read down to TikTok's cap, ``N of ~M followers …: TikTok shows only …``."""
        total = self.total
        where = f" to {self.output.path}" if self.output.path else ""
        reported = f" (TikTok reports ~{total:,})" if total is not None and len(self.states) == 1 else ""
        counts = counted(self.rows, self.noun)
        if len(self.states) == 1:
            whose = str(self.states[0].target.account)
            if self.states[0].window:
                # The count TikTok reports goes before the noun, as the plural it asks for.
                counts = f"{self.rows:,} of ~{total:,} {self.noun}s" if total is not None else counts
                reported = f": {self._window_words(self.states[0], counted=False)}"
        else:
            succeeded = [s for s in self.states if s.done and s.failed is None]
            whose = counted(len(succeeded), "account")
        skipped = sum(s.skipped for s in self.states)
        if skipped:
            entries = "1 entry that is" if skipped == 1 else f"{skipped:,} entries that are"
            reported += f" ({entries} no account skipped)"
        caught_up = [s.recording for s in self.states if s.recording.caught_up]
        if caught_up:
            new = sum(r.new_rows for r in caught_up)
            known = sum(r.known_rows for r in caught_up)
            reported += f" (incremental: {new:,} new, then {known:,} already in the store)"
        verb = "written" if self.output.plan.writer_class.writes_rows else "read"  # -f none
        stored = f"; recorded in {self.recorder.label}" if self.recorder.label is not None else ""
        console.info(f"{counts} of {whose} {verb}{where}{reported}{stored}")

    def _window_words(self, state: ListState, *, counted: bool = True) -> str:
        """What a window is, in words: ``TikTok shows only the newest ~5,000``."""
        head = f"{state.rows:,} of ~{state.total:,}: " if counted and state.total is not None else ""
        return f"{head}TikTok shows only the newest ~{_about(state.rows):,}"

    def resume_note(self, error: BaseException | None = None) -> str | None:
        """How far the export got and how to go on from there (None: nothing to say);
        ``error`` is what stopped the run, if it failed as a whole."""
        if self.output.resumable:
            if not self.output.has_progress:
                return None
            when = ""
            if error is not None and not rerun_can_pass(error):
                when = " once that changes"  # a setting fixed, a list made visible again
            elif isinstance(error, OutputError) and error.after:
                when = f" {error.after}"
            elif any(s.stalled for s in self.unfinished):
                when = " later"  # asked again now, the list would stall at the same place
            return (
                f"{counted(self.rows, 'row')} kept in {self.output.part}; "
                f"run the same command again to resume{when} (--no-resume starts over)"
            )
        option = CURSOR_OPTIONS[self.operation]
        # A stalled list's cursor is where it stalls: offering it would only stall again.
        resumable = [s for s in self.unfinished if s.cursor is not None and not s.stalled]
        stalled = [s for s in self.unfinished if s.stalled]
        where = f" to {self.output.path}" if self.output.path else ""
        if self.output.path is not None:
            where += " (not a regular file, so nothing is kept to resume)"
        written = f"{counted(self.rows, 'row')} written{where}"
        later = ""
        if stalled:
            whose = "" if len(self.states) == 1 else " of " + ", ".join(s.target.text for s in stalled)
            later = f"; TikTok served no more of the list{whose}: try again later"
        if self.new_only is not None and resumable:
            # --new-only takes no cursor: a new run starts at the top and stops at what the
            # store holds, which now includes what this one recorded.
            return f"{written}; run the same command again to go on{later}"
        if len(self.states) == 1:
            if resumable:
                return f"{written}; continue with {option} {resumable[0].cursor}"
            return written + later if self.rows or stalled else None
        if resumable:
            cursors = ", ".join(f"{s.target.text} with {option} {s.cursor}" for s in resumable)
            return f"{written}; continue {cursors}{later}"
        return written + later if stalled else None


def _about(rows: int) -> int:
    """``rows`` to two significant figures (4,999 -> 5,000): how many a window shows, roughly."""
    if rows < 100:
        return rows
    step: int = 10 ** (len(str(rows)) - 2)
    return (rows + step // 2) // step * step


def stop_note(error: BaseException) -> str:
    """Why a list stopped short, as a sentence for its snapshot's note."""
    if isinstance(error, BrokenPipeError):
        return "stopped: the reader closed the pipe"
    if isinstance(error, Interrupted):
        return f"stopped: {error.exit_code.describe()}"
    if isinstance(error, TikTokCliError):
        return str(error)
    if isinstance(error, OSError):
        reason = f": {error.strerror}" if error.strerror else ""
        return f"stopped: the output could not be written{reason}"
    return f"stopped by an unexpected {type(error).__name__}"
