"""Where a run really passed: no member is counted missing where TikTok may have passed it
over (a page's edge, a short page, a moved member's old place, a complete run's tail).

The Recorder is driven as the export drives it (``Tracker`` of test_store_windows), on
SQLite and PostgreSQL; the same nights through the CLI and the fake TikTok are in
test_windows_e2e.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from fakeserver import FollowList
from helpers import Serve, query
from test_store_windows import FIRST, OWNER, Tracker, engine, marked, nothing, tracker
from test_windows_e2e import TOKEN_API, big_list, changes, named, record, start, statuses

__all__ = ["engine", "tracker"]  # the fixtures, used by name


def chunks(listed: list[int], size: int = 25) -> list[list[int]]:
    return [listed[start : start + size] for start in range(0, len(listed), size)]


def test_a_member_a_tie_hides_at_a_page_edge_is_never_missing(tracker: Tracker, engine: sa.Engine) -> None:
    first = tracker.run(FIRST)
    # 25 followed in the same second as 24, the last of the first page: the cursor passes
    # over it on every run. 40 really leaves, in the middle of a page.
    shown = [member for member in FIRST[:101] if member not in (25, 40)]
    second = tracker.run(FIRST, pages=chunks(shown))
    third = tracker.run(FIRST, pages=chunks(shown))
    assert marked(engine) == [(40, third)]
    assert tracker.changes(second, third) == nothing(unfollowed={40})
    assert tracker.changes(first, third) == nothing(unfollowed={40})


def test_a_page_short_of_one_entry_proves_nothing_about_its_span(tracker: Tracker, engine: sa.Engine) -> None:
    first = tracker.run(FIRST)
    # Every night the first page comes one entry short (5 left out), "more" all the same;
    # 60 really leaves, in the middle of a full page.
    listed = [member for member in FIRST if member != 60]
    pages = [[m for m in listed[:25] if m != 5], *chunks(listed[25:100])]
    second = tracker.run(listed, pages=pages)
    third = tracker.run(listed, pages=pages)
    assert marked(engine) == [(60, third)]
    assert tracker.changes(second, third) == nothing(unfollowed={60})
    assert tracker.changes(first, third) == nothing(unfollowed={60})


def test_an_entry_skipped_as_no_account_leaves_the_page_full(tracker: Tracker, engine: sa.Engine) -> None:
    first = tracker.run(FIRST)
    tracker.run(FIRST)
    # A page of 24 accounts and one entry that was no account is as long as the others: the
    # member missing from it (not 5, which is still listed) is counted missing.
    snapshot = tracker.recorder.begin(OWNER, "followers", owner_name="alice")
    seen: set[str] = set()
    for number, page in enumerate(chunks(FIRST[:100])):
        users = [tracker.user(member) for member in page if member != 10]
        seen.update(str(user.account_key) for user in users)
        tracker.recorder.add(
            snapshot, users, rows=25 * number + len(users), total=2_000, skipped=int(number == 0)
        )
        tracker.recorder.flush()
    tracker.recorder.finish(snapshot, complete=False, window=True, seen=seen.__contains__)
    assert marked(engine) == [(10, snapshot)]
    assert first < snapshot


def test_a_member_a_broken_order_moved_is_covered_only_where_a_window_passed_both_places(
    tracker: Tracker, engine: sa.Engine
) -> None:
    first = tracker.run(FIRST)
    # One night 90 is shown near the top (TikTok's order broken, for one night): the run
    # takes it for a member who followed again and moves it up there.
    broken = [0, 1, 2, 90, *(member for member in FIRST if member not in (0, 1, 2, 90))]
    second = tracker.run(broken)
    assert tracker.snapshot(second).disorder == 0
    # Then --new-only nights read the top, where 90 no longer is: they never passed its place.
    third = tracker.run([2_001, 2_000, *FIRST], new_only=25)
    fourth = tracker.run([2_003, 2_002, 2_001, 2_000, *FIRST], new_only=25)
    assert tracker.snapshot(fourth).floor is not None
    assert marked(engine) == []
    assert tracker.changes(first, fourth)["unfollowed"] == set()
    assert third < fourth
    moved = query_one(
        engine,
        "SELECT moved_from IS NOT NULL FROM memberships m JOIN accounts a ON a.id = m.member_id "
        "WHERE a.user_id = '10090'",
    )
    assert moved


def test_a_complete_list_that_ends_early_proves_nothing_about_its_tail(
    tracker: Tracker, engine: sa.Engine
) -> None:
    members = list(range(152))
    first = tracker.run(members, cap=152)
    # Twice the list ends after 140 of 152 (within the plausibility gate: complete); 70
    # really leaves, above the end.
    listed = [member for member in members if member != 70]
    second = tracker.run(listed, cap=140, window=False, total=152)
    third = tracker.run(listed, cap=140, window=False, total=152)
    assert [tracker.snapshot(run).status for run in (second, third)] == ["complete", "complete"]
    assert marked(engine) == [(70, third)]
    assert tracker.changes(first, third) == nothing(unfollowed={70})
    note = tracker.snapshot(third).note
    assert note is not None and "ended early" in note, note
    # A full read again: nothing came back, nothing was followed.
    fourth = tracker.run(listed, cap=152, window=False, total=151)
    assert tracker.changes(third, fourth) == nothing()
    assert tracker.snapshot(fourth).note is None


def query_one(engine: sa.Engine, sql: str) -> object:
    ((value,),) = query(engine, sql)
    return value


# --- the same nights through the CLI and the fake TikTok (pages of 20, a cap of 100) ----------


def test_a_tie_at_a_page_edge_through_the_cli(serve: Serve, db_target: str) -> None:
    timed = big_list()
    start(serve, timed)
    record(db_target)
    members = timed.members
    # Position 20 followed in the same second as 19, the first page's last: the cursor
    # passes over it on every run. 50, in the middle of a page, really leaves.
    timed.retime(members[20], timed.times[members[19]])
    timed.unfollow([members[50]])
    record(db_target)
    record(db_target)
    rows, _ = changes(db_target, "--from", "1", "--to", "3")
    assert named(rows, "unfollowed") == {TOKEN_API.name(members[50])}


def test_a_page_short_of_one_entry_through_the_cli(serve: Serve, db_target: str) -> None:
    timed = big_list()
    start(serve, timed)
    record(db_target)
    members = timed.members
    timed.dropped = {5}  # the top page comes 19 of 20 entries, "more" all the same
    for _ in range(2):  # the nightly recipe: --new-only reads the top page only
        record(db_target, "--new-only", "--full-every", "7d")
    rows, _ = changes(db_target, "--from", "1", "--to", "3")
    assert named(rows, "unfollowed") == set()
    timed.unfollow([members[30]])  # in the middle of a full page of a full read
    record(db_target)
    record(db_target)
    rows, _ = changes(db_target, "--from", "1", "--to", "5")
    assert named(rows, "unfollowed") == {TOKEN_API.name(members[30])}


def test_a_member_a_broken_order_moved_through_the_cli(serve: Serve, db_target: str) -> None:
    timed = big_list()
    start(serve, timed)
    record(db_target)
    nightly = ("--new-only", "--full-every", "7d")
    timed.swapped = (3, 90)  # one night, 90 is shown at 3 (a --new-only run: not 3 at 90)
    record(db_target, *nightly)
    timed.swapped = None
    for _ in range(2):  # the top read again: 90 is back deep below it
        timed.follow(2)
        record(db_target, *nightly)
    # (From before the broken night no unfollow is reported at all: from after it.)
    rows, _ = changes(db_target, "--from", "3", "--to", "4")
    assert named(rows, "unfollowed") == set()
    assert len(named(rows, "followed")) == 2


def test_a_short_list_that_ends_early_through_the_cli(serve: Serve, db_target: str) -> None:
    timed = FollowList.of(152)
    start(serve, timed)
    record(db_target)
    members = timed.members
    timed.ends_at = 140  # "no more" after 140 of 152, within the plausibility gate
    timed.unfollow([members[70]])
    record(db_target)
    record(db_target)
    assert statuses(db_target) == [("followers", "complete")] * 3
    rows, _ = changes(db_target, "--from", "1", "--to", "3")
    assert named(rows, "unfollowed") == {TOKEN_API.name(members[70])}
    timed.ends_at = None
    record(db_target)
    rows, _ = changes(db_target, "--from", "3", "--to", "4")
    assert rows == []


def test_a_member_moved_up_for_one_night_is_moved_back_without_breaking_later_orders(
    tracker: Tracker, engine: sa.Engine
) -> None:
    first = tracker.run(FIRST)
    # One night 90 is shown near the top: taken for a member who followed again, moved up.
    broken = [0, 1, 2, 90, *(member for member in FIRST if member not in (0, 1, 2, 90))]
    second = tracker.run(broken)
    # From then on TikTok lists it at its place again: the runs move it back and hold.
    third = tracker.run([2_000, *FIRST])
    fourth = tracker.run([2_001, 2_000, *FIRST])
    assert [tracker.snapshot(run).disorder for run in (second, third, fourth)] == [0, 0, 0]
    assert tracker.snapshot(fourth).floor is not None
    assert marked(engine) == []
    assert tracker.changes(first, fourth)["unfollowed"] == set()
