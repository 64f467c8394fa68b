"""Property-based: documented bodies, mutated, give one clear error or correct rows.

Mutations drop keys, swap values for ones of the wrong type (null, lists, objects,
non-ASCII digits, numbers past 64 bits, 4,400-digit strings…). Every backend parser must
either raise one ``TikTokCliError`` with a short one-line message or return only rows
the body holds; the same bodies, truncated or as HTML, with odd HTTP statuses, go
through the real CLI against FakeTikTok.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from fakeserver import TOKEN, Account, FakeTikTok, Fault, sec_uid_for
from helpers import ROOT, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiktok_cli.backends import gateway, tkapi, web
from tiktok_cli.backends._shapes import MAX_INT64, MAX_UINT64
from tiktok_cli.errors import TikTokCliError
from tiktok_cli.identifiers import Account as Target
from tiktok_cli.identifiers import IdKind
from tiktok_cli.models import Page, User

DATA = ROOT / "tests" / "data"
ALICE = Account("alice", "6754915036232582149", sec_uid_for("alice"), 3, 3)
UID = re.compile(r"[0-9]{1,20}")
COUNTS = ("followers", "following", "likes", "videos")

ODD_VALUES = st.sampled_from(
    [None, True, False, 0, -1, -5, 1.5, 2**63, MAX_UINT64, "", "0", "-1", "²", "٣٤", "١٢٣", "--5",
     "9" * 4400, "x" * 5000, "\udcff", "<b>", [], {}, [1], {"a": 1}, [{}], [{"uid": "0"}]]
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def seed(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


SEED_FOLLOWINGS = seed("seed000_followings.json")
SEED_USER_INFO = seed("seed000_user_info.json")
SEED_FOLLOWERS = seed("seed004_followers.json")
WEB_FOLLOWERS = seed("web_api_user_list_followers__rapidapi_wrapped.json")["data"]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from paths(child, (*prefix, key))


@st.composite
def mutated(draw: st.DrawFn, body: Any) -> Any:
    """``body`` with one to three of its keys or values dropped or replaced."""
    body = copy.deepcopy(body)
    where = list(paths(body))[1:]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(where))
        parent = body
        try:
            for key in path[:-1]:
                parent = parent[key]
            last = path[-1]
            if draw(st.booleans()) and isinstance(parent, dict):
                del parent[last]
            else:
                parent[last] = draw(ODD_VALUES | JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    if draw(st.integers(0, 9)) == 0:
        body = draw(ODD_VALUES)  # the whole body of the wrong type
    return body


def entries_of(body: Any, *path: str) -> list[Any]:
    node = body
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, list) else []


def check_user(user: User, entries: list[Any]) -> None:
    """A row is an account the body holds, with values it holds, in range."""
    assert user.account_key is not None
    assert any(user.raw is entry for entry in entries)
    assert user.user_id is None or (UID.fullmatch(user.user_id) and int(user.user_id) <= MAX_UINT64)
    for name in COUNTS:
        value = getattr(user, name)
        assert value is None or (type(value) is int and 0 <= value <= MAX_INT64)


def check_parse(parse: Callable[[Any], Page | User], body: Any, entries: list[Any]) -> None:
    try:
        result = parse(body)
    except TikTokCliError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 600, message
        return
    users = result.users if isinstance(result, Page) else [result]
    for user in users:
        check_user(user, entries)
    if isinstance(result, Page):
        assert result.next_cursor is None or type(result.next_cursor) is int
        assert len(result.users) + result.skipped == len(entries)


WHAT = "the endpoint"


def parse_followings(body: Any) -> Page:
    return gateway._followings_page(gateway._envelope(body, WHAT), WHAT)


def parse_user_info(body: Any) -> User:
    return gateway._profile(gateway._envelope(body, WHAT), WHAT)


def parse_followers(body: Any) -> Page:
    return tkapi._followers_page(tkapi._envelope(body, WHAT), WHAT, Target(IdKind.UID, ALICE.uid))


def parse_web_list(body: Any) -> Page:
    return web.list_page(body, WHAT, first=False)


PARSER_SETTINGS = settings(max_examples=300, deadline=None)


@PARSER_SETTINGS
@given(mutated(SEED_FOLLOWINGS))
def test_gateway_followings_parser(body: Any) -> None:
    check_parse(parse_followings, body, entries_of(body, "followings"))


@PARSER_SETTINGS
@given(mutated(SEED_USER_INFO))
def test_gateway_user_info_parser(body: Any) -> None:
    data = body.get("data") if isinstance(body, Mapping) else None
    info = [data.get("userInfo")] if isinstance(data, Mapping) else []
    check_parse(parse_user_info, body, info)


@PARSER_SETTINGS
@given(mutated(SEED_FOLLOWERS))
def test_token_api_followers_parser(body: Any) -> None:
    check_parse(parse_followers, body, entries_of(body, "data", "followers"))


@PARSER_SETTINGS
@given(mutated(WEB_FOLLOWERS))
def test_web_list_parser_shared_shapes(body: Any) -> None:
    users = [e.get("user") if isinstance(e, Mapping) else None for e in entries_of(body, "userList")]
    entries = entries_of(body, "userList")
    try:
        page = parse_web_list(body)
    except TikTokCliError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 600
        return
    for user in page.users:
        assert any(user.raw is entry for entry in entries) and user.account_key is not None
        assert user.user_id is None or UID.fullmatch(user.user_id)
    assert len(page.users) <= len([u for u in users if u is not None])


# --- through the real CLI -----------------------------------------------------------------

FINAL_FOLLOWERS = json.dumps(
    {
        "code": 200,
        "msg": "成功",
        "data": {"status_code": 0, "has_more": False, "min_time": 0, "followers": []},
    }
).encode()
FINAL_FOLLOWINGS = json.dumps({"metadata": {"hasMore": False, "minCursor": 0}, "followings": []}).encode()
STATUSES = st.sampled_from([200, 200, 200, 200, 201, 204, 301, 400, 404, 405, 418, 500, 503])
EXIT_CODES = {0, 3, 4, 5, 6, 7}


@st.composite
def served(draw: st.DrawFn, body: Any) -> tuple[int, bytes, Any]:
    """(HTTP status, bytes on the wire, the parsed body or None) for one mutated answer."""
    value = draw(mutated(body))
    try:
        wire = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except ValueError:
        wire = b"{"
    kind = draw(st.integers(0, 9))
    if kind == 0:
        wire, value = wire[: draw(st.integers(0, max(0, len(wire) - 1)))], None  # truncated
    elif kind == 1:
        wire, value = draw(st.sampled_from([b"", b"<html><body>Bad Gateway</body></html>", b"null"])), None
    return draw(STATUSES), wire, value


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    with FakeTikTok(accounts=[ALICE]) as srv:
        srv._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        monkeypatch.setenv("TIKTOK_GATEWAY_URL", srv.url + "/tiktok")
        monkeypatch.setenv("TIKTOK_API_URL", srv.url + "/tk")
        monkeypatch.setenv("TIKTOK_API_TOKEN", TOKEN)
        yield srv


def run_cli(server: FakeTikTok, path: str, answer: tuple[int, bytes, Any], final: bytes, *args: str) -> Any:
    status, wire, _ = answer
    server.faults = [Fault(path, status, wire), Fault(path, 200, final)]
    result = invoke(*args, "-f", "jsonl", "--retries", "0")
    server.faults = []
    assert result.exit_code in EXIT_CODES, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code:
        errors = [line for line in result.stderr.splitlines() if line.startswith("tiktok: error: ")]
        assert len(errors) == 1 and len(errors[0]) < 600, result.stderr
    return result


def json_lines(text: str) -> list[str]:
    """JSON lines end at \n only: str.splitlines would also split inside a string holding
    U+0085 or U+2028, which JSON keeps as they are."""
    return [line for line in text.split("\n") if line]


CLI_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@CLI_SETTINGS
@given(answer=served(SEED_FOLLOWINGS))
def test_cli_gateway_followings(server: FakeTikTok, answer: tuple[int, bytes, Any]) -> None:
    result = run_cli(
        server,
        "/user-followings",
        answer,
        FINAL_FOLLOWINGS,
        "followings",
        "--sec-uid",
        ALICE.sec_uid,
        "--raw",
    )
    served_entries = entries_of(answer[2], "followings")
    for row in map(json.loads, json_lines(result.stdout)):
        assert row in served_entries


@CLI_SETTINGS
@given(answer=served(SEED_FOLLOWERS))
def test_cli_token_api_followers(server: FakeTikTok, answer: tuple[int, bytes, Any]) -> None:
    result = run_cli(
        server, "/user/followers", answer, FINAL_FOLLOWERS, "followers", "--uid", ALICE.uid, "--raw"
    )
    served_entries = entries_of(answer[2], "data", "followers")
    for row in map(json.loads, json_lines(result.stdout)):
        assert row in served_entries


@CLI_SETTINGS
@given(answer=served(SEED_USER_INFO))
def test_cli_gateway_user_info(server: FakeTikTok, answer: tuple[int, bytes, Any]) -> None:
    result = run_cli(server, "/user-info", answer, b"", "user-info", "alice")
    assert len(json_lines(result.stdout)) == (1 if result.exit_code == 0 else 0)
