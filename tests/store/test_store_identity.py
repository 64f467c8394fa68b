"""One account, one row: the store recognises an account whichever ids an API gives this
time, and what it writes and reads does not depend on the clocks of the machines writing.

Each test records through the real CLI against the local server, on SQLite and on a real
PostgreSQL server (``db_target``), and reads the store back with `tiktok changes` and SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fakeserver import Account, FakeTikTok, sec_uid_for
from helpers import Serve, error_line, invoke, jsonl, query, spawn_cli

from tiktok_cli.store import record

ALICE_UID = "6754915036232582149"
ALICE_SEC = sec_uid_for("alice")


def followings(db: str, *account: str) -> None:
    result = invoke("followings", *(account or ("alice",)), "--db", db, "-f", "none")
    assert result.exit_code == 0, result.stderr


def changes(db: str, *args: str) -> list[dict[str, Any]]:
    result = invoke("changes", *(args or ("alice",)), "--db", db, "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    return jsonl(result.stdout)


def rewrite_followings(server: FakeTikTok, change: Callable[[dict[str, Any]], None]) -> None:
    """From now on the gateway's followings pages carry each entry as ``change`` leaves it."""
    answer = FakeTikTok.followings.__get__(server)

    def changed(params: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        status, body, headers = answer(params)
        document = json.loads(body)
        for entry in document.get("followings", []):
            change(entry)
        return status, json.dumps(document).encode(), headers

    server.followings = changed  # type: ignore[method-assign]


def without(*fields: str) -> Callable[[dict[str, Any]], None]:
    def change(entry: dict[str, Any]) -> None:
        for name in fields:
            entry.pop(name, None)

    return change


def accounts_count(engine: sa.Engine) -> int:
    return int(query(engine, "SELECT count(*) FROM accounts")[0][0])


# --- one account, whichever ids the API gives -----------------------------------------------


@pytest.mark.parametrize("missing", [("id",), ("id", "secUid")], ids=["no-user-ids", "names-only"])
@pytest.mark.parametrize("night", [1, 2], ids=["first-night", "second-night"])
def test_a_night_without_user_ids_changes_nothing(
    serve: Serve, db_target: str, store: sa.Engine, missing: tuple[str, ...], night: int
) -> None:
    server = serve()  # alice follows 43 accounts
    for run in (1, 2, 3):
        if run == night:
            rewrite_followings(server, without(*missing))
        elif run == night + 1:
            server.followings = FakeTikTok.followings.__get__(server)  # type: ignore[method-assign]
        followings(db_target)
        if run > 1:
            assert changes(db_target) == []
    assert accounts_count(store) == 1 + 43  # alice and the accounts she follows, once each
    assert query(store, "SELECT count(*) FROM memberships") == [(43,)]  # one interval each, never ended
    # Every account ends up keyed by its strongest id, and knows every id.
    assert query(
        store, "SELECT count(*) FROM accounts WHERE account_key NOT LIKE 'id:%' OR sec_uid IS NULL"
    ) == [(0,)]


def test_a_rename_of_an_account_first_stored_by_name_is_a_rename(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve()
    rewrite_followings(server, without("id", "secUid"))
    followings(db_target)  # names alone: keyed name:...
    server.followings = FakeTikTok.followings.__get__(server)  # type: ignore[method-assign]
    followings(db_target)  # the same names, with ids now

    def renamed(entry: dict[str, Any]) -> None:
        if entry["username"] == "followed_000007":
            entry["username"] = "seven_renamed"

    rewrite_followings(server, renamed)
    followings(db_target)
    assert [(row["change"], row["old_unique_id"], row["unique_id"]) for row in changes(db_target)] == [
        ("renamed", "followed_000007", "seven_renamed")
    ]
    assert accounts_count(store) == 44


def test_a_username_that_passed_to_another_account_keeps_them_two(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve()
    followings(db_target)

    def passed_on(entry: dict[str, Any]) -> None:
        if entry["username"] == "followed_000007":  # seven took a new name ...
            entry["username"] = "seven"
        elif entry["username"] == "followed_000008":  # ... and eight's place went to a newcomer
            entry.update(username="followed_000007", id="999", secUid="MS4wnewcomer")

    rewrite_followings(server, passed_on)
    followings(db_target)
    followings(db_target)  # eight is missed a second night in a row: gone
    rows = changes(db_target, "alice", "--from", "1", "--to", "3")
    assert sorted((row["change"], row["old_unique_id"], row["unique_id"]) for row in rows) == [
        ("followed", None, "followed_000007"),
        ("renamed", "followed_000007", "seven"),
        ("unfollowed", None, "followed_000008"),
    ]
    assert accounts_count(store) == 1 + 43 + 1


@pytest.mark.parametrize("order", ["sec-uid-first", "username-first"])
def test_an_owner_named_by_sec_uid_is_the_list_named_by_username(
    serve: Serve, db_target: str, store: sa.Engine, order: str
) -> None:
    serve()
    names = [("--sec-uid", ALICE_SEC), ("alice",)]
    for account in names if order == "sec-uid-first" else names[::-1]:
        followings(db_target, *account)
    assert query(store, "SELECT count(*) FROM lists") == [(1,)]
    assert query(
        store, "SELECT unique_id, user_id, sec_uid FROM accounts WHERE sec_uid = :s", s=ALICE_SEC
    ) == [("alice", ALICE_UID, ALICE_SEC)]
    # Two complete snapshots of one list: there is something to compare, and nothing changed.
    result = invoke("changes", "alice", "--db", db_target, "-f", "jsonl")
    assert (result.exit_code, result.stdout) == (0, "")
    assert "one complete snapshot" not in result.stderr
    assert changes(db_target, "--sec-uid", ALICE_SEC) == []


def test_an_owner_named_by_uid_is_the_list_named_by_username(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    serve()
    for account in (("--uid", ALICE_UID), ("alice",)):
        result = invoke("followers", *account, "--db", db_target, "-f", "none")
        assert result.exit_code == 0, result.stderr
    assert query(store, "SELECT count(*) FROM lists") == [(1,)]
    assert query(store, "SELECT count(*) FROM snapshots WHERE status = 'complete'") == [(2,)]


def test_two_rows_an_older_release_kept_for_one_owner_are_merged(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    """Releases before this one keyed `--sec-uid` and username runs apart: two owners, two lists."""
    serve()
    followings(db_target, "--sec-uid", ALICE_SEC)  # owner sec:..., list 1, snapshot 1
    with store.begin() as connection:  # hide it, so the next run stores alice a second time
        connection.execute(
            sa.text("UPDATE accounts SET account_key = 'sec:hidden', sec_uid = 'hidden' WHERE id = 1")
        )
    followings(db_target)  # owner id:..., list 2, snapshot 2
    with store.begin() as connection:
        connection.execute(
            sa.text("UPDATE accounts SET account_key = :key, sec_uid = :sec WHERE id = 1"),
            {"key": "sec:" + ALICE_SEC, "sec": ALICE_SEC},
        )
    assert query(store, "SELECT count(*) FROM lists") == [(2,)]
    followings(db_target)  # the look-up names both rows: they are merged
    assert query(store, "SELECT count(*) FROM lists") == [(1,)]
    assert query(store, "SELECT count(*) FROM accounts WHERE sec_uid = :s", s=ALICE_SEC) == [(1,)]
    assert query(store, "SELECT account_key, unique_id FROM accounts WHERE sec_uid = :s", s=ALICE_SEC) == [
        ("id:" + ALICE_UID, "alice")
    ]
    rows = jsonl(invoke("snapshots", "alice", "--db", db_target, "-f", "jsonl").stdout)
    assert [(row["id"], row["status"]) for row in rows] == [(1, "complete"), (2, "complete"), (3, "complete")]
    # One open interval per member, from the first snapshot that saw it.
    assert query(store, "SELECT count(*), min(first_run), max(first_run) FROM memberships") == [(43, 1, 1)]
    assert query(store, "SELECT count(*) FROM memberships WHERE ended_run IS NOT NULL") == [(0,)]
    assert changes(db_target, "alice", "--from", "1", "--to", "3") == []


def test_a_member_an_older_release_stored_twice_is_merged_with_its_interval(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    """A night without user ids made older releases store members a second time, by secUid."""
    serve()
    followings(db_target)
    sec = sec_uid_for("followed_000005")
    with store.begin() as connection:
        (original,) = connection.execute(
            sa.text("SELECT id FROM accounts WHERE sec_uid = :s"), {"s": sec}
        ).one()
        connection.execute(
            sa.text(
                "INSERT INTO accounts (account_key, sec_uid, unique_id, updated_at) "
                "VALUES (:key, :sec, 'followed_000005', :at)"
            ),
            {"key": "sec:" + sec, "sec": sec, "at": datetime(2026, 1, 1)},
        )
        (twin,) = connection.execute(
            sa.text("SELECT id FROM accounts WHERE account_key = :k"), {"k": "sec:" + sec}
        ).one()
        connection.execute(
            sa.text("UPDATE memberships SET member_id = :twin WHERE member_id = :o"),
            {"twin": twin, "o": original},
        )
    followings(db_target)
    assert changes(db_target) == []
    assert query(store, "SELECT count(*) FROM accounts WHERE sec_uid = :s", s=sec) == [(1,)]
    assert query(
        store,
        "SELECT m.first_run, m.ended_run FROM memberships m "
        "JOIN accounts a ON a.id = m.member_id WHERE a.sec_uid = :s",
        s=sec,
    ) == [(1, None)]


FOLLOWED = 60


class WithoutUserIds(FakeTikTok):
    """A gateway that leaves the user ids out of its followings pages."""

    def followings(self, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        status, body, headers = super().followings(query)
        document = json.loads(body)
        for entry in document.get("followings", []):
            entry.pop("id", None)
        return status, json.dumps(document).encode(), headers


def store_twice(store: sa.Engine) -> None:
    """Store every followed account a second time by its secUid, as older releases did after
    a night without user ids, and give that twin the intervals of every other list."""
    with store.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO accounts (account_key, sec_uid, unique_id, updated_at) "
                "SELECT 'sec:' || sec_uid, sec_uid, unique_id, updated_at FROM accounts "
                "WHERE id NOT IN (SELECT owner_id FROM lists)"
            )
        )
        connection.execute(
            sa.text(
                "UPDATE memberships SET member_id = (SELECT twin.id FROM accounts twin JOIN accounts a "
                "ON twin.account_key = 'sec:' || a.sec_uid WHERE a.id = memberships.member_id) "
                "WHERE list_id % 2 = 0"
            )
        )


def test_writers_meeting_one_account_by_different_ids_at_once_neither_fail_nor_invent_changes(
    db_target: str, store: sa.Engine, tmp_path: Path
) -> None:
    owners = [
        Account(name, str(6754915036232582149 + n), sec_uid_for(name), 5, FOLLOWED)
        for n, name in enumerate(["ann", "ben", "cat", "dan", "eve", "fay"])
    ]
    # Small pages, served slowly: the runs' pages interleave, each storing the same accounts.
    slow = {"accounts": owners, "latency": 0.01}
    recording = ("--count", "6", "--db", db_target, "-f", "none")
    with FakeTikTok(**slow) as with_ids, WithoutUserIds(**slow) as without_ids:
        for night in (0, 1):
            runs = [
                spawn_cli(server, "followings", owner.name, *recording, cwd=tmp_path)
                for n, owner in enumerate(owners)
                for server in [(with_ids, without_ids)[(n + night) % 2]]
            ]
            ended = [(run.communicate(timeout=180)[1], run.returncode) for run in runs]
            assert [code for _, code in ended] == [0] * len(owners), ended
            if night == 0:
                store_twice(store)  # as older releases did: the second night merges at once
    for owner in owners:
        assert changes(db_target, owner.name) == [], owner.name
    # Every account stored twice (and whatever the first night's races did) is one again.
    assert accounts_count(store) == len(owners) + FOLLOWED
    assert query(store, "SELECT count(*) FROM memberships WHERE ended_run IS NULL") == [
        (len(owners) * FOLLOWED,)
    ]


# --- avatar signatures ----------------------------------------------------------------------


def signed(expires: int, path: str = "") -> Callable[[dict[str, Any]], None]:
    def change(entry: dict[str, Any]) -> None:
        base = entry["avatar"].replace(".jpeg", f"{path}.jpeg")
        entry["avatar"] = f"{base}?x-expires={expires}&x-signature=sig{expires}"

    return change


def test_a_new_avatar_signature_alone_rewrites_no_account(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve()
    rewrite_followings(server, signed(1))
    followings(db_target)
    before = query(store, "SELECT id, avatar_url, updated_at FROM accounts ORDER BY id")
    rewrite_followings(server, signed(2))
    followings(db_target)
    assert query(store, "SELECT id, avatar_url, updated_at FROM accounts ORDER BY id") == before
    # A new picture (another path) is a change: the newest URL is kept.
    rewrite_followings(server, signed(3, path="-new"))
    followings(db_target)
    urls = [
        url
        for (url,) in query(
            store, "SELECT avatar_url FROM accounts WHERE account_key <> :k", k="id:" + ALICE_UID
        )
    ]
    assert len(urls) == 43 and all(url.endswith("-new.jpeg?x-expires=3&x-signature=sig3") for url in urls)


# --- clocks ---------------------------------------------------------------------------------


def test_a_writer_whose_clock_is_an_hour_slow_loses_no_rename_and_inverts_no_window(
    serve: Serve, db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve()
    followings(db_target)
    slow = record.now

    def an_hour_slow() -> datetime:
        return slow() - timedelta(hours=1)

    monkeypatch.setattr(record, "now", an_hour_slow)
    server.accounts["alice"].followings = 44  # one more followed

    def renamed(entry: dict[str, Any]) -> None:
        if entry["username"] == "followed_000003":
            entry["username"] = "three"

    rewrite_followings(server, renamed)
    followings(db_target)
    rows = changes(db_target)
    assert sorted((row["change"], row["unique_id"]) for row in rows) == [
        ("followed", "followed_000043"),
        ("renamed", "three"),
    ]
    for row in rows:
        assert row["since"] <= row["until"], row
    shown = jsonl(invoke("snapshots", "alice", "--db", db_target, "-f", "jsonl").stdout)
    for row in shown:
        assert row["started_at"] <= row["finished_at"]
    if "://" in db_target:  # PostgreSQL: the server's clock, whichever machine wrote
        assert shown[1]["started_at"] >= shown[0]["finished_at"]


# --- small things ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "said"),
    [
        ("999999d", "before the year 1"),
        ("999999w", "before the year 1"),
        ("0001-01-01T00:00+05:00", "beyond the calendar"),
        ("9999-12-31T23:00-05:00", "beyond the calendar"),
    ],
)
def test_a_since_beyond_the_calendar_is_a_usage_error(db_target: str, since: str, said: str) -> None:
    line = error_line(invoke("changes", "alice", "--db", db_target, "--since", since), 2)
    assert f"--since '{since}'" in line and said in line


def test_a_list_runs_owner_observation_names_the_backend_that_looked_the_owner_up(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    serve()
    result = invoke("followers", "alice", "--db", db_target, "-f", "none")
    assert result.exit_code == 0, result.stderr
    assert query(store, "SELECT backend FROM snapshots") == [("tkapi",)]  # the token API read the list
    assert query(store, "SELECT backend, followers FROM observations") == [
        ("gateway", 95)
    ]  # the gateway the owner


@pytest.mark.parametrize("nights_without_ids", [1, 2])
def test_a_member_renamed_while_the_api_gave_no_ids_is_never_unfollowed(
    serve: Serve, db_target: str, nights_without_ids: int
) -> None:
    """A member known by its user id, shown by a new name and no id, may be any of the new
    names: the nights without ids prove nobody gone, whatever the count of such nights."""
    server = serve()
    followings(db_target)

    def nameless_and_renamed(entry: dict[str, Any]) -> None:
        without("id", "secUid")(entry)
        if entry["username"] == "followed_000005":
            entry["username"] = "zzz"

    rewrite_followings(server, nameless_and_renamed)
    for _ in range(nights_without_ids):
        followings(db_target)
        assert "unfollowed" not in [row["change"] for row in changes(db_target)]

    def renamed(entry: dict[str, Any]) -> None:
        if entry["username"] == "followed_000005":
            entry["username"] = "zzz"

    server.followings = FakeTikTok.followings.__get__(server)  # type: ignore[method-assign]
    rewrite_followings(server, renamed)  # the ids are back; the new name stays
    for _ in range(2):
        followings(db_target)
    last = str(nights_without_ids + 3)
    everything = changes(db_target, "alice", "--from", "1", "--to", last)
    assert "unfollowed" not in [row["change"] for row in everything], everything
    for later in range(2, nights_without_ids + 4):
        compared = changes(db_target, "alice", "--from", str(later - 1), "--to", str(later))
        assert "unfollowed" not in [row["change"] for row in compared], (later, compared)
