"""Windows: recording the newest part of a list TikTok caps, and what changed through them.

The recording API (``Recorder``) is driven as the export drives it, page by page, over a
synthetic newest-first list of 2,000 followers of which TikTok serves the newest 100 (or
what a test says), and ``StoreReader.changes`` reads the changes back; on SQLite and on a
real PostgreSQL server (``db_target``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from helpers import query

from tiktok_cli.models import User
from tiktok_cli.seen import SeenAccounts
from tiktok_cli.store import open_store, record
from tiktok_cli.store.read import Snapshot, StoreReader
from tiktok_cli.store.record import Recorder

START = datetime(2026, 3, 1, 3, 0, tzinfo=timezone.utc)
OWNER = User(unique_id="alice", user_id="6754915036232582149")
BASE = 10_000  # member n is the account with user id BASE + n
FIRST = list(range(2_000))  # the first generation of the list, newest first
CAP = 100


class Clock:
    """The recorder's clock: every reading is one minute after the one before."""

    def __init__(self) -> None:
        self.moment = START

    def __call__(self) -> datetime:
        self.moment += timedelta(minutes=1)
        return self.moment


class Tracker:
    """Runs over alice's followers as the export records them, and their changes."""

    def __init__(self, target: str, clock: Clock) -> None:
        self.target = target
        self.clock = clock
        self.store = open_store(target, create=True)
        self.recorder = Recorder(self.store, "tkapi")
        self.reader = StoreReader(self.store)
        self.names: dict[int, str] = {}  # members renamed since the first generation

    def user(self, member: int) -> User:
        return User(unique_id=self.names.get(member, f"fan{member}"), user_id=str(BASE + member))

    def pages(self, listed: Sequence[int], *, cap: int = CAP, size: int = 25) -> list[list[int]]:
        shown = list(listed[:cap])
        return [shown[start : start + size] for start in range(0, len(shown), size)]

    def run(
        self,
        listed: Sequence[int],
        *,
        cap: int = CAP,
        pages: Sequence[Sequence[int]] | None = None,
        window: bool | None = None,
        total: int | None = None,
        new_only: int | None = None,
        followed_after: Callable[[int], datetime | None] = lambda page: None,
    ) -> int:
        """One run over the list ``listed`` (newest first) of which TikTok serves ``cap``,
        in ``pages`` (default: 25 a page); a window when ``listed`` goes on past ``cap``.
        ``new_only``: stop at this many known members in a row (--new-only)."""
        pages = self.pages(listed, cap=cap) if pages is None else pages
        if window is None:
            window = len(listed) > cap
        snapshot = self.recorder.begin(OWNER, "followers", owner_name="alice", new_only=new_only is not None)
        seen = SeenAccounts().scoped("alice")
        rows = 0
        for number, page in enumerate(pages):
            users = [self.user(member) for member in page]
            for user in users:
                seen.claim(user)
            rows += len(users)
            reported = len(listed) if total is None else total
            self.recorder.add(
                snapshot, users, rows=rows, total=reported, followed_after=followed_after(number)
            )
            self.recorder.flush()
            if new_only is not None and self.recorder.known_streak(snapshot) >= new_only:
                window = True
                break
        self.recorder.finish(snapshot, complete=not window, window=window, seen=seen.has)
        return snapshot

    def snapshot(self, snapshot_id: int) -> Snapshot:
        found = self.reader.snapshot(snapshot_id)
        assert found is not None
        return found

    def changes(self, older: int, newer: int) -> dict[str, set[int]]:
        """The members followed, unfollowed and renamed from snapshot ``older`` to ``newer``."""
        found: dict[str, set[int]] = {"followed": set(), "unfollowed": set(), "renamed": set()}
        for change in self.reader.changes(self.snapshot(older), self.snapshot(newer)):
            found[change.change].add(int(change.member["user_id"]) - BASE)
        return found


@pytest.fixture
def tracker(db_target: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracker]:
    clock = Clock()
    monkeypatch.setattr(record, "now", clock)
    monkeypatch.setattr(record, "clock", lambda connection: clock())  # PostgreSQL's server clock too
    tracked = Tracker(db_target, clock)
    yield tracked
    tracked.store.close()


@pytest.fixture
def engine(db_target: str) -> Iterator[sa.Engine]:
    from helpers import sqlalchemy_url

    made = sa.create_engine(sqlalchemy_url(db_target), poolclass=sa.pool.NullPool)
    yield made
    made.dispose()


def nothing(followed: set[int] | None = None, unfollowed: set[int] | None = None) -> dict[str, set[int]]:
    return {"followed": followed or set(), "unfollowed": unfollowed or set(), "renamed": set()}


def in_key_order(engine: sa.Engine) -> list[int]:
    """The open members of the list that have an order key, highest first."""
    rows = query(
        engine,
        "SELECT a.user_id FROM memberships m JOIN accounts a ON a.id = m.member_id "
        "JOIN lists l ON l.id = m.list_id WHERE m.ended_run IS NULL AND l.kind = 'followers' "
        "AND m.position IS NOT NULL "
        "ORDER BY m.position DESC",
    )
    return [int(user_id) - BASE for (user_id,) in rows]


def marked(engine: sa.Engine) -> list[tuple[int, int]]:
    """(member, snapshot) of every interval marked missing or ended."""
    rows = query(
        engine,
        "SELECT a.user_id, coalesce(m.ended_run, m.missing_run) FROM memberships m "
        "JOIN accounts a ON a.id = m.member_id WHERE m.missing_run IS NOT NULL OR m.ended_run IS NOT NULL "
        "ORDER BY 1",
    )
    return [(int(user_id) - BASE, int(run)) for user_id, run in rows]


def arrivals(engine: sa.Engine, arrival: str) -> set[int]:
    rows = query(
        engine,
        "SELECT a.user_id FROM memberships m JOIN accounts a ON a.id = m.member_id "
        "WHERE m.arrival = :arrival",
        arrival=arrival,
    )
    return {int(user_id) - BASE for (user_id,) in rows}


def count(engine: sa.Engine, table: str = "memberships") -> int:
    return int(query(engine, f"SELECT count(*) FROM {table}")[0][0])  # the test's own names


# --- what changed inside the windows --------------------------------------------------------

REMOVED_INSIDE, REMOVED_BELOW = {10, 20, 30}, {500, 1_500}
NEW = list(range(2_009, 1_999, -1))  # ten followers, newest first
SECOND = [*NEW, *(member for member in FIRST if member not in REMOVED_INSIDE | REMOVED_BELOW)]


@pytest.mark.parametrize("gap", ["wide", "narrow"])
def test_windows_report_exactly_what_changed_inside_them(
    tracker: Tracker, engine: sa.Engine, gap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if gap == "narrow":  # keys so close that they are renumbered again and again: the order holds
        monkeypatch.setattr(record, "GAP", 4)
        monkeypatch.setattr(record, "RESERVE", 2)
    first = tracker.run(FIRST)
    tracker.names[5] = "fan5_renamed"
    second = tracker.run(SECOND)
    # Ten new followers, three gone inside the window (missed once: not yet gone), one renamed;
    # the two gone below it, and the seven pushed below it, are no change.
    assert tracker.changes(first, second) == {"followed": set(NEW), "unfollowed": set(), "renamed": {5}}
    assert marked(engine) == [(10, second), (20, second), (30, second)]
    third = tracker.run(SECOND)  # missed by a second covering run: gone
    assert tracker.changes(second, third) == nothing(unfollowed=REMOVED_INSIDE)
    assert tracker.changes(first, third) == {
        "followed": set(NEW),
        "unfollowed": REMOVED_INSIDE,
        "renamed": {5},
    }
    assert marked(engine) == [(10, third), (20, third), (30, third)]
    for snapshot, known in ((first, 0), (second, 90), (third, 100)):
        shown = tracker.snapshot(snapshot)
        assert (shown.status, shown.known, shown.disorder, shown.rows) == ("window", known, 0, CAP)
    assert tracker.snapshot(first).floor is None  # the list's first run covers nothing it knew
    # The keys keep the list's order, those of members that left the window too.
    assert in_key_order(engine) == [member for member in SECOND if member in set(FIRST[:CAP]) | set(NEW)]
    last_seen = query(engine, "SELECT DISTINCT last_run FROM memberships WHERE ended_run IS NOT NULL")
    assert last_seen == [(first,)]


def test_renumbered_keys_keep_the_list_order_and_what_each_window_covers(
    tracker: Tracker, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record, "GAP", 4)  # room for a handful of members between two keys
    monkeypatch.setattr(record, "RESERVE", 2)
    tracker.run(FIRST)
    second = tracker.run(SECOND)

    def covered(snapshot: int) -> list[int]:
        rows = query(
            engine,
            "SELECT a.user_id FROM memberships m JOIN accounts a ON a.id = m.member_id "
            "JOIN snapshots s ON s.id = :run WHERE m.position > s.floor ORDER BY m.position DESC",
            run=snapshot,
        )
        return [int(user_id) - BASE for (user_id,) in rows]

    before = covered(second)
    keys = "SELECT position FROM memberships ORDER BY id"
    placed = query(engine, keys)
    # Five members the store never met, below the second window's floor: their keys need
    # room there, so every key above it moves, the second window's floor with them.
    block = list(range(2_104, 2_099, -1))
    at = SECOND.index(95) + 1
    listed = [*SECOND[:at], *block, *SECOND[at:]]
    third = tracker.run(listed, cap=110)
    assert query(engine, keys)[: len(placed)] != placed  # the keys were renumbered
    assert covered(second) == before
    stored = {*NEW, *FIRST[:CAP], *block}
    assert in_key_order(engine) == [member for member in listed if member in stored]
    assert tracker.changes(second, third) == nothing(followed=set(block), unfollowed=REMOVED_INSIDE)


def test_members_come_up_into_the_window_are_never_followed(tracker: Tracker, engine: sa.Engine) -> None:
    first = tracker.run(FIRST)
    # (Eight: a window that misses more than a tenth of what it covers proves nothing gone.)
    gone = set(range(40, 48))
    second = tracker.run([member for member in FIRST if member not in gone])
    # Eight left inside the window: 100 to 107, older followers, come up into it.
    assert arrivals(engine, "surfaced") == set(range(100, 108))
    assert tracker.changes(first, second) == nothing()
    third = tracker.run([2_000, *(member for member in FIRST if member not in gone)])
    assert tracker.changes(first, third) == nothing(followed={2_000}, unfollowed=gone)
    assert tracker.changes(second, third) == nothing(followed={2_000}, unfollowed=gone)


def test_windows_that_do_not_overlap_prove_no_unfollow_and_no_unproven_follow(
    tracker: Tracker, engine: sa.Engine
) -> None:
    first = tracker.run(FIRST)
    started = tracker.snapshot(first).started_at
    newer = list(range(3_000, 2_850, -1))  # 150 follows since: more than the window holds
    # The first page's follow time (its cursor) proves its 25 new; nothing proves the others.

    def proof(page: int) -> datetime | None:
        return started + timedelta(seconds=30) if page == 0 else None

    second = tracker.run([*newer, *FIRST], followed_after=proof)
    shown = tracker.snapshot(second)
    assert (shown.status, shown.known, shown.floor, shown.disorder) == ("window", 0, None, 0)
    assert arrivals(engine, "unproven") == set(newer[25:CAP])
    assert tracker.changes(first, second) == nothing(followed=set(newer[:25]))
    since = {
        int(change.member["user_id"]) - BASE: change.since
        for change in tracker.reader.changes(tracker.snapshot(first), shown)
    }
    assert set(since.values()) == {started + timedelta(seconds=30)}  # the follow time, tighter
    third = tracker.run([*newer, *FIRST])
    assert tracker.changes(first, third) == nothing(followed=set(newer[:25]))
    assert tracker.changes(second, third) == nothing()
    assert marked(engine) == []  # the first window's members are below every window since


def test_a_broken_order_proves_nothing_gone(tracker: Tracker, engine: sa.Engine) -> None:
    small = list(range(30))
    first = tracker.run(small)
    shuffled = [member for member in small if member >= 5]
    random.Random(24).shuffle(shuffled)
    second = tracker.run(shuffled)  # complete, but in an order no earlier run had
    shown = tracker.snapshot(second)
    assert shown.status == "complete" and shown.disorder and shown.disorder > 5
    assert shown.note is not None and "order" in shown.note
    assert marked(engine) == []  # a complete run whose order breaks marks nothing either
    in_order = [member for member in small if member >= 5]
    third = tracker.run(in_order)
    fourth = tracker.run(in_order)
    assert marked(engine) == [(member, fourth) for member in range(5)]
    assert tracker.changes(third, fourth) == nothing(unfollowed=set(range(5)))
    # Through the broken run: no unfollowed rows at all.
    assert tracker.changes(first, fourth) == nothing()
    assert tracker.changes(second, fourth) == nothing()


def test_a_shuffled_window_proves_nothing_gone(tracker: Tracker, engine: sa.Engine) -> None:
    first = tracker.run(FIRST)
    top = [member for member in FIRST[:CAP] if member % 10]
    random.Random(7).shuffle(top)
    second = tracker.run([*top, *FIRST[CAP:]])
    third = tracker.run([*top, *FIRST[CAP:]])
    assert tracker.snapshot(second).disorder and tracker.snapshot(second).floor is None
    assert marked(engine) == []
    assert tracker.changes(first, third) == nothing()


def test_a_member_who_follows_again_is_moved_where_tikok_lists_it_and_breaks_no_order(
    tracker: Tracker, engine: sa.Engine
) -> None:
    tracker.run(FIRST)
    again = [50, *(member for member in FIRST if member != 50)]  # unfollowed and followed again
    second = tracker.run(again)
    assert tracker.snapshot(second).disorder == 0  # its old key, far below the top: followed again
    assert in_key_order(engine)[:2] == [50, 0]  # now placed where TikTok lists it
    without = [member for member in again if member != 20]
    third = tracker.run(without)
    fourth = tracker.run(without)
    assert [tracker.snapshot(run).disorder for run in (third, fourth)] == [0, 0]
    assert tracker.changes(third, fourth) == nothing(unfollowed={20})


def test_ties_swapped_at_the_windows_edge_are_never_unfollowed(tracker: Tracker, engine: sa.Engine) -> None:
    first = tracker.run(FIRST)
    # Two follows of one second, which TikTok lists either way: swapped at the top, and at
    # the edge, where the window now ends between 99 and 98.
    swapped = [1, 0, *FIRST[2:98], 99, 98, *FIRST[100:]]
    second = tracker.run(swapped, cap=99)
    third = tracker.run(swapped, cap=99)
    assert [tracker.snapshot(run).disorder for run in (second, third)] == [0, 0]
    assert marked(engine) == []
    assert tracker.changes(first, third) == nothing()


def test_an_empty_window_an_early_end_or_a_repeated_page_never_unfollow(
    tracker: Tracker, engine: sa.Engine
) -> None:
    first = tracker.run(FIRST)
    pages = tracker.pages(FIRST)
    runs = [
        tracker.run(FIRST, pages=[[]]),  # a window of nothing
        tracker.run(FIRST, pages=[[]], window=False),  # "the end" on an empty first page
        tracker.run(FIRST, pages=[], window=True),
        tracker.run(FIRST, pages=pages[:2], window=False),  # the end after 50 of 2,000
        tracker.run(FIRST, pages=[pages[0], pages[1], pages[1], pages[0], *pages[2:]]),  # repeats
        tracker.run(FIRST, pages=[pages[0], pages[1], pages[1], pages[0], *pages[2:]]),
        tracker.run(FIRST, pages=pages[:2], window=True),
        tracker.run(FIRST, pages=pages[:2], window=True),
    ]
    statuses = [tracker.snapshot(run).status for run in runs]
    assert statuses == ["window", "incomplete", "window", "incomplete", *["window"] * 4]
    assert marked(engine) == []
    assert count(engine) == CAP  # and no member placed twice
    for run in runs:
        if tracker.snapshot(run).usable:
            assert tracker.changes(first, run) == nothing()
    assert in_key_order(engine) == FIRST[:CAP]


def test_a_resumed_run_continues_its_sequence(tracker: Tracker, engine: sa.Engine) -> None:
    first = tracker.run(FIRST)
    new = list(range(2_059, 1_999, -1))  # sixty follows: the first two pages, ten of the third
    listed = [*new, *[member for member in FIRST if member != 30]]
    pages = tracker.pages(listed)
    snapshot = tracker.recorder.begin(OWNER, "followers", owner_name="alice")
    for number, page in enumerate(pages[:3], start=1):
        tracker.recorder.add(snapshot, [tracker.user(m) for m in page], rows=25 * number, total=len(listed))
        tracker.recorder.flush()
    # The process is killed here (nothing more is written); another resumes the run.
    with open_store(tracker.target, create=True) as store:
        recorder = Recorder(store, "tkapi")
        assert recorder.resume(snapshot, "followers", OWNER)
        # The checkpoint was saved before the third page's write: it is fetched again.
        for number, page in enumerate(pages[2:], start=3):
            recorder.add(snapshot, [tracker.user(m) for m in page], rows=25 * number, total=len(listed))
            recorder.flush()
        seen = SeenAccounts().scoped("alice")
        for member in listed[:CAP]:
            seen.claim(tracker.user(member))
        assert recorder.finish(snapshot, complete=False, window=True, seen=seen.has) is None
    shown = tracker.snapshot(snapshot)
    assert (shown.status, shown.known, shown.disorder) == ("window", 40, 0)
    assert in_key_order(engine) == [*new, *FIRST[:CAP]]
    assert marked(engine) == [(30, snapshot)]
    assert tracker.changes(first, snapshot) == nothing(followed=set(new))
    assert query(engine, "SELECT progress FROM snapshots") == [(None,), (None,)]
    again = tracker.run(listed)  # 30 missed twice: gone
    assert tracker.changes(first, again) == nothing(followed=set(new), unfollowed={30})


def test_runs_that_may_start_in_the_middle_place_no_member_a_window_could_miss(
    tracker: Tracker, engine: sa.Engine
) -> None:
    first = tracker.run(FIRST)
    recorder = tracker.recorder
    # --cursor: a run from the middle of the list, far below the window; --limit: a peek at
    # its top. Neither is whole: neither can tell where members it meets first belong.
    for members in (range(500, 525), [2_001, 2_000, 0, 1]):
        snapshot = recorder.begin(OWNER, "followers", owner_name="alice", whole=False)
        recorder.add(snapshot, [tracker.user(m) for m in members], rows=len(members), total=2_002)
        recorder.finish(snapshot, complete=False)
    unplaced = query(engine, "SELECT count(*) FROM memberships WHERE position IS NULL")
    assert unplaced == [(27,)]
    assert arrivals(engine, "unproven") == {*range(500, 525), 2_000, 2_001}
    listed = [2_001, 2_000, *FIRST]
    tracker.run(listed)
    third = tracker.run(listed)
    assert marked(engine) == []  # 500 to 524, unseen by both windows, are not missed
    assert in_key_order(engine)[:3] == [2_001, 2_000, 0]  # placed by the first window to meet them
    # Listed above members the first window had, the peek's two are new: followed. Nothing
    # proves those of the middle new.
    assert arrivals(engine, "unproven") == set(range(500, 525))
    assert tracker.changes(first, third) == nothing(followed={2_000, 2_001})


# --- what a run writes ------------------------------------------------------------------------


def test_a_second_identical_window_writes_no_membership_row(tracker: Tracker, engine: sa.Engine) -> None:
    tracker.run(FIRST)
    before = query(engine, "SELECT * FROM memberships ORDER BY id")
    second = tracker.run(FIRST)
    assert query(engine, "SELECT * FROM memberships ORDER BY id") == before
    assert len(before) == CAP
    assert tracker.snapshot(second).status == "window"


def test_an_incremental_window_writes_only_its_new_members(tracker: Tracker, engine: sa.Engine) -> None:
    first = tracker.run(FIRST)
    before = count(engine)
    new = [2_002, 2_001, 2_000]
    incremental = tracker.run([*new, *FIRST], new_only=20)  # stops after its first page
    shown = tracker.snapshot(incremental)
    assert (shown.status, shown.new_only, shown.known, shown.rows) == ("window", True, 22, 25)
    assert count(engine) == before + 3
    assert tracker.changes(first, incremental) == nothing(followed=set(new))
    assert tracker.recorder.last_full_run(OWNER, "followers") == tracker.snapshot(first).started_at
    # It covers the top of the list only: a member gone below it is no concern of it.
    later = tracker.run([2_003, *new, *(member for member in FIRST if member not in (3, 50))], new_only=20)
    assert marked(engine) == [(3, later)]


def test_the_known_streak_counts_known_members_in_stored_order(tracker: Tracker) -> None:
    tracker.run(FIRST)
    recorder = tracker.recorder
    snapshot = recorder.begin(OWNER, "followers", owner_name="alice", new_only=True)
    streaks = []
    for rows, page in enumerate([[0, 1], [2_000], [2, 3, 4], [6, 5], [7, 8]], start=1):
        recorder.add(snapshot, [tracker.user(member) for member in page], rows=rows, total=2_001)
        streaks.append(recorder.known_streak(snapshot))
    assert streaks == [2, 0, 3, 0, 2]  # a new member, and one out of order, start it again
    recorder.finish(snapshot, complete=False)
    assert recorder.last_full_run(User(unique_id="nobody", user_id="1"), "followers") is None


def test_a_long_list_that_ends_well_short_of_tikoks_count_is_a_window(tracker: Tracker) -> None:
    long = tracker.run(list(range(1_200)), cap=1_200, total=5_000)  # "the end", after 1,200
    shown = tracker.snapshot(long)
    assert shown.status == "window" and shown.note is not None and "5,000" in shown.note
    snapshot = tracker.recorder.begin(OWNER, "followers", owner_name="alice")
    tracker.recorder.add(snapshot, [tracker.user(m) for m in range(50)], rows=50, total=5_000)
    refused = tracker.recorder.finish(snapshot, complete=True, seen=lambda key: True)
    assert refused is not None and "short" in refused  # a short list's early end: incomplete
    assert tracker.snapshot(snapshot).status == "incomplete"


def test_members_recorded_before_keys_existed_get_keys_and_count_as_known(
    tracker: Tracker, engine: sa.Engine
) -> None:
    listed = list(range(150))
    first = tracker.run(listed, cap=200)
    with engine.begin() as connection:  # as a store of schema 0004 left them
        connection.execute(sa.text("UPDATE memberships SET position = NULL"))
    second = tracker.run(listed)
    shown = tracker.snapshot(second)
    # They are known (no follow), but their place was unknown: the run covers nothing.
    assert (shown.status, shown.known, shown.floor) == ("window", CAP, None)
    assert tracker.changes(first, second) == nothing()
    assert in_key_order(engine)[:CAP] == listed[:CAP]
    tracker.run(listed[1:])
    fourth = tracker.run(listed[1:])
    assert marked(engine) == [(0, fourth)]
    assert tracker.changes(first, fourth) == nothing(unfollowed={0})


# --- members who follow again, lost places, renumbered keys (review of #24) -------------------


def window(tracker: Tracker, members: Sequence[int], *, recorder: Recorder | None = None) -> int:
    """One run that stops at TikTok's cap after ``members`` (newest first), finished."""
    snapshot, seen = started(tracker, members, recorder=recorder)
    (recorder or tracker.recorder).finish(snapshot, complete=False, window=True, seen=seen)
    return snapshot


def started(
    tracker: Tracker, members: Sequence[int], *, recorder: Recorder | None = None, whole: bool = True
) -> tuple[int, Callable[[str], bool]]:
    """A run that has written ``members`` (newest first) and is not finished yet."""
    recorder = recorder or tracker.recorder
    snapshot = recorder.begin(OWNER, "followers", owner_name="alice", whole=whole)
    seen = SeenAccounts().scoped("alice")
    users = [tracker.user(member) for member in members]
    for user in users:
        seen.claim(user)
    if users:
        recorder.add(snapshot, users, rows=len(users), total=100_000)
        recorder.flush()
    return snapshot, seen.has


def test_a_window_whose_only_known_members_followed_again_proves_nothing_gone(
    tracker: Tracker, engine: sa.Engine
) -> None:
    # More new followers than the window holds, and three who unfollowed and followed again
    # (TikTok lists them at the top; the store has their old, deep keys).
    first = window(tracker, list(range(100)))
    window(tracker, [*range(5_000, 5_050), 50, 60, 70, *range(5_050, 5_097)])
    third = window(tracker, [*range(6_000, 6_050), 10, 20, 30, *range(6_050, 6_097)])
    assert marked(engine) == []
    assert tracker.snapshot(third).floor is None
    assert tracker.snapshot(third).note == (
        "it missed too many of the members it covered for them to be unfollows: it counts no member missing"
    )
    assert tracker.changes(first, third)["unfollowed"] == set()


def test_new_followers_below_members_who_followed_again_are_followed(
    tracker: Tracker, engine: sa.Engine
) -> None:
    first = window(tracker, list(range(100)))
    second = window(tracker, [*range(5_000, 5_050), 50, 60, 70, *range(5_050, 5_097)])
    assert arrivals(engine, "surfaced") == set()
    assert tracker.changes(first, second)["followed"] == set(range(5_000, 5_097))


def test_members_who_followed_again_are_moved_even_when_they_outnumber_those_below(
    tracker: Tracker, engine: sa.Engine
) -> None:
    window(tracker, list(range(200)))
    # Five follow again at the top, 91 new followers, and the window ends on 0..3.
    window(tracker, [*range(150, 155), *range(5_000, 5_091), 0, 1, 2, 3])
    old = [member for member in in_key_order(engine) if member < 200]
    assert old[:9] == [150, 151, 152, 153, 154, 0, 1, 2, 3]
    third = window(tracker, [*range(6_000, 6_096), 0, 1, 2, 3])
    fourth = window(tracker, [*range(7_000, 7_096), 0, 1, 2, 3])
    assert tracker.changes(third, fourth)["unfollowed"] == set()
    # Only the five (gone from the third run's list) were ever missed, none of those below.
    assert {member for member, _ in marked(engine) if member < 200} <= set(range(150, 155))


def test_many_members_who_follow_again_at_once_are_moved_and_later_orders_hold(
    tracker: Tracker, engine: sa.Engine
) -> None:
    window(tracker, list(range(200)))
    listed = [*range(80, 86), *range(80), *range(86, 200)]  # six followed again
    runs = [window(tracker, listed)]
    listed.remove(5)  # and 5 really unfollows
    runs += [window(tracker, listed) for _ in range(3)]
    assert [tracker.snapshot(run).disorder for run in runs] == [0, 0, 0, 0]
    assert in_key_order(engine)[:7] == [80, 81, 82, 83, 84, 85, 0]
    assert tracker.changes(runs[1], runs[2]) == nothing(unfollowed={5})


def test_a_run_whose_place_in_the_list_was_lost_is_not_continued(tracker: Tracker, engine: sa.Engine) -> None:
    window(tracker, list(range(100)))
    listed = list(range(300))
    # A run reading deeper is killed after its first 100; a --limit run finishing meanwhile
    # marks it abandoned (its progress is wiped).
    killed, _ = started(tracker, listed[:100], recorder=Recorder(tracker.store, "tkapi"))
    run, seen = started(tracker, listed[:10], whole=False)
    tracker.recorder.finish(run, complete=False, seen=seen)
    assert not Recorder(tracker.store, "tkapi").resume(killed, "followers", OWNER)
    shown = tracker.snapshot(killed)
    assert shown.status == "abandoned" and shown.note and shown.note.startswith("abandoned")
    # The resumed export starts a new snapshot, from the top.
    window(tracker, listed[:200])
    third, fourth = window(tracker, listed[:100]), window(tracker, listed[:100])
    assert tracker.changes(third, fourth) == nothing()
    # One still running when the store was migrated to keep progress: incomplete, not continued.
    lost, _ = started(tracker, listed[:50], recorder=Recorder(tracker.store, "tkapi"))
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE snapshots SET progress = NULL WHERE id = :id"), {"id": lost})
    assert not Recorder(tracker.store, "tkapi").resume(lost, "followers", OWNER)
    assert tracker.snapshot(lost).status == "incomplete"


@pytest.mark.parametrize("gap", ["wide", "narrow"])
def test_a_run_that_may_start_mid_list_never_renumbers_the_keys_under_an_open_window(
    tracker: Tracker, engine: sa.Engine, gap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if gap == "narrow":
        monkeypatch.setattr(record, "GAP", 4)
        monkeypatch.setattr(record, "RESERVE", 2)
    listed = list(range(300))
    first = tracker.run(listed, cap=300)
    other = Recorder(tracker.store, "tkapi")  # another process: a --cursor run
    for at, extra in ((250, 1_000), (260, 1_100)):
        last, seen = started(tracker, listed[:100])
        squeezed = [at, *range(extra, extra + 30), at + 1]  # more than fit between two keys
        run, other_seen = started(tracker, squeezed, recorder=other, whole=False)
        other.finish(run, complete=False, seen=other_seen)
        tracker.recorder.finish(last, complete=False, window=True, seen=seen)
    assert tracker.changes(first, last)["unfollowed"] == set()
    assert marked(engine) == []
    assert tracker.snapshot(last).floor is not None  # its keys were left as it read them


def test_a_window_whose_keys_another_run_renumbered_counts_no_member_missing(
    tracker: Tracker, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record, "GAP", 4)
    monkeypatch.setattr(record, "RESERVE", 2)
    listed = list(range(300))
    first = tracker.run(listed, cap=300)
    other = Recorder(tracker.store, "tkapi")  # a whole run of another process, started first
    earlier, _ = started(tracker, listed[:100], recorder=other)
    later, seen = started(tracker, listed[:100])
    # The earlier run reads on and finds no room for new members deep in the list: renumbers.
    users = [tracker.user(member) for member in [*listed[100:250], *range(1_000, 1_030), 250]]
    other.add(earlier, users, rows=281, total=100_000)
    other.flush()
    tracker.recorder.finish(later, complete=False, window=True, seen=seen)
    shown = tracker.snapshot(later)
    assert shown.floor is None and shown.note and "renumbered" in shown.note
    assert marked(engine) == []
    assert tracker.changes(first, later)["unfollowed"] == set()


def test_a_member_who_follows_again_above_members_new_to_the_list_is_moved_too(
    tracker: Tracker, engine: sa.Engine
) -> None:
    window(tracker, list(range(200)))
    # 30 followed again; its old key is above the deepest block's (40 and below it).
    second = window(tracker, [30, *range(30), *range(31, 40), 5_000, *range(40, 140)])
    assert tracker.snapshot(second).disorder == 0
    assert in_key_order(engine)[:2] == [30, 0]


def test_a_window_that_met_too_few_known_members_in_a_row_overlapped_nothing(
    tracker: Tracker, engine: sa.Engine
) -> None:
    first = window(tracker, list(range(100)))
    # Two known members, apart: nothing the run can trust to say where it stands, so it
    # overlapped nothing (``known`` 0, which `changes` warns of).
    second = window(tracker, [*range(5_000, 5_050), 10, *range(5_050, 5_098), 60])
    shown = tracker.snapshot(second)
    assert (shown.floor, shown.known) == (None, 0)
    assert arrivals(engine, "unproven") == set(range(5_000, 5_098))
    assert tracker.changes(first, second) == nothing()
