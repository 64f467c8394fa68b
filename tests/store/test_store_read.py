"""Reading the snapshot store: `tiktok changes`, `history` and `snapshots`, through the real CLI,
on SQLite and on a real PostgreSQL server (``db_target``). Stores are filled through the real
recording API (``Recorder``), with its clock set by the test so that times are known."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import csv_rows, error_line, invoke, jsonl, sqlalchemy_url

from tiktok_cli.models import FIELDS, User
from tiktok_cli.seen import SeenAccounts
from tiktok_cli.store import open_store, record
from tiktok_cli.store.record import Recorder
from tiktok_cli.tracking import parse_when

START = datetime(2026, 3, 1, 3, 0, tzinfo=timezone.utc)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(shown: str) -> str:
    """A time `snapshots` shows (to the millisecond) as `changes` does (to the second; this
    test's clock ticks in whole minutes, so rounding up or down changes nothing)."""
    return shown[:19] + "Z"


def account(name: str, number: int, **fields: Any) -> User:
    return User(unique_id=name, nickname=name.title(), user_id=str(7_000 + number), **fields)


ALICE = account("alice", 1, followers=100)
BOB, CAROL, DAVE, ERIN = (account(n, i) for i, n in enumerate(("bob", "carol", "dave", "erin"), start=2))


class Clock:
    """The recorder's clock: every reading is one minute after the one before."""

    def __init__(self) -> None:
        self.moment = START
        self.step = timedelta(minutes=1)

    def __call__(self) -> datetime:
        self.moment += self.step
        return self.moment


class Book:
    """Records runs and observations into a store the way an export does."""

    def __init__(self, target: str, clock: Clock) -> None:
        self.target = target
        self.clock = clock
        self.store = open_store(target, create=True)
        self.recorder = Recorder(self.store, "gateway")

    def run(
        self,
        members: Sequence[User],
        *,
        owner: User = ALICE,
        list_name: str = "followers",
        complete: bool = True,
        note: str | None = None,
        total: int | None = None,
    ) -> int:
        snapshot = self.recorder.begin(owner, list_name, owner_name=owner.unique_id)
        seen = SeenAccounts().scoped("x")
        for member in members:
            seen.claim(member)
        self.recorder.add(
            snapshot, members, rows=len(members), total=len(members) if total is None else total
        )
        self.recorder.flush()
        self.recorder.finish(snapshot, complete=complete, seen=seen.has, note=note)
        return snapshot

    def observe(self, user: User, at: datetime | None = None, backend: str | None = None) -> None:
        self.recorder.observe(user, at, backend=backend)
        self.recorder.flush()


@pytest.fixture
def book(db_target: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Book]:
    clock = Clock()
    monkeypatch.setattr(record, "now", clock)
    monkeypatch.setattr(record, "clock", lambda connection: clock())  # PostgreSQL's server clock too
    recorded = Book(db_target, clock)
    yield recorded
    recorded.store.close()


def read(*args: str) -> list[dict[str, Any]]:
    result = invoke(*args, "-f", "jsonl")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return jsonl(result.stdout)


def changes(book: Book, *args: str) -> list[tuple[str, str | None, str | None]]:
    """(change, old name, name) of each row of `tiktok changes ARGS`."""
    rows = read("changes", *args, "--db", book.target)
    return [(row["change"], row["old_unique_id"], row["unique_id"]) for row in rows]


# --- changes --------------------------------------------------------------------------------


def test_follows_unfollows_and_renames_between_the_last_two_complete_snapshots(book: Book) -> None:
    book.run([BOB, CAROL, DAVE])
    book.run([BOB, CAROL])  # DAVE missed by one snapshot: not yet an unfollow
    assert changes(book, "alice") == []
    renamed = account("carol_2026", 3)  # the same account (its user id), a new name
    book.run([BOB, renamed, ERIN])  # BOB stays, DAVE missed twice: left; ERIN comes, CAROL renamed
    assert changes(book, "alice") == [
        ("followed", None, "erin"),
        ("unfollowed", None, "dave"),
        ("renamed", "carol", "carol_2026"),
    ]
    book.run([BOB, renamed, ERIN])
    assert changes(book, "alice") == []  # the last two complete snapshots saw the same list
    assert len(changes(book, "alice", "--from", "2", "--to", "3")) == 3


def test_a_name_that_comes_back_between_two_snapshots_is_no_rename(book: Book) -> None:
    book.run([BOB, CAROL])
    book.observe(account("bobby", 2))  # user-info saw bob as bobby
    book.run([BOB, account("carol_b", 3)], complete=False)  # a partial run saw carol renamed
    book.run([BOB, account("carol_c", 3)])  # bob is bob again; carol took a third name
    assert changes(book, "alice") == [("renamed", "carol", "carol_c")]  # one rename, end to end


def test_a_rename_another_lists_longer_run_saw_is_in_the_comparison_after_it(book: Book) -> None:
    longer = book.recorder.begin(DAVE, "followers", owner_name="dave")  # starts first, ends last
    book.run([BOB, CAROL])  # alice's list, seen with carol as carol
    renamed = account("carol_new", 3)
    book.recorder.add(longer, [renamed], rows=1, total=1)
    book.recorder.flush()  # dave's run sees carol's new name after alice's run ended
    book.recorder.finish(longer, complete=False, note="test")
    book.run([BOB, renamed])
    assert changes(book, "alice") == [("renamed", "carol", "carol_new")]


def test_an_input_naming_one_account_by_two_names_reports_it_once(book: Book, tmp_path: Path) -> None:
    book.run([BOB])
    book.run([BOB, CAROL], owner=account("alice_new", 1))  # alice renamed
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("alice\nalice_new\n")
    rows = read("changes", "--input", str(accounts), "--db", book.target)
    assert [(row["owner"], row["change"], row["unique_id"]) for row in rows] == [
        ("alice", "followed", "carol")
    ]


def test_each_change_carries_the_window_in_which_it_happened(book: Book) -> None:
    first = book.run([BOB, CAROL])
    middle = book.run([CAROL])  # BOB missed once
    second = book.run([account("carol_2", 3), DAVE])  # BOB missed twice: he left
    snapshots = {row["id"]: row for row in read("snapshots", "alice", "--db", book.target)}
    began, ended = seconds(snapshots[middle]["started_at"]), seconds(snapshots[second]["finished_at"])
    rows = {row["change"]: row for row in read("changes", "alice", "--db", book.target)}
    # Not there when the middle snapshot began; there by the time the second ended.
    assert (rows["followed"]["since"], rows["followed"]["until"]) == (began, ended)
    # Last seen by the first snapshot (after it began); confirmed gone when the second ended.
    last_seen = seconds(snapshots[first]["started_at"])
    assert (rows["unfollowed"]["since"], rows["unfollowed"]["until"]) == (last_seen, ended)
    # The old name was seen by the middle snapshot; the new one when the second recorded it.
    assert rows["renamed"]["since"] == began
    assert seconds(snapshots[second]["started_at"]) <= rows["renamed"]["until"] <= ended
    for row in rows.values():
        assert row["since"].endswith("Z") and row["until"].endswith("Z")
        assert row["since"] < row["until"]


def test_a_member_missing_from_one_snapshot_and_back_in_the_next_is_no_change(book: Book) -> None:
    first = book.run([BOB, CAROL])
    missed = book.run([BOB])  # an upstream hiccup, or a night CAROL was not listed
    back = book.run([BOB, CAROL])
    for older, newer in ((first, missed), (missed, back), (first, back)):
        assert changes(book, "alice", "--from", str(older), "--to", str(newer)) == []


def test_a_member_missing_from_two_snapshots_in_a_row_is_unfollowed_once(book: Book) -> None:
    first = book.run([BOB, CAROL])
    missed = book.run([BOB])
    gone = book.run([BOB])
    book.run([BOB])
    assert changes(book, "alice", "--from", str(first), "--to", str(missed)) == []
    assert changes(book, "alice", "--from", str(missed), "--to", str(gone)) == [("unfollowed", None, "carol")]
    assert changes(book, "alice") == []  # reported once, by the snapshot that confirmed it


def test_a_member_who_unfollows_and_comes_back_is_followed_again(book: Book) -> None:
    first = book.run([BOB, CAROL])
    book.run([BOB])
    gone = book.run([BOB])  # two snapshots in a row without CAROL: she left
    back = book.run([BOB, CAROL])
    assert changes(book, "alice", "--from", str(first), "--to", str(gone)) == [("unfollowed", None, "carol")]
    assert changes(book, "alice") == [("followed", None, "carol")]
    # Over the whole span CAROL was there at both ends: nothing changed.
    assert changes(book, "alice", "--from", str(first), "--to", str(back)) == []


def test_an_incomplete_run_between_two_complete_ones_makes_no_false_unfollows(book: Book) -> None:
    book.run([BOB, CAROL, DAVE])
    book.run([BOB], complete=False, note="interrupted")  # cut short: CAROL and DAVE not reached
    book.run([BOB, CAROL, DAVE, ERIN])
    assert changes(book, "alice") == [("followed", None, "erin")]


def test_a_member_first_seen_by_an_incomplete_run_is_followed_in_its_window(book: Book) -> None:
    first = book.run([BOB])
    partial = book.run([BOB, ERIN], complete=False, note="--limit")
    book.run([BOB, ERIN])
    (row,) = read("changes", "alice", "--db", book.target)
    assert (row["change"], row["unique_id"]) == ("followed", "erin")
    snapshots = {row["id"]: row for row in read("snapshots", "alice", "--db", book.target)}
    assert row["since"] == seconds(snapshots[first]["started_at"])
    assert row["until"] == seconds(snapshots[partial]["finished_at"])  # the incomplete run saw it


@pytest.mark.parametrize("complete_runs", [0, 1])
def test_fewer_than_two_complete_snapshots_is_one_line_and_exit_0(book: Book, complete_runs: int) -> None:
    for _ in range(complete_runs):
        book.run([BOB])
    book.run([BOB, CAROL], complete=False, note="interrupted")
    result = invoke("changes", "alice", "--db", book.target, "-f", "jsonl")
    assert result.exit_code == 0
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "@alice's followers" in line and "two are needed" in line


def test_since_starts_from_the_last_complete_snapshot_at_or_before_it(book: Book) -> None:
    book.run([BOB])
    book.run([BOB, CAROL])
    book.run([BOB, CAROL, DAVE])
    book.run([BOB, CAROL, DAVE, ERIN])
    (second,) = [row for row in read("snapshots", "alice", "--db", book.target) if row["id"] == 2]
    since = stamp(parse_when(second["started_at"]) + timedelta(seconds=30))  # the second began just before
    assert changes(book, "alice", "--since", since) == [
        ("followed", None, "dave"),
        ("followed", None, "erin"),
    ]
    # Before the first snapshot: from the first one, with a note.
    result = invoke("changes", "alice", "--db", book.target, "--since", "2020-01-01", "-f", "jsonl")
    assert result.exit_code == 0
    assert [row["unique_id"] for row in jsonl(result.stdout)] == ["carol", "dave", "erin"]
    assert "no complete or window snapshot at or before 2020-01-01T00:00:00Z" in result.stderr
    # After the latest one: nothing to compare.
    result = invoke("changes", "alice", "--db", book.target, "--since", "2030-01-01T00:00Z")
    assert (result.exit_code, result.stdout) == (0, "")
    assert "nothing to show" in result.stderr


def test_since_takes_dates_times_and_ages() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
    assert parse_when("24h", now) == now - timedelta(days=1)
    assert parse_when("7d", now) == now - timedelta(days=7)
    assert parse_when("2w", now) == now - timedelta(weeks=2)
    assert parse_when("30m", now) == now - timedelta(minutes=30)
    assert parse_when("2026-03-01", now) == datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert parse_when("2026-03-01T08:00Z", now) == datetime(2026, 3, 1, 8, tzinfo=timezone.utc)
    assert parse_when("2026-03-01T10:00+02:00", now) == datetime(2026, 3, 1, 8, tzinfo=timezone.utc)


def test_times_are_shown_with_four_digit_years_whatever_the_year() -> None:
    from tiktok_cli.tracking import iso, iso_ms

    early = datetime(1, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    assert (iso(early), iso(early, round_up=True)) == ("0001-01-02T03:04:05Z", "0001-01-02T03:04:06Z")
    assert iso_ms(early) == "0001-01-02T03:04:05.678Z"


def test_a_bad_since_is_a_usage_error(tmp_path: Path) -> None:
    line = error_line(invoke("changes", "alice", "--db", str(tmp_path / "s.db"), "--since", "yesterday"), 2)
    assert "--since 'yesterday'" in line and "24h" in line


def test_from_and_to_must_be_two_complete_snapshots_of_one_list(book: Book) -> None:
    first = book.run([BOB])
    partial = book.run([BOB], complete=False, note="interrupted")
    book.run([CAROL])  # BOB missed once; twice, below: he left
    last = book.run([CAROL])
    other = book.run([DAVE], list_name="followings")
    theirs = book.run([DAVE], owner=BOB)
    assert changes(book, "alice", "--from", str(first), "--to", str(last)) == [
        ("followed", None, "carol"),
        ("unfollowed", None, "bob"),
    ]
    refused = {
        (str(first), str(partial)): "is incomplete",
        (str(first), str(other)): "compare two snapshots of one list",
        (str(last), str(first)): "must be an older snapshot",
        (str(first), "999"): "no snapshot 999 in the store",
        (str(first), str(theirs)): "of @alice's lists",
    }
    for (older, newer), words in refused.items():
        line = error_line(invoke("changes", "alice", "--db", book.target, "--from", older, "--to", newer), 2)
        assert words in line, line
    for args in (("--from", "1"), ("--since", "1d", "--from", "1", "--to", "3")):
        error_line(invoke("changes", "alice", "--db", book.target, *args), 2)
    line = error_line(
        invoke("changes", "alice", "--db", book.target, "--followings", "--from", "1", "--to", "3"), 2
    )
    assert "not followings" in line


def test_followers_and_followings_each_alone_or_both(book: Book) -> None:
    book.run([BOB])
    book.run([BOB, CAROL])
    book.run([DAVE], list_name="followings")
    book.run([BOB], list_name="followings")  # DAVE missed once, BOB followed
    book.run([ERIN], list_name="followings")  # DAVE missed twice: unfollowed; BOB missed once: no change yet
    both = read("changes", "alice", "--db", book.target)
    assert [(row["list"], row["change"], row["unique_id"]) for row in both] == [
        ("followers", "followed", "carol"),
        ("followings", "followed", "erin"),
        ("followings", "unfollowed", "dave"),
    ]
    assert [row["list"] for row in read("changes", "alice", "--db", book.target, "--followers")] == [
        "followers"
    ]
    followings = read("changes", "alice", "--db", book.target, "--followings")
    assert [row["unique_id"] for row in followings] == ["erin", "dave"]


def test_several_owners_get_an_owner_column(book: Book, tmp_path: Path) -> None:
    book.run([CAROL])
    book.run([CAROL, DAVE])
    book.run([CAROL], owner=BOB)
    book.run([DAVE], owner=BOB)
    book.run([ERIN], owner=BOB)
    rows = read("changes", "alice", "bob", "--db", book.target)
    assert [(row["owner"], row["change"], row["unique_id"]) for row in rows] == [
        ("alice", "followed", "dave"),
        ("bob", "followed", "erin"),
        ("bob", "unfollowed", "carol"),
    ]
    assert list(rows[0]) == ["owner", "list", "change", "old_unique_id", "since", "until", *FIELDS]
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("# one account, still a batch\nalice\n")
    (row,) = read("changes", "--input", str(accounts), "--db", book.target)
    assert row["owner"] == "alice"
    (row,) = read("changes", "alice", "--db", book.target)
    assert "owner" not in row
    (row,) = read("changes", "alice", "--db", book.target, "--fields", "owner,change")
    assert row == {"owner": "alice", "change": "followed"}  # asked for: filled in for one account too


def test_a_batch_reports_the_accounts_it_knows_and_exits_1_for_the_others(book: Book, tmp_path: Path) -> None:
    book.run([CAROL])
    book.run([CAROL, DAVE])
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("alice\nnosuchuser\n")
    result = invoke("changes", "--input", str(accounts), "--db", book.target, "-f", "jsonl")
    assert result.exit_code == 1, result.stderr
    assert [(row["owner"], row["unique_id"]) for row in jsonl(result.stdout)] == [("alice", "dave")]
    assert "@nosuchuser is not in the store" in result.stderr
    none_known = invoke("changes", "nosuchuser", "ghost", "--db", book.target)
    assert none_known.exit_code == 3 and none_known.stdout == ""


def test_an_account_is_found_by_any_of_its_names_and_ids(book: Book) -> None:
    book.run([BOB])
    book.run([DAVE])
    book.run([CAROL], owner=account("Alice_Renamed", 1))  # alice took a new name
    expected = [("followed", None, "carol"), ("unfollowed", None, "bob")]
    for args in (("alice",), ("ALICE_renamed",), ("@alice_renamed",), ("--uid", "7001")):
        assert changes(book, *args) == expected, args


def test_an_unknown_account_exits_3_naming_the_store(book: Book) -> None:
    book.run([BOB])
    line = error_line(invoke("changes", "nosuch", "--db", book.target), 3)
    assert "@nosuch is not in the store" in line
    assert sa.make_url(sqlalchemy_url(book.target)).database in line  # the store's label, no password
    error_line(invoke("snapshots", "--uid", "123", "--db", book.target), 3)
    error_line(invoke("history", "nosuch", "--db", book.target), 3)


def test_an_account_only_seen_in_lists_has_nothing_to_compare(book: Book) -> None:
    book.run([BOB])
    result = invoke("changes", "bob", "--db", book.target)
    assert (result.exit_code, result.stdout) == (0, "")
    said = f"no list of @bob was recorded in the store {book.store.label}: nothing to compare"
    assert result.stderr.strip() == f"tiktok: warning: {said}"


@pytest.mark.parametrize("command", ["changes", "history", "snapshots"])
def test_a_missing_or_empty_store_exits_5(db_target: str, tmp_path: Path, command: str) -> None:
    target = str(tmp_path / "none" / "store.db") if "://" not in db_target else db_target
    line = error_line(invoke(command, "alice", "--db", target), 5)
    assert "no store at" in line or "is empty" in line
    assert not (tmp_path / "none").exists()  # reading never creates a store


@pytest.mark.parametrize("command", ["changes", "history", "snapshots"])
def test_another_programs_database_exits_5_untouched(db_target: str, command: str) -> None:
    engine = sa.create_engine(sqlalchemy_url(db_target))
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)"))
    line = error_line(invoke(command, "alice", "--db", db_target), 5)
    assert "not a tiktok-cli store" in line
    with engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) == {"invoices"}
    engine.dispose()


@pytest.mark.parametrize("command", ["changes", "history", "snapshots"])
def test_without_a_store_it_says_to_give_db_or_set_tiktok_db(command: str) -> None:
    line = error_line(invoke(command, "alice"), 2)
    assert "--db" in line and "TIKTOK_DB" in line


def test_the_store_can_come_from_tiktok_db(book: Book, monkeypatch: pytest.MonkeyPatch) -> None:
    book.run([BOB])
    book.run([DAVE])
    book.run([CAROL])
    monkeypatch.setenv("TIKTOK_DB", book.target)
    result = invoke("changes", "alice", "-f", "jsonl")
    assert result.exit_code == 0
    assert [row["unique_id"] for row in jsonl(result.stdout)] == ["carol", "bob"]


# --- formats ---------------------------------------------------------------------------------


@pytest.fixture
def two_runs(book: Book) -> Book:
    book.run([BOB, CAROL])
    book.run([BOB, account("carol_2", 3), DAVE])
    return book


def test_every_format_carries_the_same_rows(two_runs: Book, tmp_path: Path) -> None:
    target = two_runs.target
    lines = read("changes", "alice", "--db", target)
    assert [row["change"] for row in lines] == ["followed", "renamed"]
    array = invoke("changes", "alice", "--db", target, "-f", "json")
    assert json.loads(array.stdout) == lines
    table = invoke("changes", "alice", "--db", target, "-f", "table")
    header, _rule, *body = table.stdout.splitlines()
    assert header.split()[:6] == ["list", "change", "old_unique_id", "since", "until", "unique_id"]
    assert "renamed" in body[1] and "carol " in body[1] and "carol_2" in body[1]
    out = tmp_path / "changes.csv"
    assert invoke("changes", "alice", "--db", target, "-o", str(out)).exit_code == 0
    header_row, *rows = csv_rows(out.read_bytes())
    assert header_row == ["list", "change", "old_unique_id", "since", "until", *FIELDS]
    assert [dict(zip(header_row, row, strict=True))["user_id"] for row in rows] == ["7004", "7003"]
    picked = read("changes", "alice", "--db", target, "--fields", "change,unique_id")
    assert picked == [
        {"change": "followed", "unique_id": "dave"},
        {"change": "renamed", "unique_id": "carol_2"},
    ]


def test_raw_and_unknown_fields_are_usage_errors(two_runs: Book) -> None:
    # No --raw at all: the store keeps no API objects (test_help checks the one-line message).
    assert invoke("changes", "alice", "--db", two_runs.target, "--raw").exit_code == 2
    assert "'likes_change'" in error_line(
        invoke("changes", "alice", "--db", two_runs.target, "--fields", "likes_change"), 2
    )


def test_hostile_names_are_guarded_in_csv_and_escaped_in_the_table(book: Book) -> None:
    formula = User(unique_id="=HYPERLINK(x)", nickname="\x1b[31mred\x1b[0m", user_id="7100")
    book.run([BOB])
    book.run([BOB, formula])
    result = invoke("changes", "alice", "--db", book.target, "-f", "csv")
    header, row = csv_rows(result.stdout_bytes)
    cells = dict(zip(header, row, strict=True))
    assert cells["unique_id"] == "'=HYPERLINK(x)"
    table = invoke("changes", "alice", "--db", book.target, "-f", "table").stdout
    assert "\x1b" not in table and "\\x1b[31mred" in table
    (line,) = read("changes", "alice", "--db", book.target)
    assert (line["unique_id"], line["nickname"]) == ("=HYPERLINK(x)", "\x1b[31mred\x1b[0m")  # exact


# --- history ---------------------------------------------------------------------------------


def observed(book: Book) -> None:
    for day, (followers, following, likes) in enumerate([(100, 5, 1000), (250, 5, 900), (90, 7, None)]):
        user = account("alice", 1, followers=followers, following=following, likes=likes, videos=3)
        book.observe(user, START + timedelta(days=day))


def test_history_has_one_row_per_observation_with_the_change_since_the_one_before(book: Book) -> None:
    observed(book)
    rows = read("history", "alice", "--db", book.target)
    assert [row["observed_at"] for row in rows] == [
        "2026-03-01T03:00:00Z",
        "2026-03-02T03:00:00Z",
        "2026-03-03T03:00:00Z",
    ]
    assert [row["followers"] for row in rows] == [100, 250, 90]
    assert [row["followers_change"] for row in rows] == [None, 150, -160]
    assert [row["following_change"] for row in rows] == [None, 0, 2]
    assert [row["likes_change"] for row in rows] == [None, -100, None]  # no count, no change
    assert {row["backend"] for row in rows} == {"gateway"}
    table = invoke("history", "alice", "--db", book.target, "-f", "table").stdout
    assert "+150" in table and "-160" in table
    assert "▁" not in invoke("history", "alice", "--db", book.target, "-f", "table").stderr  # no terminal


def test_history_compares_each_observation_with_the_one_before_from_the_same_backend(book: Book) -> None:
    seen = [("gateway", 1000), ("web", 600), ("gateway", 1010), ("web", 605), ("web", 611)]
    for day, (backend, followers) in enumerate(seen):
        book.observe(account("alice", 1, followers=followers), START + timedelta(days=day), backend)
    rows = read("history", "alice", "--db", book.target)
    assert [(row["backend"], row["followers_change"]) for row in rows] == [
        ("gateway", None),
        ("web", None),  # the first the web backend counted: nothing to compare it with
        ("gateway", 10),
        ("web", 5),
        ("web", 6),
    ]


def test_history_of_an_account_never_observed_says_so(book: Book) -> None:
    book.run([BOB])
    result = invoke("history", "bob", "--db", book.target)
    assert (result.exit_code, result.stdout) == (0, "")
    assert "no counts of @bob were observed" in result.stderr


def test_on_a_terminal_history_shows_a_trend_line(book: Book, tmp_path: Path) -> None:
    observed(book)
    shown = run_on_a_terminal(["history", "alice", "--db", book.target], tmp_path)
    assert "2026-03-02T03:00:00Z" in shown
    assert "followers ▁█▁ 100 → 90 (-10), last 3 observations" in shown


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_draws_the_curves_into_a_png_or_svg(book: Book, tmp_path: Path, suffix: str) -> None:
    observed(book)
    chart = tmp_path / "charts" / f"alice{suffix}"
    result = invoke("history", "alice", "--db", book.target, "--plot", str(chart), "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(jsonl(result.stdout)) == 3  # the rows still go to the output
    data = chart.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    else:
        assert b"<svg" in data and b"</svg>" in data
    assert f"plotted in {chart}" in result.stderr
    assert [p.name for p in chart.parent.iterdir()] == [chart.name]  # no part file left


def test_plot_needs_a_png_or_svg_name(book: Book, tmp_path: Path) -> None:
    line = error_line(invoke("history", "alice", "--db", book.target, "--plot", str(tmp_path / "a.jpg")), 2)
    assert ".png or .svg" in line


def test_plot_without_matplotlib_says_how_to_install_it(
    book: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    observed(book)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    line = error_line(invoke("history", "alice", "--db", book.target, "--plot", str(tmp_path / "a.png")), 5)
    assert "pip install 'tiktok-follows[plot]'" in line
    assert not (tmp_path / "a.png").exists()


# --- snapshots -------------------------------------------------------------------------------


def test_snapshots_lists_every_run_with_its_status_and_counts(book: Book) -> None:
    book.run([BOB, CAROL], total=3)
    book.run([BOB], complete=False, note="stopped by --limit")
    book.run([DAVE], list_name="followings")
    rows = read("snapshots", "alice", "--db", book.target)
    assert [list(row) for row in rows[:1]] == [
        [
            "id",
            "list",
            "started_at",
            "finished_at",
            "status",
            "kind",
            "coverage",
            "note",
            "rows",
            "reported_total",
            "backend",
            "owner_name",
        ]
    ]
    assert [(r["id"], r["list"], r["status"], r["note"], r["rows"], r["reported_total"]) for r in rows] == [
        (1, "followers", "complete", None, 2, 3),
        (2, "followers", "incomplete", "stopped by --limit", 1, 1),
        (3, "followings", "complete", None, 1, 1),
    ]
    assert {(r["backend"], r["owner_name"]) for r in rows} == {("gateway", "alice")}
    for row in rows:
        assert row["started_at"] < row["finished_at"]
        assert row["started_at"].endswith("Z")
    assert [r["id"] for r in read("snapshots", "alice", "--db", book.target, "--followings")] == [3]


def test_a_run_that_started_after_another_finished_never_seems_to_start_before_it(book: Book) -> None:
    book.clock.step = timedelta(milliseconds=300)  # two runs finish and start within one second
    book.run([BOB])
    book.run([BOB])
    first, second = read("snapshots", "alice", "--db", book.target)
    assert first["finished_at"] <= second["started_at"]
    assert first["finished_at"].endswith("Z") and len(first["finished_at"]) == len("2026-03-01T03:00:01.200Z")


def test_a_run_still_going_is_listed_as_running(book: Book) -> None:
    book.recorder.begin(ALICE, "followers", owner_name="alice")
    (row,) = read("snapshots", "alice", "--db", book.target)
    assert (row["status"], row["finished_at"]) == ("running", None)


# --- start-up ----------------------------------------------------------------------------------


def test_help_loads_no_database_library() -> None:
    code = (
        "import sys\n"
        "from tiktok_cli.cli import app\n"
        "for args in (['--help'], ['changes', '--help'], ['history', '--help']):\n"
        "    try:\n"
        "        app(args, prog_name='tiktok')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('sqlalchemy', 'alembic', 'matplotlib')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.splitlines()[-1] == "[]"


def run_on_a_terminal(args: list[str], cwd: Path) -> str:
    """Run `tiktok ARGS` with stdout and stderr on a pseudo-terminal; what it showed."""
    import pty

    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    env.update(TIKTOK_CONFIG=str(cwd / "none.toml"), COLUMNS="160", TERM="xterm")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tiktok_cli", *args],
        cwd=cwd,
        env=env,
        stdout=secondary,
        stderr=secondary,
        stdin=subprocess.DEVNULL,
    )
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(30) == 0, seen
    os.close(primary)
    return seen.decode()
