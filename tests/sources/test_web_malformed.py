"""tiktok.com answers that are not what the web backend reads: one clear error, never a guess.

Every CLI test talks to FakeTikTok's web endpoints on 127.0.0.1 (``TIKTOK_WEB_URL``), with
scripted faults standing in for the malformed answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakeserver import Account, FakeTikTok, Fault, profile_page, sec_uid_for, web_account
from helpers import error_line, invoke, jsonl

from tiktok_cli.backends.web import list_page, profile_detail, profile_user
from tiktok_cli.errors import NotFoundError, NotVisibleError, UpstreamError

ALICE = Account("alice", "6754915036232582149", sec_uid_for("alice"), 12, 5)
LIST = "/api/user/list/"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    with FakeTikTok(accounts=[ALICE], page_size=8) as srv:
        monkeypatch.setenv("TIKTOK_WEB_URL", srv.url)
        yield srv


def web(*args: str) -> Any:
    return invoke(*args, "--backend", "web", "--rate", "1000", "--retries", "0")


def followers(*args: str) -> Any:
    return web("followers", "--sec-uid", ALICE.sec_uid, "-f", "jsonl", *args)


def page(indexes: range, **fields: Any) -> bytes:
    body = {
        "userList": [web_account(i) for i in indexes],
        "hasMore": True,
        "minCursor": 1_699_999_993,
        "total": 12,
        "statusCode": 0,
    }
    body.update(fields)
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


def profile(detail: dict[str, Any]) -> Fault:
    return Fault("/@alice", body=profile_page(detail))


def alice_detail(**user: Any) -> dict[str, Any]:
    return {
        "statusCode": 0,
        "userInfo": {
            "user": {"id": ALICE.uid, "uniqueId": "alice", "nickname": "Alice", **user},
            "stats": {"followerCount": 12},
        },
    }


# --- lists -----------------------------------------------------------------------------


@pytest.mark.parametrize("user_list", [..., None, {}, "", 0, False])
def test_a_later_page_without_its_list_is_exit_7_rows_kept_and_resumable(
    server: FakeTikTok, tmp_path: Path, user_list: Any
) -> None:
    out = tmp_path / "out.jsonl"
    server.faults = [Fault(LIST, body=page(range(8))), Fault(LIST, body=page(range(0), userList=user_list))]
    result = followers("-o", str(out), "-q")
    line = error_line(result, 7)
    assert "followers of" in line and "userList" in line
    assert not out.exists()
    assert len((tmp_path / ".out.jsonl.part").read_text().splitlines()) == 8

    resumed = followers("-o", str(out), "-q")
    assert resumed.exit_code == 0, resumed.stderr
    assert len({row["user_id"] for row in jsonl(out.read_text())}) == 12


def test_a_missing_list_with_nothing_more_ends_a_later_page(server: FakeTikTok) -> None:
    server.faults = [
        Fault(LIST, body=page(range(8))),
        Fault(LIST, body=page(range(0), userList=..., hasMore=False)),
    ]
    result = followers()
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 8


def test_a_hidden_list_on_the_first_page_is_exit_4(server: FakeTikTok) -> None:
    server.faults = [Fault(LIST, body=b'{"hasMore":false,"minCursor":-1,"statusCode":0}')]
    assert "list is hidden, or needs a logged-in session" in error_line(followers(), 4)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"minCursor": 1.5}, "minCursor is 1.5, not an integer cursor"),
        ({"minCursor": "1699999000.0"}, "minCursor is '1699999000.0'"),
        ({"minCursor": " 1699999000"}, "minCursor is ' 1699999000'"),
        ({"minCursor": True}, "minCursor is True"),
        ({"minCursor": 2**64}, "not an integer cursor"),
        ({"statusCode": [0]}, "statusCode is a list, not a status code"),
        ({"statusCode": {"code": 0}}, "statusCode is an object"),
        ({"userList": 3}, "userList is 3, not a list"),
        ({"userList": True}, "userList is True, not a list"),
        ({"userList": ["alice"]}, "a userList entry is 'alice', not an object"),
        ({"hasMore": "yes"}, "hasMore is 'yes', not true/false"),
    ],
)
def test_mistyped_list_fields_are_one_line_exit_7(
    server: FakeTikTok, fields: dict[str, Any], words: str
) -> None:
    server.faults = [Fault(LIST, body=page(range(8), **fields))]
    result = followers()
    assert words in error_line(result, 7)
    assert result.stdout == ""


def test_a_list_body_nested_past_any_parser_is_exit_7(server: FakeTikTok) -> None:
    server.faults = [Fault(LIST, body=b"[" * 100_000 + b"]" * 100_000)]
    error_line(followers(), 7)


def test_entries_that_are_no_account_are_skipped_and_counted() -> None:
    placeholder = web_account(3)
    placeholder["user"]["id"] = "0"
    nameless = web_account(4)
    del nameless["user"]["id"], nameless["user"]["uniqueId"]
    name_only = web_account(5)
    del name_only["user"]["id"]
    entries = [
        web_account(1),
        {},
        {"stats": {}},
        {"user": None},
        {"user": {}},
        placeholder,
        nameless,
        name_only,
    ]
    body = {"userList": entries, "hasMore": False, "minCursor": 5}
    result = list_page(body, "followers of x", first=False)
    assert [u.unique_id for u in result.users] == ["fan_000001", "fan_000005"]
    assert result.skipped == 6


# --- profiles --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detail", "code", "words"),
    [
        ({"statusCode": 0}, 7, "holds no userInfo"),
        ({"statusCode": 0, "userInfo": {"user": {}}}, 7, "userInfo.user is an object, not an account"),
        ({"statusCode": 0, "userInfo": []}, 7, "userInfo: expected a JSON object, got list"),
        ({"statusCode": 10221, "userInfo": {}}, 3, "@alice does not exist or is banned"),
        ({"statusCode": 10202}, 3, "@alice does not exist or is banned"),
        ({"statusCode": [10202]}, 7, "statusCode is a list"),
        ({"statusCode": {"a": 1}, "userInfo": {}}, 7, "statusCode is an object"),
        ({"statusCode": 10222, "userInfo": {}}, 4, "private account"),
        ({**alice_detail(), "statusCode": 99999}, 7, "answered status 99999"),
        (alice_detail(uniqueId="mallory"), 7, "answered with the profile of @mallory"),
        (alice_detail(uniqueId=None), 7, "has no uniqueId"),
        (
            {"statusCode": 0, "userInfo": {"user": alice_detail()["userInfo"]["user"], "stats": [1]}},
            7,
            "stats",
        ),
    ],
)
def test_profile_pages_that_hold_no_usable_account(
    server: FakeTikTok, detail: dict[str, Any], code: int, words: str
) -> None:
    server.faults = [profile(detail)]
    assert words in error_line(web("user-info", "alice"), code)


def test_the_profile_asked_for_is_matched_without_regard_to_case(server: FakeTikTok) -> None:
    server.faults = [Fault("/@ALICE", body=profile_page(alice_detail(uniqueId="Alice")))]
    result = web("user-info", "ALICE", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr


def script_page(content: str, script_id: str = "__UNIVERSAL_DATA_FOR_REHYDRATION__") -> bytes:
    script = f'<script id="{script_id}" type="application/json">{content}</script>'
    return f"<html><body>{script}</body></html>".encode()


def universal(detail: dict[str, Any]) -> str:
    return json.dumps({"__DEFAULT_SCOPE__": {"webapp.user-detail": detail}})


def test_a_literal_script_end_inside_the_json_is_bad_data_not_a_prefix(server: FakeTikTok) -> None:
    text = universal(alice_detail(nickname="Al</script><script>alert(1)</script>"))
    server.faults = [Fault("/@alice", body=script_page(text))]
    assert "__UNIVERSAL_DATA_FOR_REHYDRATION__ is not valid JSON" in error_line(web("user-info", "alice"), 7)


def test_an_escaped_script_end_is_read_whole(server: FakeTikTok) -> None:
    text = universal(alice_detail(nickname="Al</script>ice")).replace("<", "\\u003c")
    server.faults = [Fault("/@alice", body=script_page(text))]
    result = web("user-info", "alice", "-f", "jsonl")
    assert jsonl(result.stdout)[0]["nickname"] == "Al</script>ice"


def test_a_second_script_with_the_same_id_is_never_read(server: FakeTikTok) -> None:
    cut = universal(alice_detail(nickname="x"))[:40]
    forged = universal(alice_detail(nickname="FORGED"))
    body = script_page(cut).replace(b"</body>", script_page(forged))
    server.faults = [Fault("/@alice", body=body)]
    result = web("user-info", "alice")
    error_line(result, 7)
    assert "FORGED" not in result.stdout


def test_a_page_cut_inside_its_script_is_bad_data(server: FakeTikTok) -> None:
    server.faults = [Fault("/@alice", body=b'<script id="SIGI_STATE">{"UserModule": {"users": {}')]
    assert "ends inside its SIGI_STATE script" in error_line(web("user-info", "alice"), 7)


def test_json_nested_past_the_parser_in_a_profile_script_is_exit_7(server: FakeTikTok) -> None:
    server.faults = [Fault("/@alice", body=script_page("[" * 5000 + "]" * 5000))]
    error_line(web("user-info", "alice"), 7)
    inline = "<script>window['SIGI_STATE']=" + "[" * 5000 + "]" * 5000 + ";</script>"
    server.faults = [Fault("/@alice", body=inline.encode())]
    error_line(web("user-info", "alice"), 7)


@pytest.mark.parametrize(
    ("module", "words"),
    [
        ({"users": ["alice"], "stats": {}}, "UserModule.users: expected a JSON object, got list"),
        (
            {"users": {"alice": {"uniqueId": "alice", "id": "1"}}, "stats": "x"},
            "UserModule.stats: expected a JSON object, got str",
        ),
        ({"users": {"mallory": {"uniqueId": "mallory", "id": "1"}}}, "holds no userInfo"),
        ("x", "UserModule: expected a JSON object, got str"),
    ],
)
def test_sigi_state_of_the_wrong_shape_is_exit_7(server: FakeTikTok, module: Any, words: str) -> None:
    state = json.dumps({"UserModule": module, "UserPage": {"statusCode": 0}})
    server.faults = [Fault("/@alice", body=script_page(state, "SIGI_STATE"))]
    assert words in error_line(web("user-info", "alice"), 7)


def test_inline_sigi_state_followed_by_anything_but_a_statement_is_bad_data() -> None:
    state = json.dumps({"UserModule": {"users": {}}})
    for tail in (";window['SIGI_RETRY']={}", ";", ""):
        assert profile_detail(f"<script>window['SIGI_STATE']={state}{tail}</script>", "a") is not None
    with pytest.raises(UpstreamError, match="not valid JSON"):
        profile_detail(f"<script>window['SIGI_STATE']={state} junk</script>", "a")


@pytest.mark.parametrize(
    "state",
    [
        '{"UserModule": {"users": {}, "stats": NaN}}',
        '{"UserModule": {"users": {}}, "x": ' + "[" * 600 + "]" * 600 + "}",
    ],
)
def test_inline_sigi_state_has_the_limits_of_every_json_body(state: str) -> None:
    """NaN is no JSON, and nesting past the client's depth is refused, inline as anywhere."""
    with pytest.raises(UpstreamError, match="not valid JSON"):
        profile_detail(f"<script>window['SIGI_STATE']={state};</script>", "a")


def test_a_shell_page_falls_back_to_the_json_profile_api(server: FakeTikTok) -> None:
    server.faults = [Fault("/@alice", body=b"<html><body><div id='app'></div></body></html>")]
    result = web("user-info", "alice", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert jsonl(result.stdout)[0]["user_id"] == ALICE.uid
    assert [path for path, _ in server.received] == ["/@alice", "/api/user/detail/"]


def test_a_shell_page_for_an_account_that_does_not_exist_is_exit_3(server: FakeTikTok) -> None:
    server.faults = [Fault("/@nobody", body=b"<html><body></body></html>")]
    assert "@nobody does not exist" in error_line(web("user-info", "nobody"), 3)


def test_a_shell_page_and_a_blocked_json_api_are_a_block(server: FakeTikTok) -> None:
    server.faults = [Fault("/@alice", body=b"<html><body></body></html>"), Fault("/api/user/detail/")]
    line = error_line(web("user-info", "alice"), 6)
    assert "a page without the profile's data (/api/user/detail/ too" in line


REAL_PAGE = profile_page(alice_detail())
UNREADABLE_PAGES = {
    "key_removed": REAL_PAGE.replace(b'"webapp.user-detail"', b'"webapp.app-context"'),
    "empty": b"",
    "truncated": REAL_PAGE[: REAL_PAGE.index(b"<script")],
    "no_data_script": b"<!DOCTYPE html><html><body><div id='app'></div></body></html>",
    "another_root_object": script_page(json.dumps({"props": {"pageProps": None}})),
}


@pytest.mark.parametrize("page_body", UNREADABLE_PAGES.values(), ids=UNREADABLE_PAGES)
@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (404, b'{"status":"error","message":"no such route"}'),
        (404, b"<html><body><h1>404 Not Found</h1></body></html>"),
        (404, b""),
        (500, b"upstream error"),
        (200, b'{"statusCode":0}'),
        (200, b"not json"),
    ],
    ids=["404_json", "404_html", "404_empty", "500", "no_user_info", "not_json"],
)
def test_an_unreadable_profile_page_and_a_failed_fallback_are_exit_7(
    server: FakeTikTok, page_body: bytes, status: int, answer: bytes
) -> None:
    """The page answered 200: only TikTok's own "not found" says the account does not exist."""
    server.faults = [Fault("/@alice", body=page_body), Fault("/api/user/detail/", status, answer)]
    line = error_line(web("user-info", "alice"), 7)
    assert "does not exist" not in line
    assert line.startswith("tiktok: error: profile of @alice: tiktok.com answered with ")
    assert "(/api/user/detail/ instead: " in line
    if status != 200:
        assert f"HTTP {status}" in line
    assert [path for path, _ in server.received] == ["/@alice", "/api/user/detail/"]


@pytest.mark.parametrize("page_body", UNREADABLE_PAGES.values(), ids=UNREADABLE_PAGES)
@pytest.mark.parametrize(
    ("answer", "code", "words"),
    [
        ({"statusCode": 10202, "statusMsg": "user not exist"}, 3, "@alice does not exist or is banned"),
        ({"statusCode": 10221, "statusMsg": "user banned", "userInfo": {}}, 3, "does not exist or is banned"),
        ({"statusCode": 10222, "userInfo": {}}, 4, "@alice is a private account"),
        ({**alice_detail(privateAccount=False), "statusCode": 10222}, 0, ""),
        (alice_detail(privateAccount=False), 0, ""),
    ],
    ids=["10202", "10221", "private_no_profile", "private_profile", "ok"],
)
def test_the_fallbacks_own_status_decides_after_an_unreadable_page(
    server: FakeTikTok, page_body: bytes, answer: dict[str, Any], code: int, words: str
) -> None:
    server.faults = [
        Fault("/@alice", body=page_body),
        Fault("/api/user/detail/", body=json.dumps(answer).encode()),
    ]
    result = web("user-info", "alice", "-f", "jsonl")
    if code:
        assert words in error_line(result, code)
    else:
        assert result.exit_code == 0, result.stderr
        assert jsonl(result.stdout)[0]["private"] is (answer["statusCode"] == 10222)


def test_a_404_profile_page_is_an_account_that_does_not_exist(server: FakeTikTok) -> None:
    server.faults = [Fault("/@alice", 404, b"<html><body>Couldn't find this account</body></html>")]
    assert "@alice does not exist (tiktok.com answered 404)" in error_line(web("user-info", "alice"), 3)
    assert server.count("/api/user/detail/") == 0


def test_a_404_from_the_list_route_is_not_a_missing_account(server: FakeTikTok) -> None:
    server.faults = [Fault(LIST, 404, b'{"status":"error","message":"no such route"}')]
    line = error_line(followers(), 7)
    assert "HTTP 404" in line and "does not exist" not in line


def test_profile_user_reports_not_found_only_for_tiktoks_codes() -> None:
    with pytest.raises(NotFoundError):
        profile_user({"statusCode": 10221, "userInfo": {}}, "a", "profile of @a")
    with pytest.raises(UpstreamError):
        profile_user({"statusCode": 0, "userInfo": {}}, "a", "profile of @a")
    with pytest.raises(NotVisibleError):
        list_page({"hasMore": False}, "followers of @a", first=True)


def test_an_api_error_names_tiktok_com_and_quotes_its_message_cut(server: FakeTikTok) -> None:
    """tiktok.com's HTTP errors go through the backends' shared status rules."""
    server.faults = [Fault(LIST, 400, json.dumps({"message": "bad " * 200}).encode())]
    line = error_line(followers(), 7)
    assert "tiktok.com answered HTTP 400: bad bad" in line
    assert line.endswith("bad…")
