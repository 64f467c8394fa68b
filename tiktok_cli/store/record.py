"""Writing to the store: snapshots of lists, and profiles with their counts.

Pages are buffered and written in one transaction by ``flush``, which the export calls
just before it saves its checkpoint: what the checkpoint says was written is in the
store too, and a resume re-fetches (and re-records, idempotently) only what came after.
Recording only ever opens intervals; ``finish`` of a *complete* snapshot is the one
place that ends them, and only for a member that two complete snapshots in a row missed:
the first marks it missing, the second ends it (one that sees it again clears the mark).
A snapshot becomes complete only when its list is plausible (``implausible``), and only
if no later run of its list that could be complete started meanwhile.

Text is stored without NUL characters (PostgreSQL refuses them): each becomes U+FFFD.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import attrgetter
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tiktok_cli.models import User
from tiktok_cli.store.database import Store
from tiktok_cli.store.schema import accounts, lists, memberships, observations, renames, snapshots

# The profile fields kept per account; a page that lacks one keeps what was known.
PROFILE = (
    "user_id",
    "sec_uid",
    "unique_id",
    "nickname",
    "bio",
    "verified",
    "private",
    "followers",
    "following",
    "likes",
    "videos",
    "avatar_url",
)
COUNTS = ("followers", "following", "likes", "videos")
_NAME = 1 + PROFILE.index("unique_id")  # its place in a stored row: (id, *PROFILE)
# Keys per IN (...) query: far below SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500
# Rows fetched at a time when reading a whole list: memory stays flat however long it is.
_STREAM = 10_000

RUNNING, COMPLETE, INCOMPLETE, ABANDONED = "running", "complete", "incomplete", "abandoned"
# How far a complete list may fall short of what it is checked against (TikTok's count, which
# includes deleted and banned accounts, or the last complete snapshot): this share of it, or
# this many accounts, whichever is more.
SHORTFALL = 0.10
ALLOWANCE = 5
# What replaces a NUL in stored text (PostgreSQL's text cannot hold one).
NUL, REPLACEMENT = "\x00", "\ufffd"
_TEXT = ("user_id", "sec_uid", "unique_id", "nickname", "bio", "avatar_url")


def now() -> datetime:
    return datetime.now(timezone.utc)


def account_key(user: User) -> str | None:
    """How the store tells accounts apart: the same identity the export de-duplicates by."""
    return user.identity


def storable(user: User) -> User:
    """``user`` as the store keeps it: its text without NUL (U+FFFD instead)."""
    dirty = {name: getattr(user, name) for name in _TEXT if NUL in (getattr(user, name) or "")}
    if not dirty:
        return user
    return dataclasses.replace(user, **{name: text.replace(NUL, REPLACEMENT) for name, text in dirty.items()})


def _text(value: str | None) -> str | None:
    return None if value is None else value.replace(NUL, REPLACEMENT)


def implausible(
    listed: int, *, reported: int | None, skipped: int = 0, previous: tuple[int, int] | None = None
) -> str | None:
    """Why a list read to its end cannot be taken as complete, or None when it can.

    ``listed`` accounts were recorded (``skipped`` more entries were no account), TikTok
    reported ``reported``; ``previous`` is the last complete snapshot of the list, as
    (id, rows). An upstream that ends a list early, or answers an empty page, says
    "no more" all the same: the counts are the only sign of it.
    """

    def short(have: int, expected: int) -> bool:
        return expected - have > max(ALLOWANCE, expected * SHORTFALL)

    if reported is not None and short(listed + skipped, reported):
        return f"the list ended after {listed:,} accounts, well short of the {reported:,} TikTok reports"
    if previous is None:
        return None
    snapshot, rows = previous
    if listed == 0 and rows > 0:
        return (
            f"the list came back empty, where the last complete snapshot (#{snapshot}) had {rows:,} accounts"
        )
    # A count from TikTok that agrees with the list vouches for a list that really shrank.
    if not reported and short(listed, rows):
        return (
            f"the list ended after {listed:,} accounts, well short of the {rows:,} of the last "
            f"complete snapshot (#{snapshot}), and TikTok gave no count to confirm it"
        )
    return None


@dataclass(slots=True)
class _Snapshot:
    id: int
    list_id: int
    rows: int = 0
    total: int | None = None
    members: dict[str, User] = field(default_factory=dict)  # buffered, by account key


class Recorder:
    """Records list snapshots and profiles into ``store``, from one (the writing) thread."""

    def __init__(self, store: Store, backend: str) -> None:
        self.store = store
        self.backend = backend
        self._open: dict[int, _Snapshot] = {}
        self._profiles: list[tuple[User, datetime]] = []

    # --- snapshots ----------------------------------------------------------------------

    def begin(self, owner: User, kind: str, *, owner_name: str | None, whole: bool = True) -> int:
        """A new snapshot of ``owner``'s ``kind`` list; committed at once, so a checkpoint
        that names it always finds it. ``whole``: the run reads the list from its first page
        without --limit, so it may end complete (and only such a run keeps an older one
        of the list from being complete)."""
        owner = storable(owner)
        with self.store.transaction() as connection:
            owner_id = self._accounts(connection, [owner], run=None)[0]
            list_id = self._list_id(connection, owner_id, kind)
            snapshot_id = connection.execute(
                snapshots.insert().returning(snapshots.c.id),
                {
                    "list_id": list_id,
                    "owner_name": _text(owner_name),
                    "backend": self.backend,
                    "started_at": now(),
                    "status": RUNNING,
                    "rows": 0,
                    "whole": whole,
                },
            ).scalar_one()
        self._open[snapshot_id] = _Snapshot(snapshot_id, list_id)
        return int(snapshot_id)

    def resume(self, snapshot_id: int, kind: str, owner: User) -> bool:
        """Continue ``snapshot_id`` (named by a checkpoint), if this store holds it unfinished
        and no later run of its list that may be complete has started since: continuing it
        then would rewrite what that run recorded, so it stays incomplete, saying why."""
        owner_key = account_key(storable(owner))
        with self.store.transaction() as connection:
            row = connection.execute(
                select(snapshots.c.list_id, snapshots.c.rows, snapshots.c.status, accounts.c.account_key)
                .join(lists, lists.c.id == snapshots.c.list_id)
                .join(accounts, accounts.c.id == lists.c.owner_id)
                .where(snapshots.c.id == snapshot_id, lists.c.kind == kind)
            ).first()
            if row is None or row.status == COMPLETE or (owner_key and row.account_key != owner_key):
                return False
            if _later_whole_runs(connection, row.list_id, snapshot_id):
                connection.execute(
                    update(snapshots)
                    .where(snapshots.c.id == snapshot_id)
                    .values(
                        status=INCOMPLETE,
                        note="a later run of this list had started when this one was resumed: "
                        "the resume was recorded as a new snapshot",
                    )
                )
                return False
            connection.execute(
                update(snapshots)
                .where(snapshots.c.id == snapshot_id)
                .values(status=RUNNING, note=None, finished_at=None)
            )
        self._open[snapshot_id] = _Snapshot(snapshot_id, row.list_id, rows=row.rows)
        return True

    def add(self, snapshot_id: int, users: Iterable[User], *, rows: int, total: int | None) -> None:
        """Buffer a written page of the snapshot; ``rows`` is how many the list holds so far."""
        snapshot = self._open[snapshot_id]
        for user in users:
            key = account_key(user)
            if key is not None:
                snapshot.members[key] = storable(user)
        snapshot.rows, snapshot.total = rows, total if total is not None else snapshot.total

    def finish(
        self,
        snapshot_id: int,
        *,
        complete: bool,
        seen: Callable[[str], bool] | None = None,
        note: str | None = None,
        skipped: int = 0,
    ) -> str | None:
        """End the snapshot (after a ``flush``). Returns why a snapshot ``complete`` asked to
        be complete was kept incomplete (None: recorded as asked).

        A complete snapshot marks the open memberships it did not see as missing, and ends
        those a complete snapshot before it had marked already: ``seen`` says, by account
        key, whether this run met a member (a resumed run knows the members its earlier
        part wrote from the export's checkpoint). ``skipped``: list entries that were no
        account, which TikTok's count includes. Older snapshots of the list still marked
        running (their process died) are marked abandoned."""
        snapshot = self._open[snapshot_id]
        self._write(snapshot)
        refused = None
        with self.store.transaction() as connection:
            if complete:
                refused = self._refusal(connection, snapshot, skipped)
            if refused is not None:
                complete, note = False, refused
            if complete:
                assert seen is not None, "a complete snapshot needs to know whom it saw"
                self._end_unseen(connection, snapshot, seen)
            connection.execute(
                update(snapshots)
                .where(snapshots.c.id == snapshot.id)
                .values(
                    status=COMPLETE if complete else INCOMPLETE,
                    note=None if complete else _text(note),
                    finished_at=now(),
                    rows=snapshot.rows,
                    reported_total=snapshot.total,
                )
            )
            connection.execute(
                update(snapshots)
                .where(
                    snapshots.c.list_id == snapshot.list_id,
                    snapshots.c.id < snapshot.id,
                    snapshots.c.status == RUNNING,
                )
                .values(
                    status=ABANDONED,
                    note=f"abandoned: a later run of this list (#{snapshot.id}) finished while this "
                    "one was still marked running (its process was killed, or lost the store)",
                )
            )
        del self._open[snapshot_id]  # only now: a failed finish leaves it to be written again
        return refused

    def _refusal(self, connection: Connection, snapshot: _Snapshot, skipped: int) -> str | None:
        """Why ``snapshot``, which read its list to the end, may not be complete (or None)."""
        if _later_whole_runs(connection, snapshot.list_id, snapshot.id):
            # Its intervals and those of the later run interleave: it may not end any. A run
            # that can never be complete (--limit, --cursor) does not count.
            return "another run of this list started while it ran"
        previous = connection.execute(
            select(snapshots.c.id, snapshots.c.rows)
            .where(
                snapshots.c.list_id == snapshot.list_id,
                snapshots.c.id < snapshot.id,
                snapshots.c.status == COMPLETE,
            )
            .order_by(snapshots.c.id.desc())
            .limit(1)
        ).first()
        last = None if previous is None else (int(previous.id), int(previous.rows))
        return implausible(snapshot.rows, reported=snapshot.total, skipped=skipped, previous=last)

    def _end_unseen(self, connection: Connection, snapshot: _Snapshot, seen: Callable[[str], bool]) -> None:
        """Mark the open intervals of members ``snapshot`` did not meet as missing, end those
        already missing from an earlier complete snapshot, and clear the mark of those met
        again. Other members it met are not written at all, so an unchanged list costs no
        membership writes."""
        open_before = (
            select(memberships.c.id, memberships.c.missing_run, accounts.c.account_key)
            .join(accounts, accounts.c.id == memberships.c.member_id)
            .where(
                memberships.c.list_id == snapshot.list_id,
                memberships.c.ended_run.is_(None),
                memberships.c.first_run < snapshot.id,
            )
        )
        # Per statement: Connection.execution_options would stream every later statement too.
        streamed = open_before.execution_options(stream_results=True, yield_per=_STREAM)
        back: list[int] = []  # missing before, met again: no change was ever reported
        missing: list[int] = []  # missed for the first time
        gone: dict[int, list[int]] = {}  # missed again, by the snapshot that first missed them
        for row in connection.execute(streamed):
            if seen(row.account_key):
                if row.missing_run is not None:
                    back.append(row.id)
            elif row.missing_run is None:
                missing.append(row.id)
            else:
                gone.setdefault(int(row.missing_run), []).append(row.id)
        _update(connection, back, missing_run=None)
        _update(connection, missing, missing_run=snapshot.id)
        for first_missed, ids in sorted(gone.items()):
            # The last complete snapshot before the one that first missed them saw every
            # member still open then.
            previous = connection.execute(
                select(func.max(snapshots.c.id)).where(
                    snapshots.c.list_id == snapshot.list_id,
                    snapshots.c.id < first_missed,
                    snapshots.c.status == COMPLETE,
                )
            ).scalar_one()
            last: ColumnElement[Any] = memberships.c.first_run
            if previous is not None:
                last = case((memberships.c.first_run > previous, memberships.c.first_run), else_=previous)
            _update(connection, ids, ended_run=snapshot.id, last_run=last)

    # --- profiles -----------------------------------------------------------------------

    def observe(self, user: User, at: datetime | None = None) -> None:
        """Buffer a profile seen by user-info (or a list owner's look-up), with its counts."""
        self._profiles.append((storable(user), at or now()))

    # --- writing ------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything buffered, in one transaction per snapshot."""
        for snapshot in self._open.values():
            self._write(snapshot)
        profiles = [(user, at) for user, at in self._profiles if account_key(user) is not None]
        self._profiles = []
        if not profiles:
            return
        with self.store.transaction() as connection:
            ids = self._accounts(connection, [user for user, _ in profiles], run=None)
            rows = [
                {
                    "account_id": account_id,
                    "observed_at": at,
                    "backend": self.backend,
                    **{name: getattr(user, name) for name in COUNTS},
                }
                for account_id, (user, at) in zip(ids, profiles, strict=True)
                if any(getattr(user, name) is not None for name in COUNTS)
            ]
            if rows:
                connection.execute(observations.insert(), rows)

    def _write(self, snapshot: _Snapshot) -> None:
        members = list(snapshot.members.values())
        with self.store.transaction() as connection:
            if members:
                ids = self._accounts(connection, members, run=snapshot.id)
                self._extend(connection, snapshot, sorted(set(ids)))
            connection.execute(
                update(snapshots)
                .where(snapshots.c.id == snapshot.id)
                .values(rows=snapshot.rows, reported_total=snapshot.total)
            )
        # Only once committed: pages the store refused stay buffered, and the export saves
        # no checkpoint past them (it flushes first, and stops when that fails).
        snapshot.members.clear()

    def _extend(self, connection: Connection, snapshot: _Snapshot, member_ids: Sequence[int]) -> None:
        """Open an interval for each member without an open one; the others stay untouched."""
        statement = _insert(self.store.dialect, memberships).on_conflict_do_nothing(
            index_elements=[memberships.c.list_id, memberships.c.member_id],
            index_where=memberships.c.ended_run.is_(None),
        )
        rows = [(snapshot.list_id, m, snapshot.id) for m in member_ids]
        _bulk(connection, statement, ("list_id", "member_id", "first_run"), rows)

    def _list_id(self, connection: Connection, owner_id: int, kind: str) -> int:
        insert = _insert(self.store.dialect, lists)
        connection.execute(insert.on_conflict_do_nothing(), {"owner_id": owner_id, "kind": kind})
        return int(
            connection.execute(
                select(lists.c.id).where(lists.c.owner_id == owner_id, lists.c.kind == kind)
            ).scalar_one()
        )

    def _accounts(self, connection: Connection, users: Sequence[User], *, run: int | None) -> list[int]:
        """The store ids of ``users`` (in order), creating or updating their profiles and
        noting each change of username (as seen by snapshot ``run``)."""
        by_key: dict[str, User] = {}
        for user in users:
            key = account_key(user)
            if key is None:
                raise ValueError("an account without any id cannot be stored")
            by_key[key] = user
        keys = sorted(by_key)  # one order for every writer: no deadlock between PostgreSQL writers
        known = self._known(connection, keys)
        stamp = now()
        ids = {key: row[0] for key, row in known.items()}
        new = [key for key in keys if key not in known]
        if new:
            ids.update(self._insert_accounts(connection, [(key, by_key[key]) for key in new], stamp))
        changed: list[dict[str, Any]] = []
        renamed: list[dict[str, Any]] = []
        for key in sorted(known):  # updates too lock rows in one order for every writer
            row, user = known[key], by_key[key]
            values = [getattr(user, name) for name in PROFILE]
            merged = [old if value is None else value for value, old in zip(values, row[1:], strict=True)]
            if merged == list(row[1:]):
                continue
            changed.append({"_id": row[0], "updated_at": stamp, **dict(zip(PROFILE, merged, strict=True))})
            old_name = row[_NAME]
            if old_name and user.unique_id and old_name.lower() != user.unique_id.lower():
                renamed.append(
                    {
                        "account_id": row[0],
                        "old_unique_id": old_name,
                        "new_unique_id": user.unique_id,
                        "seen_at": stamp,
                        "run": run,
                    }
                )
        if changed:
            connection.execute(
                update(accounts)
                .where(accounts.c.id == bindparam("_id"))
                .values({name: bindparam(name) for name in (*PROFILE, "updated_at")}),
                changed,
            )
        if renamed:
            connection.execute(renames.insert(), renamed)
        return [ids[account_key(user) or ""] for user in users]

    def _insert_accounts(
        self, connection: Connection, new: Sequence[tuple[str, User]], stamp: datetime
    ) -> dict[str, int]:
        """Insert accounts not seen before; another process may insert some first (its row wins)."""
        insert = _insert(self.store.dialect, accounts).on_conflict_do_nothing(
            index_elements=[accounts.c.account_key]
        )
        updated_at = _bound(connection, accounts.c.updated_at, stamp)
        values = attrgetter(*PROFILE)
        rows = [(key, *values(user), updated_at) for key, user in new]  # the table's column order
        _bulk(connection, insert, ("account_key", *PROFILE, "updated_at"), rows)
        # Their ids, including those of rows another process inserted first.
        return {key: row[0] for key, row in self._known(connection, [key for key, _ in new]).items()}

    def _known(self, connection: Connection, keys: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        """Stored accounts by key, as (id, *PROFILE) tuples."""
        found: dict[str, tuple[Any, ...]] = {}
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        # Plain SQL of our own constants: an expanding IN through SQLAlchemy costs more per
        # key than the look-up itself, and this runs for every account of every page.
        columns = ", ".join(PROFILE)  # constants; the keys themselves are bound parameters
        query = f"SELECT account_key, id, {columns} FROM accounts WHERE account_key IN "  # noqa: S608
        for start in range(0, len(keys), _CHUNK):
            chunk = tuple(keys[start : start + _CHUNK])
            placeholders = f"({', '.join([mark] * len(chunk))})"
            for row in connection.exec_driver_sql(query + placeholders, chunk).all():
                found[row[0]] = tuple(row[1:])
        return found


def _later_whole_runs(connection: Connection, list_id: int, snapshot_id: int) -> bool:
    """Whether a run of the list that may be complete started after ``snapshot_id``."""
    return bool(
        connection.execute(
            select(func.count())
            .select_from(snapshots)
            .where(snapshots.c.list_id == list_id, snapshots.c.id > snapshot_id, snapshots.c.whole)
        ).scalar_one()
    )


def _update(connection: Connection, ids: Sequence[int], **values: Any) -> None:
    """Set ``values`` on the memberships ``ids``, a chunk at a time."""
    for start in range(0, len(ids), _CHUNK):
        connection.execute(
            update(memberships).where(memberships.c.id.in_(ids[start : start + _CHUNK])).values(values)
        )


def _insert(dialect: str, table: Any) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (the same API on SQLite and PostgreSQL)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _bulk(
    connection: Connection, statement: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Run ``statement`` once per row through the driver's own executemany.

    The rows of a page are plain values already in the database's form (see ``_bound``),
    and SQLAlchemy's per-row parameter processing would cost more than the database's
    work: compiled once, the statement goes straight to the driver.
    """
    if not rows:
        return
    compiled = statement.compile(dialect=connection.dialect, column_keys=list(columns))
    if compiled.positional:  # SQLite's "?" placeholders
        order = [columns.index(name) for name in compiled.positiontup]
        if order != list(range(len(columns))):
            rows = [tuple(row[i] for i in order) for row in rows]
        connection.exec_driver_sql(compiled.string, rows)
    else:  # psycopg's %(name)s placeholders
        connection.exec_driver_sql(compiled.string, [dict(zip(columns, row, strict=True)) for row in rows])


def _bound(connection: Connection, column: Any, value: Any) -> Any:
    """``value`` as SQLAlchemy would send it for ``column`` (SQLite keeps times as text)."""
    process = column.type.bind_processor(connection.dialect)
    return process(value) if process is not None else value
