"""Writing to the store: snapshots of lists, and profiles with their counts.

Pages are buffered and written in one transaction by ``flush``, which the export calls
just before it saves its checkpoint: what the checkpoint says was written is in the
store too, and a resume re-fetches (and re-records, idempotently) only what came after.
Recording only ever opens intervals; ``finish`` of a *complete* snapshot is the one
place that ends them.
"""

from __future__ import annotations

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

RUNNING, COMPLETE, INCOMPLETE = "running", "complete", "incomplete"


def now() -> datetime:
    return datetime.now(timezone.utc)


def account_key(user: User) -> str | None:
    """How the store tells accounts apart: the same identity the export de-duplicates by."""
    return user.identity


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

    def begin(self, owner: User, kind: str, *, owner_name: str | None) -> int:
        """A new snapshot of ``owner``'s ``kind`` list; committed at once, so a checkpoint
        that names it always finds it."""
        with self.store.transaction() as connection:
            owner_id = self._accounts(connection, [owner], run=None)[0]
            list_id = self._list_id(connection, owner_id, kind)
            snapshot_id = connection.execute(
                snapshots.insert().returning(snapshots.c.id),
                {
                    "list_id": list_id,
                    "owner_name": owner_name,
                    "backend": self.backend,
                    "started_at": now(),
                    "status": RUNNING,
                    "rows": 0,
                },
            ).scalar_one()
        self._open[snapshot_id] = _Snapshot(snapshot_id, list_id)
        return int(snapshot_id)

    def resume(self, snapshot_id: int, kind: str, owner: User) -> bool:
        """Continue ``snapshot_id`` (named by a checkpoint), if this store holds it unfinished."""
        owner_key = account_key(owner)
        with self.store.transaction() as connection:
            row = connection.execute(
                select(snapshots.c.list_id, snapshots.c.rows, snapshots.c.status, accounts.c.account_key)
                .join(lists, lists.c.id == snapshots.c.list_id)
                .join(accounts, accounts.c.id == lists.c.owner_id)
                .where(snapshots.c.id == snapshot_id, lists.c.kind == kind)
            ).first()
            if row is None or row.status == COMPLETE or (owner_key and row.account_key != owner_key):
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
                snapshot.members[key] = user
        snapshot.rows, snapshot.total = rows, total if total is not None else snapshot.total

    def finish(
        self,
        snapshot_id: int,
        *,
        complete: bool,
        seen: Callable[[str], bool] | None = None,
        note: str | None = None,
    ) -> bool:
        """End the snapshot (after a ``flush``); returns whether it was recorded complete.

        A complete snapshot ends the open memberships it did not see: ``seen`` says, by
        account key, whether this run met a member (a resumed run knows the members its
        earlier part wrote from the export's checkpoint)."""
        snapshot = self._open.pop(snapshot_id)
        self._write(snapshot)
        with self.store.transaction() as connection:
            newer = connection.execute(
                select(func.count())
                .select_from(snapshots)
                .where(snapshots.c.list_id == snapshot.list_id, snapshots.c.id > snapshot.id)
            ).scalar_one()
            if complete and newer:
                # Another run of the same list started meanwhile: its intervals and ours
                # interleave, so ours may not end any.
                complete, note = False, "another run of this list started while it ran"
            if complete:
                assert seen is not None, "a complete snapshot needs to know whom it saw"
                self._end_unseen(connection, snapshot, seen)
            connection.execute(
                update(snapshots)
                .where(snapshots.c.id == snapshot.id)
                .values(
                    status=COMPLETE if complete else INCOMPLETE,
                    note=None if complete else note,
                    finished_at=now(),
                    rows=snapshot.rows,
                    reported_total=snapshot.total,
                )
            )
        return complete

    def _end_unseen(self, connection: Connection, snapshot: _Snapshot, seen: Callable[[str], bool]) -> None:
        """Close the open intervals of members ``snapshot`` did not meet. Members it did meet
        are not written at all, so an unchanged list costs no membership writes."""
        open_before = (
            select(memberships.c.id, accounts.c.account_key)
            .join(accounts, accounts.c.id == memberships.c.member_id)
            .where(
                memberships.c.list_id == snapshot.list_id,
                memberships.c.ended_run.is_(None),
                memberships.c.first_run < snapshot.id,
            )
        )
        # Per statement: Connection.execution_options would stream every later statement too.
        streamed = open_before.execution_options(stream_results=True, yield_per=_STREAM)
        gone = [row.id for row in connection.execute(streamed) if not seen(row.account_key)]
        if not gone:
            return
        # The last complete snapshot before this one saw every member still open then.
        previous = connection.execute(
            select(func.max(snapshots.c.id)).where(
                snapshots.c.list_id == snapshot.list_id,
                snapshots.c.id < snapshot.id,
                snapshots.c.status == COMPLETE,
            )
        ).scalar_one()
        last: ColumnElement[Any] = memberships.c.first_run
        if previous is not None:
            last = case((memberships.c.first_run > previous, memberships.c.first_run), else_=previous)
        for start in range(0, len(gone), _CHUNK):
            connection.execute(
                update(memberships)
                .where(memberships.c.id.in_(gone[start : start + _CHUNK]))
                .values(ended_run=snapshot.id, last_run=last)
            )

    # --- profiles -----------------------------------------------------------------------

    def observe(self, user: User, at: datetime | None = None) -> None:
        """Buffer a profile seen by user-info (or a list owner's look-up), with its counts."""
        self._profiles.append((user, at or now()))

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
        members, snapshot.members = list(snapshot.members.values()), {}
        with self.store.transaction() as connection:
            if members:
                ids = self._accounts(connection, members, run=snapshot.id)
                self._extend(connection, snapshot, sorted(set(ids)))
            connection.execute(
                update(snapshots)
                .where(snapshots.c.id == snapshot.id)
                .values(rows=snapshot.rows, reported_total=snapshot.total)
            )

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
