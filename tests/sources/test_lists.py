"""List behaviours every backend shares, checked on each against the one local server.

The ``backend`` fixture runs a test once per list a backend serves: the gateway's followings,
the token API's followers and tiktok.com's followers and followings. Each names its account
by id, so no look-up request mixes into the request counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from fakeserver import (
    BASE_TIME,
    Account,
    FakeTikTok,
    Fault,
    mobile_follower,
    sec_uid_for,
    web_account,
    web_following,
)
from helpers import Serve, error_line, invoke, jsonl
from typer.testing import Result

UID = "6754915036232582149"
PAGE = 8  # entries a page; every backend is asked for (or capped at) this many


@dataclass(frozen=True)
class Backend:
    name: str  # --backend
    command: str  # the list it serves here
    path: str  # the list endpoint
    id_option: str  # how the account is named without a look-up
    cursor_option: str  # the option an interrupted run says to continue with
    extra: tuple[str, ...] = ()

    def account(self, size: int, *, hidden: bool = False) -> Account:
        followers, followings = (size, 0) if self.command == "followers" else (0, size)
        return Account("alice", UID, sec_uid_for("alice"), followers, followings, hidden=hidden)

    def run(self, *args: str, account: str | None = None) -> Result:
        ident = account or (UID if self.id_option == "--uid" else sec_uid_for("alice"))
        return invoke(
            self.command, self.id_option, ident, "--backend", self.name, "--rate", "1000", *self.extra, *args
        )

    def page(self, indexes: Sequence[int], *, cursor: int, more: bool = True) -> bytes:
        """One list page as this backend's API sends it."""
        body: dict[str, Any]
        if self.name == "gateway":
            metadata = {"totalFollowings": 100, "hasMore": more, "maxCursor": 0, "minCursor": cursor}
            body = {"metadata": metadata, "followings": [web_following(i) for i in indexes]}
        elif self.name == "tkapi":
            data = {
                "status_code": 0,
                "has_more": more,
                "min_time": cursor,
                "max_time": cursor,
                "total": 100,
                "followers": [mobile_follower(i) for i in indexes],
            }
            body = {"code": 200, "msg": "ok", "data": data}
        else:
            prefix = "fan" if self.command == "followers" else "followed"
            body = {
                "userList": [web_account(i, prefix) for i in indexes],
                "hasMore": more,
                "minCursor": cursor,
                "total": 100,
                "statusCode": 0,
            }
        return json.dumps(body).encode()


BACKENDS = [
    Backend("gateway", "followings", "/user-followings", "--sec-uid", "--min-cursor", ("--count", str(PAGE))),
    Backend("tkapi", "followers", "/user/followers", "--uid", "--cursor"),
    Backend("web", "followers", "/api/user/list/", "--sec-uid", "--cursor"),
    Backend("web", "followings", "/api/user/list/", "--sec-uid", "--min-cursor"),
]


@pytest.fixture(params=BACKENDS, ids=lambda b: f"{b.name}-{b.command}")
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param  # type: ignore[no-any-return]


def names(result: Result) -> list[str]:
    return [row["unique_id"] for row in jsonl(result.stdout)]


def start(serve: Serve, backend: Backend, size: int, *, hidden: bool = False) -> FakeTikTok:
    return serve(accounts=[backend.account(size, hidden=hidden)], page_size=PAGE)


def test_every_page_is_followed_to_the_end(serve: Serve, backend: Backend) -> None:
    srv = start(serve, backend, 30)
    result = backend.run("-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    rows = names(result)
    assert len(rows) == len(set(rows)) == 30
    assert srv.count(backend.path) == 4  # 8 + 8 + 8 + 6


@pytest.mark.parametrize(("limit", "pages"), [(1, 1), (PAGE, 1), (PAGE + 1, 2), (2 * PAGE, 2), (29, 4)])
def test_limit_is_exact_and_asks_only_for_the_pages_it_needs(
    serve: Serve, backend: Backend, limit: int, pages: int
) -> None:
    srv = start(serve, backend, 30)
    result = backend.run("-f", "jsonl", "--limit", str(limit))
    assert result.exit_code == 0, result.stderr
    assert len(names(result)) == limit
    assert srv.count(backend.path) == pages


def test_a_repeat_across_pages_is_written_once(serve: Serve, backend: Backend) -> None:
    srv = start(serve, backend, 30)
    srv.faults = [
        Fault(backend.path, body=backend.page(range(8), cursor=BASE_TIME - 7)),
        Fault(backend.path, body=backend.page(range(5, 13), cursor=BASE_TIME - 12)),
        Fault(backend.path, body=backend.page(range(10, 16), cursor=BASE_TIME - 15, more=False)),
    ]
    result = backend.run("-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    rows = names(result)
    assert len(rows) == len(set(rows)) == 16
    assert srv.count(backend.path) == 3


def test_a_stalled_cursor_stops_with_exit_7_and_never_offers_itself(serve: Serve, backend: Backend) -> None:
    # Page 1 is normal; then the API keeps answering "more" with the cursor it was given.
    srv = start(serve, backend, 100)
    cursor = BASE_TIME - 7
    first = backend.page(range(8), cursor=cursor)
    stuck = backend.page(range(8, 16), cursor=cursor)
    srv.faults = [Fault(backend.path, body=first)] + [Fault(backend.path, body=stuck)] * 5
    result = backend.run("-f", "jsonl")
    assert result.exit_code == 7
    assert "stalled" in result.stderr
    # Continuing from the cursor it stalled at would only stall again.
    assert backend.cursor_option not in result.stderr and "try again later" in result.stderr
    assert len(names(result)) == 16  # rows already written are kept
    assert srv.count(backend.path) <= 4


def test_empty_pages_that_claim_more_never_loop(serve: Serve, backend: Backend) -> None:
    srv = start(serve, backend, 100)
    srv.faults = [Fault(backend.path, body=backend.page([], cursor=1_600_000_000 - n)) for n in range(9)]
    result = backend.run()
    assert result.exit_code == 7
    assert "no new accounts" in result.stderr
    assert srv.count(backend.path) == 3


def test_a_hidden_list_exits_4(serve: Serve, backend: Backend) -> None:
    start(serve, backend, 30, hidden=True)
    result = backend.run("--retries", "0")
    error_line(result, 4)
    assert result.stdout == ""


def test_an_account_that_does_not_exist_exits_3(serve: Serve, backend: Backend) -> None:
    srv = start(serve, backend, 30)
    other = "6754915036232582999" if backend.id_option == "--uid" else sec_uid_for("nobody")
    result = backend.run("--retries", "0", account=other)
    error_line(result, 3)
    assert result.stdout == ""
    assert srv.count(backend.path) == 1


@pytest.mark.parametrize("ending", ["an empty first page", "no more after the first page"])
def test_a_list_ending_well_short_of_its_count_is_recorded_incomplete(
    serve: Serve, backend: Backend, db_target: str, ending: str
) -> None:
    # Every backend's answer goes through one gate: TikTok reports 100, the list ends early.
    srv = start(serve, backend, 100)
    first = backend.page(
        [] if ending == "an empty first page" else range(8), cursor=BASE_TIME - 7, more=False
    )
    srv.faults = [Fault(backend.path, body=first)]
    result = backend.run("--db", db_target, "-f", "none")
    assert result.exit_code == 0, result.stderr
    assert "kept as incomplete" in result.stderr
    ident = UID if backend.id_option == "--uid" else sec_uid_for("alice")
    shown = invoke("snapshots", backend.id_option, ident, "--db", db_target, "-f", "jsonl")
    (snapshot,) = jsonl(shown.stdout)
    assert snapshot["status"] == "incomplete"
    assert "well short of the 100 TikTok reports" in snapshot["note"]
