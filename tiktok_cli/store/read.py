"""Reading the store: accounts by name or id, the snapshots of their lists, which two
snapshots to compare (``latest_comparisons``, ``chosen_comparison``: `tiktok changes` and
the Python API choose alike), what changed between them and what the comparison could not
see (``comparison_notes``), and the counts observed over time.

One SQLAlchemy Core code path for SQLite and PostgreSQL. Every query that can return
many rows is streamed (``yield_per``), and what changed between two snapshots is found
by the database on the membership indexes (``memberships_started``,
``memberships_ended``, ``memberships_member``): rows that did not change are never read,
so memory and time follow the number of changes, not the length of the list.

Membership (schema.py): a member is present at snapshot S when an interval of it has
``first_run <= S AND (ended_run IS NULL OR ended_run > S)``. Any two usable snapshots
A < B of a list compare (complete ones, and windows: the newest part of a list TikTok
caps, or a --new-only run's). Intervals end only by two covering runs in a row that
missed the member (record.py), so reading them is the same whatever A and B are:

- followed: present at B, not at A (an interval opened in (A, B] that covers B, and no
  interval covering A: a member who left and came back is both, hence not listed), and
  come by a follow (``arrival`` NULL): a member a window met below the deepest member
  the list already held ("surfaced"), or that a run with no member in common with the
  earlier ones (or one started mid-list, before any) met ("unproven", until a later
  run lists it above a member the list had placed), is never listed;
- unfollowed: present at A, not at B (an interval covering A, ended in (A, B], and none
  covering B); none at all when A, B or a usable snapshot between them has
  ``disorder`` > 0 (its list came in an order the store could not trust, so nothing it
  missed proves a member gone, nor do the runs whose misses it would have confirmed).
  A member below a window's floor that the window did not show has merely left the
  window: it stays present, no row;
- renamed: present at both, with a change of username seen by a run of the list after A
  up to B (by snapshot id, whatever the writers' clocks), or seen elsewhere (another
  list's run, user-info) after A finished and up to B's finish (by time, the server's on
  PostgreSQL), so consecutive comparisons never report one rename twice. Several
  renames of one account make one row, from its first old name to its last new one; a
  name that came back (a -> b -> a) is no change.

Each change carries the window in which it happened, as precise as the store knows it:

- followed: from the start of the last usable snapshot before the one that first saw
  the member (that snapshot did not see it), or from the page's follow time
  (``followed_after``, where the API's cursor is one) when that is later, to the finish
  of the one that did;
- unfollowed: from the start of the last usable snapshot that covered the member
  (``last_run``) to the finish of the snapshot that confirmed it gone (``ended_run``,
  the second covering snapshot in a row that missed it);
- renamed: from the later of A's start (A saw the old name) and the account's previous
  rename, to when the new name was seen.

A window never ends before it starts: where the runs' times disagree (a SQLite file
written from machines whose clocks differ), it shrinks to its end.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import itertools
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, Select, and_, exists, func, or_, select
from sqlalchemy.exc import DBAPIError, OperationalError

from tiktok_cli.console import counted
from tiktok_cli.errors import NotFoundError, StoreError, StoreUnavailable, UsageError
from tiktok_cli.identifiers import Account, IdKind, Target
from tiktok_cli.models import FIELDS, User
from tiktok_cli.signals import cancelling_statements, stopping_statements
from tiktok_cli.store.database import Store
from tiktok_cli.store.schema import LIST_NAMES, accounts, lists, memberships, observations, renames, snapshots

FOLLOWED, UNFOLLOWED, RENAMED = "followed", "unfollowed", "renamed"
COMPLETE, WINDOW = "complete", "window"
# The snapshots a comparison may use: read from the list's top to its end or its window.
USABLE = (COMPLETE, WINDOW)
# Rows fetched from the database at a time: memory stays flat however many there are.
STREAM = 5_000

_MEMBER = [accounts.c[name] for name in FIELDS]


@dataclass(frozen=True, slots=True)
class StoredAccount:
    """An account of the store, as found from what the user typed."""

    id: int
    unique_id: str | None
    user_id: str | None

    def __str__(self) -> str:
        return f"@{self.unique_id}" if self.unique_id else f"uid {self.user_id}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One recorded run over one list."""

    id: int
    list_id: int
    list_name: str
    owner_id: int
    owner_name: str | None
    backend: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    note: str | None
    rows: int
    reported_total: int | None
    floor: int | None = None  # the order key above which it covers the list (schema.py)
    known: int | None = None  # members it saw that earlier runs had recorded (None: before 0005)
    disorder: int | None = None  # members seen out of the stored order (0: it held)
    new_only: bool = False  # a --new-only run

    @property
    def complete(self) -> bool:
        return self.status == COMPLETE

    @property
    def window(self) -> bool:
        """The newest part of the list, down to TikTok's cap or (--new-only) to known members."""
        return self.status == WINDOW

    @property
    def usable(self) -> bool:
        """Read from the list's first page down to its end or its window: comparable."""
        return self.status in (COMPLETE, WINDOW)


@dataclass(frozen=True, slots=True)
class Change:
    """One member that came, went or changed its name between two snapshots.

    ``member`` is the account's latest record in the store (models.FIELDS); for a rename,
    its ``unique_id`` is the name taken then, next to ``old_unique_id``.
    """

    change: str
    old_unique_id: str | None
    since: datetime
    until: datetime
    member: Mapping[str, Any]
    list_name: str  # the list: followers or followings

    @property
    def user(self) -> User:
        """``member`` as a ``User`` (the API's view of it)."""
        return User(**self.member)


@dataclass(frozen=True, slots=True)
class Observation:
    """The counts of an account at one moment."""

    observed_at: datetime
    backend: str
    followers: int | None
    following: int | None
    likes: int | None
    videos: int | None


def utc(value: datetime) -> datetime:
    """A time from the database as an aware UTC time (SQLite gives them back naive, in UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def iso(moment: datetime, *, round_up: bool = False) -> str:
    """``2026-12-02T03:00:00Z``: UTC, to the second (``round_up`` for the end of a window)."""
    moment = moment.astimezone(timezone.utc)
    if round_up and moment.microsecond:
        moment += timedelta(seconds=1)
    # isoformat, not strftime: strftime's %Y drops the zeros of years before 1000.
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


@contextlib.contextmanager
def reading(store: Store, *, signals: bool = True) -> Iterator[None]:
    """Database failures while reading, as the package's errors (exit 7, or 5); with
    ``signals``, SIGINT and SIGTERM stop a long SQLite query at once (exit 130, 143). The
    Python API reads without: a program's signal handlers stay its own while it iterates."""
    try:
        with _stoppable(store) if signals else contextlib.nullcontext():
            yield
    except OperationalError as exc:
        raise StoreUnavailable(f"reading the store {store.label} failed: {_reason(exc)}") from None
    except DBAPIError as exc:
        raise StoreError(f"the store {store.label} could not be read: {_reason(exc)}") from None


def _stoppable(store: Store) -> contextlib.AbstractContextManager[None]:
    """Signals stop a running statement at once (signals.py): SQLite's, from a progress
    handler; PostgreSQL's, by a cancel request to the server."""
    driver = store.connection.connection.driver_connection
    if isinstance(driver, sqlite3.Connection):
        return stopping_statements(driver.set_progress_handler)
    return cancelling_statements(driver.cancel_safe)  # type: ignore[union-attr]


def _reason(exc: DBAPIError) -> str:
    return " ".join(str(exc.orig or exc).split())[:300]


class StoreReader:
    """Read-only queries over an open store (one thread at a time, like the store)."""

    def __init__(self, store: Store, *, stream: int = STREAM) -> None:
        self.store = store
        self.label = store.label
        self._connection: Connection = store.connection
        # Per statement: Connection.execution_options would change the store's connection for good.
        self._stream = {"stream_results": True, "yield_per": stream}

    # --- accounts ------------------------------------------------------------------------

    def find(self, account: Account) -> StoredAccount:
        """The stored account ``account`` names: by uid, secUid, or username (current or old,
        any case); every id the user gave is tried. Unknown: NotFoundError (exit 3)."""
        known = {account.kind: account.value, **dict(account.also)}
        for kind in (IdKind.UID, IdKind.SEC_UID, IdKind.USERNAME):
            value = known.get(kind)
            found = None if value is None else self._find(kind, value)
            if found is not None:
                return found
        raise NotFoundError(f"{account} is not in the store {self.label}")

    def _find(self, kind: IdKind, value: str) -> StoredAccount | None:
        columns = (accounts.c.id, accounts.c.unique_id, accounts.c.user_id)
        if kind is IdKind.USERNAME:
            name = value.lower()
            current = func.lower(accounts.c.unique_id) == name
            owners = select(*columns).join(lists, lists.c.owner_id == accounts.c.id).where(current)
            row = self._first(owners.order_by(accounts.c.updated_at.desc()))  # list owners first: cheap
            row = row or self._first(select(*columns).where(current).order_by(accounts.c.updated_at.desc()))
            if row is None:  # a name it had before
                row = self._first(
                    select(*columns)
                    .join(renames, renames.c.account_id == accounts.c.id)
                    .where(func.lower(renames.c.old_unique_id) == name)
                    .order_by(renames.c.seen_at.desc())
                )
        else:
            prefix, column = (
                ("id:", accounts.c.user_id) if kind is IdKind.UID else ("sec:", accounts.c.sec_uid)
            )
            row = self._first(select(*columns).where(accounts.c.account_key == prefix + value))
            # An account stored by an older release keeps its first key when its ids
            # become known (this one re-keys it then).
            row = row or self._first(select(*columns).where(column == value))
        return None if row is None else StoredAccount(int(row.id), row.unique_id, row.user_id)

    def _streamed(self, query: Select[Any]) -> Iterator[Any]:
        """``query``'s rows, fetched a batch at a time (a server-side cursor on PostgreSQL),
        closed when the reader stops early too: a program may leave a loop halfway."""
        with self._connection.execute(query.execution_options(**self._stream)) as result:
            yield from result

    def _first(self, query: Select[Any]) -> Any:
        return self._connection.execute(query.limit(1)).first()

    # --- snapshots -----------------------------------------------------------------------

    def _snapshot_query(self) -> Select[Any]:
        return select(
            snapshots.c.id,
            snapshots.c.list_id,
            lists.c.kind,
            lists.c.owner_id,
            snapshots.c.owner_name,
            snapshots.c.backend,
            snapshots.c.started_at,
            snapshots.c.finished_at,
            snapshots.c.status,
            snapshots.c.note,
            snapshots.c.rows,
            snapshots.c.reported_total,
            snapshots.c.floor,
            snapshots.c.known,
            snapshots.c.disorder,
            snapshots.c.new_only,
        ).join(lists, lists.c.id == snapshots.c.list_id)

    def list_names(self, owner: StoredAccount) -> list[str]:
        """The lists recorded for ``owner`` (their names), in LIST_NAMES order."""
        found = set(
            self._connection.execute(select(lists.c.kind).where(lists.c.owner_id == owner.id)).scalars()
        )
        return [list_name for list_name in LIST_NAMES if list_name in found]

    def snapshots(self, owner: StoredAccount, list_names: Sequence[str] = LIST_NAMES) -> Iterator[Snapshot]:
        """Every snapshot of ``owner``'s lists of ``list_names``, oldest first."""
        query = (
            self._snapshot_query()
            .where(lists.c.owner_id == owner.id, lists.c.kind.in_(list(list_names)))
            .order_by(snapshots.c.id)
        )
        for row in self._streamed(query):
            yield _snapshot(row)

    def snapshot(self, snapshot_id: int) -> Snapshot | None:
        row = self._connection.execute(self._snapshot_query().where(snapshots.c.id == snapshot_id)).first()
        return None if row is None else _snapshot(row)

    def complete(
        self, owner: StoredAccount, list_name: str, *, newest: int, started_by: datetime | None = None
    ) -> list[Snapshot]:
        """Up to ``newest`` complete snapshots of the list, the latest first; with
        ``started_by``, only those that started at or before it."""
        return self._latest(owner, list_name, (COMPLETE,), newest=newest, started_by=started_by)

    def usable(
        self, owner: StoredAccount, list_name: str, *, newest: int, started_by: datetime | None = None
    ) -> list[Snapshot]:
        """Up to ``newest`` usable snapshots (complete or window) of the list, the latest
        first; with ``started_by``, only those that started at or before it."""
        return self._latest(owner, list_name, USABLE, newest=newest, started_by=started_by)

    def first_usable(self, owner: StoredAccount, list_name: str) -> Snapshot | None:
        query = self._snapshot_query().where(
            lists.c.owner_id == owner.id, lists.c.kind == list_name, snapshots.c.status.in_(USABLE)
        )
        row = self._connection.execute(query.order_by(snapshots.c.id).limit(1)).first()
        return None if row is None else _snapshot(row)

    def _latest(
        self,
        owner: StoredAccount,
        list_name: str,
        statuses: Sequence[str],
        *,
        newest: int,
        started_by: datetime | None,
    ) -> list[Snapshot]:
        query = self._snapshot_query().where(
            lists.c.owner_id == owner.id, lists.c.kind == list_name, snapshots.c.status.in_(list(statuses))
        )
        if started_by is not None:
            query = query.where(snapshots.c.started_at <= started_by)
        rows = self._connection.execute(query.order_by(snapshots.c.id.desc()).limit(newest))
        return [_snapshot(row) for row in rows]

    # --- what a comparison cannot show -------------------------------------------------

    def comparison_notes(self, older: Snapshot, newer: Snapshot) -> list[str]:
        """One sentence for each thing the rows of ``changes(older, newer)`` cannot say."""
        return [note.text for note in self.notes(older, newer)]

    def notes(self, older: Snapshot, newer: Snapshot) -> list[ComparisonNote]:
        """What ``comparison_notes`` says, with what kind of note each is and its gist for
        a summary line: the order broken, windows that did not overlap, members nothing
        proves new, and the window the comparison looked through."""
        between = self._usable_between(older, newer)
        return [
            *_order_broken(older, newer, between),
            *_no_overlap(newer, between),
            *self._unproven(older, newer),
            *_through_window(older, newer),
        ]

    def _usable_between(self, older: Snapshot, newer: Snapshot) -> list[Snapshot]:
        """The usable snapshots of the list from ``older`` to ``newer``, both included, in order."""
        query = self._snapshot_query().where(
            snapshots.c.list_id == older.list_id,
            snapshots.c.id >= older.id,
            snapshots.c.id <= newer.id,
            snapshots.c.status.in_(USABLE),
        )
        return [_snapshot(row) for row in self._connection.execute(query.order_by(snapshots.c.id))]

    def _unproven(self, older: Snapshot, newer: Snapshot) -> list[ComparisonNote]:
        """Members first seen in (older, newer] by a run that overlapped nothing before it,
        still there at ``newer``: ``changes`` leaves them out of the followed."""
        count = self._connection.execute(
            select(func.count()).where(
                memberships.c.list_id == older.list_id,
                memberships.c.first_run > older.id,
                memberships.c.first_run <= newer.id,
                memberships.c.arrival == "unproven",
                or_(memberships.c.ended_run.is_(None), memberships.c.ended_run > newer.id),
            )
        ).scalar_one()
        if not count:
            return []
        members = counted(count, "member")
        verb = "was" if count == 1 else "were"
        return [
            ComparisonNote(
                NOT_PROVEN,
                f"{members} first seen by a run that had no member in common with the one before it "
                f"{verb} not reported as followed: nothing shows whether they are new or older "
                "members come up into the window",
                f"{members} not reported (nothing proves them new)",
                older.list_name,
                older.id,
                newer.id,
            )
        ]

    # --- changes -------------------------------------------------------------------------

    def changes(self, older: Snapshot, newer: Snapshot) -> Iterator[Change]:
        """What changed in one list from usable snapshot ``older`` to usable ``newer``
        (complete snapshots or windows): the followed, then the unfollowed (none when the
        order of one of them, or of a usable snapshot between, broke), then the renamed,
        each in the order seen."""
        if older.list_id != newer.list_id or not older.id < newer.id:
            raise ValueError("changes compare an older and a newer snapshot of one list")
        if not (older.usable and newer.usable):
            raise ValueError("only complete snapshots and windows can be compared")
        between = _Between(self._connection, older, newer)
        unfollowed = iter(()) if between.disordered else self._unfollowed(between)
        for change in itertools.chain(self._followed(between), unfollowed, self._renamed(between)):
            if change.until < change.since:
                # Runs written from machines whose clocks disagree (a SQLite file shared
                # between them): the window shrinks to its end rather than turn inside out.
                change = dataclasses.replace(change, since=change.until)
            yield change

    def _followed(self, between: _Between) -> Iterator[Change]:
        a, b, list_id = between.older.id, between.newer.id, between.older.list_id
        m = memberships.alias("m")
        query = (
            select(m.c.first_run, m.c.followed_after, *_MEMBER)
            .join_from(m, accounts, accounts.c.id == m.c.member_id)
            .where(
                m.c.list_id == list_id,
                m.c.first_run > a,
                m.c.first_run <= b,
                or_(m.c.ended_run.is_(None), m.c.ended_run > b),
                m.c.arrival.is_(None),  # surfaced or unproven members came by no follow
                ~_present(list_id, m.c.member_id, a),
            )
            .order_by(m.c.first_run, m.c.id)
        )
        for row in self._streamed(query):
            first = int(row.first_run)
            since = between.usable_before(first).started_at
            if row.followed_after is not None:
                since = max(since, utc(row.followed_after))  # the page's follow time: tighter
            yield Change(
                FOLLOWED, None, since, between.finished(first), _member(row), between.older.list_name
            )

    def _unfollowed(self, between: _Between) -> Iterator[Change]:
        a, b, list_id = between.older.id, between.newer.id, between.older.list_id
        m = memberships.alias("m")
        # The snapshot that last saw the member may be older than ``older`` (an unfollow is
        # confirmed by the second covering snapshot in a row that misses it): its start, by id.
        seen = snapshots.alias("seen")
        query = (
            select(m.c.last_run, m.c.ended_run, seen.c.started_at.label("last_seen"), *_MEMBER)
            .join_from(m, accounts, accounts.c.id == m.c.member_id)
            .outerjoin(seen, seen.c.id == m.c.last_run)
            .where(
                m.c.list_id == list_id,
                m.c.ended_run > a,
                m.c.ended_run <= b,
                m.c.first_run <= a,
                ~_present(list_id, m.c.member_id, b),
            )
            .order_by(m.c.ended_run, m.c.id)
        )
        for row in self._streamed(query):
            ended = int(row.ended_run)
            since = between.usable_before(ended).started_at if row.last_seen is None else utc(row.last_seen)
            yield Change(
                UNFOLLOWED, None, since, between.finished(ended), _member(row), between.older.list_name
            )

    def _renamed(self, between: _Between) -> Iterator[Change]:
        older, newer = between.older, between.newer
        assert older.finished_at is not None and newer.finished_at is not None  # usable snapshots
        earlier = renames.alias("earlier")
        previous = (
            select(func.max(earlier.c.seen_at))
            .where(earlier.c.account_id == renames.c.account_id, earlier.c.id < renames.c.id)
            .scalar_subquery()
        )
        # A rename a run of this list saw is placed by that run's id, which orders the runs
        # whatever the clocks of the machines that wrote them. One seen elsewhere (another
        # list's run, which may have started before ``older`` and still seen it after, or
        # user-info) is placed by when it was seen: on PostgreSQL the server's one clock.
        seen_by = snapshots.alias("seen_by")
        this_list = seen_by.c.list_id == older.list_id
        seen = or_(
            and_(this_list, renames.c.run > older.id, renames.c.run <= newer.id),
            and_(
                or_(seen_by.c.id.is_(None), ~this_list),
                renames.c.seen_at > older.finished_at,
                renames.c.seen_at <= newer.finished_at,
            ),
        )
        query = (
            select(
                renames.c.id.label("rename_id"),
                renames.c.account_id,
                renames.c.old_unique_id,
                renames.c.new_unique_id,
                renames.c.seen_at,
                previous.label("previous"),
                *_MEMBER,
            )
            .join_from(renames, accounts, accounts.c.id == renames.c.account_id)
            .outerjoin(seen_by, seen_by.c.id == renames.c.run)
            .where(
                seen,
                _present(older.list_id, renames.c.account_id, older.id),
                _present(older.list_id, renames.c.account_id, newer.id),
            )
            .order_by(renames.c.account_id, renames.c.id)
        )
        # Renames in one window are few: one per account is kept, from its first old name
        # to its last new one, and a name that came back (a -> b -> a) is no change.
        chains: dict[int, tuple[Any, Any]] = {}
        for row in self._streamed(query):
            account_id = int(row.account_id)
            first = chains[account_id][0] if account_id in chains else row
            chains[account_id] = (first, row)
        found = []
        for first, last in chains.values():
            if first.old_unique_id.lower() == last.new_unique_id.lower():
                continue
            since = older.started_at if first.previous is None else max(older.started_at, utc(first.previous))
            member = {**_member(last), "unique_id": last.new_unique_id}
            until = utc(last.seen_at)
            change = Change(RENAMED, first.old_unique_id, since, until, member, older.list_name)
            found.append((until, last.rename_id, change))
        for _, _, change in sorted(found, key=lambda item: item[:2]):
            yield change

    # --- counts --------------------------------------------------------------------------

    def observations(self, account: StoredAccount) -> Iterator[Observation]:
        """Every observation of ``account``'s counts, oldest first."""
        query = (
            select(
                observations.c.observed_at,
                observations.c.backend,
                observations.c.followers,
                observations.c.following,
                observations.c.likes,
                observations.c.videos,
            )
            .where(observations.c.account_id == account.id)
            .order_by(observations.c.observed_at, observations.c.id)
        )
        for row in self._streamed(query):
            yield Observation(
                utc(row.observed_at), row.backend, row.followers, row.following, row.likes, row.videos
            )


# --- which snapshots to compare ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two usable snapshots of one list, and the value of the owner column for its rows."""

    owner: str | None
    older: Snapshot
    newer: Snapshot
    account: StoredAccount  # the owner, as the store knows it (messages name it)

    def __str__(self) -> str:
        return f"{self.account}'s {self.older.list_name}"


def latest_comparisons(
    reader: StoreReader,
    owners: Sequence[tuple[Target, StoredAccount]],
    list_names: Sequence[str] | None,
    when: datetime | None,
    *,
    note: Callable[[str], None],
) -> Iterator[Comparison]:
    """For each owner's lists (``list_names``, or every list recorded): its last two usable
    snapshots (complete or window), or with ``when`` the last usable one started at or
    before it and the latest. A list with nothing to compare is told to ``note`` in a
    sentence, and skipped (an owner may have fewer than two usable snapshots yet)."""
    for target, owner in owners:
        recorded = reader.list_names(owner)
        if not recorded:
            note(f"no list of {owner} was recorded in the store {reader.label}: nothing to compare")
            continue
        for list_name in list_names or recorded:
            name = f"{owner}'s {list_name}"
            if list_name not in recorded:
                note(f"{name} were never recorded in the store {reader.label}: nothing to compare")
                continue
            latest = reader.usable(owner, list_name, newest=2)
            if len(latest) < 2:
                found = "no" if not latest else f"one ({latest[0].id})"
                note(
                    f"{name}: {found} complete or window snapshot yet, two are needed to compare "
                    "(runs cut short never count); nothing to show"
                )
                continue
            newer, older = latest
            if when is not None:
                base = reader.usable(owner, list_name, newest=1, started_by=when)
                if base:
                    older = base[0]
                else:
                    first = reader.first_usable(owner, list_name)
                    assert first is not None  # there are two
                    older = first
                    note(
                        f"{name}: no complete or window snapshot at or before {iso(when)}; comparing "
                        f"from the first one instead (snapshot {first.id}, {first.status}, started "
                        f"{iso(first.started_at)})"
                    )
                if older.id == newer.id:
                    note(
                        f"{name}: no complete or window snapshot since {iso(when)} (the latest, "
                        f"{newer.id}, started {iso(newer.started_at)}); nothing to show"
                    )
                    continue
            yield Comparison(target.owner, older, newer, owner)


def chosen_comparison(
    reader: StoreReader,
    owners: Sequence[tuple[Target, StoredAccount]],
    list_names: Sequence[str] | None,
    span: tuple[int, int],
) -> Comparison:
    """--from RUN --to RUN: two usable snapshots of one list of the one account given."""
    if len(owners) != 1:
        raise UsageError("--from and --to compare two snapshots of one list: give one account")
    target, owner = owners[0]
    found: list[Snapshot] = []
    for option, run in zip(("--from", "--to"), span, strict=True):
        snapshot = reader.snapshot(run)
        if snapshot is None or snapshot.owner_id != owner.id:
            where = "in the store" if snapshot is None else f"of {owner}'s lists in the store"
            raise UsageError(
                f"{option} {run}: no snapshot {run} {where} {reader.label} "
                f"(`tiktok snapshots {target.text}` lists them)"
            )
        if not snapshot.usable:
            raise UsageError(
                f"{option} {run}: snapshot {run} is {snapshot.status}; only complete and window "
                "snapshots can be compared (a run cut short, or started below the top of the list, "
                "proves nothing about the members it did not reach)"
            )
        if list_names and snapshot.list_name not in list_names:
            raise UsageError(
                f"{option} {run}: snapshot {run} is of {owner}'s {snapshot.list_name}, not {list_names[0]}"
            )
        found.append(snapshot)
    older, newer = found
    if older.list_id != newer.list_id:
        raise UsageError(
            f"--from {older.id} is of {owner}'s {older.list_name} and --to {newer.id} of their "
            f"{newer.list_name}: compare two snapshots of one list"
        )
    if older.id >= newer.id:
        raise UsageError(f"--from {older.id} must be an older snapshot than --to {newer.id}")
    return Comparison(target.owner, older, newer, owner)


# --- what a comparison cannot show -------------------------------------------------------

# The kinds of note about a comparison (ComparisonNote.kind).
ORDER_BROKEN, NO_OVERLAP, NOT_PROVEN, THROUGH_WINDOW = "order", "overlap", "unproven", "window"


@dataclass(frozen=True, slots=True)
class ComparisonNote:
    """Something true of a comparison that its rows cannot say.

    ``kind``: ``order`` (the list's order did not hold: no unfollows reported), ``overlap``
    (a window had no member in common with the run before it: new followers between them
    may be missing), ``unproven`` (members nothing proves new, not reported), ``window``
    (compared through a window: changes below it are not seen). ``text`` is the sentence
    `tiktok changes` warns with, ``gist`` its few words for a summary line.
    """

    kind: str
    text: str
    gist: str
    list_name: str
    older: int  # the snapshots compared (ids)
    newer: int

    def __str__(self) -> str:
        return self.text


def _order_broken(older: Snapshot, newer: Snapshot, between: Sequence[Snapshot]) -> list[ComparisonNote]:
    """Runs whose members came out of the stored order: then no member is proven gone."""
    broken = [s for s in between if s.disorder]
    if not broken:
        return []
    where = _and([f"{s.id} ({s.disorder:,} out of order)" for s in broken])
    runs = "snapshot" if len(broken) == 1 else "snapshots"
    return [
        ComparisonNote(
            ORDER_BROKEN,
            f"the list's order did not hold in {runs} {where}, so no unfollows are reported "
            f"between snapshots {older.id} and {newer.id}",
            "no unfollows (order broken)",
            older.list_name,
            older.id,
            newer.id,
        )
    ]


def _no_overlap(newer: Snapshot, between: Sequence[Snapshot]) -> list[ComparisonNote]:
    """Windows that met none of the members the list held: more arrived between the two
    runs than a window holds, so some new ones may have passed below it unseen."""
    found = []
    for before, run in itertools.pairwise(between):
        if not (run.window and run.known == 0 and before.rows > 0):
            continue
        new = f"new {run.list_name}"
        text = (
            f"snapshot {run.id} had no member in common with snapshot {before.id}: all "
            f"{run.rows:,} it read were new to the list, so {new} between them may be missing"
        )
        elapsed = run.started_at - before.started_at
        if elapsed > timedelta(0) and run.rows > 0:
            hours = elapsed / timedelta(hours=1)
            # The windows overlap while fewer arrive between two runs than the smaller
            # window holds; this rate is a floor (more than it read arrived), so half that time.
            depth = min(before.rows, run.rows)
            every = elapsed * (depth / run.rows) / 2
            text += (
                f"; at least {_rate(run.rows / hours)} arrived ({run.rows:,} in the {_duration(elapsed)} "
                f"between the two runs): run at least every {_duration(every)} to keep the windows "
                "overlapping"
            )
        found.append(
            ComparisonNote(
                NO_OVERLAP,
                text,
                f"{new} may be missing (no overlap)",
                run.list_name,
                between[0].id,
                newer.id,
            )
        )
    return found


def _through_window(older: Snapshot, newer: Snapshot) -> list[ComparisonNote]:
    """The shallower window of the two compared: how much of the list the comparison saw."""
    windows = [s for s in (older, newer) if s.window]
    if not windows:
        return []
    from tiktok_cli.writers.table import compact_count

    window = min(windows, key=lambda s: s.rows)
    if window.reported_total:
        seen = f"{window.rows:,} of ~{compact_count(window.reported_total)} {window.list_name}"
    else:
        seen = f"the newest {window.rows:,} {window.list_name} (TikTok gave no total)"
    how = "a --new-only run, down to members already known" if window.new_only else "its newest part"
    return [
        ComparisonNote(
            THROUGH_WINDOW,
            f"compared through a window: {seen} (snapshot {window.id}, {how}); changes below it are not seen",
            f"through a window: {seen}",
            older.list_name,
            older.id,
            newer.id,
        )
    ]


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _rate(per_hour: float) -> str:
    """``1,250 an hour``, ``30 a day``: an arrival rate, rounded down."""
    if per_hour >= 1:
        return f"{int(per_hour):,} an hour"
    return f"{int(per_hour * 24):,} a day"


def _duration(span: timedelta) -> str:
    """``3d``, ``14h``, ``45m``, ``30s``: a span, rounded down (a run interval: shorter is safer)."""
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 1)}s"


def _present(list_id: int, member: ColumnElement[Any], snapshot_id: int) -> ColumnElement[bool]:
    """Whether ``member`` is in the list at ``snapshot_id``: a probe of memberships_member.

    The run columns are wrapped (``first_run + 0``, ``coalesce``) so that no index can
    serve them: without ANALYZE statistics (and a store may have none, or stale ones)
    SQLite read memberships_started instead, every interval that started before the
    snapshot, per row, so ``changes`` grew with the square of the list. With the member's
    own few intervals the only sensible path, the plan no longer depends on statistics.
    """
    o: FromClause = memberships.alias("o")
    return exists().where(
        o.c.list_id == list_id,
        o.c.member_id == member,
        o.c.first_run + 0 <= snapshot_id,
        func.coalesce(o.c.ended_run, snapshot_id + 1) > snapshot_id,  # open, or ended after
    )


def _member(row: Any) -> dict[str, Any]:
    mapping = row._mapping
    return {name: mapping[name] for name in FIELDS}


def _snapshot(row: Any) -> Snapshot:
    return Snapshot(
        id=int(row.id),
        list_id=int(row.list_id),
        list_name=row.kind,
        owner_id=int(row.owner_id),
        owner_name=row.owner_name,
        backend=row.backend,
        started_at=utc(row.started_at),
        finished_at=None if row.finished_at is None else utc(row.finished_at),
        status=row.status,
        note=row.note,
        rows=int(row.rows),
        reported_total=row.reported_total,
        floor=row.floor,
        known=row.known,
        disorder=row.disorder,
        new_only=bool(row.new_only),
    )


class _Between:
    """The snapshots of one list from ``older`` to ``newer``: a handful (one per run), so
    the time windows of changes are looked up here rather than joined per row."""

    def __init__(self, connection: Connection, older: Snapshot, newer: Snapshot) -> None:
        self.older, self.newer = older, newer
        query = select(
            snapshots.c.id,
            snapshots.c.started_at,
            snapshots.c.finished_at,
            snapshots.c.status,
            snapshots.c.disorder,
        ).where(
            snapshots.c.list_id == older.list_id,
            and_(snapshots.c.id >= older.id, snapshots.c.id <= newer.id),
        )
        rows = connection.execute(query.order_by(snapshots.c.id)).all()
        self._runs = {
            int(row.id): (
                utc(row.started_at),
                None if row.finished_at is None else utc(row.finished_at),
                row.status in (COMPLETE, WINDOW),
            )
            for row in rows
        }
        self._usable = [run for run, (_, _, usable) in self._runs.items() if usable]
        # A usable run whose order broke proves no member gone: neither its misses, nor the
        # marks it would have confirmed, nor what others confirmed of its marks.
        self.disordered = any(row.status in (COMPLETE, WINDOW) and row.disorder for row in rows)

    def get(self, snapshot_id: int | None) -> _Run | None:
        if snapshot_id is None or snapshot_id not in self._runs:
            return None
        started, finished, _ = self._runs[snapshot_id]
        return _Run(started, finished)

    def usable_before(self, snapshot_id: int) -> _Run:
        """The last usable snapshot before ``snapshot_id`` (``older`` at the earliest)."""
        index = bisect.bisect_left(self._usable, snapshot_id) - 1
        run = self.get(self._usable[max(index, 0)])
        assert run is not None
        return run

    def finished(self, snapshot_id: int) -> datetime:
        """When snapshot ``snapshot_id`` had certainly seen what it saw: its finish, or for a
        run that never finished (killed, not resumed), ``newer``'s."""
        run = self.get(snapshot_id)
        assert self.newer.finished_at is not None
        if run is None or run.finished_at is None:
            return self.newer.finished_at
        return min(run.finished_at, self.newer.finished_at)


@dataclass(frozen=True, slots=True)
class _Run:
    started_at: datetime
    finished_at: datetime | None
