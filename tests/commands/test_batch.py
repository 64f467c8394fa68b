"""Batch runs: many accounts per command, concurrent, in order, and polite."""

from __future__ import annotations

import csv
import io
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fakeserver import Account, FakeTikTok, Fault, sec_uid_for
from helpers import Serve, invoke, spawn_cli, wait_for_rows

from tiktok_cli.workers import Events, Outcome, grouped

ACCOUNTS = [
    Account("alice", "6754915036232582149", sec_uid_for("alice"), 45, 12),
    Account("bob.b", "6754915036232582150", sec_uid_for("bob.b"), 30, 7),
    Account("carol_c", "6754915036232582151", sec_uid_for("carol_c"), 0, 0),
    Account("hidden.one", "6754915036232582152", sec_uid_for("hidden.one"), 10, 10, hidden=True),
]


@pytest.fixture
def server(serve: Serve) -> FakeTikTok:
    return serve(accounts=ACCOUNTS)


def jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_user_info_reads_input_files_with_comments_and_keeps_input_order(
    server: FakeTikTok, tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text(
        "# tracked accounts\n\n@bob.b\nhttps://www.tiktok.com/@carol_c?lang=en  # shop\n\nalice\n"
    )
    result = invoke("user-info", "hidden.one", "--input", str(accounts), "-j", "3", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert [r["unique_id"] for r in jsonl(result.stdout)] == ["hidden.one", "bob.b", "carol_c", "alice"]


def test_user_info_reads_accounts_from_stdin(server: FakeTikTok) -> None:
    result = invoke("user-info", "--input", "-", "-f", "csv", "--fields", "unique_id", input="alice\nbob.b\n")
    assert result.stdout.splitlines() == ["unique_id", "alice", "bob.b"]


def test_a_bad_line_in_an_input_file_is_a_usage_error_naming_the_line(
    server: FakeTikTok, tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("alice\n\nnot a name\n")
    result = invoke("user-info", "--input", str(accounts))
    assert result.exit_code == 2
    assert f"{accounts} line 3: 'not a name' is not a valid TikTok username" in result.stderr
    assert server.requests == []


def test_a_failed_account_does_not_stop_the_batch(server: FakeTikTok, tmp_path: Path) -> None:
    errors = tmp_path / "failed.txt"
    result = invoke("user-info", "alice", "nosuch_a", "@bob.b", "--errors", str(errors), "-f", "jsonl")
    assert result.exit_code == 1
    assert [r["unique_id"] for r in jsonl(result.stdout)] == ["alice", "bob.b"]
    assert "tiktok: error: @nosuch_a does not exist" in result.stderr
    assert "1 of 3 accounts failed" in result.stderr
    assert errors.read_text() == "nosuch_a\n"
    # The errors file feeds straight back in.
    again = invoke("user-info", "--input", str(errors))
    assert again.exit_code == 3


def test_every_account_failing_for_one_reason_exits_with_that_reason(server: FakeTikTok) -> None:
    result = invoke("user-info", "nosuch_a", "nosuch_b")
    assert result.exit_code == 3
    assert "all 2 accounts failed" in result.stderr


def test_every_account_failing_for_different_reasons_exits_8(server: FakeTikTok) -> None:
    result = invoke("followings", "nosuch_a", "hidden.one", "-f", "jsonl")
    assert result.exit_code == 8
    assert "all 2 accounts failed, for different reasons" in result.stderr


def test_lists_of_several_accounts_carry_an_owner_column(server: FakeTikTok, tmp_path: Path) -> None:
    out = tmp_path / "followers.csv"
    result = invoke("followers", "alice", "bob.b", "carol_c", "-j", "3", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert next(iter(rows[0])) == "owner"
    by_owner: dict[str, list[str]] = {}
    for row in rows:
        by_owner.setdefault(row["owner"], []).append(row["user_id"])
    assert {k: len(v) for k, v in by_owner.items()} == {"alice": 45, "bob.b": 30}
    for owner, user_ids in by_owner.items():
        assert user_ids == sorted(user_ids), f"{owner}'s pages out of order"
    assert "75 followers of 3 accounts written" in result.stderr


def test_accounts_from_input_carry_the_owner_column_however_many(server: FakeTikTok, tmp_path: Path) -> None:
    """One rule for every list and report: several accounts, --input or --shard give rows an
    owner column, so a cron job's header does not change when its input shrinks to one line."""
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("# one account, still a batch\nbob.b\n")
    listed = invoke("followers", "--input", str(accounts), "-f", "csv")
    assert listed.exit_code == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split(",")[0] == "owner"
    assert {row["owner"] for row in csv.DictReader(io.StringIO(listed.stdout))} == {"bob.b"}
    named = invoke("followers", "bob.b", "-f", "csv")
    assert named.exit_code == 0, named.stderr
    assert named.stdout.splitlines()[0].split(",")[0] == "unique_id"
    raw = invoke("followers", "--input", str(accounts), "--raw")
    assert raw.exit_code == 2
    assert "--raw" in raw.stderr and "for one account" in raw.stderr


# A batch whose first list is long and slow: the lists after it finish first.
SLOW_FIRST = [
    Account("amber_fox", "6754915036232582160", sec_uid_for("amber_fox"), 400, 0),
    Account("blue_heron", "6754915036232582161", sec_uid_for("blue_heron"), 40, 0),
    Account("coral_reef", "6754915036232582162", sec_uid_for("coral_reef"), 30, 0),
]


@pytest.fixture
def slow_first(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> FakeTikTok:
    srv = serve(accounts=SLOW_FIRST, page_size=10)
    followers: Callable[[dict[str, str]], Any] = srv.followers

    def slowly(query: dict[str, str]) -> Any:
        if query.get("uid") == SLOW_FIRST[0].uid:
            time.sleep(0.03)
        return followers(query)

    monkeypatch.setattr(srv, "followers", slowly)
    return srv


def owners(data: bytes) -> list[str]:
    return [row["owner"] for row in csv.DictReader(io.StringIO(data.decode(), newline=""))]


def test_a_batch_writes_each_list_whole_in_input_order(slow_first: FakeTikTok, tmp_path: Path) -> None:
    names = [a.name for a in SLOW_FIRST]
    runs = []
    for run in range(2):
        out = tmp_path / f"run{run}.csv"
        result = invoke("followers", *names, "-j", "3", "-o", str(out))
        assert result.exit_code == 0, result.stderr
        runs.append(out.read_bytes())
    # The scenario holds: the first list was still being fetched when the others ended.
    last_pages = [r for r in slow_first.requests if "/user/followers" in r][-3:]
    assert all(f"uid={SLOW_FIRST[0].uid}" in r for r in last_pages)
    assert owners(runs[0]) == ["amber_fox"] * 400 + ["blue_heron"] * 40 + ["coral_reef"] * 30
    assert runs[0] == runs[1]


def test_a_killed_batch_resumes_to_the_same_bytes(slow_first: FakeTikTok, tmp_path: Path) -> None:
    names = [a.name for a in SLOW_FIRST]
    assert invoke("followers", *names, "-j", "3", "-o", str(tmp_path / "whole.csv")).exit_code == 0

    with spawn_cli(slow_first, "followers", *names, "-j", "3", "-o", "out.csv", cwd=tmp_path) as victim:
        wait_for_rows(tmp_path / ".out.csv.checkpoint", 20)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    assert not (tmp_path / "out.csv").exists()
    saved = json.loads((tmp_path / ".out.csv.checkpoint").read_text())["progress"]["lists"]
    rows = [saved[f"username:{a.name}"]["rows"] for a in SLOW_FIRST]
    assert 0 < rows[0] < 400 and rows[1:] == [0, 0]  # killed while the first list was written

    resumed = invoke("followers", *names, "-j", "3", "-o", str(tmp_path / "out.csv"))
    assert resumed.exit_code == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_grouped_events_come_source_by_source_whatever_order_they_arrive_in() -> None:
    failure = RuntimeError("source 1 failed")
    arrived: list[tuple[int, Outcome[str] | None]] = [
        (2, Outcome("c1")),
        (1, Outcome("b1")),
        (2, None),
        (0, Outcome("a1")),
        (1, Outcome(error=failure)),
        (3, Outcome("d1")),
        (0, Outcome("a2")),
        (0, None),
        (3, None),
    ]

    def events() -> Events[str]:
        yield from arrived

    seen = [(i, "end" if e is None else e.error or e.value) for i, e in grouped(events(), 4)]
    expected = [(0, "a1"), (0, "a2"), (0, "end"), (1, "b1"), (1, failure)]
    assert seen == [*expected, (2, "c1"), (2, "end"), (3, "d1"), (3, "end")]


def test_the_same_follower_of_two_owners_appears_under_each(server: FakeTikTok) -> None:
    result = invoke("followers", "alice", "bob.b", "-f", "jsonl", "--fields", "owner,user_id")
    rows = jsonl(result.stdout)
    first = [r for r in rows if r["user_id"] == "7000000000000000000"]
    assert sorted(r["owner"] for r in first) == ["alice", "bob.b"]


def test_owner_is_available_with_fields_for_a_single_account(server: FakeTikTok) -> None:
    result = invoke("followings", "alice", "-f", "csv", "--fields", "owner,unique_id", "--limit", "2")
    assert result.stdout.splitlines() == ["owner,unique_id", "alice,followed_000000", "alice,followed_000001"]


def test_a_transient_failure_keeps_the_batch_resumable(server: FakeTikTok, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    errors = tmp_path / "failed.txt"
    server.faults = [Fault("/user/followers", 500, b"{}") for _ in range(3)]  # the first list's first page
    result = invoke(
        "followers", "alice", "bob.b", "-j", "1", "--retries", "2", "-o", str(out), "--errors", str(errors)
    )
    assert result.exit_code == 1
    assert not out.exists() and (tmp_path / ".all.jsonl.part").exists()
    assert "run the same command again to resume" in result.stderr
    assert errors.read_text() == "alice\n"

    resumed = invoke("followers", "alice", "bob.b", "-j", "1", "-o", str(out), "--errors", str(errors))
    assert resumed.exit_code == 0, resumed.stderr
    rows = jsonl(out.read_text())
    assert len(rows) == len({(r["owner"], r["user_id"]) for r in rows}) == 75
    assert errors.read_text() == ""


def test_a_final_failure_does_not_block_the_export_file(server: FakeTikTok, tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    result = invoke("followings", "alice", "hidden.one", "-o", str(out))
    assert result.exit_code == 1
    assert "hidden.one is private or its list is hidden" in result.stderr
    assert out.exists() and len(list(csv.DictReader(io.StringIO(out.read_text())))) == 12


def test_the_global_rate_limit_holds_across_workers(server: FakeTikTok) -> None:
    names = [a.name for a in ACCOUNTS[:3]] * 2
    started = time.monotonic()
    result = invoke("user-info", *names, "-j", "6", "--rate", "10", "-f", "jsonl")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0
    assert elapsed >= 0.45  # six requests at most ten a second: at least five gaps of 0.1 s


def test_a_start_cursor_needs_a_single_account(server: FakeTikTok) -> None:
    result = invoke("followers", "alice", "bob.b", "--cursor", "5")
    assert result.exit_code == 2 and "one account" in result.stderr
