"""tiktok.com lists are asked without cookies first; a login is asked for only when TikTok
answers that it wants one, and then the message names the option that gives it one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakeserver import Account, FakeTikTok, Fault, sec_uid_for
from helpers import error_line, invoke

ALICE = Account("alice", "6754915036232582149", sec_uid_for("alice"), 12, 5)
HIDDEN = json.dumps({"hasMore": False, "minCursor": -1, "statusCode": 0}).encode()
OPTIONS = "--cookies-from-browser BROWSER (firefox, chrome, edge, …) or --cookies FILE (a cookies.txt)"


@pytest.fixture
def local_web(monkeypatch: pytest.MonkeyPatch) -> Any:
    with FakeTikTok(accounts=[ALICE], page_size=8) as srv:
        monkeypatch.setenv("TIKTOK_WEB_URL", srv.url)
        yield srv


def web(*args: str) -> Any:
    return invoke(*args, "--backend", "web", "--rate", "1000", "--retries", "0")


def cookies_txt(tmp_path: Path, name: str = "sessionid") -> str:
    path = tmp_path / "cookies.txt"
    path.write_text(
        f"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t2000000000\t{name}\tVALUEvalue12345\n"
    )
    return str(path)


def test_a_public_list_is_read_without_cookies(local_web: FakeTikTok) -> None:
    result = web("followers", "alice", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 12
    assert all("Cookie" not in headers for _, headers in local_web.received)


@pytest.mark.parametrize("status", [10101, 10102])
def test_a_login_status_names_the_options_that_give_one(local_web: FakeTikTok, status: int) -> None:
    body = json.dumps({"statusCode": status, "statusMsg": "not login"}).encode()
    local_web.faults = [Fault("/api/user/list/", body=body)]
    line = error_line(web("followers", "alice"), 5)
    assert f"tiktok.com wants a logged-in session (status {status})" in line
    assert f"log in to tiktok.com in a browser and pass {OPTIONS}" in line


def test_a_redirect_to_the_login_page_names_the_options(local_web: FakeTikTok) -> None:
    local_web.faults = [Fault("/api/user/list/", 302, headers={"Location": "/login?redirect_url=%2F"})]
    line = error_line(web("followings", "alice"), 5)
    assert "tiktok.com redirected to its login page" in line and OPTIONS in line


def test_an_empty_list_the_profile_says_has_members_asks_for_a_login(local_web: FakeTikTok) -> None:
    local_web.faults = [Fault("/api/user/list/", body=HIDDEN)]
    line = error_line(web("followers", "alice"), 5)
    assert "tiktok.com shows none of the 12 accounts its profile reports without a logged-in session" in line
    assert OPTIONS in line


def test_with_a_session_an_empty_list_is_a_hidden_list(local_web: FakeTikTok, tmp_path: Path) -> None:
    local_web.faults = [Fault("/api/user/list/", body=HIDDEN)]
    line = error_line(web("followers", "alice", "--cookies", cookies_txt(tmp_path)), 4)
    assert "the list is hidden" in line


def test_cookies_without_a_session_are_named_as_the_problem(local_web: FakeTikTok, tmp_path: Path) -> None:
    local_web.faults = [Fault("/api/user/list/", body=HIDDEN)]
    line = error_line(web("followers", "alice", "--cookies", cookies_txt(tmp_path, "tt-target-idc")), 5)
    assert (
        "the cookies of --cookies carry no session (no sessionid): log in to tiktok.com there first" in line
    )


def test_by_sec_uid_an_empty_list_is_hidden_and_the_hint_names_the_options(local_web: FakeTikTok) -> None:
    local_web.faults = [Fault("/api/user/list/", body=HIDDEN)]
    line = error_line(web("followers", "--sec-uid", ALICE.sec_uid), 4)
    assert f"if the list is public, log in to tiktok.com in a browser and pass {OPTIONS}" in line


@pytest.mark.parametrize(
    "body", [b"", json.dumps({"statusCode": 10201, "statusMsg": "invalid parameters"}).encode()]
)
def test_unsigned_looking_answers_say_a_signer_may_be_needed(local_web: FakeTikTok, body: bytes) -> None:
    local_web.faults = [Fault("/api/user/list/", body=body)]
    line = error_line(web("followers", "alice"), 6)
    assert "tiktok.com may want signed requests: set signer_url (TIKTOK_SIGNER_URL)" in line


def test_a_captcha_says_nothing_of_signing(local_web: FakeTikTok) -> None:
    local_web.faults = [Fault("/api/user/list/", body=b'{"statusCode":10000,"type":"verify"}')]
    line = error_line(web("followers", "alice"), 6)
    assert "signer_url" not in line
