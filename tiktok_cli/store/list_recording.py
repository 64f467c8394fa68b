"""What one run records into the store (--db): a snapshot per list, and profiles.

The export tells each list's recording what happened (a page written, the list's end, a
stop) and never asks whether there is a store: without --db, ``Recordings`` and
``ListRecording`` are the do-nothing twins of ``StoreRecordings`` and
``StoreListRecording``, which own everything the store needs (the snapshot, whether it
can be complete, the owner's profile, why it stopped short). Importing this module loads
no database library: the store's classes arrive with ``store.recordings``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from tiktok_cli import console
from tiktok_cli.console import counted
from tiktok_cli.errors import UsageError
from tiktok_cli.identifiers import IdKind, Target
from tiktok_cli.models import User, is_window
from tiktok_cli.settings import duration

if TYPE_CHECKING:
    from tiktok_cli.paginate import FreshPage
    from tiktok_cli.store.record import Recorder

# Seconds between writes of observations to the store in a long user-info batch, so it
# keeps what it saw however it ends.
RECORD_INTERVAL = 0.5


@dataclass(frozen=True, slots=True)
class NewOnly:
    """--new-only: each list is read from its top down to a page's worth of members the store
    already holds in a row, and no further; with ``full_every``, a list whose last full run
    (complete, or a window down to TikTok's cap) is older is read whole instead."""

    full_every: timedelta | None = None
    spelt: str | None = None  # --full-every as given, for messages

    @classmethod
    def parse(cls, new_only: bool, full_every: str | None) -> NewOnly | None:
        """The options checked (None: a full run was asked); a bad DURATION is a usage error."""
        if full_every is None:
            return cls() if new_only else None
        if not new_only:
            raise UsageError("--full-every says when a --new-only run reads a list whole: add --new-only")
        every = duration(full_every)
        if not every:  # none, or zero
            raise UsageError(f"--full-every takes a duration such as 12h, 7d or 2w, not {full_every!r}")
        return cls(every, full_every.strip().lower().replace(" ", ""))

    def why_whole(self, last_full_run: datetime | None, now: datetime | None = None) -> str | None:
        """Why a list whose last full run started at ``last_full_run`` is read whole now (None:
        it is not): it never had one (nothing to stop at yet), ``full_every`` has passed, or
        that run is dated ahead of this clock (one of the two clocks is wrong: the schedule
        cannot be trusted, and a full run costs pages, never data)."""
        now = now or datetime.now(timezone.utc)
        if last_full_run is None:
            return "no full run of it is recorded yet"
        if self.full_every is None:
            return None
        if last_full_run > now:
            dated = f"{last_full_run:%Y-%m-%dT%H:%MZ}"
            return f"its last full run is dated {dated}, ahead of this machine's clock"
        if now - last_full_run >= self.full_every:
            return f"no full run recorded in the last {self.spelt}"
        return None


class ListRecording:
    """One list run's snapshot; this one, without --db, records nothing."""

    # --new-only: the list reached a page's worth of members already recorded, in a row:
    # the run stops there (the export fetches no further page).
    caught_up = False
    # --new-only, once caught up: the members met above those already recorded, and those.
    new_rows = 0
    known_rows = 0

    def find_owner(self) -> None:
        """Learn who owns the list (run on the list's worker, before its first page)."""

    def page(self, page: FreshPage, *, rows: int, total: int | None) -> None:
        """A page was written whole; ``rows``: what the list holds with it, ``total``:
        what TikTok reports the list holds."""

    def ended(self) -> None:
        """The paginator is done with the list: at its end, its cap, or --limit."""

    def stopped(self, note: str) -> None:
        """The list stopped short (a failure, or the run stopped), for the reason ``note``."""

    def progress(self) -> dict[str, Any]:
        """What the checkpoint keeps of the recording, to continue its snapshot on resume."""
        return {}


class Recordings:
    """What one run records; this one, without --db, records nothing."""

    label: str | None = None  # the store's name, for the summary

    def observe(self, user: User) -> None:
        """A profile user-info found."""

    def progress(self) -> dict[str, Any]:
        """Store what is buffered (a checkpoint counts it written) and name the store."""
        return {}

    def list_run(
        self,
        target: Target,
        list_name: str,
        *,
        saved: Mapping[str, Any] | None,
        checkpoint: Mapping[str, Any],
        from_start: bool,
        limit: int | None,
        seen: Callable[[str], bool],
        lookup: Callable[[str], User],
        looked_up_by: Callable[[], str],
        new_only: NewOnly | None = None,
        page_size: int | None = None,
    ) -> ListRecording:
        """The recording of ``target``'s ``list_name`` list in this run; ``saved``: the list's state
        in the checkpoint a resume continues (``checkpoint``: that checkpoint's progress);
        ``from_start``: the run asked for the list from its first page; ``seen``: whether an
        account key was written in the list; ``lookup``: an owner's profile by username,
        from the backend ``looked_up_by`` names; ``new_only``: --new-only (``page_size``:
        the page size asked of the API, when the command asks one)."""
        return ListRecording()


class StoreRecordings(Recordings):
    """What one run records into the store, through one ``Recorder``."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.label = recorder.store.label
        self._flushed_at = time.monotonic()

    def observe(self, user: User) -> None:
        self.recorder.observe(user)  # at the store's time: writers' clocks may differ
        if time.monotonic() - self._flushed_at >= RECORD_INTERVAL:
            self.recorder.flush()  # a long batch keeps what it saw, however it ends
            self._flushed_at = time.monotonic()

    def progress(self) -> dict[str, Any]:
        self.recorder.flush()
        return {"store": self.recorder.store.id}

    def list_run(
        self,
        target: Target,
        list_name: str,
        *,
        saved: Mapping[str, Any] | None,
        checkpoint: Mapping[str, Any],
        from_start: bool,
        limit: int | None,
        seen: Callable[[str], bool],
        lookup: Callable[[str], User],
        looked_up_by: Callable[[], str],
        new_only: NewOnly | None = None,
        page_size: int | None = None,
    ) -> ListRecording:
        saved = saved or {}
        snapshot, base = saved.get("snapshot"), saved.get("base")
        resumable = None
        # A snapshot the checkpoint names is continued only in the store it is in.
        if checkpoint.get("store") == self.recorder.store.id and type(snapshot) is int and type(base) is int:
            resumable = (snapshot, saved.get("whole") is True, base)
            if new_only is not None:
                # The run it continues decided once whether the list is read whole.
                new_only = new_only if saved.get("new_only") is True else None
        rows = saved.get("rows", 0)
        return StoreListRecording(
            self.recorder,
            target,
            list_name,
            resumable=resumable,
            # Only a run that reads the list from its first page can be complete.
            whole=from_start and saved.get("cursor") is None and rows == 0,
            base=rows,
            skipped=saved.get("skipped", 0),
            limit=limit,
            seen=seen,
            lookup=lookup,
            looked_up_by=looked_up_by,
            new_only=new_only,
            page_size=page_size,
        )


class StoreListRecording(ListRecording):
    """One list run's snapshot in the store: begun (or continued) at its first page,
    finished complete only when the whole list was read without --limit."""

    def __init__(
        self,
        recorder: Recorder,
        target: Target,
        list_name: str,
        *,
        resumable: tuple[int, bool, int] | None,
        whole: bool,
        base: int,
        skipped: int,
        limit: int | None,
        seen: Callable[[str], bool],
        lookup: Callable[[str], User],
        looked_up_by: Callable[[], str],
        new_only: NewOnly | None = None,
        page_size: int | None = None,
    ) -> None:
        self.recorder, self.target, self.list_name = recorder, target, list_name
        self.snapshot: int | None = None
        self.whole = whole  # the snapshot started at the list's first page
        self.base = base  # rows the list held when the snapshot started (0 when whole)
        self.reached_end = False  # the list's last page was written (not a cap, not --limit)
        self.stop: str | None = None  # why the list stopped short of its end, for the note
        self.skipped = skipped  # list entries that were no account, a resumed run's included
        self.owner: User | None = None  # the owner's profile (or ids)
        self._resumable = resumable  # (snapshot, whole, base) from the checkpoint
        self._limit = limit
        self._seen = seen
        self._lookup = lookup
        self._looked_up_by = looked_up_by
        self._new_only = new_only  # None once the list is read whole (asked, or due)
        self._page_size = page_size
        self._longest = 0  # the longest page met: a page's worth, where no page size was asked
        # Where the list stands after the last page recorded: rows, TikTok's count, its cap.
        self._rows = base
        self._total: int | None = None
        self._capped = False

    def find_owner(self) -> None:
        if self.owner is None:
            self.owner = self._owner()

    def page(self, page: FreshPage, *, rows: int, total: int | None) -> None:
        if self.snapshot is None:
            self._begin()
            assert self.snapshot is not None
        self.recorder.add(
            self.snapshot,
            page.users,
            rows=rows - self.base,
            total=total,
            followed_after=page.followed_after,
            skipped=page.skipped,
        )
        self.skipped += page.skipped
        self.reached_end = page.next_cursor is None and not page.capped and not page.limited
        self._rows, self._total, self._capped = rows, total, page.capped
        if page.capped:
            self.stop = f"TikTok stopped serving the list after {counted(rows, 'account')}"
        if self._new_only is not None and page.next_cursor is not None:
            self._check_caught_up(page, rows)

    def _check_caught_up(self, page: FreshPage, rows: int) -> None:
        """--new-only: stop once a page's worth of members in a row (the page size asked, or
        the longest page met when shorter) were already recorded, in the stored order."""
        assert self.snapshot is not None
        self._longest = max(self._longest, len(page.users))
        enough = max(1, min(self._page_size or self._longest, self._longest))
        streak = self.recorder.known_streak(self.snapshot)
        if streak >= enough:
            self.caught_up = True
            self.known_rows = min(streak, rows - self.base)
            self.new_rows = rows - self.base - self.known_rows

    def ended(self) -> None:
        if self.caught_up and self.whole:  # from the top down to members already recorded
            self._finish(complete=False, window=True, note=None)
            return
        # Read from the first page down to TikTok's cap, or to an end far short of its count:
        # the newest part of the list.
        window = (
            self.whole
            and self._limit is None
            and is_window(self._rows + self.skipped, self._total, capped=self._capped)
        )
        if self.stop is None:
            self.stop = (
                f"stopped by --limit {self._limit}"
                if not self.reached_end
                else f"read with --limit {self._limit}: only a run without --limit can be complete"
            )
        self._finish(
            complete=self.reached_end and self.whole and self._limit is None, window=window, note=self.stop
        )

    def stopped(self, note: str) -> None:
        self._finish(complete=False, note=note)

    def progress(self) -> dict[str, Any]:
        if self.snapshot is None:
            return {}
        return {
            "snapshot": self.snapshot,
            "whole": self.whole,
            "base": self.base,
            "new_only": self._new_only is not None,
        }

    def _owner(self) -> User:
        """Who owns the list, as the store keys accounts: a username is looked up (the
        backend has usually done so already), so every run of a list finds one owner."""
        account = self.target.account
        if account.kind is IdKind.USERNAME:
            return self._lookup(account.value)
        ids = dict(account.also)
        ids[account.kind] = account.value
        return User(
            unique_id=ids.get(IdKind.USERNAME), user_id=ids.get(IdKind.UID), sec_uid=ids.get(IdKind.SEC_UID)
        )

    def _begin(self) -> None:
        """Continue the snapshot the checkpoint names, or start one (whole when the list is
        read from its first page, the only kind that can be complete)."""
        owner = self.owner or self._owner()
        saved, self._resumable = self._resumable, None
        if saved is not None and self.recorder.resume(saved[0], self.list_name, owner):
            self.snapshot, self.whole, self.base = saved
            return
        if not self.whole:
            self.stop = "it started in the middle of the list"
        asked = self._new_only
        why = None if asked is None else asked.why_whole(self.recorder.last_full_run(owner, self.list_name))
        if asked is not None and why is not None:
            self._new_only = None  # read whole: unfollows deeper in the list are found too
            schedule = f" (--full-every {asked.spelt})" if asked.full_every else ""
            whose = f"the {self.list_name} of {self.target.account}"
            console.info(f"{whose}: {why}: reading the whole list{schedule}")
        # Only a run that may be complete keeps an older run of the list from being complete.
        self.snapshot = self.recorder.begin(
            owner,
            self.list_name,
            owner_name=owner.unique_id,
            whole=self.whole and self._limit is None,
            new_only=self._new_only is not None,
        )
        if self.target.account.kind is IdKind.USERNAME:  # ids alone carry no counts to observe
            self.recorder.observe(owner, backend=self._looked_up_by())

    def _finish(self, *, complete: bool, note: str | None, window: bool = False) -> None:
        """End the snapshot, if it has one open: what it saw is stored first."""
        if self.snapshot is None:
            return
        snapshot, self.snapshot = self.snapshot, None
        refused = self.recorder.finish(
            snapshot, complete=complete, window=window, seen=self._seen, note=note, skipped=self.skipped
        )
        if refused is not None:
            console.warn(
                f"the {self.list_name} of {self.target.account}: {refused}; "
                "its snapshot is kept as incomplete"
            )
