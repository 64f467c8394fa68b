"""The words a run ends with, and the progress line people watch while it runs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeserver import Account, FakeTikTok, Fault, sec_uid_for
from helpers import Serve, invoke, on_a_terminal

UID = "6754915036232582149"
ACCOUNTS = [
    Account("alice", UID, sec_uid_for("alice"), 95, 43),
    Account("bob.b", "6754915036232582150", sec_uid_for("bob.b"), 1, 1),
]


@pytest.fixture
def server(serve: Serve) -> FakeTikTok:
    return serve(accounts=ACCOUNTS)


def summary(result: object) -> str:
    return result.stderr.strip().splitlines()[-1]  # type: ignore[attr-defined]


# --- the summary ------------------------------------------------------------------------------


def test_one_row_is_one_follower(server: FakeTikTok) -> None:
    result = invoke("followers", "--uid", UID, "--limit", "1", "-o", "f.csv")
    assert result.exit_code == 0, result.stderr
    assert summary(result) == f"1 follower of uid {UID} written to f.csv (TikTok reports ~95)"
    result = invoke("followings", "bob.b", "-o", "g.csv")
    assert summary(result) == "1 following of @bob.b written to g.csv (TikTok reports ~1)"


def test_the_summary_counts_only_the_accounts_that_succeeded(server: FakeTikTok) -> None:
    result = invoke("followers", "alice", "bob.b", "nosuch_a", "-o", "all.csv")
    assert result.exit_code == 1
    assert "96 followers of 2 accounts written to all.csv" in result.stderr
    result = invoke("followers", "bob.b", "nosuch_a", "-o", "one.csv")
    assert "1 follower of 1 account written to one.csv" in result.stderr


def test_entries_that_are_no_account_are_counted(server: FakeTikTok) -> None:
    def with_a_placeholder(query: dict[str, str]) -> bytes:
        page = json.loads(server.followers(query)[1])
        page["data"]["followers"].append({})  # an entry naming no account, one per page
        return json.dumps(page).encode()

    server.faults = [Fault("/user/followers", body=with_a_placeholder)] * 6
    result = invoke("followers", "--uid", UID, "-o", "f.jsonl")
    assert result.exit_code == 0, result.stderr
    assert summary(result).endswith("(TikTok reports ~95) (5 entries that are no account skipped)")
    result = invoke("followers", "--uid", UID, "--limit", "3", "-o", "g.jsonl")
    assert summary(result).endswith("(1 entry that is no account skipped)")


def test_a_list_tiktok_stopped_serving_says_it_is_a_window(server: FakeTikTok) -> None:
    def capped(query: dict[str, str]) -> bytes:
        page = json.loads(server.followers(query)[1])
        page["data"].update(min_time=-1, has_more=True, total=9_412_345)  # more, but no cursor
        return json.dumps(page).encode()

    server.faults = [
        Fault("/user/followers", body=lambda q: server.followers(q)[1]),
        Fault("/user/followers", body=capped),
    ]
    result = invoke("followers", "--uid", UID, "-o", "f.csv")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == (
        f"40 of ~9,412,345 followers of uid {UID} written to f.csv: TikTok shows only the newest ~40"
    )


# --- the progress line ----------------------------------------------------------------------


@pytest.fixture
def slow_server() -> Iterator[FakeTikTok]:
    with FakeTikTok(accounts=[Account("alice", UID, sec_uid_for("alice"), 600)], latency=0.03) as srv:
        yield srv


def test_the_progress_total_respects_the_limit_and_shows_an_eta(
    slow_server: FakeTikTok, tmp_path: Path
) -> None:
    data, terminal = on_a_terminal(
        slow_server, tmp_path, "followers", "alice", "--limit", "300", "-f", "jsonl", columns=150, lines=40
    )
    assert len(data.splitlines()) == 300
    assert b"of ~300" in terminal and b"of ~600" not in terminal
    assert b"ETA" in terminal and re.search(rb"ETA (\x1b\[[0-9;]*m)?\d+:\d\d:\d\d", terminal)


def test_progress_shows_while_a_table_prints_to_the_same_terminal(
    slow_server: FakeTikTok, tmp_path: Path
) -> None:
    _, terminal = on_a_terminal(
        slow_server, tmp_path, "followers", "alice", "--limit", "200", "--fields", "unique_id,nickname",
        columns=150,
        lines=40,
        stdout_too=True,
    )  # fmt: skip
    assert b"followers of @alice" in terminal and b"of ~200" in terminal  # the bar was drawn
    text = terminal.decode()
    rows = [line for line in text.split("\n") if "fan_" in line]
    for number in range(200):
        # every row reaches the terminal whole: name and nickname on one line, no bar inside it
        [line] = [r for r in rows if f"fan_{number:06d} " in r]
        assert f"Fan number {number}" in line and "\x1b" not in line.split(f"fan_{number:06d}")[1], line
    assert b"200 followers of @alice written" in terminal
