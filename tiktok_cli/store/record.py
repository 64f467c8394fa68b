"""Writing to the store: snapshots of lists, and profiles with their counts.

Pages are buffered and written in one transaction by ``flush``, which the export calls
just before it saves its checkpoint: what the checkpoint says was written is in the
store too, and a resume re-fetches (and re-records, idempotently) only what came after.

Recording only ever opens intervals; ``finish`` of a *covering* snapshot is the one place
that ends them, and only for a member that two covering snapshots in a row missed: the
first marks it missing, the second ends it (any run that sees it again clears the mark).
A complete snapshot covers its whole list. A window (TikTok serves only the newest part of
a long list, newest first; or a --new-only run stopped at members it knew) covers the open
members whose order key (memberships.position) is above its ``floor``, and nothing when
its floor is NULL; a member without a key is covered by complete snapshots only.

The order keys. Every member a run meets is placed in the run's sequence (page order, kept
across flushes and, through ``snapshots.progress``, across a resume in another process): a
member the list holds already (*known*: an interval opened by an earlier run) keeps its
key; each other one (and a known one without a key, recorded before keys existed) gets a
key between the member before it in the sequence and the next lower key of the list: the
run's first members above every key of the list, those below a known member just under it
(a run that may have started in the middle of the list, not ``whole``, gives none to the
members it meets before a known one: a window never covers a member without a key).
Keys are ``GAP`` apart; when a gap is used up, a whole run renumbers the list's keys (read
from the database), their order (and the floors of its snapshots) kept; a run that may
have started mid-list never renumbers: the member gets no key (no window covers it).

The anchor block: the deepest run of at least ``TIE_SPAN`` + 1 known members the run met
one after another (no new member between them; known members it gave their first key
count as known), each keyed below the one before. Without one, the run overlapped nothing
it can trust: it covers nothing (floor NULL) and its new members follow the rules for
runs that did not overlap. Known members met above the block with a key below all of
the block's unfollowed and followed again (TikTok lists them at the top, the
store has their old, deep keys): they get keys where the run met them, below the known
member before them, however many they are; they are no disorder and never the anchor.

The order check, over the other known members: their keys, in the run's sequence, must
decrease. Those off the longest decreasing run of them are out of order: met more than
``TIE_SPAN`` places above where their key places them, they followed again too (moved
as above); within ``TIE_SPAN`` places, a *tie* (two follows of one second, which TikTok
may swap); met further below, *displaced* (never moved). The order holds when none is
displaced and ties are at most max(5, known // 100); ``snapshots.disorder`` is 0 then,
else the number out of order, and the run ends and marks nothing (it still opens
intervals and clears marks): a list whose order the store cannot trust proves no member
gone. A window's floor is the highest key of the ``TIE_SPAN`` + 1 deepest members of its
anchor block (a margin for ties swapped at the window's edge); its anchor, the lowest key
of the block and of the known members below it. The floor is NULL when there is no anchor
block or the order broke, and two backstops make it NULL, marking and ending nothing,
with a note: another run renumbered the block's keys while this one ran (its cached keys
are stale), or the window missed more of the open members above its floor than the
shortfall rule (``far_short``) allows of the members it covered (its floor is wrong, not
that many members gone).

A snapshot's status: complete when the list was read to its end and is plausible
(``implausible``); a window when the run stopped at TikTok's cap or (--new-only) at known
members, or read to an end that the shortfall rule calls short after ``WINDOW_MIN_ROWS``
accounts or more; else incomplete. It is usable (complete or window) only if no later run
of its list that could be complete started meanwhile.

Why a run met a member it opened an interval for (memberships.arrival): below the anchor,
when the list's previous usable snapshot was a window, it is an old member come up into
view ("surfaced"); when a usable run met no known member at all while the list had open
members and its previous usable snapshot was no complete one (the windows did not
overlap), nothing proves it new ("unproven"), unless its page's follow time
(``followed_after``) is at or after the previous usable snapshot's start; so are the
members a run that may have started mid-list meets before a known one, until a whole run
lists them above a member the list had placed (then they are new: NULL again). Neither
is ever reported as followed.

Text is stored without NUL characters (PostgreSQL refuses them): each becomes U+FFFD.

An account is one row whichever ids an API gives this time (``same_account``): the
strongest id both a user and a stored row have decides (user id, then secUid, then
username), a row learns the ids it lacked, and two rows found to be one account are
merged. Times come from ``clock``: PostgreSQL's, so writers on several machines share one.
"""

from __future__ import annotations

import base64
import bisect
import dataclasses
import itertools
import json
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import attrgetter
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from tiktok_cli.models import WINDOW_MIN_ROWS, User, account_keys, far_short
from tiktok_cli.store import coverage
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
_IDS = tuple(PROFILE.index(name) for name in ("user_id", "sec_uid", "unique_id"))
_AVATAR = PROFILE.index("avatar_url")
# An account as read back to match users against: (id, account_key, *PROFILE, updated_at).
_STORED = ", ".join(("id", "account_key", *PROFILE, "updated_at"))
# Any constant, the same in every release: the key of PostgreSQL's lock on account keys.
_IDENTITY_LOCK = 0x7469_6B74_6964
# Keys per IN (...) query: far below SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500
# Rows fetched at a time when reading a whole list: memory stays flat however long it is.
_STREAM = 10_000

RUNNING, COMPLETE, INCOMPLETE, ABANDONED = "running", "complete", "incomplete", "abandoned"
WINDOW = "window"
USABLE = (COMPLETE, WINDOW)
# How many places apart two members may come swapped (a tie of follow times) before one of
# them is out of place; also the margin of a window's floor above its deepest known member.
TIE_SPAN = 2
# The distance between neighbouring order keys, and how many such gaps a run's first block
# (above every key of the list) and a renumbered gap being filled are given.
GAP = 1 << 20
RESERVE = 1 << 16
# What replaces a NUL in stored text (PostgreSQL's text cannot hold one).
NUL, REPLACEMENT = "\x00", "\ufffd"
_TEXT = ("user_id", "sec_uid", "unique_id", "nickname", "bio", "avatar_url")
_texts_of: Callable[[User], tuple[str | None, ...]] = attrgetter(*_TEXT)


def now() -> datetime:
    """This machine's clock: every writer of one SQLite file shares it."""
    return datetime.now(timezone.utc)


def clock(connection: Connection) -> datetime:
    """The store's time for what is written now: on PostgreSQL the server's clock, which
    every machine writing to it shares (theirs may be skewed); on SQLite ``now()``."""
    if connection.dialect.name == "postgresql":
        return connection.execute(select(func.clock_timestamp())).scalar_one()  # type: ignore[no-any-return]
    return now()


def storable(user: User) -> User:
    """``user`` as the store keeps it: its text without NUL (U+FFFD instead)."""
    if NUL not in "".join(filter(None, _texts_of(user))):  # nearly every account: one look
        return user
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

    if reported is not None and far_short(listed + skipped, reported):
        return f"the list ended after {listed:,} accounts, well short of the {reported:,} TikTok reports"
    if previous is None:
        return None
    snapshot, rows = previous
    if listed == 0 and rows > 0:
        return (
            f"the list came back empty, where the last complete snapshot (#{snapshot}) had {rows:,} accounts"
        )
    # A count from TikTok that agrees with the list vouches for a list that really shrank.
    if not reported and far_short(listed, rows):
        return (
            f"the list ended after {listed:,} accounts, well short of the {rows:,} of the last "
            f"complete snapshot (#{snapshot}), and TikTok gave no count to confirm it"
        )
    return None


def _without_signature(url: Any) -> Any:
    """An avatar URL without its query string: TikTok signs each with an expiry, so two
    fetches of an unchanged picture differ there only."""
    return url.split("?", 1)[0] if isinstance(url, str) else url


def _packed(numbers: list[int]) -> str:
    """Integers as short text, for ``snapshots.progress``, rewritten at every flush of a run:
    the steps between neighbours (the keys one run gives are GAP apart, nearly all alike),
    compressed. A 5,000-member window takes a few hundred bytes, not 80 kB."""
    steps = [after - before for before, after in zip([0, *numbers], numbers, strict=False)]
    return base64.b85encode(zlib.compress(json.dumps(steps, separators=(",", ":")).encode())).decode()


def _unpacked(text: str) -> list[int]:
    return list(itertools.accumulate(json.loads(zlib.decompress(base64.b85decode(text)))))


@dataclass(slots=True)
class _Sequence:
    """Where a run stands in its list's order; ``snapshots.progress`` keeps what a resume
    needs (``keys`` and ``placed`` are read again, or started afresh, by a new process)."""

    last: int | None = None  # the key of the last member of the run's sequence
    anchor: int | None = None  # the key of its deepest known member
    order: list[int] = field(default_factory=list)  # the keys known members had, in its order
    # Indexes in ``order`` before which the run met a new member: they split the known
    # members into blocks met one after another (the anchor block is one of them).
    breaks: list[int] = field(default_factory=list)
    known: int = 0  # known members met, those without a key included
    together: int = 0  # known members met one after another at its end, those without a key too
    overlap: bool = False  # whether it met more than TIE_SPAN of them one after another
    streak: int = 0  # known members in a row, in stored order, at its end
    # The list's keys when this process first wrote the run, ascending (None: not read yet),
    # and those it gave since, negated and ascending: as the run gives them in decreasing
    # order, each is appended, never inserted (a list of 50,000 would cost seconds).
    keys: list[int] | None = None
    given: list[int] = field(default_factory=list)
    placed: set[int] = field(default_factory=set)  # member ids this process met in the run
    # Unproven members it met above every keyed member so far: proven new (followed) once
    # it meets one the list had placed below them.
    proof: list[int] = field(default_factory=list)
    pages: list[coverage.Kept] = field(default_factory=list)  # each page's edges (coverage.py)

    def split(self) -> None:
        """A new member met here: the known members before and after it are two blocks."""
        self.together = 0
        if not self.breaks or self.breaks[-1] != len(self.order):
            self.breaks.append(len(self.order))

    def met_known(self) -> None:
        """A known member met here (with a key or without)."""
        self.known += 1
        self.together += 1
        self.overlap = self.overlap or self.together > TIE_SPAN

    def dump(self) -> str:
        fields = ("last", "anchor", "known", "streak", "together", "overlap")
        saved: dict[str, Any] = {name: getattr(self, name) for name in fields}
        pages = [number for page in self.pages for number in page]
        saved.update(order=_packed(self.order), breaks=_packed(self.breaks), pages=_packed(pages))
        return json.dumps(saved, separators=(",", ":"))

    @classmethod
    def load(cls, text: str | None) -> _Sequence:
        if not text:
            return cls()
        saved = json.loads(text)
        pages = _unpacked(saved["pages"])
        return cls(
            last=saved["last"],
            anchor=saved["anchor"],
            order=_unpacked(saved["order"]),
            breaks=_unpacked(saved["breaks"]),
            known=saved["known"],
            together=saved["together"],
            overlap=saved["overlap"],
            streak=saved["streak"],
            pages=[pages[start : start + 3] for start in range(0, len(pages), 3)],
        )

    def copy(self) -> _Sequence:
        """A copy to write with: the run's state changes only once the write commits."""
        # ``keys`` is never changed in place, only replaced: shared.
        return dataclasses.replace(
            self,
            order=list(self.order),
            breaks=list(self.breaks),
            given=list(self.given),
            placed=set(self.placed),
            proof=list(self.proof),
            pages=list(self.pages),
        )


@dataclass(slots=True)
class _Snapshot:
    id: int
    list_id: int
    rows: int = 0
    total: int | None = None
    whole: bool = True
    members: dict[str, User] = field(default_factory=dict)  # buffered, by account key
    followed_after: dict[str, datetime | None] = field(default_factory=dict)  # buffered, by key
    sequence: _Sequence = field(default_factory=_Sequence)
    # Whether the list had members marked missing when this run started writing (None: not
    # yet looked): only then does a page need to clear the marks of the members it shows.
    marked: bool | None = None
    pages: list[coverage.Buffered] = field(default_factory=list)  # buffered pages' edges


class Recorder:
    """Records list snapshots and profiles into ``store``, from one (the writing) thread."""

    def __init__(self, store: Store, backend: str) -> None:
        self.store = store
        self.backend = backend
        self._open: dict[int, _Snapshot] = {}
        self._profiles: list[tuple[User, datetime | None, str]] = []

    # --- snapshots ----------------------------------------------------------------------

    def begin(
        self,
        owner: User,
        list_name: str,
        *,
        owner_name: str | None,
        whole: bool = True,
        new_only: bool = False,
    ) -> int:
        """A new snapshot of ``owner``'s ``list_name`` list; committed at once, so a checkpoint
        that names it always finds it. ``whole``: the run reads the list from its first page
        without --limit, so it may end complete or a window (and only such a run keeps an
        older one of the list from being usable); ``new_only``: a --new-only run."""
        owner = storable(owner)
        with self.store.transaction() as connection:
            owner_id = self._accounts(connection, [owner], run=None)[0]
            list_id = self._list_id(connection, owner_id, list_name)
            snapshot_id = connection.execute(
                snapshots.insert().returning(snapshots.c.id),
                {
                    "list_id": list_id,
                    "owner_name": _text(owner_name),
                    "backend": self.backend,
                    "started_at": clock(connection),
                    "status": RUNNING,
                    "rows": 0,
                    "whole": whole,
                    "new_only": new_only,
                },
            ).scalar_one()
        self._open[snapshot_id] = _Snapshot(snapshot_id, list_id, whole=whole)
        return int(snapshot_id)

    def resume(self, snapshot_id: int, list_name: str, owner: User) -> bool:
        """Continue ``snapshot_id`` (named by a checkpoint), if this store holds it unfinished
        and no later run of its list that may be complete has started since: continuing it
        then would rewrite what that run recorded, so it stays incomplete, saying why. One
        that wrote rows but saved no place in the list (abandoned, which wipes it, or running
        when the store was migrated to keep it) is not continued either: it would start its
        sequence again at the top. The export then records a new snapshot."""
        owner_key = storable(owner).account_key
        with self.store.transaction() as connection:
            row = connection.execute(
                select(
                    snapshots.c.list_id,
                    snapshots.c.rows,
                    snapshots.c.status,
                    snapshots.c.whole,
                    snapshots.c.progress,
                    accounts.c.account_key,
                )
                .join(lists, lists.c.id == snapshots.c.list_id)
                .join(accounts, accounts.c.id == lists.c.owner_id)
                .where(snapshots.c.id == snapshot_id, lists.c.kind == list_name)
            ).first()
            if row is None or row.status in USABLE or (owner_key and row.account_key != owner_key):
                return False
            if row.rows and not row.progress:
                # Its place in the list is lost (wiped when it was abandoned, or never saved:
                # running when the store was migrated to keep it): continued, it would start
                # its sequence again at the top, under members it placed deeper. An abandoned
                # run keeps its note; another becomes incomplete, saying why.
                if row.status != ABANDONED:
                    _not_resumed(connection, snapshot_id, "its place in the list was not saved")
                return False
            if _later_whole_runs(connection, row.list_id, snapshot_id):
                _not_resumed(
                    connection, snapshot_id, "a later run of this list had started when this one was resumed"
                )
                return False
            connection.execute(
                update(snapshots)
                .where(snapshots.c.id == snapshot_id)
                .values(status=RUNNING, note=None, finished_at=None)
            )
        sequence = _Sequence.load(row.progress)
        self._open[snapshot_id] = _Snapshot(
            snapshot_id, row.list_id, rows=row.rows, whole=bool(row.whole), sequence=sequence
        )
        return True

    def add(
        self,
        snapshot_id: int,
        users: Iterable[User],
        *,
        rows: int,
        total: int | None,
        followed_after: datetime | None = None,
        skipped: int = 0,
    ) -> None:
        """Buffer a written page of the snapshot, its users in the list's order; ``rows`` is
        how many the list holds so far; ``followed_after``: the page's oldest follow time
        (from its cursor), kept on the intervals it opens; ``skipped``: the page's entries
        that were no account."""
        snapshot = self._open[snapshot_id]
        users = list(users)
        snapshot.pages.append(coverage.buffered([user.account_key for user in users], skipped))
        for user in users:
            key = user.account_key
            if key is not None:
                if key not in snapshot.members:  # a page repeated keeps the first place
                    snapshot.followed_after[key] = followed_after
                snapshot.members[key] = storable(user)
        snapshot.rows, snapshot.total = rows, total if total is not None else snapshot.total

    def known_streak(self, snapshot_id: int) -> int:
        """Write what is buffered; then how many known members, in stored order, end the
        run's sequence so far (a new member, or one out of order, starts it again at 0)."""
        snapshot = self._open[snapshot_id]
        self._write(snapshot)
        return snapshot.sequence.streak

    def last_full_run(self, owner: User, list_name: str) -> datetime | None:
        """When the latest usable snapshot of ``owner``'s list that was no --new-only run
        started (None: there is none)."""
        with self.store.transaction() as connection:
            groups = self._resolve(connection, [storable(owner)])
            owners = [row.id for group in groups for row in group.rows]
            if not owners:
                return None
            started: datetime | None = connection.execute(
                select(snapshots.c.started_at)
                .join(lists, lists.c.id == snapshots.c.list_id)
                .where(
                    lists.c.owner_id.in_(owners),
                    lists.c.kind == list_name,
                    snapshots.c.status.in_(USABLE),
                    snapshots.c.new_only.is_(False),
                )
                .order_by(snapshots.c.id.desc())
                .limit(1)
            ).scalar()
        return started

    def finish(
        self,
        snapshot_id: int,
        *,
        complete: bool,
        window: bool = False,
        seen: Callable[[str], bool] | None = None,
        note: str | None = None,
        skipped: int = 0,
    ) -> str | None:
        """End the snapshot (after a ``flush``). ``complete``: the list's end was read;
        ``window``: the run stopped at TikTok's cap, or (--new-only) at known members. The
        status is decided here (see the module's docstring). Returns why a run asked to be
        complete, or a window, was kept incomplete (None: usable, or not asked to be).

        A usable snapshot whose order held marks the open memberships it covered and did
        not see as missing, and ends those a covering snapshot before it had marked already:
        ``seen`` says, by account key, whether this run met a member (a resumed run knows
        the members its earlier part wrote from the export's checkpoint). ``skipped``: list
        entries that were no account, which TikTok's count includes. Older snapshots of the
        list still marked running (their process died) are marked abandoned."""
        snapshot = self._open[snapshot_id]
        self._write(snapshot)
        sequence = snapshot.sequence.copy()  # a failed finish leaves the run as it was
        refused = None
        with self.store.transaction() as connection:
            status = INCOMPLETE
            if complete or window:
                status, refused, note = self._status(connection, snapshot, window, note, skipped)
            block = anchor_block(sequence.order, sequence.breaks)
            # Re-followers: met above the anchor block with a key below all of its keys.
            refollowers = [] if block is None else _raised_above(sequence.order, block)
            moving = set(refollowers)
            rest = [index for index in range(len(sequence.order)) if index not in moving]
            # Members an earlier run moved up, which may be met back at their old place.
            returning = _moved_keys(connection, snapshot.list_id) if sequence.order else set()
            disorder, raised = order_check(
                [sequence.order[index] for index in rest], sequence.known, returning
            )
            if disorder:
                # Broken: nothing says who followed again; counted over every known member.
                refollowers = []
                disorder = max(disorder, order_check(sequence.order, sequence.known)[0])
            else:
                refollowers += [rest[index] for index in raised]
            if refollowers:
                self._move(connection, snapshot, sequence, refollowers)
            # The block's keys as this run knows them: another run may have renumbered them.
            cached = [] if block is None else sequence.order[block[0] : block[1]]
            floor = None
            if not disorder:  # a broken order keeps its deepest known member as the anchor
                sequence.anchor = None
            stale = bool(cached) and not _still_keyed(connection, snapshot.list_id, cached)
            if block is not None and not disorder and not stale:
                deepest = sequence.order[block[0] : block[1]][-(TIE_SPAN + 1) :]
                floor = max(deepest) if status == WINDOW else None
                # The deepest place the run knows: its block, or a known member below it that
                # kept the order (a new member above one the list had is a follow).
                sequence.anchor = min(sequence.order[block[0] :])
            if disorder and status in USABLE:
                broken = (
                    f"{disorder:,} of the members it met came in another order than earlier runs "
                    "recorded: it counts no member missing"
                )
                note = broken if note is None or status == COMPLETE else f"{note}; {broken}"
            elif stale and status == WINDOW:  # a complete run covers all, keys or not
                renumbered = (
                    "another run renumbered the list's order keys while it ran: it counts no member missing"
                )
                note = coverage.joined(note, renumbered)
            elif status == COMPLETE:
                note = None
            if status in USABLE and not disorder and (status == COMPLETE or floor is not None):
                assert seen is not None, "a usable snapshot needs to know whom it saw"
                covered, spared = self._end_unseen(connection, snapshot, seen, floor, status == COMPLETE)
                note = coverage.joined(note, spared)
                if not covered:
                    floor = sequence.anchor = None
                    short = (
                        "it missed too many of the members it covered for them to be unfollows: "
                        "it counts no member missing"
                    )
                    note = coverage.joined(note, short)
            self._arrivals(connection, snapshot, sequence, usable=status in USABLE)
            connection.execute(
                update(snapshots)
                .where(snapshots.c.id == snapshot.id)
                .values(
                    status=status,
                    note=_text(note),
                    finished_at=clock(connection),
                    rows=snapshot.rows,
                    reported_total=snapshot.total,
                    floor=floor,
                    # A few known members met apart (members who followed again) are no
                    # overlap: what lay between them and the list it knew went unseen.
                    known=sequence.known if sequence.overlap else 0,
                    disorder=disorder,
                    # An incomplete run may be resumed: it keeps its place in the list.
                    progress=sequence.dump() if status == INCOMPLETE else None,
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
                    progress=None,
                )
            )
        del self._open[snapshot_id]  # only now: a failed finish leaves it to be written again
        return refused

    def _status(
        self, connection: Connection, snapshot: _Snapshot, window: bool, note: str | None, skipped: int
    ) -> tuple[str, str | None, str | None]:
        """(status, why it was refused, note) of a run asked to be complete or a window."""
        if _later_whole_runs(connection, snapshot.list_id, snapshot.id):
            # Its intervals and those of the later run interleave: it may not end any. A run
            # that can never be usable (--limit, --cursor) does not count.
            concurrent = "another run of this list started while it ran"
            return INCOMPLETE, concurrent, concurrent
        if not snapshot.whole:  # it did not start at the list's first page
            return INCOMPLETE, None, note
        if window:
            return WINDOW, None, note
        rows, total = snapshot.rows, snapshot.total
        if total is not None and rows >= WINDOW_MIN_ROWS and far_short(rows + skipped, total):
            # A long list TikTok stopped serving without saying so: its newest part.
            return (
                WINDOW,
                None,
                f"the list ended after {rows:,} accounts of the {total:,} TikTok reports: "
                "recorded as a window of its newest part",
            )
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
        refused = implausible(rows, reported=total, skipped=skipped, previous=last)
        return (COMPLETE, None, None) if refused is None else (INCOMPLETE, refused, refused)

    def _arrivals(
        self, connection: Connection, snapshot: _Snapshot, sequence: _Sequence, *, usable: bool
    ) -> None:
        """Say which intervals this run opened came by no follow (memberships.arrival), the
        run's ``sequence`` as ``finish`` settled it (its anchor: from the anchor block)."""
        previous = connection.execute(
            select(snapshots.c.status, snapshots.c.started_at)
            .where(
                snapshots.c.list_id == snapshot.list_id,
                snapshots.c.id < snapshot.id,
                snapshots.c.status.in_(USABLE),
            )
            .order_by(snapshots.c.id.desc())
            .limit(1)
        ).first()
        opened = and_(
            memberships.c.list_id == snapshot.list_id,
            memberships.c.first_run == snapshot.id,
            memberships.c.ended_run.is_(None),
            memberships.c.arrival.is_(None),
        )
        anchor = sequence.anchor
        if anchor is not None and previous is not None and previous.status == WINDOW:
            # Below the deepest member the list held: the window it last read ended above it.
            connection.execute(
                update(memberships).where(opened, memberships.c.position < anchor).values(arrival="surfaced")
            )
        if not usable or sequence.overlap or (previous is not None and previous.status == COMPLETE):
            # It overlapped the list it knew (more than TIE_SPAN known members in a row), or
            # a complete snapshot before it saw the whole list: whatever it meets that is
            # new to the list came by a follow.
            return
        held = connection.execute(
            select(func.count())
            .select_from(memberships)
            .where(
                memberships.c.list_id == snapshot.list_id,
                memberships.c.ended_run.is_(None),
                memberships.c.first_run < snapshot.id,
            )
        ).scalar_one()
        if not held:
            return  # the list's first run: every member came by a follow, as far as anyone knows
        unproven = opened
        if previous is not None:
            # A follow time at or after the last usable run's start proves the follow.
            after = memberships.c.followed_after
            unproven = and_(opened, or_(after.is_(None), after < previous.started_at))
        connection.execute(update(memberships).where(unproven).values(arrival="unproven"))

    def _end_unseen(
        self,
        connection: Connection,
        snapshot: _Snapshot,
        seen: Callable[[str], bool],
        floor: int | None,
        complete: bool,
    ) -> tuple[bool, str | None]:
        """Mark the open intervals of members ``snapshot`` covered (every one, or with
        ``floor`` those keyed above it) and did not meet as missing, end those already
        missing from an earlier covering snapshot, and clear the mark of those met again.
        Other members it met are not written at all, so an unchanged list costs no
        membership writes. Members the run may have passed over unseen (coverage.py) are
        spared. Returns whether it counted any member missing at all (a window that missed
        more of the members it covered than the shortfall rule allows marks and ends
        nothing), and a sentence for the note when the sparing left out a complete run's tail."""
        covered: ColumnElement[bool] = memberships.c.list_id == snapshot.list_id
        if not complete:
            assert floor is not None
            covered = and_(covered, memberships.c.position > floor)
            # A member moved by a run whose order broke: a window must have passed both places.
            covered = and_(covered, or_(memberships.c.moved_from.is_(None), memberships.c.moved_from > floor))
        pages = snapshot.sequence.pages
        cover = coverage.Coverage.of(connection, snapshot.list_id, snapshot.id, pages, complete=complete)
        open_before = (
            select(
                memberships.c.id,
                memberships.c.first_run,
                memberships.c.missing_run,
                memberships.c.position,
                accounts.c.user_id,
                accounts.c.sec_uid,
                accounts.c.unique_id,
            )
            .join(accounts, accounts.c.id == memberships.c.member_id)
            .where(
                covered,
                memberships.c.ended_run.is_(None),
                or_(
                    memberships.c.first_run < snapshot.id,
                    # New members this run knows by username alone (see nameless_ids below).
                    and_(
                        memberships.c.first_run == snapshot.id,
                        accounts.c.user_id.is_(None),
                        accounts.c.sec_uid.is_(None),
                    ),
                ),
            )
        )
        # Per statement: Connection.execution_options would stream every later statement too.
        streamed = open_before.execution_options(stream_results=True, yield_per=_STREAM)
        back: list[int] = []  # missing before, met again: no change was ever reported
        # Missed for the first time, and missed again (id, first run, key, first missed);
        # each split by whether the account is known by a user id or secUid.
        missing: dict[bool, list[int]] = {True: [], False: []}
        gone: dict[bool, list[tuple[int, int, int | None, int]]] = {True: [], False: []}
        nameless_ids = False  # the run showed a member known only by its username
        kept = 0  # members it covered and met
        for row in connection.execute(streamed):
            strong = row.user_id is not None or row.sec_uid is not None
            # The run met the member under whichever id its API gave this time (one night's
            # pages may lack user ids): any of the account's ids counts.
            if any(seen(key) for key in account_keys(row.user_id, row.sec_uid, row.unique_id)):
                kept += 1
                nameless_ids = nameless_ids or not strong
                if row.missing_run is not None:
                    back.append(row.id)
            elif row.first_run == snapshot.id:
                continue  # opened by this run under a key it did not see: a merged account
            elif cover.spares(row.position):
                continue  # where the run may have passed it over (a page's edge, its tail)
            elif row.missing_run is None:
                missing[strong].append(row.id)
            else:
                gone[strong].append((row.id, row.first_run, row.position, int(row.missing_run)))
        missed = sum(map(len, missing.values())) + sum(map(len, gone.values()))
        if not complete and far_short(kept, missed + kept):
            # The backstop: a window whose floor is right misses few of the members above it
            # (the shortfall rule of models.py); one that missed many has its floor wrong
            # (say, at the old keys of members who followed again), not many unfollows.
            _update(connection, back, missing_run=None)
            return False, cover.note
        if nameless_ids:
            # A member known by its user id may be one of those shown by username alone,
            # under a new name: this run cannot tell, so it proves none of them gone.
            missing[True], gone[True] = [], []
        _update(connection, back, missing_run=None)
        _update(connection, missing[True] + missing[False], missing_run=snapshot.id)
        ended = gone[True] + gone[False]
        if not ended:
            return True, cover.note
        # The last run that saw each: the last usable snapshot before the one that first
        # missed it that covered it (which saw every member it covered still open then).
        covering = connection.execute(
            select(snapshots.c.id, snapshots.c.status, snapshots.c.floor, snapshots.c.disorder)
            .where(
                snapshots.c.list_id == snapshot.list_id,
                snapshots.c.id < max(first_missed for *_, first_missed in ended),
                snapshots.c.status.in_(USABLE),
            )
            .order_by(snapshots.c.id.desc())
        ).all()
        by_last: dict[int, list[int]] = {}
        for membership, first_run, position, first_missed in ended:
            last = first_run
            for run in covering:
                if run.id < first_run:
                    break
                window_covered = run.floor is not None and position is not None and run.floor < position
                if run.id < first_missed and (
                    run.status == COMPLETE or (not run.disorder and window_covered)
                ):
                    last = run.id
                    break
            by_last.setdefault(last, []).append(membership)
        for last, ids in sorted(by_last.items()):
            _update(connection, ids, ended_run=snapshot.id, last_run=last)
        return True, cover.note

    # --- profiles -----------------------------------------------------------------------

    def observe(self, user: User, at: datetime | None = None, *, backend: str | None = None) -> None:
        """Buffer a profile seen by user-info (or a list owner's look-up), with its counts:
        seen ``at`` (default: the store's time when written) by ``backend`` (default: the
        recorder's)."""
        self._profiles.append((storable(user), at, backend or self.backend))

    # --- writing ------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything buffered, in one transaction per snapshot."""
        for snapshot in self._open.values():
            self._write(snapshot)
        profiles = [profile for profile in self._profiles if profile[0].account_key is not None]
        self._profiles = []
        if not profiles:
            return
        with self.store.transaction() as connection:
            ids = self._accounts(connection, [user for user, _, _ in profiles], run=None)
            stamp = clock(connection) if any(at is None for _, at, _ in profiles) else None
            rows = [
                {
                    "account_id": account_id,
                    "observed_at": at or stamp,
                    "backend": backend,
                    **{name: getattr(user, name) for name in COUNTS},
                }
                for account_id, (user, at, backend) in zip(ids, profiles, strict=True)
                if any(getattr(user, name) is not None for name in COUNTS)
            ]
            if rows:
                connection.execute(observations.insert(), rows)

    def _write(self, snapshot: _Snapshot) -> None:
        members = list(snapshot.members.values())
        after = list(snapshot.followed_after.values())  # the same keys, in the same order
        sequence = snapshot.sequence.copy()
        with self.store.transaction() as connection:
            if members:
                ids = self._accounts(connection, members, run=snapshot.id)
                self._extend(connection, snapshot, sequence, ids, after)
            coverage.keep(
                connection,
                snapshot.id,
                sequence.pages,
                snapshot.pages,
                dict(zip(snapshot.members, ids, strict=True)) if members else {},
            )
            connection.execute(
                update(snapshots)
                .where(snapshots.c.id == snapshot.id)
                .values(
                    rows=snapshot.rows,
                    reported_total=snapshot.total,
                    known=sequence.known,
                    progress=sequence.dump(),
                )
            )
        # Only once committed: pages the store refused stay buffered, and the export saves
        # no checkpoint past them (it flushes first, and stops when that fails).
        snapshot.sequence = sequence
        snapshot.members.clear()
        snapshot.followed_after.clear()
        snapshot.pages.clear()

    def _extend(
        self,
        connection: Connection,
        snapshot: _Snapshot,
        sequence: _Sequence,
        ids: Sequence[int],
        after: Sequence[datetime | None],
    ) -> None:
        """Place the members ``ids`` (in the list's order) in the run's sequence: open an
        interval, with its order key, for each without an open one, give a key to a known
        one without; the others stay untouched."""
        if sequence.keys is None:
            sequence.keys = _keys(connection, snapshot.list_id)
        followed_after = dict(zip(reversed(ids), reversed(after), strict=True))  # a member's first
        member_ids = list(dict.fromkeys(ids))
        held = self._open_intervals(connection, snapshot.list_id, member_ids)
        new: list[list[Any]] = []  # [member, key, followed after, arrival]
        keyed: list[list[Any]] = []  # [member, key]: known, without a key so far
        proven: list[int] = []  # unproven members this run shows above a placed one
        met = set(sequence.order)
        for member in member_ids:
            if member in sequence.placed:
                continue  # a repeated page
            sequence.placed.add(member)
            found = held.get(member)
            if found is not None and (found[0] >= snapshot.id or found[1] in met):
                # Met by this run already: a page written before a restart and fetched
                # again (the checkpoint is saved just after the write), or repeated by the
                # API; the run's place stays where it was. (Or opened by a later run.)
                continue
            if found is not None and found[1] is not None:
                met.add(found[1])
                proven += sequence.proof
                sequence.proof = []
                key = found[1]
                in_order = not sequence.order or key < sequence.order[-1]
                sequence.streak = sequence.streak + 1 if in_order else 0
                sequence.order.append(key)
            elif sequence.last is None and not snapshot.whole:
                # A run that may have started in the middle of the list (--cursor) cannot
                # tell where its first members belong until it meets one the list knows: no
                # key, so no window counts them missing, and nothing proves them followed
                # (the next whole run that meets them above a placed member does).
                sequence.streak = 0
                if found is None:
                    sequence.split()
                    new.append([member, None, followed_after[member], "unproven"])
                else:
                    sequence.met_known()
                continue
            else:
                # Keys renumbered meanwhile move in what was read and not yet written too.
                pending = (new, keyed, list(held.values()))
                key = self._place(connection, snapshot.list_id, sequence, pending, whole=snapshot.whole)
                sequence.streak = 0
                if found is None:
                    sequence.split()
                    new.append([member, key, followed_after[member], None])
                elif key is not None:
                    keyed.append([member, key])
                    if not sequence.order and found[2] == "unproven":
                        sequence.proof.append(member)
            if found is not None:
                sequence.met_known()
                sequence.anchor = key
            if key is not None:  # none when a run that may not renumber found no room
                sequence.last = key
        statement = _insert(self.store.dialect, memberships).on_conflict_do_nothing(
            index_elements=[memberships.c.list_id, memberships.c.member_id],
            index_where=memberships.c.ended_run.is_(None),
        )
        column = memberships.c.followed_after
        rows = [
            (snapshot.list_id, member, snapshot.id, key, _bound(connection, column, time), arrival)
            for member, key, time, arrival in sorted(new)  # by member: the order every writer locks in
        ]
        columns = ("list_id", "member_id", "first_run", "position", "followed_after", "arrival")
        _bulk(connection, statement, columns, rows)
        for start in range(0, len(proven), _CHUNK):
            connection.execute(
                update(memberships)
                .where(
                    memberships.c.list_id == snapshot.list_id,
                    memberships.c.member_id.in_(sorted(proven)[start : start + _CHUNK]),
                    memberships.c.ended_run.is_(None),
                    memberships.c.arrival == "unproven",
                )
                .values(arrival=None)
            )
        if keyed:
            connection.execute(
                update(memberships)
                .where(
                    memberships.c.list_id == snapshot.list_id,
                    memberships.c.member_id == bindparam("_member"),
                    memberships.c.ended_run.is_(None),
                )
                .values(position=bindparam("_position")),
                [{"_member": member, "_position": key} for member, key in sorted(keyed)],
            )
        if snapshot.marked is None:
            snapshot.marked = bool(
                connection.execute(
                    select(func.count())
                    .select_from(memberships)
                    .where(
                        memberships.c.list_id == snapshot.list_id,
                        memberships.c.ended_run.is_(None),
                        memberships.c.missing_run.is_not(None),
                    )
                ).scalar_one()
            )
        if snapshot.marked:
            # Any run that shows a member, even one cut short, proves it is still there: a
            # member missed by one covering run and seen since is no longer on its way out.
            ordered = sorted(member_ids)
            for start in range(0, len(ordered), _CHUNK):
                connection.execute(
                    update(memberships)
                    .where(
                        memberships.c.list_id == snapshot.list_id,
                        memberships.c.member_id.in_(ordered[start : start + _CHUNK]),
                        memberships.c.ended_run.is_(None),
                        memberships.c.missing_run.is_not(None),
                    )
                    .values(missing_run=None)
                )

    def _open_intervals(
        self, connection: Connection, list_id: int, member_ids: Sequence[int]
    ) -> dict[int, list[Any]]:
        """The open intervals of these members in the list: [first run, key, arrival] by member."""
        found: dict[int, list[Any]] = {}
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        # Plain SQL, as in ``_select_in``: this runs for every member of every page.
        query = (
            "SELECT member_id, first_run, position, arrival FROM memberships "  # noqa: S608 - constants only
            f"WHERE list_id = {mark} AND ended_run IS NULL AND member_id IN "
        )
        for start in range(0, len(member_ids), _CHUNK):
            chunk = (list_id, *member_ids[start : start + _CHUNK])
            placeholders = f"({', '.join([mark] * (len(chunk) - 1))})"
            for member, first_run, position, arrival in connection.exec_driver_sql(
                query + placeholders, chunk
            ):
                found[int(member)] = [int(first_run), None if position is None else int(position), arrival]
        return found

    def _move(
        self, connection: Connection, snapshot: _Snapshot, sequence: _Sequence, moving: list[int]
    ) -> None:
        """Give the known members ``moving`` (indexes in ``sequence.order``: members who
        unfollowed and followed again, listed at the top with the key of their old place)
        new keys where this run met them, below the member before them in its order: left
        where they were, they would break the order of every run after this one. One read
        and one batched write, however many they are (a run that may have started mid-list
        renumbers no keys: one that finds no room is left where it was)."""
        list_id = snapshot.list_id
        if sequence.keys is None:
            sequence.keys = _keys(connection, list_id)
        order = [[index, key] for index, key in enumerate(sequence.order)]
        olds = sorted({order[index][1] for index in moving})
        intervals: dict[int, int] = {}  # by old key
        for start in range(0, len(olds), _CHUNK):
            for row_id, position in connection.execute(
                select(memberships.c.id, memberships.c.position).where(
                    memberships.c.list_id == list_id,
                    memberships.c.ended_run.is_(None),
                    memberships.c.position.in_(olds[start : start + _CHUNK]),
                )
            ):
                intervals[int(position)] = int(row_id)
        by_index = {index: intervals.get(order[index][1]) for index in moving}
        rekeyed: list[list[Any]] = []  # [interval id, new key]: renumbered with the list
        # Where the run stands, kept for a resume (renumbered with the list too).
        tail: list[list[Any]] = [[None, sequence.last]]
        for index in sorted(moving):  # each below the one before it, moved already or not
            old = order[index][1]
            keys = sequence.keys
            at = bisect.bisect_left(keys, old)
            interval = by_index[index]
            if interval is None or at == len(keys) or keys[at] != old:
                continue  # moved by another writer meanwhile: left where it is
            sequence.keys = keys[:at] + keys[at + 1 :]
            sequence.last = order[index - 1][1] if index else None
            key = self._place(connection, list_id, sequence, (order, rekeyed, tail), whole=snapshot.whole)
            if key is None:
                sequence.keys = keys  # no room, and no renumbering: it stays where it was
                continue
            rekeyed.append([interval, key])
            order[index][1] = key
        if rekeyed:
            connection.execute(
                update(memberships)
                .where(memberships.c.id == bindparam("_id"))
                .values(
                    position=bindparam("_position"),
                    # Where it stood before its first move: a window covers it only past both.
                    moved_from=func.coalesce(memberships.c.moved_from, memberships.c.position),
                ),
                [{"_id": row_id, "_position": key} for row_id, key in rekeyed],
            )
        sequence.order = [key for _, key in order]
        sequence.last = tail[0][1]

    def _place(
        self,
        connection: Connection,
        list_id: int,
        sequence: _Sequence,
        pending: tuple[list[list[Any]], ...],
        *,
        whole: bool,
    ) -> int | None:
        """A key for the member after ``sequence.last``: below it, above the next lower key of
        the list (the run's first member: above every key). ``pending``: rows of keys given
        but not written yet, renumbered with the list when its keys are. When no room is
        left, a ``whole`` run renumbers the list's keys; another one (it can never be usable)
        gives no key (None): a member without a key is covered by no window, so never missed."""
        keys, given = sequence.keys, sequence.given
        assert keys is not None
        above = sequence.last
        if above is None:
            key = max(keys[-1] if keys else 0, -given[0] if given else 0) + GAP * RESERVE
        else:
            index = bisect.bisect_left(keys, above)
            lower = keys[index - 1] if index else None
            index = bisect.bisect_right(given, -above)
            if index < len(given) and (lower is None or -given[index] > lower):
                lower = -given[index]
            if lower is None or above - lower > 2 * GAP:
                key = above - GAP
            elif above - lower >= 2:
                key = above - (above - lower) // 2
            elif not whole:
                return None
            else:  # no room left between them (rare): spread the list's keys out again
                self._renumber(connection, list_id, sequence, pending)
                return self._place(connection, list_id, sequence, pending, whole=whole)
        bisect.insort(given, -key)
        return key

    def _renumber(
        self,
        connection: Connection,
        list_id: int,
        sequence: _Sequence,
        pending: tuple[list[list[Any]], ...],
    ) -> None:
        """Give the list's keys ``GAP`` apart again, in their order, with room for ``RESERVE``
        more just below the run's last member; the floors of its snapshots move with them.
        The keys are read from the database (another run may have written or moved some
        since this one cached them), with those this run gave and has not written yet."""
        unwritten: set[int] = {row[1] for rows in pending for row in rows if row[1] is not None}
        old = sorted({*_keys(connection, list_id), *(-key for key in sequence.given), *unwritten})
        new: list[int] = []
        value = 0
        for key in old:
            value += GAP * RESERVE if key == sequence.last else GAP
            new.append(value)
        mapping = dict(zip(old, new, strict=True))

        def moved(key: int) -> int:
            """A key's new value; for a floor between keys, that of the next key below it."""
            if key in mapping:
                return mapping[key]
            index = bisect.bisect_right(old, key) - 1
            return new[index] if index >= 0 else new[0] - GAP

        # Where a moved member stood before (``moved_from``) moves with the keys too.
        changed = [
            {
                "_id": row_id,
                "_position": moved(int(position)),
                "_moved_from": None if moved_from is None else moved(int(moved_from)),
            }
            for row_id, position, moved_from in connection.execute(
                select(memberships.c.id, memberships.c.position, memberships.c.moved_from).where(
                    memberships.c.list_id == list_id, memberships.c.position.is_not(None)
                )
            )
        ]
        if changed:
            connection.execute(
                update(memberships)
                .where(memberships.c.id == bindparam("_id"))
                .values(position=bindparam("_position"), moved_from=bindparam("_moved_from")),
                changed,
            )
        floors = connection.execute(
            select(snapshots.c.id, snapshots.c.floor).where(
                snapshots.c.list_id == list_id, snapshots.c.floor.is_not(None)
            )
        ).all()
        if floors:
            connection.execute(
                update(snapshots).where(snapshots.c.id == bindparam("_id")).values(floor=bindparam("_floor")),
                [{"_id": snapshot_id, "_floor": moved(int(floor))} for snapshot_id, floor in floors],
            )
        sequence.keys, sequence.given = new, []
        sequence.last = None if sequence.last is None else moved(sequence.last)
        sequence.anchor = None if sequence.anchor is None else moved(sequence.anchor)
        sequence.order = [moved(key) for key in sequence.order]
        for rows in pending:
            for row in rows:
                if row[1] is not None:
                    row[1] = moved(row[1])

    def _list_id(self, connection: Connection, owner_id: int, list_name: str) -> int:
        insert = _insert(self.store.dialect, lists)
        connection.execute(insert.on_conflict_do_nothing(), {"owner_id": owner_id, "kind": list_name})
        return int(
            connection.execute(
                select(lists.c.id).where(lists.c.owner_id == owner_id, lists.c.kind == list_name)
            ).scalar_one()
        )

    def _accounts(self, connection: Connection, users: Sequence[User], *, run: int | None) -> list[int]:
        """The store ids of ``users`` (in order), creating or updating their profiles and
        noting each change of username (as seen by snapshot ``run``).

        A user is matched to the stored accounts it is the same person as (``same_account``):
        one stored before under a weaker id learns the stronger one, and two stored rows
        that turn out to be one account are merged into one.
        """
        by_key: dict[str, User] = {}
        for user in users:
            key = user.account_key
            if key is None:
                raise ValueError("an account without any id cannot be stored")
            by_key[key] = user
        incoming = [by_key[key] for key in sorted(by_key)]  # one order for every writer
        merge = True
        if connection.dialect.name == "postgresql":
            # Writers that only read and update accounts share this lock; one that merges
            # two rows (deleting one) takes it alone, so no writer ever holds the id of an
            # account another deletes, and no two merges cross. It is each transaction's
            # first lock, taken in one order by all: no deadlock.
            merge = any(len(group.rows) > 1 for group in self._resolve(connection, incoming))
            lock = "pg_advisory_xact_lock" if merge else "pg_advisory_xact_lock_shared"
            connection.exec_driver_sql(f"SELECT {lock}({_IDENTITY_LOCK})")
        groups = self._resolve(connection, incoming)  # again on PostgreSQL: under the lock
        stamp = clock(connection)
        ids: dict[str, int] = {}
        new: list[tuple[str, tuple[Any, ...]]] = []
        fresh: list[tuple[_Group, str]] = []  # the groups of ``new``
        changed: list[tuple[_Stored, str, tuple[Any, ...]]] = []
        renamed: list[dict[str, Any]] = []
        for group in groups:
            profile = group.profile()
            key = _strongest(profile)
            if not group.rows:
                new.append((key, profile))
                fresh.append((group, key))
                continue
            winner = group.rows[0]
            if len(group.rows) > 1:
                winner = next((row for row in group.rows if row.key == key), winner)
                for row in group.rows:
                    if row is not winner and merge:
                        self._merge(connection, winner.id, row.id)
            for user in group.users:
                ids[user.account_key or ""] = winner.id
            stored = winner.profile
            if key != winner.key or (profile != stored and _meaningful(profile) != _meaningful(stored)):
                changed.append((winner, key, profile))
            old_name = stored[_NAME - 1] if len(group.rows) == 1 else group.stored_name()
            new_name = profile[_NAME - 1]
            if old_name and new_name and old_name.lower() != new_name.lower():
                renamed.append(
                    {
                        "account_id": winner.id,
                        "old_unique_id": old_name,
                        "new_unique_id": new_name,
                        "seen_at": stamp,
                        "run": run,
                    }
                )
        if new:
            inserted = self._insert_accounts(connection, new, stamp)
            for group, key in fresh:
                for user in group.users:
                    ids[user.account_key or ""] = inserted[key]
        if changed:
            self._update_accounts(connection, changed, stamp)
        if renamed:
            connection.execute(renames.insert(), renamed)
        return [ids[user.account_key or ""] for user in users]

    def _update_accounts(
        self, connection: Connection, changed: list[tuple[_Stored, str, tuple[Any, ...]]], stamp: datetime
    ) -> None:
        """Write new profiles, by ascending id: the one order every writer locks rows in."""
        changed.sort(key=lambda item: item[0].id)
        statement = (
            update(accounts)
            .where(accounts.c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in (*PROFILE, "updated_at")})
        )
        rows = [
            {"_id": row.id, "updated_at": stamp, **dict(zip(PROFILE, profile, strict=True))}
            for row, _, profile in changed
        ]
        if all(key == row.key for row, key, _ in changed):
            connection.execute(statement, rows)
            return
        for (row, key, _), values in zip(changed, rows, strict=True):  # rare: one at a time, in order
            if key == row.key:
                connection.execute(statement, values)
                continue
            # An account known by a weaker id so far is keyed by its strongest from now on.
            # Another writer may have stored that key as a new account meanwhile: then this
            # one keeps its key, and a later run that meets both merges them.
            try:
                with connection.begin_nested():
                    connection.execute(statement.values(account_key=key), values)
            except IntegrityError:
                connection.execute(statement, values)

    def _resolve(self, connection: Connection, users: Sequence[User]) -> list[_Group]:
        """``users`` grouped with the stored accounts each is the same person as."""
        user_keys = [account_keys(user.user_id, user.sec_uid, user.unique_id) for user in users]
        keys = set(itertools.chain.from_iterable(user_keys))
        secs: set[str] = set()  # of users without a user id: stored ones may have one
        names: set[str] = set()  # of users missing an id: they may be known by name alone
        for user in users:
            if user.sec_uid and not user.user_id:
                secs.add(user.sec_uid)
            if user.unique_id and not (user.user_id and user.sec_uid):
                names.add(user.unique_id.lower())
        stored = self._known(connection, "account_key", sorted(keys))
        if secs:
            stored.update(self._known(connection, "sec_uid", sorted(secs)))
        if names:
            stored.update(self._known(connection, "lower(unique_id)", sorted(names)))
        return same_account(users, list(stored.values()), user_keys)

    def _merge(self, connection: Connection, winner: int, loser: int) -> None:
        """Make the stored account ``loser`` part of ``winner`` (one person stored twice):
        its intervals, renames, observations and lists become the winner's."""
        _move_intervals(connection, "member_id", winner, loser)
        for table in (renames, observations):
            connection.execute(update(table).where(table.c.account_id == loser).values(account_id=winner))
        named = select(lists.c.kind, lists.c.id)
        theirs = {row.kind: row.id for row in connection.execute(named.where(lists.c.owner_id == loser))}
        ours = {row.kind: row.id for row in connection.execute(named.where(lists.c.owner_id == winner))}
        for list_name, list_id in theirs.items():
            if list_name not in ours:
                connection.execute(update(lists).where(lists.c.id == list_id).values(owner_id=winner))
                continue
            # Both recorded this list: one list, its runs in snapshot order.
            connection.execute(
                update(snapshots).where(snapshots.c.list_id == list_id).values(list_id=ours[list_name])
            )
            _move_intervals(connection, "list_id", ours[list_name], list_id)
            connection.execute(lists.delete().where(lists.c.id == list_id))
        connection.execute(accounts.delete().where(accounts.c.id == loser))

    def _insert_accounts(
        self, connection: Connection, new: Sequence[tuple[str, tuple[Any, ...]]], stamp: datetime
    ) -> dict[str, int]:
        """Insert accounts not seen before; another process may insert some first (its row wins)."""
        insert = _insert(self.store.dialect, accounts).on_conflict_do_nothing(
            index_elements=[accounts.c.account_key]
        )
        updated_at = _bound(connection, accounts.c.updated_at, stamp)
        rows = [(key, *profile, updated_at) for key, profile in new]  # the table's column order
        _bulk(connection, insert, ("account_key", *PROFILE, "updated_at"), rows)
        # Their ids, including those of rows another process inserted first.
        return _ids_by_key(connection, [key for key, _ in new])

    def _known(self, connection: Connection, column: str, values: Sequence[str]) -> dict[int, _Stored]:
        """Stored accounts whose ``column`` (an expression of our own) is one of ``values``, by id."""
        found: dict[int, _Stored] = {}
        for row in _select_in(connection, _STORED, column, values):
            stored = _Stored(int(row[0]), row[1], tuple(row[2:-1]), row[-1])
            found[stored.id] = stored
        return found


def _ids_by_key(connection: Connection, keys: Sequence[str]) -> dict[str, int]:
    """The ids of the stored accounts with these keys: two columns, not the whole profile."""
    return {
        key: int(account_id)
        for key, account_id in _select_in(connection, "account_key, id", "account_key", keys)
    }


def _select_in(connection: Connection, columns: str, column: str, values: Sequence[str]) -> list[Any]:
    """``columns`` of the accounts whose ``column`` is one of ``values`` (all our own constants)."""
    rows: list[Any] = []
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    # Plain SQL of our own constants: an expanding IN through SQLAlchemy costs more per
    # key than the look-up itself, and this runs for every account of every page.
    query = f"SELECT {columns} FROM accounts WHERE {column} IN "  # noqa: S608 - constants only
    for start in range(0, len(values), _CHUNK):
        chunk = tuple(values[start : start + _CHUNK])
        placeholders = f"({', '.join([mark] * len(chunk))})"
        rows += connection.exec_driver_sql(query + placeholders, chunk).all()
    return rows


def anchor_block(order: Sequence[int], breaks: Sequence[int]) -> tuple[int, int] | None:
    """The run's anchor block, as (start, end) indexes in ``order`` (the keys of the known
    members it met, in its order; ``breaks``: where it met new members between them): the
    deepest run of at least ``TIE_SPAN`` + 1 known members met one after another, each with
    a key below the one before it (None: no such run, the run overlapped nothing it can trust)."""
    end = len(order)
    cuts = set(breaks)
    while end > TIE_SPAN:
        start = end - 1
        while start > 0 and start not in cuts and order[start - 1] > order[start]:
            start -= 1
        if end - start > TIE_SPAN:
            return start, end
        end = start
    return None


def _raised_above(order: Sequence[int], block: tuple[int, int]) -> list[int]:
    """The indexes of the members met above ``block`` whose key is below every key of it:
    members who unfollowed and followed again (TikTok lists them at the top again). Below
    its lowest key, not its highest: a member TikTok lists far below its place may head the
    block, and would make every member above it look followed again. Those followed again
    with a key inside the block's range are found by the order check (met above their place)."""
    lowest = min(order[block[0] : block[1]])
    return [index for index in range(block[0]) if order[index] < lowest]


def order_check(
    keys: Sequence[int], known: int, returning: Collection[int] = frozenset()
) -> tuple[int, list[int]]:
    """How many of the known members a run met (their stored ``keys``, in the run's order)
    came out of order, when the order does not hold (0 when it does: module docstring), and
    the indexes in ``keys`` of those whose keys move to where the run met them: those met
    more than a tie above where their key places them (members who followed again), and
    those met below it whose key an earlier run moved up (``returning``: back at their old
    place after one night of a broken order, they would break every later run's order)."""
    if len(keys) < 2:
        return 0, []
    # The longest strictly decreasing subsequence (patience sorting on the negated keys).
    tails: list[int] = []  # per length, the least negated key that ends such a sequence
    ends: list[int] = []  # ... and its index
    before = [-1] * len(keys)
    for index, key in enumerate(keys):
        place = bisect.bisect_left(tails, -key)
        if place == len(tails):
            tails.append(-key)
            ends.append(index)
        else:
            tails[place], ends[place] = -key, index
        before[index] = ends[place - 1] if place else -1
    kept: set[int] = set()
    index = ends[-1]
    while index != -1:
        kept.add(index)
        index = before[index]
    out = [index for index in range(len(keys)) if index not in kept]
    if not out:
        return 0, []
    # Where each member's key belongs among them: a tie is at most TIE_SPAN places away.
    rank = {index: place for place, index in enumerate(sorted(range(len(keys)), key=lambda i: -keys[i]))}
    raised = [index for index in out if rank[index] - index > TIE_SPAN]
    # Met below where its key places it: never moved (unless it returns to where an earlier
    # run moved it from), disorder beyond a tie.
    lowered = [index for index in out if index - rank[index] > TIE_SPAN]
    back = [index for index in lowered if keys[index] in returning]
    displaced = [index for index in lowered if keys[index] not in returning]
    ties = len(out) - len(raised) - len(lowered)
    if not displaced and ties <= max(5, known // 100):
        return 0, sorted(raised + back)
    return len(out), raised  # broken: none of them is known to have followed again


def _not_resumed(connection: Connection, snapshot_id: int, why: str) -> None:
    """Keep a snapshot a resume does not continue incomplete, saying ``why``."""
    connection.execute(
        update(snapshots)
        .where(snapshots.c.id == snapshot_id)
        .values(status=INCOMPLETE, note=f"{why}: the resume was recorded as a new snapshot", progress=None)
    )


def _moved_keys(connection: Connection, list_id: int) -> set[int]:
    """The keys of the list's open members that a run moved (``moved_from``): few."""
    query = select(memberships.c.position).where(
        memberships.c.list_id == list_id,
        memberships.c.ended_run.is_(None),
        memberships.c.moved_from.is_not(None),
        memberships.c.position.is_not(None),
    )
    return {int(key) for key in connection.execute(query).scalars()}


def _still_keyed(connection: Connection, list_id: int, keys: Sequence[int]) -> bool:
    """Whether the list's open intervals still hold every one of ``keys`` (a run's cached
    anchor block): another run may have renumbered the list's keys meanwhile."""
    found = 0
    for start in range(0, len(keys), _CHUNK):
        found += connection.execute(
            select(func.count())
            .select_from(memberships)
            .where(
                memberships.c.list_id == list_id,
                memberships.c.ended_run.is_(None),
                memberships.c.position.in_(list(keys[start : start + _CHUNK])),
            )
        ).scalar_one()
    return found == len(set(keys))


def _keys(connection: Connection, list_id: int) -> list[int]:
    """Every order key of the list, ascending."""
    query = select(memberships.c.position).where(
        memberships.c.list_id == list_id, memberships.c.position.is_not(None)
    )
    return [int(key) for key in connection.execute(query.order_by(memberships.c.position)).scalars()]


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


@dataclass(slots=True)
class _Stored:
    """An account row: its id, key, profile (PROFILE order) and when it was last written."""

    id: int
    key: str
    profile: tuple[Any, ...]
    updated_at: Any  # comparable between the rows of one store


@dataclass(slots=True)
class _Group:
    """Users of one write and stored rows found to be one account (rows by id)."""

    users: list[User]
    rows: list[_Stored]

    def profile(self) -> tuple[Any, ...]:
        """What is known of the account: the newest row's values over older rows', and what
        the users of this write say over all (a value they lack keeps what was known)."""
        if len(self.users) == 1 and len(self.rows) <= 1:  # nearly every account: kept quick
            given = _profile_of(self.users[0])
            if not self.rows:
                return given
            stored = self.rows[0].profile
            return tuple(old if value is None else value for value, old in zip(given, stored, strict=True))
        values: list[Any] = [None] * len(PROFILE)
        sources = [row.profile for row in self.newest_last()]
        sources += [_profile_of(user) for user in self.users]
        for source in sources:
            values = [old if value is None else value for value, old in zip(source, values, strict=True)]
        return tuple(values)

    def stored_name(self) -> str | None:
        """The username the store last saw the account by."""
        named = [row for row in self.newest_last() if row.profile[_NAME - 1]]
        return named[-1].profile[_NAME - 1] if named else None

    def newest_last(self) -> list[_Stored]:
        if len(self.rows) < 2:
            return self.rows
        return sorted(self.rows, key=lambda row: (row.updated_at, row.id))


def same_account(
    users: Sequence[User], rows: Sequence[_Stored], user_keys: Sequence[list[str]] | None = None
) -> list[_Group]:
    """Group ``users`` with the stored ``rows`` that are the same account as they, and
    with each other: the strongest id both sides have decides (user id, then secUid, then
    username), so ids that differ keep two accounts apart whatever their names. Groups of
    rows alone are left out. ``user_keys``: each user's ``account_keys``, when known.
    """
    if user_keys is None:
        user_keys = [account_keys(user.user_id, user.sec_uid, user.unique_id) for user in users]
    if not all(user.user_id and (user.sec_uid or not user.unique_id) for user in users):
        return _search(users, rows)
    # Every user has a user id, and every row was found by a key of a user (no look-up by
    # secUid or name was needed, see ``_resolve``): a user whose weaker keys name no row and
    # no other user is the account stored under its user id, or a new one. That is nearly
    # every user.
    by_key = {row.key: row for row in rows}
    uses = Counter(itertools.chain.from_iterable(user_keys))
    shared = {key for key, count in uses.items() if count > 1}
    shared.update(by_key.keys() & {key for keys in user_keys for key in keys[1:]})
    found: list[_Group] = []
    paired: set[int] = set()
    rest: list[User] = []
    for user, keys in zip(users, user_keys, strict=True):
        if shared and not shared.isdisjoint(keys):
            rest.append(user)
            continue
        row = by_key.get(keys[0])
        found.append(_Group([user], [] if row is None else [row]))
        if row is not None:
            paired.add(row.id)
    if rest:
        found += _search(rest, [row for row in rows if row.id not in paired])
    return found


_profile_of: Callable[[User], tuple[Any, ...]] = attrgetter(*PROFILE)


def _search(users: Sequence[User], rows: Sequence[_Stored]) -> list[_Group]:
    """``same_account`` for the users and rows whose ids meet others': a union of those
    that share an id, level by level, never joining two whose stronger ids differ."""
    # A username passes from account to account: the row that held it last comes first.
    newest_first = sorted(rows, key=lambda row: (row.updated_at, row.id), reverse=True)
    items: list[User | _Stored] = [*users, *newest_first]
    ids = [
        (item.user_id, item.sec_uid, item.unique_id)
        if isinstance(item, User)
        else tuple(item.profile[i] for i in _IDS)
        for item in items
    ]
    # Per group (its first item's index): the user ids, secUids and items it holds.
    held = [
        ({uid} if uid else set(), {sec} if sec else set(), [index]) for index, (uid, sec, _) in enumerate(ids)
    ]
    of = list(range(len(items)))  # union-find: an item's group

    def find(index: int) -> int:
        while of[index] != index:
            of[index] = of[of[index]]
            index = of[index]
        return index

    def compatible(a: int, b: int, level: int) -> bool:
        (uids_a, secs_a, _), (uids_b, secs_b, _) = held[a], held[b]
        if uids_a and uids_b and uids_a.isdisjoint(uids_b):
            return False
        return level < 2 or not (secs_a and secs_b and secs_a.isdisjoint(secs_b))

    for level in range(3):  # user id, secUid, username: the strongest first
        holder: dict[str, int] = {}
        for index, values in enumerate(ids):
            value = values[level]
            if not value:
                continue
            value = value.lower() if level == 2 else value
            if value not in holder:
                holder[value] = index
                continue
            a, b = find(holder[value]), find(index)
            if a != b and compatible(a, b, level):
                held[a][0].update(held[b][0])
                held[a][1].update(held[b][1])
                held[a][2].extend(held[b][2])
                of[b] = a
    groups = []
    for index in range(len(items)):
        if find(index) != index:
            continue
        members = [items[i] for i in held[index][2]]
        group = _Group(
            [item for item in members if isinstance(item, User)],
            sorted((item for item in members if isinstance(item, _Stored)), key=lambda row: row.id),
        )
        if group.users:
            groups.append(group)
    return groups


def _strongest(profile: tuple[Any, ...]) -> str:
    """The key a profile is stored under: its strongest id (``account_keys``' first)."""
    user_id = profile[_IDS[0]]
    return "id:" + user_id if user_id else account_keys(*(profile[i] for i in _IDS))[0]


def _meaningful(profile: tuple[Any, ...]) -> tuple[Any, ...]:
    """A profile as compared for a change: an avatar's new signature alone is none."""
    return (*profile[:_AVATAR], _without_signature(profile[_AVATAR]), *profile[_AVATAR + 1 :])


def _move_intervals(connection: Connection, moved: str, winner: int, loser: int) -> None:
    """Move the membership intervals of ``loser`` to ``winner`` (``moved`` says which
    column: a member's, or a list's). A list holds one open interval per member: where both
    have one open, the winner's keeps the earlier start and the loser's goes."""
    other = "list_id" if moved == "member_id" else "member_id"
    m, o = memberships, memberships.alias("o")
    loser_open = select(o.c.first_run).where(
        o.c[moved] == loser, o.c[other] == m.c[other], o.c.ended_run.is_(None)
    )
    connection.execute(
        update(m)
        .where(
            m.c[moved] == winner,
            m.c.ended_run.is_(None),
            loser_open.where(o.c.first_run < m.c.first_run).exists(),
        )
        .values(first_run=loser_open.scalar_subquery())
    )
    winner_open = select(o.c.id).where(
        o.c[moved] == winner, o.c[other] == m.c[other], o.c.ended_run.is_(None)
    )
    connection.execute(m.delete().where(m.c[moved] == loser, m.c.ended_run.is_(None), winner_open.exists()))
    connection.execute(update(m).where(m.c[moved] == loser).values({moved: winner}))


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
