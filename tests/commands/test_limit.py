"""--limit N: exactly N rows per list, no request beyond the pages N needs, and a resume that
never passes N.

The pagination loop's own cut is tested in tests/sources/test_paginate.py, the same rule on
every backend in tests/sources/test_lists.py, the Python API's in test_api.py, and what the
store makes of a run --limit cut short with the store (tests/store/).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakeserver import Account, FakeTikTok, Fault, sec_uid_for
from helpers import SEED_SEC_UID, SEED_UID, Serve, csv_rows, invoke, jsonl

FOLLOWINGS = ("followings", "--sec-uid", SEED_SEC_UID)
FOLLOWERS = ("followers", "--uid", SEED_UID)
FOLLOWINGS_CASSETTE = "gateway/followings_three_pages"
FOLLOWERS_CASSETTE = "tkapi/followers_three_pages"


def usernames(stdout: str, stdout_bytes: bytes, fmt: str) -> list[str]:
    if fmt == "jsonl":
        return [row["unique_id"] for row in jsonl(stdout)]
    header, *rows = csv_rows(stdout_bytes)
    return [row[header.index("unique_id")] for row in rows]


# --- on the documented pages (cassettes) ------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize(
    ("command", "name", "limit", "requests"),
    [
        (FOLLOWINGS, FOLLOWINGS_CASSETTE, 1, 1),
        (FOLLOWINGS, FOLLOWINGS_CASSETTE, 3, 1),
        (FOLLOWINGS, FOLLOWINGS_CASSETTE, 8, 1),
        (FOLLOWINGS, FOLLOWINGS_CASSETTE, 9, 2),
        (FOLLOWINGS, FOLLOWINGS_CASSETTE, 17, 3),
        (FOLLOWINGS, FOLLOWINGS_CASSETTE, 1000, 3),
        (FOLLOWERS, FOLLOWERS_CASSETTE, 3, 1),
        (FOLLOWERS, FOLLOWERS_CASSETTE, 10, 2),
        (FOLLOWERS, FOLLOWERS_CASSETTE, 11, 3),  # page 3 starts with a repeat
    ],
)
def test_limit_is_exact_and_fetches_only_the_pages_it_needs(cassette, command, name, limit, requests, fmt):
    with cassette(name):
        everything = jsonl(invoke(*command).stdout)
    with cassette(name) as cas:
        result = invoke(*command, "--limit", str(limit), "-f", fmt)
    assert result.exit_code == 0, result.stderr
    got = usernames(result.stdout, result.stdout_bytes, fmt)
    assert got == [row["unique_id"] for row in everything][:limit]
    assert cas.play_count == requests


# --- many accounts, and resumes (the local server) --------------------------------------


def test_limit_applies_to_each_list(serve: Serve) -> None:
    serve(
        accounts=[
            Account("alice", "6754915036232582149", sec_uid_for("alice"), 45),
            Account("bob.b", "6754915036232582150", sec_uid_for("bob.b"), 30),
        ]
    )
    result = invoke("followers", "alice", "bob.b", "--limit", "25", "-f", "jsonl")
    counts: dict[object, int] = {}
    for row in jsonl(result.stdout):
        counts[row["owner"]] = counts.get(row["owner"], 0) + 1
    assert counts == {"alice": 25, "bob.b": 25}


def test_a_resume_with_a_limit_never_leaves_more_rows_than_it(server: FakeTikTok, tmp_path: Path) -> None:
    server.faults = [Fault("/user/followers", body=lambda q: server.followers(q)[1]) for _ in range(3)]
    server.faults.append(Fault("/user/followers", 500))
    assert invoke(*FOLLOWERS, "-o", "f.csv", "--retries", "0").exit_code == 7
    refused = invoke(*FOLLOWERS, "-o", "f.csv", "--limit", "5")
    assert refused.exit_code == 2 and server.count("/user/followers") == 4
    assert "holds an unfinished export with 60 followers" in refused.stderr
    assert "more than --limit 5" in refused.stderr and "--no-resume to start over" in refused.stderr
    assert not (tmp_path / "f.csv").exists() and (tmp_path / ".f.csv.part").exists()  # kept for a resume
    exact = invoke(*FOLLOWERS, "-o", "f.csv", "--limit", "60")
    assert exact.exit_code == 0, exact.stderr
    assert (tmp_path / "f.csv").read_bytes().count(b"\r\n") == 61 and server.count("/user/followers") == 4
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
