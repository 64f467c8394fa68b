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
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tiktok_cli import console
from tiktok_cli.backends.base import Backend, ListQuery, Operation
from tiktok_cli.batch import Batch, Failures
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
    with_note,
)
from tiktok_cli.identifiers import IdKind, Target
from tiktok_cli.models import Cursor, Page, User
from tiktok_cli.output import (
    OutputPlan,
    OutputSpec,
    Sink,
    claim_output,
    close_quietly,
    make_writer,
    open_sink,
    output_failure,
    owner_column,
    plan_output,
    row_maker,
    warn_if_kept_nowhere,
)
from tiktok_cli.paginate import Pacing, PageFetcher, paginate
from tiktok_cli.progress import Progress, wanted
from tiktok_cli.session import Session
from tiktok_cli.settings import Settings
from tiktok_cli.signals import as_interrupted
from tiktok_cli.store import recording
from tiktok_cli.workers import grouped, interleave
from tiktok_cli.writers.base import Writer

if TYPE_CHECKING:
    from tiktok_cli.store.record import Recorder

# The option that continues a list from a cursor, per command, for "how to go on" hints.
CURSOR_OPTIONS = {Operation.FOLLOWINGS: "--min-cursor", Operation.FOLLOWERS: "--cursor"}
# Checkpoints are cheap but not free: a fast export saves one at most this often (seconds),
# and always when it stops. A resume after SIGKILL re-fetches at most this much.
CHECKPOINT_INTERVAL = 0.5
# Answers about the account itself: retrying later will not change them.
FINAL_ERRORS = (NotFoundError, NotVisibleError)


def export_lists(
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
    plan = plan_output(spec, owner=owner_column(len(targets), listed=batch.listed))
    warn_if_kept_nowhere(plan, settings.db, "the lists")
    with (
        claim_output(plan),
        Session(settings, trace=trace, concurrency=batch.concurrency) as session,
        Failures(targets, batch.errors_path) as failures,
        recording(settings.db, session.backend(operation).name) as recorder,
    ):
        backend = session.backend(operation)
        identity = {
            **plan.identity(),
            "command": operation.value,
            "accounts": [t.ident for t in targets],
            "backend": backend.name,
            "start": [template.cursor, template.max_cursor, template.page_size],
        }
        sink = open_sink(plan, identity=identity)
        export: ListExport | None = None
        writer: Writer | None = None
        try:
            export = ListExport(operation, targets, plan, sink, failures, limit, recorder)
            export.start(backend, template, pacing, session.lookup, looked_up_by=session.lookup_backend)
            writer = make_writer(plan, sink, rows_written=export.rows, names=[t.owner for t in targets])
            if sink.resumed is None:
                writer.flush()
                sink.mark(())  # a resume keeps the header the writer just wrote
            write_pages(export, writer, batch.concurrency)
            writer.close()
            if export.unfinished:
                export.save()
                sink.close()  # transient failures: keep the part file for a resume
            else:
                sink.commit()
        except BaseException as exc:  # noqa: BLE001 - closes the output, then re-raises with a note
            error = output_failure(as_interrupted(exc), sink)
            if writer is not None:
                close_quietly(writer)
            if export is not None:
                with contextlib.suppress(Exception):
                    export.save()
                with contextlib.suppress(Exception):
                    export.stopped(error)
            # A failure the same command cannot get past (a private list, a missing setting)
            # keeps nothing to resume, unless rows were written: those wait for it to change.
            # Nor does a Ctrl-C before the first row: there is nothing to resume.
            worth_keeping = rerun_can_pass(error) and not isinstance(error, Interrupted)
            sink.close(keep=export is None or export.rows > 0 or worth_keeping)
            note = export.resume_note(error) if export is not None else None
            raise with_note(error, note) from None
        export.summary()
    note = export.resume_note() if export.unfinished else None
    verdict = failures.verdict(hint=note)
    if verdict is not None:
        raise verdict
    if export.unfinished:  # never exit 0 for an export that was not completed
        raise IncompleteListError("the export did not finish", hint=note)


def write_pages(export: ListExport, writer: Writer, concurrency: int) -> None:
    """Fetch the pending lists on worker threads; write, mark and checkpoint each page here."""
    sink, pending = export.sink, export.unfinished
    to_row = row_maker(export.plan)
    sources = [functools.partial(export.pages, state) for state in pending]
    events = interleave(sources, concurrency, buffer=2 * concurrency)
    if export.plan.writer_class.writes_rows:
        # Lists are fetched concurrently but written one after another, in input order, so
        # the same batch writes the same file every time (and a resume continues it exactly).
        # A list ahead of its turn waits on disk: beside FILE, where the export has room.
        folder = sink.part.parent if sink.part is not None else None
        events = grouped(events, len(sources), folder=folder)
    with (
        Progress(export.description, enabled=wanted(quiet=console.is_quiet())) as progress,
        contextlib.closing(events),
    ):
        for index, event in events:
            state = pending[index]
            if event is None:
                export.ended(state)  # the paginator reached the end, or --limit
            elif event.error is not None:
                export.failed(state, event.error)
            else:
                page = event.result()
                owner = state.target.owner  # written where the plan has the owner column
                # Rows bound for the terminal the bar is drawn on: lift the bar while they print.
                with progress.suspended() if sink.to_terminal else contextlib.nullcontext():
                    for user in page.users:
                        writer.write(to_row(user, owner, page.fetched_at))
                    writer.flush()
                    sink.mark(d for d in page.digests if d is not None)
                    export.advance(state, page)
                    progress.update(export.rows, export.expected)  # redrawn with this page counted
            export.changed()
            progress.update(export.rows, export.expected)


@dataclass(slots=True)
class ListState:
    """One account's list within an export: where it is, and how it ended."""

    target: Target
    cursor: Cursor | None = None  # the next page to fetch; None: from the start
    done: bool = False
    rows: int = 0
    total: int | None = None
    skipped: int = 0  # list entries that were no account
    failed: TikTokCliError | None = None  # a final answer about the account (not found, hidden)
    stalled: bool = False  # its last failure: asked again from its cursor, the API answered the same
    fetch: PageFetcher | None = None  # the backend's page function, once the account is resolved
    # With --db: the list's snapshot in the store, and whether it can be complete.
    snapshot: int | None = None
    whole: bool = False  # the snapshot started at the list's first page
    base: int = 0  # rows the list held when the snapshot started (0 when whole)
    reached_end: bool = False  # the list's last page was written (not a cap, not --limit)
    stop: str | None = None  # why the list stopped short of its end, for the snapshot's note
    owner: User | None = None  # the owner's profile (or ids), for the store
    saved_snapshot: tuple[int, bool, int] | None = None  # (snapshot, whole, base) from the checkpoint

    def to_json(self) -> dict[str, Any]:
        # A failure is not saved: a resume asks the server again, from the page that failed.
        saved: dict[str, Any] = {
            "cursor": self.cursor,
            "done": self.done and self.failed is None,
            "rows": self.rows,
            "total": self.total,
            "skipped": self.skipped,
        }
        if self.snapshot is not None:
            saved["snapshot"], saved["whole"], saved["base"] = self.snapshot, self.whole, self.base
        return saved

    @classmethod
    def from_json(cls, target: Target, saved: dict[str, Any] | None) -> ListState:
        state = cls(target)
        if saved:
            state.cursor, state.done, state.rows = saved["cursor"], saved["done"], saved["rows"]
            state.total, state.skipped = saved["total"], saved.get("skipped", 0)
            snapshot, base = saved.get("snapshot"), saved.get("base")
            if type(snapshot) is int and type(base) is int:
                state.saved_snapshot = (snapshot, saved.get("whole") is True, base)
        return state


class ListExport:
    """The states of every list in one export, their checkpoints, and the words about them."""

    def __init__(
        self,
        operation: Operation,
        targets: Sequence[Target],
        plan: OutputPlan,
        sink: Sink,
        failures: Failures,
        limit: int | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.operation = operation
        self.plan = plan
        self.sink = sink
        self.failures = failures
        self.limit = limit
        self.recorder = recorder
        self._dirty, self._saved_at = False, -CHECKPOINT_INTERVAL
        progress = sink.resumed.progress if sink.resumed else {}
        saved = progress.get("lists", {})
        self.states = [ListState.from_json(t, saved.get(t.ident)) for t in targets]
        if recorder is None or progress.get("store") != recorder.store.id:
            for state in self.states:  # its snapshots are in another store, or none
                state.saved_snapshot = None
        if sink.resumed:
            self._check_limit()
            console.info(f"resuming {sink.path}: {_count(self.rows, 'row')} already written")
        for state in self.states:
            if limit is not None and state.rows >= limit:
                state.done = True  # a resumed list that already holds --limit accounts
        self._backend: Backend | None = None
        self._template: ListQuery | None = None
        self._pacing = Pacing()
        self._lookup: Callable[[str], User] | None = None

    def start(
        self,
        backend: Backend,
        template: ListQuery,
        pacing: Pacing,
        lookup: Callable[[str], User],
        *,
        looked_up_by: Callable[[], Backend] | None = None,
    ) -> None:
        """Where pages come from. One account is resolved now, so a missing one fails
        before any row (or JSON's "[") is written; a batch resolves each on its worker.
        ``lookup`` gives an owner's profile, which --db records with its snapshot."""
        self._backend, self._template, self._pacing = backend, template, pacing
        self._lookup = lookup
        # Which backend's counts an owner's look-up holds, for the store's observation.
        self._looked_up_by = looked_up_by or (lambda: backend)
        if len(self.states) == 1 and not self.states[0].done:
            try:
                self._resolve(self.states[0])
            except TikTokCliError as exc:
                self.failed(self.states[0], exc)

    def pages(self, state: ListState) -> Iterator[Page]:
        """The pages of ``state``'s list still to write, from where it stands (run on a worker)."""
        assert self._backend is not None and self._template is not None, "start() first"
        fetch = state.fetch or self._resolve(state)
        if self.recorder is not None and state.owner is None:
            state.owner = self._owner(state.target)
        query = dataclasses.replace(self._template, account=state.target.account)
        start = state.cursor if state.cursor is not None else self._backend.start_cursor(query)
        left = None if self.limit is None else self.limit - state.rows
        seen = self.sink.seen.scoped(state.target.ident)
        return paginate(fetch, start, seen=seen, limit=left, pause=self._pacing.pause)

    def _resolve(self, state: ListState) -> PageFetcher:
        assert self._backend is not None and self._template is not None
        query = dataclasses.replace(self._template, account=state.target.account)
        state.fetch = self._backend.page_fetcher(self.operation, query)
        return state.fetch

    def _owner(self, target: Target) -> User:
        """Who owns the list, as the store keys accounts: a username is looked up (the
        backend has usually done so already), so every run of a list finds one owner."""
        account = target.account
        if account.kind is IdKind.USERNAME:
            assert self._lookup is not None
            return self._lookup(account.value)
        ids = dict(account.also)
        ids[account.kind] = account.value
        return User(
            unique_id=ids.get(IdKind.USERNAME), user_id=ids.get(IdKind.UID), sec_uid=ids.get(IdKind.SEC_UID)
        )

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

    # --- what happened to a list ------------------------------------------------------

    def advance(self, state: ListState, page: Page) -> None:
        """Record a page of ``state``'s list, written whole."""
        if self.recorder is not None:
            self._record(state, page)
        state.rows += len(page.users)
        state.skipped += page.skipped
        state.cursor = page.next_cursor
        state.total = page.total if page.total is not None else state.total
        state.done = page.next_cursor is None
        state.reached_end = state.done and not page.capped and not page.limited
        if page.capped:
            state.stop = f"TikTok stopped serving the list after {_count(state.rows, 'account')}"
            console.warn(
                f"TikTok stopped serving the {self.operation.value} of {state.target.account} after "
                f"{_count(state.rows, 'account')} (it reports ~{state.total or 0:,}); its lists end near "
                "5,000 to 10,000 entries"
            )

    def ended(self, state: ListState) -> None:
        """The paginator is done with ``state``'s list: at its end, its cap, or --limit."""
        state.done = True
        if state.stop is None:
            state.stop = (
                f"stopped by --limit {self.limit}"
                if not state.reached_end
                else f"read with --limit {self.limit}: only a run without --limit can be complete"
            )
        complete = state.reached_end and state.whole and self.limit is None
        self._finish(state, complete=complete, note=state.stop)

    def failed(self, state: ListState, error: BaseException) -> None:
        self._dirty = True  # the failure ends this run's work on the list: checkpoint what it wrote
        if isinstance(error, FINAL_ERRORS):
            state.done, state.failed = True, error
        state.stalled = isinstance(error, StalledListError)
        self.failures.add(state.target, error)
        self._finish(state, complete=False, note=stop_note(error))

    def stopped(self, error: BaseException) -> None:
        """The run stops (interrupted, or a failure of its own): open snapshots end incomplete.
        A resumed -o export continues them; a resume after SIGKILL finds them running."""
        for state in self.states:
            self._finish(state, complete=False, note=stop_note(error))

    # --- the store (--db) ---------------------------------------------------------------

    def _record(self, state: ListState, page: Page) -> None:
        assert self.recorder is not None
        if state.snapshot is None:
            self._begin(state)
            assert state.snapshot is not None
        total = page.total if page.total is not None else state.total
        rows = state.rows + len(page.users) - state.base
        self.recorder.add(state.snapshot, page.users, rows=rows, total=total)

    def _begin(self, state: ListState) -> None:
        """Continue the snapshot the checkpoint names, or start one (whole when the list is
        read from its first page, the only kind that can be complete)."""
        assert self.recorder is not None and self._template is not None
        owner = state.owner or self._owner(state.target)
        kind = self.operation.value
        saved, state.saved_snapshot = state.saved_snapshot, None
        if saved is not None and self.recorder.resume(saved[0], kind, owner):
            state.snapshot, state.whole, state.base = saved
            return
        template = self._template
        from_start = template.cursor is None and not template.max_cursor
        state.whole = from_start and state.cursor is None and state.rows == 0
        state.base = state.rows
        # Only a run that may be complete keeps an older run of the list from being complete.
        whole = state.whole and self.limit is None
        state.snapshot = self.recorder.begin(owner, kind, owner_name=owner.unique_id, whole=whole)
        if state.target.account.kind is IdKind.USERNAME:  # ids alone carry no counts to observe
            self.recorder.observe(owner, backend=self._looked_up_by().name)
        if not state.whole:
            state.stop = "it started in the middle of the list"

    def _finish(self, state: ListState, *, complete: bool, note: str | None) -> None:
        """End ``state``'s snapshot, if it has one open: what it saw is stored first."""
        if self.recorder is None or state.snapshot is None:
            return
        snapshot, state.snapshot = state.snapshot, None
        seen = self.sink.seen.scoped(state.target.ident).has
        refused = self.recorder.finish(
            snapshot, complete=complete, seen=seen, note=note, skipped=state.skipped
        )
        if refused is not None:
            console.warn(
                f"the {self.operation.value} of {state.target.account}: {refused}; "
                "its snapshot is kept as incomplete"
            )

    def changed(self) -> None:
        """A page, an end or a failure was recorded; checkpoint if the last one is old enough."""
        self._dirty = True
        if time.monotonic() - self._saved_at >= CHECKPOINT_INTERVAL:
            self.save()

    def save(self) -> None:
        """Checkpoint now, if anything changed since the last checkpoint. The store gets
        the pages first: whatever a checkpoint counts as written is recorded too."""
        if self._dirty:
            progress: dict[str, Any] = {"lists": {s.target.ident: s.to_json() for s in self.states}}
            if self.recorder is not None:
                self.recorder.flush()
                progress["store"] = self.recorder.store.id
            self.sink.save(progress)
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
        verb = "written" if self.plan.writer_class.writes_rows else "read"  # -f none
        stored = f"; recorded in {self.recorder.store.label}" if self.recorder is not None else ""
        console.info(f"{_count(self.rows, self.noun)} of {whose} {verb}{where}{reported}{stored}")

    def resume_note(self, error: BaseException | None = None) -> str | None:
        """How far the export got and how to go on from there (None: nothing to say);
        ``error`` is what stopped the run, if it failed as a whole."""
        if self.sink.resumable:
            if not self.sink.has_progress:
                return None
            when = ""
            if error is not None and not rerun_can_pass(error):
                when = " once that changes"  # a setting fixed, a list made visible again
            elif isinstance(error, OutputError) and error.after:
                when = f" {error.after}"
            elif any(s.stalled for s in self.unfinished):
                when = " later"  # asked again now, the list would stall at the same place
            return (
                f"{_count(self.rows, 'row')} kept in {self.sink.part}; "
                f"run the same command again to resume{when} (--no-resume starts over)"
            )
        option = CURSOR_OPTIONS[self.operation]
        # A stalled list's cursor is where it stalls: offering it would only stall again.
        resumable = [s for s in self.unfinished if s.cursor is not None and not s.stalled]
        stalled = [s for s in self.unfinished if s.stalled]
        where = f" to {self.sink.path}" if self.sink.path else ""
        if self.sink.path is not None:
            where += " (not a regular file, so nothing is kept to resume)"
        written = f"{_count(self.rows, 'row')} written{where}"
        later = ""
        if stalled:
            whose = "" if len(self.states) == 1 else " of " + ", ".join(s.target.text for s in stalled)
            later = f"; TikTok served no more of the list{whose}: try again later"
        if len(self.states) == 1:
            if resumable:
                return f"{written}; continue with {option} {resumable[0].cursor}"
            return written + later if self.rows or stalled else None
        if resumable:
            cursors = ", ".join(f"{s.target.text} with {option} {s.cursor}" for s in resumable)
            return f"{written}; continue {cursors}{later}"
        return written + later if stalled else None


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


def _count(n: int, word: str) -> str:
    """``1 row``, ``2 rows``, ``1,000 followers``."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"
