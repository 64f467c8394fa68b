"""--input reads this tool's own output back: JSON lines and CSV, with the ids they carry."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from fakeserver import UID_BASE, Account, FakeTikTok, sec_uid_for
from helpers import NO_REQUESTS, Serve, error_line, invoke, jsonl

# alice and bob.b share their first followers, fan_000000 and fan_000001; the fans have
# followers and followings of their own, so their lists can be exported in turn.
FANS = [
    Account(f"fan_{i:06d}", str(UID_BASE + i), sec_uid_for(f"fan_{i:06d}"), 2 + i, 1 + i) for i in range(3)
]
HIDDEN_FAN = Account("fan_000003", str(UID_BASE + 3), sec_uid_for("fan_000003"), 5, 5, hidden=True)
ACCOUNTS = [
    Account("alice", "6754915036232582149", sec_uid_for("alice"), 3, 2),
    Account("bob.b", "6754915036232582150", sec_uid_for("bob.b"), 2, 2),
    *FANS,
    HIDDEN_FAN,
]


@pytest.fixture
def server(serve: Serve) -> FakeTikTok:
    return serve(accounts=ACCOUNTS)


def export(tmp_path: Path, name: str, *args: str) -> Path:
    """Run an export to a file (-o) and return its path."""
    path = tmp_path / name
    result = invoke(*args, "-o", str(path), "-q")
    assert result.exit_code == 0, result.stderr
    return path


def owners(result) -> dict[str, int]:
    assert result.exit_code == 0, result.stderr
    counts: dict[str, int] = {}
    for row in jsonl(result.stdout):
        counts[row["owner"]] = counts.get(row["owner"], 0) + 1
    return counts


FAN_FOLLOWERS = {"fan_000000": 2, "fan_000001": 3, "fan_000002": 4}


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("fans.jsonl", []),
        ("fans.csv", []),
        ("fans.csv", ["--excel"]),
        ("fans.csv", ["--fields", "owner,unique_id,user_id"]),
        ("fans.csv", ["--fields", "nickname,user_id"]),
    ],
)
def test_followers_of_an_exported_list_use_its_ids(server, tmp_path, name, extra):
    fans = export(tmp_path, name, "followers", "alice", *extra)
    server.requests.clear()
    result = invoke("followers", "--input", str(fans), "-f", "jsonl", "--fields", "owner,unique_id")
    got = owners(result)
    assert set(got) <= {*FAN_FOLLOWERS, *(f.uid for f in FANS)}
    assert sorted(got.values()) == [2, 3, 4]
    assert server.count("/user-info") == 0  # the user_id column is used as it is


def test_a_batch_export_with_an_owner_column_reads_its_accounts_not_the_owners(server, tmp_path):
    both = export(tmp_path, "both.csv", "followers", "alice", "bob.b")
    result = invoke("followers", "--input", str(both), "-f", "jsonl", "--fields", "owner,unique_id")
    assert owners(result) == FAN_FOLLOWERS  # fan_000000 and _01 follow both: each list once


def test_a_user_id_only_csv_names_accounts_by_id(server, tmp_path):
    ids = export(tmp_path, "ids.csv", "followers", "alice", "--fields", "user_id", "--excel")
    assert ids.read_bytes().startswith(b'\xef\xbb\xbfuser_id\r\n"=""7')
    result = invoke("followers", "--input", str(ids), "-f", "jsonl", "--fields", "owner,unique_id")
    assert owners(result) == {f.uid: f.followers for f in FANS}
    # user-info looks accounts up by name: a row with only an id is refused before any request
    server.requests.clear()
    line = error_line(invoke("user-info", "--input", str(ids)), 2)
    assert f"{ids} line 2: this command looks accounts up by username" in line
    assert server.requests == []


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_user_info_and_followings_of_an_exported_list(server, tmp_path, fmt):
    fans = export(tmp_path, f"fans.{fmt}", "followers", "alice")
    info = invoke("user-info", "--input", str(fans), "-f", "jsonl")
    assert info.exit_code == 0, info.stderr
    assert [r["unique_id"] for r in jsonl(info.stdout)] == [f.name for f in FANS]
    server.requests.clear()
    lists = invoke("followings", "--input", str(fans), "-f", "jsonl", "--fields", "owner,unique_id")
    assert owners(lists) == {f.name: f.followings for f in FANS}
    assert server.count("/user-info") == 0  # the sec_uid column serves the gateway's followings


def test_stdin_takes_json_lines_too(server):
    piped = invoke("followers", "alice", "-f", "jsonl").stdout
    result = invoke("followers", "--input", "-", "-f", "jsonl", "--fields", "owner", input=piped)
    assert owners(result) == FAN_FOLLOWERS


def test_failed_rows_go_to_the_errors_file_ready_for_input(server, tmp_path):
    rows = [{"unique_id": f.name, "user_id": f.uid, "sec_uid": f.sec_uid} for f in (FANS[0], HIDDEN_FAN)]
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_text("".join(json.dumps(r) + "\n" for r in rows) + "nosuch_x\n")
    errors = tmp_path / "failed.txt"
    result = invoke("followers", "--input", str(accounts), "--errors", str(errors), "-f", "jsonl")
    assert result.exit_code == 1, result.stderr
    failed = sorted(errors.read_text().splitlines())  # concurrent workers: any order
    assert failed[0] == "nosuch_x" and json.loads(failed[1])["user_id"] == HIDDEN_FAN.uid
    server.requests.clear()
    again = invoke("followers", "--input", str(errors), "-f", "jsonl")
    assert again.exit_code == 8, again.stderr  # the same two failures, for their two reasons
    assert "2 accounts failed" in again.stderr
    assert any(f"uid={HIDDEN_FAN.uid}" in r for r in server.requests)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('unique_id,nickname\r\nalice,A\r\n\'=HYPERLINK("http://evil.example"),x\r\n', "line 3: unique_id"),
        ('owner,unique_id\r\nalice,"bad\x1b[31m"\r\n', "line 2: unique_id 'bad\\x1b[31m'"),
        ("user_id\r\n=cmd|' /C calc'!A0\r\n", "line 2: user_id"),
        ('user_id\r\n="12x"\r\n', "line 2: user_id"),
        ("unique_id,user_id\r\nalice\r\n", "line 2: 1 cells where the header has 2"),
        (
            '{"unique_id": "alice"}\n{"unique_id": "\\u001b]0;x\\u0007"}\n',
            "line 2: unique_id '\\x1b]0;x\\x07'",
        ),
        ('{"unique_id": "alice"}\n{"unique_id": "bob", \n', "line 2: not a valid JSON record"),
        ('{"nickname": "Alice"}\n', "line 1: no unique_id or user_id"),
        ('{"user_id": 1.5}\n', "line 1: user_id is float, not text"),
        ('["alice"]\n', "line 1: '[\"alice\"]' is not a valid TikTok username"),
    ],
)
def test_hostile_or_broken_rows_are_usage_errors_naming_the_line(server, tmp_path, content, message):
    path = tmp_path / "accounts.in"
    path.write_bytes(content.encode())
    line = error_line(invoke("followers", "--input", str(path)), 2)
    assert f"{path} {message}" in line
    assert "\x1b" not in line and "\x07" not in line
    assert server.requests == []


@pytest.mark.parametrize("command", ["user-info", "followings", "followers"])
def test_an_empty_input_is_nothing_to_do_not_an_error(
    command: str, tmp_path: Path, cassette: Callable[[str], AbstractContextManager[Any]]
) -> None:
    empty = tmp_path / "accounts.txt"
    empty.write_text("# nobody yet\n\n", encoding="utf-8")
    with cassette(NO_REQUESTS):
        result = invoke(command, "--input", str(empty), "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == f"nothing to do: --input {empty} holds no accounts"
    assert result.stdout == ""
    assert not (tmp_path / "out.csv").exists()
