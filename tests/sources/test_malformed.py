"""Malformed upstream bodies: one clear error (exit 7 naming the endpoint and field) or correct rows.

Each regression test serves its minimal body from the local FakeTikTok through the real
CLI; the property-based tests at the end mutate the documented seed bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakeserver import TOKEN, Account, FakeTikTok, Fault, sec_uid_for
from helpers import invoke

from tiktok_cli.backends.base import BackendContext
from tiktok_cli.backends.gateway import GatewayBackend, _followings_page
from tiktok_cli.backends.gateway import _envelope as gateway_envelope
from tiktok_cli.backends.tkapi import _envelope as tkapi_envelope
from tiktok_cli.backends.tkapi import _followers_page
from tiktok_cli.client import HttpClient
from tiktok_cli.errors import ConfigError, UpstreamError
from tiktok_cli.identifiers import Account as Target
from tiktok_cli.identifiers import IdKind
from tiktok_cli.models import User

ALICE = Account("alice", "6754915036232582149", sec_uid_for("alice"), 3, 3)
BOB = Account("bob.b", "6754915036232582150", sec_uid_for("bob.b"), 2, 2)
ERROR_PREFIX = "tiktok: error: "


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    with FakeTikTok(accounts=[ALICE, BOB]) as srv:
        monkeypatch.setenv("TIKTOK_GATEWAY_URL", srv.url + "/tiktok")
        monkeypatch.setenv("TIKTOK_API_URL", srv.url + "/tk")
        monkeypatch.setenv("TIKTOK_API_TOKEN", TOKEN)
        yield srv


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def rows(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def one_error(result: Any, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def followings_body(entries: list[Any], **metadata: Any) -> bytes:
    meta = {"totalFollowings": len(entries), "hasMore": False, "minCursor": 0, **metadata}
    return dumps({"metadata": meta, "followings": entries})


def followers_body(entries: list[Any], **data: Any) -> bytes:
    page = {"status_code": 0, "has_more": False, "min_time": 0, "total": len(entries), **data}
    return dumps({"code": 200, "msg": "成功", "data": {**page, "followers": entries}})


GOOD_WEB = {"username": "real_one", "id": "6754915036232582999", "stats": {"followers": 5}}
GOOD_MOBILE = {"uid": "6754915036232582999", "unique_id": "real_one", "follower_count": 5}
JUNK = [{}, {"uid": "0"}, {"stats": {}}, {"id": 0, "stats": {"followers": 3}}]


def gateway_followings(*args: str) -> Any:
    return invoke("followings", "--sec-uid", ALICE.sec_uid, "-f", "jsonl", "--retries", "0", *args)


def tkapi_followers(*args: str) -> Any:
    return invoke("followers", "--uid", ALICE.uid, "-f", "jsonl", "--retries", "0", *args)


# --- junk entries ------------------------------------------------------------------------


def test_gateway_list_entries_that_are_no_account_are_skipped_and_counted(server: FakeTikTok) -> None:
    server.faults = [Fault("/user-followings", 200, followings_body([*JUNK, GOOD_WEB]))]
    result = gateway_followings()
    assert result.exit_code == 0, result.stderr
    assert [r["unique_id"] for r in rows(result.stdout)] == ["real_one"]
    page = _followings_page(gateway_envelope(json.loads(followings_body([*JUNK, GOOD_WEB])), "x"), "x")
    assert (len(page.users), page.skipped) == (1, len(JUNK))


def test_token_api_list_entries_that_are_no_account_are_skipped_and_counted(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 200, followers_body([*JUNK, GOOD_MOBILE]))]
    result = tkapi_followers()
    assert result.exit_code == 0, result.stderr
    assert [r["user_id"] for r in rows(result.stdout)] == [GOOD_MOBILE["uid"]]
    data = tkapi_envelope(json.loads(followers_body([*JUNK, GOOD_MOBILE])), "x")
    page = _followers_page(data, "x", Target(IdKind.UID, ALICE.uid))
    assert (len(page.users), page.skipped) == (1, len(JUNK))


def test_user_info_with_an_empty_user_object_fails(server: FakeTikTok) -> None:
    server.faults = [Fault("/user-info", 200, dumps({"status": "success", "data": {"userInfo": {}}}))]
    result = invoke("user-info", "alice", "--retries", "0")
    assert "data.userInfo holds no account" in one_error(result, 7)
    assert result.stdout == ""


# --- numbers, ids and cursors -------------------------------------------------------------

BAD_WEB_ENTRIES = [
    ({**GOOD_WEB, "stats": {"followers": "٣٤"}}, "followers"),
    ({**GOOD_WEB, "id": "²"}, "id"),
    ({**GOOD_WEB, "stats": {"followers": "²"}}, "followers"),
    ({**GOOD_WEB, "stats": {"followers": "9" * 4400}}, "followers"),
    ({**GOOD_WEB, "stats": {"followers": 2**63}}, "followers"),
]


@pytest.mark.parametrize(("entry", "field"), BAD_WEB_ENTRIES)
def test_gateway_unusable_numbers_are_bad_data_naming_the_field(
    server: FakeTikTok, entry: dict[str, Any], field: str
) -> None:
    server.faults = [Fault("/user-followings", 200, followings_body([entry]))]
    line = one_error(gateway_followings(), 7)
    assert "followings of secUid" in line and f"{field} is" in line
    assert len(line) < 400


@pytest.mark.parametrize(
    "metadata",
    [
        {"minCursor": "²", "hasMore": True},
        {"minCursor": "--5", "hasMore": True},
        {"minCursor": 1.5, "hasMore": True},
        {"minCursor": [5], "hasMore": True},
        {"minCursor": "9" * 4400, "hasMore": True},
        {"minCursor": 2**64, "hasMore": True},
        {"totalFollowings": 2**63},
        {"totalFollowings": "²"},
    ],
)
def test_gateway_a_mistyped_cursor_or_total_is_bad_data_not_the_list_cap(
    server: FakeTikTok, metadata: dict[str, Any]
) -> None:
    server.faults = [Fault("/user-followings", 200, followings_body([GOOD_WEB], **metadata))]
    line = one_error(gateway_followings(), 7)
    assert ("metadata.minCursor is" in line) != ("totalFollowings is" in line)


@pytest.mark.parametrize(
    "data",
    [
        {"min_time": "²", "has_more": True},
        {"min_time": "--5", "has_more": True},
        {"min_time": 1.5, "has_more": True},
        {"min_time": [5], "has_more": True},
        {"min_time": 2**64, "has_more": True},
        {"total": "9" * 4400},
        {"followers": [{**GOOD_MOBILE, "follower_count": "٣٤"}]},
        {"followers": [{**GOOD_MOBILE, "uid": "²"}]},
    ],
)
def test_token_api_unusable_numbers_are_bad_data(server: FakeTikTok, data: dict[str, Any]) -> None:
    body = json.loads(followers_body([GOOD_MOBILE]))
    body["data"].update(data)
    server.faults = [Fault("/user/followers", 200, dumps(body))]
    line = one_error(tkapi_followers(), 7)
    assert "followers of uid" in line


def test_a_mistyped_cursor_keeps_the_rows_and_stays_resumable(server: FakeTikTok, tmp_path: Path) -> None:
    out = tmp_path / "f.jsonl"
    server.faults = [
        Fault("/user/followers", 200, followers_body([GOOD_MOBILE], has_more=True, min_time=1_699_999_999)),
        Fault("/user/followers", 200, followers_body([], has_more=True, min_time="1.5")),
    ]
    result = tkapi_followers("-o", str(out))
    assert "data.min_time is '1.5', not an integer cursor" in one_error(result, 7)
    assert "run the same command again to resume" in result.stderr
    assert GOOD_MOBILE["uid"] in (tmp_path / ".f.jsonl.part").read_text()


# --- wrong types in the envelope ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"status": ["success"], "metadata": {}, "followings": []},
        {"status": {"ok": 1}, "metadata": {}, "followings": []},
        {"status": "error", "message": "x" * 5000},
        {"metadata": {"hasMore": False}, "followings": 5},
        {"metadata": {"hasMore": False}, "followings": True},
        {"metadata": [], "followings": []},
        {"metadata": "m", "followings": []},
        {"metadata": {"hasMore": "no"}, "followings": []},
        [1, 2],
    ],
)
def test_gateway_envelopes_of_the_wrong_shape_are_one_short_error(server: FakeTikTok, body: Any) -> None:
    server.faults = [Fault("/user-followings", 200, dumps(body))]
    line = one_error(gateway_followings(), 7)
    assert "followings of secUid" in line
    assert len(line) < 400


@pytest.mark.parametrize(
    "body",
    [
        {"code": [200], "msg": "成功", "data": {}},
        {"code": {"v": 200}, "msg": "成功", "data": {}},
        {"code": 200, "msg": "成功", "data": []},
        {"code": 200, "msg": "成功", "data": "d"},
        {"code": 200, "data": {"status_code": [0], "has_more": False, "followers": []}},
        {"code": 200, "data": {"status_code": {"a": 1}, "has_more": False, "followers": []}},
        {"code": 200, "data": {"status_code": 0, "has_more": False, "followers": 5}},
        {"code": 200, "data": {"status_code": 0, "has_more": False, "followers": True}},
        {"code": 200, "data": {"status_code": 0, "has_more": "yes", "followers": []}},
        {"code": 500, "msg": "m" * 5000, "data": None},
    ],
)
def test_token_api_envelopes_of_the_wrong_shape_are_one_short_error(server: FakeTikTok, body: Any) -> None:
    server.faults = [Fault("/user/followers", 200, dumps(body))]
    line = one_error(tkapi_followers(), 7)
    assert "followers of uid" in line
    assert len(line) < 400


def test_a_token_api_body_without_code_is_bad_data_per_account(server: FakeTikTok, tmp_path: Path) -> None:
    errors = tmp_path / "failed.txt"
    no_code = dumps({"msg": "成功", "data": {"status_code": 0, "has_more": False, "followers": []}})
    server.faults = [Fault("/user/followers", 200, no_code)]
    result = invoke("followers", "alice", "bob.b", "-j", "1", "-f", "jsonl", "--errors", str(errors))
    assert result.exit_code == 1, result.stderr
    assert "has no code" in result.stderr and "TIKTOK_API_TOKEN" not in result.stderr
    assert "rejected" not in result.stderr
    assert {r["owner"] for r in rows(result.stdout)} == {"bob.b"}
    assert errors.read_text() == "alice\n"


def test_an_unknown_token_api_code_fails_that_account_only(server: FakeTikTok, tmp_path: Path) -> None:
    errors = tmp_path / "failed.txt"
    server.faults = [Fault("/user/followers", 200, dumps({"code": 10003, "msg": "请求失败", "data": None}))]
    result = invoke("followers", "alice", "bob.b", "-j", "1", "-f", "jsonl", "--errors", str(errors))
    assert result.exit_code == 1, result.stderr
    assert "code 10003 (请求失败)" in result.stderr
    assert errors.read_text() == "alice\n"


def test_token_api_http_errors_do_not_quote_its_success_msg(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 400, dumps({"code": 400, "msg": "成功", "data": None}))]
    line = one_error(tkapi_followers(), 7)
    assert "HTTP 400" in line and "成功" not in line


def test_a_refused_token_is_still_a_configuration_error(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 401, dumps({"code": 401, "msg": "成功"}))]
    line = one_error(tkapi_followers(), 5)
    assert "TIKTOK_API_TOKEN" in line and "成功" not in line


# --- looked-up ids --------------------------------------------------------------------------


def profile(**fields: Any) -> bytes:
    info = {"uniqueId": "alice", "nickname": "A", **fields}
    return dumps({"status": "success", "data": {"userInfo": info}})


@pytest.mark.parametrize(
    ("command", "fields"),
    [
        ("followers", {"id": "١٢٣"}),
        ("followers", {"id": "²"}),
        ("followings", {"secUid": "MS4wLjABAAAA" + "\ud800" * 30}),
        ("followings", {"secUid": "not a secUid; rm -rf /"}),
    ],
)
def test_a_looked_up_id_that_breaks_the_id_rules_is_never_sent_on(
    server: FakeTikTok, command: str, fields: dict[str, Any]
) -> None:
    body = json.dumps({"status": "success", "data": {"userInfo": {"uniqueId": "alice", **fields}}})
    server.faults = [Fault("/user-info", 200, body.encode())]
    result = invoke(command, "alice", "--retries", "0")
    one_error(result, 7)
    assert server.count("/user/followers") == server.count("/user-followings") == 0


def test_a_profile_without_sec_uid_fails_that_account_and_the_batch_goes_on(
    server: FakeTikTok, tmp_path: Path
) -> None:
    errors = tmp_path / "failed.txt"
    server.faults = [Fault("/user-info", 200, profile())]
    result = invoke("followings", "alice", "bob.b", "-j", "1", "-f", "jsonl", "--errors", str(errors))
    assert result.exit_code == 1, result.stderr
    assert "carries no secUid; pass --sec-uid" in result.stderr
    assert {r["owner"] for r in rows(result.stdout)} == {"bob.b"}
    assert errors.read_text() == "alice\n"


def test_a_token_api_5xx_does_not_quote_its_success_msg(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 502, dumps({"code": 502, "msg": "成功"}))]
    line = one_error(tkapi_followers(), 7)
    assert "HTTP 502" in line and "成功" not in line


def test_a_gateway_error_message_is_quoted_as_a_short_excerpt(server: FakeTikTok) -> None:
    server.faults = [Fault("/user-followings", 400, dumps({"status": "error", "message": "bad\n" * 2000}))]
    line = one_error(gateway_followings(), 7)
    assert "HTTP 400: bad bad" in line and len(line) < 400


# --- the shared account resolution ------------------------------------------------------------


def backend_looking_up(user: User) -> GatewayBackend:
    from tiktok_cli.settings import Settings

    return GatewayBackend(BackendContext(Settings(), HttpClient(retries=0), lambda name: user))


@pytest.mark.parametrize(
    ("kind", "user"),
    [
        (IdKind.SEC_UID, User(unique_id="alice", sec_uid="MS4wLjABAAAA" + "\ud800" * 30)),
        (IdKind.SEC_UID, User(unique_id="alice", sec_uid="MS4wLjABAAAA" + "٣" * 30)),
        (IdKind.UID, User(unique_id="alice", user_id="١٢٣")),
        (IdKind.UID, User(unique_id="alice", user_id="18446744073709551616")),
    ],
)
def test_resolve_refuses_a_looked_up_id_that_breaks_the_id_rules(kind: IdKind, user: User) -> None:
    backend = backend_looking_up(user)
    with pytest.raises(UpstreamError, match=f"unusable {kind.value}") as caught:
        backend.resolve(Target(IdKind.USERNAME, "alice"), kind, usage="")
    assert "\\ud800" in str(caught.value) or "\ud800" not in str(caught.value)


def test_resolve_gives_a_valid_looked_up_id_and_never_a_configuration_error() -> None:
    sec_uid = sec_uid_for("alice")
    backend = backend_looking_up(User(unique_id="alice", sec_uid=sec_uid))
    assert backend.resolve(Target(IdKind.USERNAME, "alice"), IdKind.SEC_UID, usage="") == sec_uid
    with pytest.raises(UpstreamError) as caught:
        backend.resolve(Target(IdKind.USERNAME, "alice"), IdKind.UID, usage="")
    assert not isinstance(caught.value, ConfigError) and caught.value.hint == "pass --uid UID"


@pytest.mark.parametrize("command", ["user-info", "followers", "followings"])
def test_a_profile_of_another_account_is_never_taken_for_the_one_asked(
    server: FakeTikTok, command: str
) -> None:
    server.faults = [Fault("/user-info", 200, profile(uniqueId="bob", id="6754915036232582149"))]
    result = invoke(command, "alice", "--retries", "0")
    assert "the gateway answered with the profile of @bob" in one_error(result, 7)
    assert result.stdout == ""
    assert server.count("/user/followers") == server.count("/user-followings") == 0
