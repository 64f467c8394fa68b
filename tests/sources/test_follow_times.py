"""Follow times: each backend reads its page's cursor as the oldest follow time on the page,
and the store keeps it (memberships.followed_after) only when it is plausible for one."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from fakeserver import FakeTikTok, Fault, sec_uid_for
from helpers import invoke

from tiktok_cli.models import follow_time

DATA = Path(__file__).parent.parent / "data"
UID = "6754915036232582149"
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


@pytest.mark.parametrize(
    ("cursor", "expected"),
    [
        (1_631_063_752, at(1_631_063_752)),  # the token API's documented min_time (2021)
        (1_760_897_938_123, at(1_760_897_938.123)),  # milliseconds
        (1_262_304_000, at(1_262_304_000)),  # 2010-01-01: the first time taken as one
        (int(NOW.timestamp()) + 86_400, at(NOW.timestamp() + 86_400)),  # a clock a day ahead
    ],
)
def test_a_plausible_cursor_is_a_follow_time(cursor: int, expected: datetime) -> None:
    assert follow_time(cursor, NOW) == expected


@pytest.mark.parametrize(
    "cursor",
    [
        None,
        0,  # the first page's cursor
        -1,  # TikTok's list cap
        1,  # a counter, not a time
        1_000_000_001,  # 2001: a synthetic fixture's min_time, before TikTok
        1_262_303_999,  # a second before 2010
        int(NOW.timestamp()) + 86_401,  # more than a day ahead
        10**18,  # beyond the calendar
    ],
)
def test_anything_else_is_no_follow_time(cursor: int | None) -> None:
    assert follow_time(cursor, NOW) is None


def _last_page(
    body: dict[str, Any], has_more: str, data: Callable[[dict[str, Any]], dict[str, Any]]
) -> bytes:
    data(body)[has_more] = False  # the list ends on this page: nothing more is asked
    return json.dumps(body).encode()


def _token_api(min_time: int | None = None) -> bytes:
    body = json.loads((DATA / "seed004_followers.json").read_text(encoding="utf-8"))
    if min_time is not None:
        body["data"]["min_time"] = min_time
    return _last_page(body, "has_more", lambda b: b["data"])


def _gateway() -> bytes:
    body = json.loads((DATA / "seed000_followings.json").read_text(encoding="utf-8"))
    return _last_page(body, "hasMore", lambda b: b["metadata"])


def _web(name: str) -> bytes:
    body = json.loads((DATA / name).read_text(encoding="utf-8"))["data"]
    return _last_page(body, "hasMore", lambda b: b)


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    path: str
    body: Callable[[], bytes]
    expected: datetime | None


CASES = {
    "tkapi": Case(("followers", "--uid", UID), "/tk/user/followers", _token_api, at(1_631_063_752)),
    "gateway": Case(
        ("followings", "--sec-uid", sec_uid_for("alice")), "/user-followings", _gateway, at(1_656_812_667)
    ),
    "web-followers": Case(
        ("followers", "--sec-uid", sec_uid_for("alice"), "--backend", "web"),
        "/api/user/list/",
        lambda: _web("web_api_user_list_followers__rapidapi_wrapped.json"),
        at(1_760_897_938),
    ),
    "web-followings": Case(
        ("followings", "--sec-uid", sec_uid_for("alice"), "--backend", "web"),
        "/api/user/list/",
        lambda: _web("web_api_user_list_followings__rapidapi_wrapped.json"),
        at(1_745_042_188),
    ),
    # A cursor that is no plausible time (a synthetic fixture's, from 2001): no time is made up.
    "tkapi-implausible": Case(
        ("followers", "--uid", UID), "/tk/user/followers", lambda: _token_api(1_000_000_001), None
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_backend_keeps_its_pages_follow_time_on_the_members_it_opens(
    server: FakeTikTok, tmp_path: Path, case: str
) -> None:
    args, path, body, expected = (getattr(CASES[case], f) for f in ("args", "path", "body", "expected"))
    server.faults = [Fault(path, body=body())]
    db = tmp_path / "store.db"
    result = invoke(*args, "--db", str(db), "-f", "none", "--rate", "1000")
    assert result.exit_code == 0, result.stderr
    with sqlite3.connect(db) as connection:
        times = {row[0] for row in connection.execute("SELECT followed_after FROM memberships")}
    assert len(times) == 1
    [stored] = times
    if expected is None:
        assert stored is None
    else:
        assert stored == expected.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
