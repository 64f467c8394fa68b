"""Big accounts end to end (issue 24): lists longer than TikTok's cap, recorded as windows by
the real CLI against the local server, and `tiktok changes` through them, on SQLite and on a
real PostgreSQL server (``db_target``).

The server's list is a ``fakeserver.FollowList``: 2,000 followers of which TikTok serves the
newest 100 (pages of 20), each with a fixed follow time. ``FollowList.evolve`` makes a night
of it: new followers on top, some leaving inside the window and some below it, some renamed.
An unfollow takes two covering runs in a row that miss the member (the first marks it, the
second ends it: see tiktok_cli/store/record.py), so the tests that expect one run three nights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from fakeserver import Account, FakeTikTok, FollowList, sec_uid_for
from helpers import Serve, invoke, jsonl, query
from typer.testing import Result

from tiktok_cli.store.schema import snapshots

ALICE_UID = "6754915036232582149"
SIZE, CAP, PAGE = 2_000, 100, 20
WINDOW_PAGES = CAP // PAGE  # the pages of a run read down to the cap
TOKEN_PAGES = "/tk/user/followers"  # the token API's list requests: what a run pays for


@dataclass(frozen=True)
class Lister:
    """One way to read one of alice's lists: the command, its backend, the names it shows."""

    command: str  # followers or followings
    backend: tuple[str, ...]  # extra arguments choosing the backend
    prefix: str  # default usernames: fan_NNNNNN or followed_NNNNNN

    @property
    def flag(self) -> str:
        return f"--{self.command}"

    def name(self, index: int) -> str:
        return f"{self.prefix}_{index:06d}"


TOKEN_API = Lister("followers", (), "fan")
LISTERS = [
    TOKEN_API,
    Lister("followers", ("--backend", "web", "--rate", "1000"), "fan"),
    Lister("followings", (), "followed"),  # the gateway
    Lister("followings", ("--backend", "web", "--rate", "1000"), "followed"),
]


def alice(timed: FollowList, lister: Lister = TOKEN_API, followings: FollowList | None = None) -> Account:
    account = Account("alice", ALICE_UID, sec_uid_for("alice"), followings=3)
    if lister.command == "followers":
        account.follower_list, account.following_list = timed, followings
    else:
        account.following_list = timed
    return account


def big_list() -> FollowList:
    return FollowList.of(SIZE, cap=CAP)


def start(serve: Serve, timed: FollowList, lister: Lister = TOKEN_API, **lists: Any) -> FakeTikTok:
    return serve(accounts=[alice(timed, lister, **lists)], page_size=PAGE)


def record(db: str, *args: str, lister: Lister = TOKEN_API) -> Result:
    """One night's run of the list into the store, quiet, as the cron recipe runs it."""
    result = invoke(lister.command, "alice", "--db", db, "-f", "none", "-q", *lister.backend, *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    return result


def pages_of(server: FakeTikTok, db: str, *args: str) -> int:
    """The token API pages one run fetched."""
    before = server.count(TOKEN_PAGES)
    record(db, *args)
    return server.count(TOKEN_PAGES) - before


Row = tuple[str, str | None, str]  # (change, old username, username)


def changes(db: str, *args: str, lister: Lister = TOKEN_API) -> tuple[list[Row], str]:
    """The rows of `tiktok changes alice ARGS` for the lister's list, and what it said on stderr."""
    result = invoke("changes", "alice", "--db", db, "-f", "jsonl", lister.flag, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    rows = [(row["change"], row["old_unique_id"], row["unique_id"]) for row in jsonl(result.stdout)]
    return rows, result.stderr


def named(rows: list[Row], change: str) -> set[str]:
    return {name for kind, _, name in rows if kind == change}


def statuses(db: str) -> list[tuple[str, str]]:
    """(list, status) of each of alice's snapshots, oldest first, as `tiktok snapshots` shows them."""
    result = invoke("snapshots", "alice", "--db", db, "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    return [(row["list"], row["status"]) for row in jsonl(result.stdout)]


def memberships(store: sa.Engine) -> int:
    ((count,),) = query(store, "SELECT count(*) FROM memberships")
    return int(count)


# --- changes through windows -------------------------------------------------------------


@pytest.mark.parametrize("lister", LISTERS, ids=lambda x: f"{x.command}{'-web' if x.backend else ''}")
def test_changes_through_windows_are_the_new_followers_and_the_proven_unfollows(
    serve: Serve, db_target: str, lister: Lister
) -> None:
    timed = big_list()
    start(serve, timed, lister)
    record(db_target, lister=lister)
    # Positions 12, 30, 50 leave inside the window, inside pages (missed at a page's edge,
    # a member proves nothing while the edges stay: store/coverage.py); 96 leaves where the
    # next window no longer reaches (10 new on top push the window 7 deeper up: it ends at
    # old 92); 150 and 1,500 leave below every window. 20 and 40 are renamed.
    night = timed.evolve(follow=10, unfollow_at=[12, 30, 50, 96, 150, 1_500], rename_at=[20, 40])
    record(db_target, lister=lister)  # marks 12, 30 and 50 missing
    record(db_target, lister=lister)  # and ends them
    assert statuses(db_target) == [(lister.command, "window")] * 3

    rows, _ = changes(db_target, "--from", "1", "--to", "3", lister=lister)
    assert named(rows, "followed") == {lister.name(i) for i in night.followed}
    assert named(rows, "unfollowed") == {lister.name(i) for i in (12, 30, 50)}
    assert {(old, new) for kind, old, new in rows if kind == "renamed"} == {
        (lister.name(i), new) for i, (_, new) in night.renamed.items()
    }
    assert len(rows) == 10 + 3 + 2  # and nothing else: 96, 150 and 1,500 are no change

    # The default comparison, the last two usable snapshots: the night that ended them;
    # -q does not hide that it was made through windows of 100 of 2,000.
    latest, stderr = changes(db_target, "-q", lister=lister)
    assert sorted(latest) == [("unfollowed", None, lister.name(i)) for i in (12, 30, 50)]
    assert "100 of" in stderr, stderr


def test_members_come_up_from_below_the_window_are_not_followed(serve: Serve, db_target: str) -> None:
    timed = big_list()
    start(serve, timed)
    record(db_target)
    # 8 leave inside the window and 2 follow: the next window reaches 6 members deeper,
    # old followers (positions 100-105) that no run had seen.
    night = timed.evolve(follow=2, unfollow_at=range(10, 18))
    record(db_target)
    record(db_target)
    rows, _ = changes(db_target, "--from", "1", "--to", "3")
    assert named(rows, "followed") == {TOKEN_API.name(i) for i in night.followed}
    assert named(rows, "unfollowed") == {TOKEN_API.name(i) for i in range(10, 18)}
    assert len(rows) == 2 + 8


def test_windows_that_do_not_overlap_report_no_unfollows_and_warn_even_when_quiet(
    serve: Serve, db_target: str
) -> None:
    timed = big_list()
    start(serve, timed)
    record(db_target)
    new = timed.follow(150)  # more new followers in one night than the window holds
    timed.evolve(unfollow_at=[160, 170])  # two of the first night's members leave
    record(db_target)
    record(db_target)
    result = invoke("changes", "alice", "--db", db_target, "--from", "1", "--to", "2", "-f", "jsonl", "-q")
    assert result.exit_code == 0, result.stderr
    rows = [(r["change"], r["old_unique_id"], r["unique_id"]) for r in jsonl(result.stdout)]
    assert named(rows, "unfollowed") == set()
    # Followed only where a follow time proves it: never one of the first night's members.
    assert named(rows, "followed") <= {TOKEN_API.name(i) for i in new}
    assert "may be missing" in result.stderr, result.stderr
    # Nothing the later windows could not see is ever counted gone.
    for older in ("1", "2"):
        rows, _ = changes(db_target, "--from", older, "--to", "3")
        assert named(rows, "unfollowed") == set(), older


def test_a_broken_order_reports_no_unfollows_and_says_why_in_one_line(serve: Serve, db_target: str) -> None:
    timed = big_list()
    start(serve, timed)
    record(db_target)
    timed.evolve(follow=5, unfollow_at=[10, 30])
    record(db_target)  # marks 10 and 30 missing
    timed.swapped = (3, 80)  # TikTok serves two members far out of their order
    record(db_target)  # would end 10 and 30, if its order held
    rows, stderr = changes(db_target, "--from", "2", "--to", "3", "-q")
    assert named(rows, "unfollowed") == set()
    assert len([line for line in stderr.splitlines() if "order" in line]) == 1, stderr
    rows, _ = changes(db_target, "--from", "1", "--to", "3")
    assert named(rows, "unfollowed") == set()
    assert named(rows, "followed") == {TOKEN_API.name(i) for i in range(SIZE, SIZE + 5)}


# The upstream's bad nights, each played twice in a row, which two-strike alone would not
# survive: none may end a membership.
BAD_NIGHTS = {
    "an empty page": lambda timed: timed.empty_pages.add(2),
    "an early end": lambda timed: setattr(timed, "ends_at", 50),
    "a page failing once": lambda timed: timed.failing_pages.add(1),
    "a repeated page": lambda timed: timed.repeated_pages.add(3),
    "a broken order": lambda timed: setattr(timed, "swapped", (2, 90)),
}


@pytest.mark.parametrize("night", sorted(BAD_NIGHTS))
def test_no_bad_night_of_the_upstream_makes_a_false_unfollow(
    serve: Serve, db_target: str, night: str
) -> None:
    timed = big_list()
    start(serve, timed)
    record(db_target)
    new = timed.follow(5)
    for _ in range(2):
        BAD_NIGHTS[night](timed)
        record(db_target)
    timed.ends_at, timed.swapped = None, None
    record(db_target)
    record(db_target)
    rows, _ = changes(db_target, "--from", "1", "--to", "5")
    assert named(rows, "unfollowed") == set()
    assert named(rows, "followed") == {TOKEN_API.name(i) for i in new}


def test_a_follow_time_narrows_when_a_new_follower_followed(serve: Serve, db_target: str) -> None:
    timed = FollowList.of(10)
    serve(accounts=[alice(timed)], page_size=2)
    record(db_target)
    time.sleep(2)  # so that tonight's follows are after the last run began, as real ones are
    new = timed.follow(2, step=1)
    record(db_target)
    result = invoke("changes", "alice", "--db", db_target, "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    rows = jsonl(result.stdout)
    assert sorted((r["change"], r["unique_id"]) for r in rows) == [
        ("followed", TOKEN_API.name(i)) for i in sorted(new)
    ]
    # Both came on the first page, whose cursor (its oldest follow time) is the older one's.
    since = datetime.fromtimestamp(timed.times[new[-1]], timezone.utc)
    assert {r["since"] for r in rows} == {since.strftime("%Y-%m-%dT%H:%M:%SZ")}


# --- incremental runs ----------------------------------------------------------------------


def test_a_night_of_20_new_followers_fetches_two_pages_and_writes_only_them(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    timed = big_list()
    server = start(serve, timed)
    assert pages_of(server, db_target) == WINDOW_PAGES  # a full run reads the whole window
    written = memberships(store)
    night = timed.evolve(follow=20)
    assert pages_of(server, db_target, "--new-only") <= 2
    assert memberships(store) == written + 20
    assert statuses(db_target) == [("followers", "window")] * 2
    rows, _ = changes(db_target)
    assert sorted(rows) == sorted(("followed", None, TOKEN_API.name(i)) for i in night.followed)


def test_an_incremental_run_ends_nothing_below_what_it_read(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    timed = big_list()
    server = start(serve, timed)
    record(db_target)
    night = timed.evolve(follow=3, unfollow_at=[60, 70])  # deep in the window
    for _ in range(2):
        assert pages_of(server, db_target, "--new-only") <= 2
    rows, _ = changes(db_target, "--from", "1", "--to", "3")
    assert sorted(rows) == sorted(("followed", None, TOKEN_API.name(i)) for i in night.followed)
    assert query(store, "SELECT count(*) FROM memberships WHERE ended_run IS NOT NULL") == [(0,)]


def age(store: sa.Engine, days: int) -> None:
    """Every snapshot so far ran ``days`` earlier (a week of nights, without the wait)."""
    with store.begin() as connection:
        for row in connection.execute(
            sa.select(snapshots.c.id, snapshots.c.started_at, snapshots.c.finished_at)
        ):
            earlier = {"started_at": row.started_at - timedelta(days=days)}
            if row.finished_at is not None:
                earlier["finished_at"] = row.finished_at - timedelta(days=days)
            connection.execute(sa.update(snapshots).where(snapshots.c.id == row.id).values(**earlier))


def test_full_every_reads_the_whole_window_once_the_last_full_run_is_older(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    timed = big_list()
    server = start(serve, timed)
    weekly = ("--new-only", "--full-every", "7d")
    assert pages_of(server, db_target, *weekly) == WINDOW_PAGES  # no full run yet: this is one
    night = timed.evolve(follow=20, unfollow_at=[65])  # inside a page (60 would be at an edge)
    assert pages_of(server, db_target, *weekly) <= 2  # the full run is a night old
    age(store, days=8)
    assert pages_of(server, db_target, *weekly) == WINDOW_PAGES  # a week later: full again
    record(db_target)  # the next full run confirms what the weekly one missed
    rows, _ = changes(db_target, "--from", "1", "--to", "4")
    assert named(rows, "followed") == {TOKEN_API.name(i) for i in night.followed}
    assert named(rows, "unfollowed") == {TOKEN_API.name(65)}
    assert [status for _, status in statuses(db_target)] == ["window"] * 4


# --- what `tiktok snapshots` shows ----------------------------------------------------------


def test_snapshots_show_each_runs_kind(serve: Serve, db_target: str) -> None:
    timed = big_list()
    start(serve, timed, followings=FollowList.of(30))
    record(db_target)  # down to the cap
    record(db_target, lister=Lister("followings", (), "followed"))  # a short list, to its end
    record(db_target, "--limit", "10")  # cut short
    timed.follow(3)
    record(db_target, "--new-only")  # down to known members
    timed.ends_at = 60  # a big list ending early, after far fewer than a window's rows
    record(db_target)
    timed.cap, timed.ends_at = None, 1_000  # ending after 1,000 of 2,003: TikTok's end of it
    record(db_target)
    assert statuses(db_target) == [
        ("followers", "window"),
        ("followings", "complete"),
        ("followers", "incomplete"),
        ("followers", "window"),
        ("followers", "incomplete"),
        ("followers", "window"),
    ]
