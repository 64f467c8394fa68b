"""--new-only: nightly runs that read a list only down to the accounts the store already holds,
--full-every, and the windows such runs record; on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fakeserver import TOKEN, UID_BASE, Account, FakeTikTok, Fault, sec_uid_for, web_account, web_following
from helpers import Serve, csv_rows, error_line, invoke, query
from typer.testing import Result

UID = "6754915036232582149"
PAGE = 20  # the fake server's page of followers
SQLITE_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # how the store writes times in SQLite (schema.py)


def alice(members: list[int], name: str = "alice", uid: str = UID) -> Account:
    return Account(name, uid, sec_uid_for(name), len(members), 3, members=members)


def fan(index: int) -> str:
    return str(UID_BASE + index)


def run(db: str, *args: str, account: str = "alice") -> Result:
    result = invoke("followers", account, "--db", db, "-f", "none", *args)
    assert result.exit_code == 0, result.stderr
    return result


def pages(server: FakeTikTok) -> int:
    return server.count("/user/followers")


def snapshots(engine: sa.Engine) -> list[tuple[Any, ...]]:
    return [
        (snapshot, status, rows, bool(new_only))
        for snapshot, status, rows, new_only in query(
            engine, "SELECT id, status, rows, new_only FROM snapshots ORDER BY id"
        )
    ]


def opened_by(engine: sa.Engine, run: int) -> set[str]:
    rows = query(
        engine,
        "SELECT a.user_id FROM memberships m JOIN accounts a ON a.id = m.member_id WHERE m.first_run = :run",
        run=run,
    )
    return {row[0] for row in rows}


def age_runs(engine: sa.Engine, days: int) -> None:
    """Move every snapshot's start ``days`` back, as if the runs so far were that old."""
    with engine.begin() as connection:
        for snapshot, started in connection.execute(sa.text("SELECT id, started_at FROM snapshots")).all():
            if isinstance(started, str):
                started = datetime.fromisoformat(started.replace("Z", "+00:00"))
            older = started - timedelta(days=days)
            value = (
                older.astimezone(timezone.utc).strftime(SQLITE_TIME)
                if engine.dialect.name == "sqlite"
                else older
            )
            connection.execute(
                sa.text("UPDATE snapshots SET started_at = :at WHERE id = :id"), {"at": value, "id": snapshot}
            )


def passthrough(server: FakeTikTok) -> Fault:
    """A fault that answers as the server would: the scripted faults after it hit later pages."""
    return Fault("/tk/user/followers", body=lambda q: server.followers(q)[1])


@pytest.fixture
def night(serve: Serve, db_target: str) -> FakeTikTok:
    """alice's 400 followers recorded by a full run; since then, 20 new followers at the top."""
    server = serve(accounts=[alice(list(range(400)))], page_size=PAGE)
    run(db_target)
    server.accounts["alice"].members = [*range(1000, 1020), *range(400)]
    server.requests.clear()
    return server


NEW = {fan(i) for i in range(1000, 1020)}


def test_a_night_with_20_new_followers_fetches_two_pages_not_the_list(
    night: FakeTikTok, db_target: str, store: sa.Engine
) -> None:
    result = run(db_target, "--new-only")
    assert pages(night) == 2  # the 20 new ones, then a page of followers already stored
    assert snapshots(store)[1][1:] == ("window", 40, True)
    assert opened_by(store, 2) == NEW
    assert result.stderr.splitlines()[-1].startswith(
        "40 followers of @alice read (TikTok reports ~420) (incremental: 20 new, then 20 already "
        "in the store); recorded in "
    )


def test_a_night_with_nothing_new_fetches_one_page(
    night: FakeTikTok, db_target: str, store: sa.Engine
) -> None:
    night.accounts["alice"].members = list(range(400))
    run(db_target, "--new-only")
    assert pages(night) == 1
    assert snapshots(store)[1][1:] == ("window", 20, True)
    assert opened_by(store, 2) == set()


def test_new_followers_below_a_known_one_still_count_as_new(
    night: FakeTikTok, db_target: str, store: sa.Engine
) -> None:
    # Five new, an old follower, fifteen new: the streak of known ones starts after them.
    night.accounts["alice"].members = [*range(1000, 1005), 0, *range(1005, 1020), *range(1, 400)]
    run(db_target, "--new-only")
    assert pages(night) == 3
    assert opened_by(store, 2) == NEW


def test_full_every_reads_the_list_whole_when_its_last_full_run_is_older(
    night: FakeTikTok, db_target: str, store: sa.Engine
) -> None:
    result = run(db_target, "--new-only", "--full-every", "7d")
    assert pages(night) == 2  # the full run is minutes old: not due
    assert "whole list" not in result.stderr
    age_runs(store, 8)
    night.requests.clear()
    result = run(db_target, "--new-only", "--full-every", "7d")
    assert pages(night) == 420 // PAGE  # due: every page
    assert snapshots(store)[2][1:] == ("complete", 420, False)
    assert (
        "the followers of @alice: no full run recorded in the last 7d: reading the whole list"
        in result.stderr
    )
    # The incremental run before counts as no full run: only a run read whole does.
    night.requests.clear()
    run(db_target, "--new-only", "--full-every", "7d")
    assert pages(night) == 1


def test_full_every_reads_a_list_never_recorded_whole(serve: Serve, db_target: str, store: sa.Engine) -> None:
    server = serve(accounts=[alice(list(range(100)))], page_size=PAGE)
    result = run(db_target, "--new-only", "--full-every", "12h")
    assert pages(server) == 5
    assert "reading the whole list (--full-every 12h)" in result.stderr
    assert snapshots(store) == [(1, "complete", 100, False)]


def test_a_first_new_only_run_reads_until_the_end(serve: Serve, db_target: str, store: sa.Engine) -> None:
    server = serve(accounts=[alice(list(range(100)))], page_size=PAGE)
    run(db_target, "--new-only")
    assert pages(server) == 5  # nothing is known: every page is new
    # A full run (no full run of the list yet), so later --new-only runs have one to stop at.
    assert snapshots(store) == [(1, "complete", 100, False)]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--new-only",), "give --db (or set TIKTOK_DB)"),
        (("--new-only", "--db", "s.db", "--limit", "5"), "drop --limit"),
        (("--new-only", "--db", "s.db", "--cursor", "1700000000"), "it takes no --cursor"),
        (("--full-every", "7d", "--db", "s.db"), "add --new-only"),
        (("--new-only", "--full-every", "7", "--db", "s.db"), "a duration such as 12h, 7d or 2w, not '7'"),
        (("--new-only", "--full-every", "0d", "--db", "s.db"), "not '0d'"),
    ],
)
def test_usage_errors(server: FakeTikTok, args: tuple[str, ...], words: str) -> None:
    line = error_line(invoke("followers", "alice", "-f", "none", *args), 2)
    assert words in line
    assert server.requests == []
    assert not Path("s.db").exists()


def test_followings_take_no_start_cursor_with_new_only(server: FakeTikTok) -> None:
    line = error_line(invoke("followings", "alice", "--new-only", "--db", "s.db", "--min-cursor", "5"), 2)
    assert "it takes no --min-cursor/--max-cursor" in line


def test_the_file_holds_the_rows_fetched_and_a_resume_stops_like_the_run(
    night: FakeTikTok, db_target: str, store: sa.Engine, tmp_path: Path
) -> None:
    out = tmp_path / "new.csv"
    night.faults = [passthrough(night), Fault("/tk/user/followers", 500)]
    failed = invoke("followers", "alice", "--db", db_target, "--new-only", "-o", str(out), "--retries", "0")
    assert failed.exit_code == 7, failed.stderr
    night.requests.clear()
    resumed = invoke("followers", "alice", "--db", db_target, "--new-only", "-o", str(out))
    assert resumed.exit_code == 0, resumed.stderr
    assert pages(night) == 1  # the page that failed, a page of known followers: done
    rows = csv_rows(out.read_bytes())
    assert len(rows) == 1 + 40
    assert snapshots(store)[1][1:] == ("window", 40, True)
    assert opened_by(store, 2) == NEW
    assert f"written to {out}" in resumed.stderr and "(incremental: 20 new, then 20 already" in resumed.stderr


def test_a_batch_of_new_only_lists_on_several_workers_fetches_only_what_it_needs(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    people = [alice(list(range(i * 1000, i * 1000 + 200)), f"user{i}", str(int(UID) + i)) for i in range(4)]
    server = serve(accounts=people, page_size=PAGE)
    names = [p.name for p in people]
    result = invoke("followers", *names, "--db", db_target, "-f", "none", "-j", "4")
    assert result.exit_code == 0, result.stderr
    for index, person in enumerate(people):
        person.members = [*range(50_000 + index * 100, 50_000 + index * 100 + 20), *(person.members or [])]
    server.requests.clear()
    result = invoke(
        "followers",
        *names,
        "--db",
        db_target,
        "-f",
        "csv",
        "-j",
        "4",
        "--shard",
        "0/1",
        "--new-only",
        "-o",
        "b.csv",
    )
    assert result.exit_code == 0, result.stderr
    assert pages(server) == 4 * 2
    assert len(csv_rows(Path("b.csv").read_bytes())) == 1 + 4 * 40
    assert "(incremental: 80 new, then 80 already in the store)" in result.stderr


class Ordered(FakeTikTok):
    """The fake server with the gateway's followings and tiktok.com's lists served from
    ``Account.members`` too (the token API's followers already are), newest first."""

    def followings(self, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        status, body, headers = super().followings(query)
        return status, self._members(body, query, "followings", web_following, 500_000), headers

    def web_list(self, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        status, body, headers = super().web_list(query)
        prefix = "fan" if query.get("scene") == "67" else "followed"
        return (
            status,
            self._members(body, query, "userList", lambda i: web_account(i, prefix), 900_000),
            headers,
        )

    def _members(self, body: bytes, query: dict[str, str], key: str, entry: Any, base: int) -> bytes:
        account = next(a for a in self.accounts.values() if a.sec_uid == query.get("secUid"))
        page = json.loads(body)
        if account.members is None or key not in page:
            return body
        # The generated entries stand at the list's positions: serve the member at each instead.
        ids = [item["user"]["id"] if "user" in item else item["id"] for item in page[key]]
        page[key] = [entry(account.members[int(i) - UID_BASE - base]) for i in ids]
        return json.dumps(page).encode()


@dataclass(frozen=True)
class Source:
    backend: str
    command: str
    path: str  # the list's endpoint, whose requests are counted
    extra: tuple[str, ...] = ()


SOURCES = [
    Source("gateway", "followings", "/user-followings", ("--count", str(PAGE))),
    Source("tkapi", "followers", "/user/followers"),
    Source("web", "followers", "/api/user/list/", ("--rate", "1000")),
    Source("web", "followings", "/api/user/list/", ("--rate", "1000")),
]


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: f"{s.backend}-{s.command}")
def test_every_backend_stops_at_the_accounts_already_stored(
    source: Source, db_target: str, store: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = list(range(200))
    account = Account("alice", UID, sec_uid_for("alice"), len(members), len(members), members=members)
    server = Ordered(accounts=[account], page_size=PAGE)
    with server:
        monkeypatch.setenv("TIKTOK_GATEWAY_URL", server.url + "/tiktok")
        monkeypatch.setenv("TIKTOK_API_URL", server.url + "/tk")
        monkeypatch.setenv("TIKTOK_API_TOKEN", TOKEN)
        monkeypatch.setenv("TIKTOK_WEB_URL", server.url)
        args = (source.command, "alice", "--backend", source.backend, "--db", db_target, "-f", "none")
        assert invoke(*args, *source.extra).exit_code == 0
        account.members = [*range(1000, 1020), *members]
        account.followers = account.followings = len(account.members)
        server.requests.clear()
        result = invoke(*args, *source.extra, "--new-only")
        assert result.exit_code == 0, result.stderr
        assert server.count(source.path) == 2
    assert snapshots(store)[1][1:] == ("window", 40, True)
    assert len(opened_by(store, 2)) == 20


# --- windows: lists read from the top down to TikTok's cap -------------------------------------


def reporting(server: FakeTikTok, total: int, *, cap_after: int | None = None) -> list[Fault]:
    """Faults answering as the server would, but with TikTok's count ``total``; with
    ``cap_after``, the page after that many pages claims more but gives no cursor (the cap)."""

    def body(number: int) -> Any:
        def answer(query: dict[str, str]) -> bytes:
            page = json.loads(server.followers(query)[1])
            page["data"]["total"] = total
            if cap_after is not None and number == cap_after:
                page["data"].update(min_time=-1, has_more=True)
            return json.dumps(page).encode()

        return answer

    return [Fault("/tk/user/followers", body=body(n)) for n in range(100)]


def test_a_capped_list_is_a_window_and_the_summary_says_so(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve(accounts=[alice(list(range(200)))], page_size=PAGE)
    server.faults = reporting(server, 9_400_000, cap_after=2)
    result = invoke("followers", "alice", "--db", db_target, "-o", "f.csv")
    assert result.exit_code == 0, result.stderr
    assert pages(server) == 3
    assert snapshots(store) == [(1, "window", 60, False)]
    assert result.stderr.splitlines()[-1].startswith(
        "60 of ~9,400,000 followers of @alice written to f.csv: TikTok shows only the newest ~60; "
        "recorded in "
    )
    assert "warning" not in result.stderr


def test_a_list_that_ends_after_thousands_while_tiktok_reports_far_more_is_a_window(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve(accounts=[alice(list(range(1000)))], page_size=250)
    server.faults = reporting(server, 9_400_000)
    result = run(db_target)
    assert snapshots(store) == [(1, "window", 1000, False)]
    assert (
        "1,000 of ~9,400,000 followers of @alice read: TikTok shows only the newest ~1,000" in result.stderr
    )
    assert "warning" not in result.stderr


def test_a_short_list_that_ends_early_stays_incomplete(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve(accounts=[alice(list(range(100)))], page_size=PAGE)
    server.faults = reporting(server, 9_400_000)
    result = run(db_target)
    assert snapshots(store) == [(1, "incomplete", 100, False)]
    assert "well short of the 9,400,000 TikTok reports" in result.stderr
    assert "TikTok shows only" not in result.stderr


def test_a_window_of_a_batch_is_said_per_list(serve: Serve) -> None:
    server = serve(accounts=[alice(list(range(200))), alice(list(range(5)), "bob", str(int(UID) + 1))])
    server.faults = reporting(server, 9_400_000, cap_after=1)[:2]
    result = invoke("followers", "alice", "bob", "-o", "f.csv", "-j", "1")
    assert result.exit_code == 0, result.stderr
    assert "the followers of @alice: 40 of ~9,400,000: TikTok shows only the newest ~40" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("45 followers of 2 accounts written to f.csv")


def test_a_resumed_run_keeps_its_decision_to_read_the_list_whole(
    night: FakeTikTok, db_target: str, store: sa.Engine, tmp_path: Path
) -> None:
    age_runs(store, 8)
    out = tmp_path / "all.csv"
    night.faults = [passthrough(night), passthrough(night), Fault("/tk/user/followers", 500)]
    args = ("followers", "alice", "--db", db_target, "--new-only", "--full-every", "1w", "-o", str(out))
    failed = invoke(*args, "--retries", "0")
    assert failed.exit_code == 7 and "reading the whole list" in failed.stderr
    night.requests.clear()
    resumed = invoke(*args)
    assert resumed.exit_code == 0, resumed.stderr
    assert "reading the whole list" not in resumed.stderr
    assert pages(night) == 420 // PAGE - 2  # from the page that failed to the end
    assert snapshots(store)[1:] == [(2, "complete", 420, False)]
    assert len(csv_rows(out.read_bytes())) == 1 + 420


def test_a_last_full_run_dated_ahead_of_the_clock_makes_the_run_whole(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    # A run made while a clock was ahead must not keep --full-every from ever coming due.
    server = serve(accounts=[alice(list(range(100)))], page_size=PAGE)
    run(db_target)
    age_runs(store, -30)  # the full run now starts 30 days from now
    result = run(db_target, "--new-only", "--full-every", "7d")
    assert pages(server) == 10
    assert "ahead of this machine's clock: reading the whole list (--full-every 7d)" in result.stderr
    assert snapshots(store)[-1] == (2, "complete", 100, False)


def test_an_interrupted_new_only_run_says_to_run_it_again_not_to_use_a_cursor(
    serve: Serve, db_target: str
) -> None:
    server = serve(accounts=[alice(list(range(100)))], page_size=PAGE)
    run(db_target)
    server.accounts["alice"].members = list(range(1000, 1060)) + list(range(100))
    server.faults = [passthrough(server), *(Fault("/tk/user/followers", 500) for _ in range(20))]
    result = invoke("followers", "alice", "--db", db_target, "-f", "none", "--new-only", "--retries", "0")
    assert result.exit_code == 7, result.stderr
    assert "run the same command again to go on" in result.stderr, result.stderr
    assert "--cursor" not in result.stderr
