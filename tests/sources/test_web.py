"""The tiktok.com backend, replayed from cassettes whose bodies are real TikTok responses."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakeserver import Account, FakeTikTok, Fault, sec_uid_for
from helpers import ROOT, error_line, invoke, jsonl

from tiktok_cli.backends.web import has_browser_tls, page_scripts, profile_detail
from tiktok_cli.client import HttpClient

ZG_SEC_UID = "MS4wLjABAAAAkagks5n_8XDIMWf94LZDUYs54FG5bJmEFJkWtjA__uRUN8QWaavHhzSyEO6WBPQj"
UNIVERSAL = json.loads((ROOT / "tests" / "data" / "web_profile_rehydration_universal_data.json").read_text())


def web(*args: str) -> Any:
    # A high --rate: replayed answers need no politeness, and the backend's default is 1/s.
    return invoke(*args, "--backend", "web", "--rate", "1000")


def test_user_info_reads_the_rehydration_json_of_a_real_profile_page(cassette: Any) -> None:
    with cassette("web/user_info_universal"):
        result = web("user-info", "khanhiattm2", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "unique_id": "khanhiattm2",
        "nickname": "Marie Music",
        "user_id": "7627764789460222989",
        "sec_uid": "MS4wLjABAAAALHewbqGQU_ms5zNprZ1sdEKADLAyeK4ZaIX063PS4RL0JwU322FZg4rE-3NN4OUE",
        "bio": "",
        "verified": False,
        "private": False,
        "followers": 40398,  # statsV2's exact figure, not stats' rounded 40400
        "following": 6,
        "likes": 234997,
        "videos": 60,
        "avatar_url": UNIVERSAL["__DEFAULT_SCOPE__"]["webapp.user-detail"]["userInfo"]["user"]["avatarThumb"],
    }


def test_user_info_falls_back_to_sigi_state(cassette: Any) -> None:
    with cassette("web/user_info_sigi"):
        result = web("user-info", "@zg.520", "-f", "jsonl")
    row = json.loads(result.stdout)
    assert (row["unique_id"], row["sec_uid"], row["followers"], row["likes"]) == (
        "zg.520",
        ZG_SEC_UID,
        427700,
        6800000,
    )


def test_user_info_falls_back_to_next_data(cassette: Any) -> None:
    with cassette("web/user_info_next_data"):
        result = web("user-info", "tiktok", "-f", "jsonl")
    row = json.loads(result.stdout)
    assert (row["unique_id"], row["user_id"], row["verified"], row["followers"]) == (
        "tiktok",
        "107955",
        True,
        50100000,
    )


def test_user_info_reads_the_pre_2022_inline_sigi_state(cassette: Any) -> None:
    with cassette("web/user_info_sigi_inline"):
        result = web("user-info", "zg.520", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)
    assert (row["unique_id"], row["sec_uid"], row["followers"]) == ("zg.520", ZG_SEC_UID, 427700)


def test_a_client_side_shell_falls_back_to_the_json_profile_api(cassette: Any) -> None:
    with cassette("web/user_info_shell") as cas:
        result = web("user-info", "zg.520", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)
    assert (row["unique_id"], row["followers"], row["likes"]) == ("zg.520", 427682, 6764096)
    assert cas.play_count == 2


def test_a_page_without_profile_data_is_parsed_as_none() -> None:
    assert profile_detail("<html><body>hi</body></html>", "x") is None
    scripts = page_scripts('<script id="SIGI_STATE" type="application/json">{"a": 1}</script><p>')
    assert scripts.json("SIGI_STATE", "probe") == {"a": 1}


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("web/user_info_not_found", 3, "@gone.user does not exist"),
        ("web/user_info_challenge", 6, "challenge page instead of the profile (/api/user/detail/ too"),
        (
            "web/user_info_empty",
            6,
            "empty page (/api/user/detail/ too: www.tiktok.com answered with an empty",
        ),
        ("web/user_info_login_redirect", 6, "login page"),
    ],
)
def test_profile_failures_map_to_exit_codes(cassette: Any, name: str, code: int, words: str) -> None:
    user = "gone.user" if "not_found" in name else "zg.520"
    with cassette(name):
        result = web("user-info", user, "--retries", "0")
    assert result.exit_code == code
    assert words in result.stderr
    if code == 6:
        assert "--cookies" in result.stderr and "--rate" in result.stderr
        # The hint is for those without the [web] extra; with it installed there is nothing to add.
        assert ("pip install 'tiktok-follows[web]'" in result.stderr) is not has_browser_tls()


def test_followers_pages_through_the_list_skipping_placeholders_and_repeats(cassette: Any) -> None:
    with cassette("web/followers_three_pages") as cas:
        result = web("followers", "zg.520", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    names = [json.loads(line)["unique_id"] for line in result.stdout.splitlines()]
    assert names == ["waankutaaera", "user3386115433738", "web_fan_0", "web_fan_1", "web_fan_2"]
    assert cas.play_count == 4  # the profile, then three list pages
    assert "(TikTok reports ~427,682)" in result.stderr


def test_followings_by_sec_uid_needs_no_profile(cassette: Any) -> None:
    with cassette("web/followings_two_pages"):
        result = web("followings", "--sec-uid", ZG_SEC_UID, "-f", "csv", "--fields", "unique_id,user_id")
    assert result.stdout.splitlines() == [
        "unique_id,user_id",
        "jingyii11,7539740651619009544",
        "user2619219551502,7089075067078771718",
    ]


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("web/list_hidden", 4, "list is hidden, or needs a logged-in session"),
        ("web/list_private", 4, "private account"),
        ("web/list_not_found", 3, "does not exist"),
        ("web/list_captcha", 6, "a captcha (status 10000)"),
        ("web/list_invalid_params", 6, "status 10201"),
        ("web/list_ip_blocked", 6, "an IP block (status 10204)"),
        ("web/list_empty_body", 6, "empty body"),
        ("web/list_login_required", 5, "logged-in session"),
    ],
)
def test_list_answers_map_to_exit_codes(cassette: Any, name: str, code: int, words: str) -> None:
    with cassette(name):
        result = web("followings", "--sec-uid", ZG_SEC_UID, "--retries", "0")
    assert result.exit_code == code, result.stderr
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def local_web(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A local tiktok.com (FakeTikTok's web endpoints) as the web backend's base URL."""
    alice = Account("alice", "6754915036232582149", sec_uid_for("alice"), 12, 5)
    with FakeTikTok(accounts=[alice], page_size=8) as srv:
        monkeypatch.setenv("TIKTOK_WEB_URL", srv.url)
        yield srv


def private_page(flag: Any) -> bytes:
    """The real profile page of @khanhiattm2 as TikTok serves a private account: status 10222
    next to the profile (``flag``: its privateAccount, ... for none)."""
    universal = copy.deepcopy(UNIVERSAL)
    detail = universal["__DEFAULT_SCOPE__"]["webapp.user-detail"]
    detail.update(statusCode=10222, statusMsg="author_secret")
    user = detail["userInfo"]["user"]
    del user["privateAccount"]
    if flag is not ...:
        user["privateAccount"] = flag
    payload = json.dumps(universal, ensure_ascii=False).replace("<", "\\u003c")
    return (
        '<!DOCTYPE html><html lang="en"><head><title>Marie Music (@khanhiattm2) | TikTok</title></head>'
        f'<body><div id="app"></div><script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">'
        f"{payload}</script></body></html>\n"
    ).encode()


@pytest.mark.parametrize("flag", [True, False, ...], ids=["flagged", "unflagged", "no_flag"])
def test_a_private_accounts_profile_is_read_and_only_its_lists_are_private(
    local_web: FakeTikTok, flag: Any
) -> None:
    local_web.faults = [Fault("/@khanhiattm2", body=private_page(flag))]
    result = web("user-info", "khanhiattm2", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    (row,) = jsonl(result.stdout)
    assert (row["unique_id"], row["private"], row["followers"]) == ("khanhiattm2", True, 40398)

    local_web.faults = [
        Fault("/@khanhiattm2", body=private_page(flag)),
        Fault("/api/user/list/", body=b'{"statusCode":10222,"statusMsg":"author_secret"}'),
    ]
    line = error_line(web("followers", "khanhiattm2", "--retries", "0"), 4)
    assert "@khanhiattm2 is a private account" in line
    assert [path for path, _ in local_web.received][-2:] == ["/@khanhiattm2", "/api/user/list/"]


def test_cookies_reach_the_web_host_and_are_never_shown(local_web: FakeTikTok, tmp_path: Path) -> None:
    jar = tmp_path / "cookies.txt"
    jar.write_text(
        "# Netscape HTTP Cookie File\n"
        "127.0.0.1\tFALSE\t/\tFALSE\t2000000000\tsessionid\tSESSIONSECRET42\n"
        ".tiktok.com\tTRUE\t/\tTRUE\t2000000000\tsessionid_ss\tOTHERHOSTSECRET\n"
    )
    result = web("followers", "alice", "--cookies", str(jar), "-v", "--debug", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 12
    assert "SESSIONSECRET42" not in result.stdout + result.stderr
    sent = [(path, headers.get("Cookie", "")) for path, headers in local_web.received]
    assert [path for path, _ in sent] == ["/@alice", "/api/user/list/", "/api/user/list/"]
    assert all(cookie == "sessionid=SESSIONSECRET42" for _, cookie in sent)  # not tiktok.com's


def test_inline_cookies_reach_the_web_host(local_web: FakeTikTok, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_COOKIES", "sessionid=INLINESECRET9; tt-target-idc=useast5")
    result = web("user-info", "alice", "-f", "jsonl", "--debug", "-v")
    assert result.exit_code == 0, result.stderr
    assert local_web.received[0][1].get("Cookie") == "sessionid=INLINESECRET9; tt-target-idc=useast5"
    assert "INLINESECRET9" not in result.stderr


def test_the_cookies_path_is_named_and_hints_stay_readable(cassette: Any, isolated_env: Path) -> None:
    (isolated_env / "cookies.txt").write_text(
        "# Netscape HTTP Cookie File\n.tiktok.com\tTRUE\t/\tTRUE\t2000000000\tsessionid\tS3CRETVALUE\n"
    )
    with cassette("web/list_login_required"):
        result = web("followings", "--sec-uid", ZG_SEC_UID, "--cookies", "cookies.txt", "--retries", "0")
    line = error_line(result, 5)
    assert "the session in the cookies was refused (expired or logged out): log in to tiktok.com" in line
    assert "***" not in line
    missing = web("user-info", "zg.520", "--cookies", "nowhere.txt")
    assert "cookies file nowhere.txt does not exist" in error_line(missing, 5)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("sessionid=abc\n", "not a Netscape cookies.txt"),
        ("# Netscape HTTP Cookie File\n", "cookies.txt holds no cookies for www.tiktok.com"),
        (
            "# Netscape HTTP Cookie File\n.example.com\tTRUE\t/\tTRUE\t2000000000\tsid\tX\n",
            "cookies.txt holds no cookies for www.tiktok.com",
        ),
        ("# Netscape HTTP Cookie File\n.tiktok.com\tFALSE\t/\tTRUE\t2000000000\tsid\tX\n", "Netscape"),
    ],
)
def test_bad_cookie_files_are_configuration_errors(tmp_path: Path, content: str, words: str) -> None:
    jar = tmp_path / "cookies.txt"
    jar.write_text(content)
    result = web("user-info", "zg.520", "--cookies", str(jar))
    assert words in error_line(result, 5)


def test_a_cookies_txt_is_read_for_the_host_of_the_web_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tiktok_cli.cookies import load_cookies

    jar = tmp_path / "cookies.txt"
    jar.write_text(
        "# Netscape HTTP Cookie File\n"
        "127.0.0.1\tFALSE\t/\tFALSE\t2000000000\tsessionid\tLOCAL1\n"
        ".tiktok.com\tTRUE\t/\tTRUE\t2000000000\tsessionid\tREMOTE1\n"
    )
    assert [c.value for c in load_cookies(str(jar), "http://127.0.0.1:8080")] == ["LOCAL1"]
    assert [c.value for c in load_cookies(str(jar), "https://www.tiktok.com")] == ["REMOTE1"]


def test_ms_token_is_carried_forward_and_redacted() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("msToken"))
        return httpx.Response(200, json={"ok": True}, headers={"x-ms-token": "ROTATEDms1234"})

    from tiktok_cli.backends.web import rotate_ms_token

    client = HttpClient(transport=httpx.MockTransport(handler), retries=0, on_response=rotate_ms_token)
    with client:
        for _ in range(2):
            token = client.cookie("msToken")
            client.get_json("https://www.tiktok.com/api/x", {"msToken": token}, what="probe")
    assert seen == [None, "ROTATEDms1234"]
    from tiktok_cli.console import redact

    assert redact("msToken=ROTATEDms1234") == "msToken=***"


def test_web_is_chosen_by_config_file_too(cassette: Any, isolated_env: Path) -> None:
    config = isolated_env / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text('backend = "web"\n')
    with cassette("web/user_info_sigi"):
        result = invoke("user-info", "zg.520", "-f", "jsonl")
    assert json.loads(result.stdout)["unique_id"] == "zg.520"


def test_the_token_api_refuses_a_sec_uid_clearly() -> None:
    result = invoke("followers", "--sec-uid", ZG_SEC_UID)
    assert result.exit_code == 2
    assert "--backend web" in result.stderr


def test_cookie_files_reach_tiktok_com_requests(tmp_path: Path) -> None:
    from tiktok_cli.cookies import load_cookies

    jar = tmp_path / "cookies.txt"
    jar.write_text(
        "# Netscape HTTP Cookie File\n.tiktok.com\tTRUE\t/\tTRUE\t2000000000\tsessionid\tSESSION77\n"
    )
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie", ""))
        return httpx.Response(200, json={})

    cookies = load_cookies(str(jar), "https://www.tiktok.com")
    with HttpClient(transport=httpx.MockTransport(handler), cookies=cookies) as client:
        client.get_json("https://www.tiktok.com/api/user/list/", {}, what="probe")
        client.get_json("https://evil.example/", {}, what="probe")
        client.get_json("https://eviltiktok.com/", {}, what="probe")
    assert sent == ["sessionid=SESSION77", "", ""]  # and only to tiktok.com


def test_inline_cookies_go_to_the_web_host_alone() -> None:
    from tiktok_cli.cookies import load_cookies

    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie", ""))
        return httpx.Response(200, json={})

    cookies = load_cookies("sessionid=SESSION88", "https://www.tiktok.com")
    with HttpClient(transport=httpx.MockTransport(handler), cookies=cookies) as client:
        for url in ("https://www.tiktok.com/api/", "https://evil.example/", "http://www.tiktok.com/"):
            client.get_json(url, {}, what="probe")
    assert sent == ["sessionid=SESSION88", "", ""]  # not to another host, nor over plain http


def test_only_inline_cookie_values_are_secrets(tmp_path: Path) -> None:
    from tiktok_cli.settings import Settings, is_secret

    path = tmp_path / "a=b" / "cookies.txt"
    path.parent.mkdir()
    path.write_text("# Netscape HTTP Cookie File\n")
    assert not is_secret("cookies", "~/cookies.txt")
    assert not is_secret("cookies", str(path))  # an existing file, even with "=" in its path
    assert is_secret("cookies", "sessionid=abc; tt=1")
    assert is_secret("api_token", "tok") and not is_secret("timeout", 3)
    shown = repr(Settings(cookies="/home/me/cookies.txt")) + repr(Settings(cookies="sessionid=Zz9abc"))
    assert "/home/me/cookies.txt" in shown and "Zz9abc" not in shown


@pytest.mark.parametrize("value", ["sessionid=Abc/SECRETxyz", "sessionid=SECRETxyz; msToken=Tok/en+abc=="])
def test_cookie_values_never_appear_in_messages(
    cassette: Any, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TIKTOK_COOKIES", value)
    with cassette("web/user_info_empty"):  # a block: an error message with --debug and -v on
        blocked = web("user-info", "zg.520", "--retries", "0", "--debug", "-v")
    assert blocked.exit_code == 6
    outputs = [blocked, invoke("config", "show")]
    for result in outputs:
        assert "SECRETxyz" not in result.stdout + result.stderr
