"""`tiktok doctor`: one line per check, against a local server speaking both APIs and tiktok.com."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from build_cassettes import profile_html
from fakeserver import TOKEN, Account, FakeTikTok, Fault, sec_uid_for
from helpers import error_line, invoke

PROBE_UID = "6754915036232582149"
ACCOUNTS = [
    Account("alice", PROBE_UID, sec_uid_for("alice"), 95, 43),
    Account("tiktok", "107955", sec_uid_for("tiktok"), 10, 5),
]
SESSION_VALUE = "SESSIONsecret991"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    """Both APIs on one local server, configured through the environment as a user would."""
    with FakeTikTok(accounts=list(ACCOUNTS)) as srv:
        monkeypatch.setenv("TIKTOK_GATEWAY_URL", f"{srv.url}/tiktok")
        monkeypatch.setenv("TIKTOK_API_URL", f"{srv.url}/tk")
        monkeypatch.setenv("TIKTOK_API_TOKEN", TOKEN)
        monkeypatch.setenv("TIKTOK_WEB_URL", srv.url)
        yield srv


def closed_port_url() -> str:
    """A local address nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def report(result: Any) -> dict[str, tuple[str, str]]:
    """{subject: (status, detail)} from the doctor's lines, checking their shape."""
    checks = {}
    for line in result.stdout.splitlines():
        status, subject, detail = line[:5].strip(), line[6:17].strip(), line[18:]
        assert status in ("ok", "FAIL", "skip", "warn"), line
        checks[subject] = (status, detail)
    return checks


def statuses(result: Any) -> dict[str, str]:
    return {subject: status for subject, (status, _) in report(result).items()}


def profile_page(username: str = "tiktok") -> bytes:
    detail = {
        "statusCode": 0,
        "userInfo": {
            "user": {
                "id": "107955",
                "uniqueId": username,
                "secUid": sec_uid_for(username),
                "nickname": "TikTok",
            },
            "stats": {"followerCount": 10, "followingCount": 5},
        },
    }
    payload = json.dumps({"__DEFAULT_SCOPE__": {"webapp.user-detail": detail}})
    return profile_html("__UNIVERSAL_DATA_FOR_REHYDRATION__", payload, username).encode()


def cookies_file(tmp_path: Path, domain: str = "127.0.0.1") -> Path:
    """A cookies.txt for ``domain``; by default the local server that plays tiktok.com (plain http)."""
    path = tmp_path / "cookies.txt"
    subdomains = "TRUE" if domain.startswith(".") else "FALSE"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        f"{domain}\t{subdomains}\t/\tFALSE\t2000000000\tsessionid\t{SESSION_VALUE}\n"
        f"{domain}\t{subdomains}\t/\tFALSE\t2000000000\ttt_csrf_token\tcsrfSECRET\n"
    )
    return path


def test_all_ok_exits_0_with_one_request_per_data_source(server: FakeTikTok) -> None:
    result = invoke("doctor")
    assert result.exit_code == 0, result.stdout
    why = "(auto: gateway_url from the environment TIKTOK_GATEWAY_URL)"
    assert report(result)["user-info"] == ("ok", f"served by the gateway {why}")
    assert statuses(result) == {
        "settings": "ok",
        "gateway": "ok",
        "token API": "ok",
        "tiktok.com": "skip",
        "cookies": "skip",
        "signer": "skip",
        "user-info": "ok",
        "followings": "ok",
        "followers": "ok",
        "store": "skip",
    }
    assert "credentials accepted" in report(result)["token API"][1]
    assert (server.count("/user-info"), server.count("/user/followers")) == (1, 1)
    assert TOKEN not in result.stdout + result.stderr
    assert result.stderr == ""


def test_gateway_down_says_how_to_fix_it_and_exits_7(
    server: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = closed_port_url()
    monkeypatch.setenv("TIKTOK_GATEWAY_URL", f"{url}/tiktok")
    started = time.monotonic()
    result = invoke("doctor")
    assert time.monotonic() - started < 5  # no long retries
    assert result.exit_code == 7
    checks = report(result)
    status, detail = checks["gateway"]
    assert status == "FAIL"
    assert "cannot reach" in detail and "TIKTOK_GATEWAY_URL" in detail and "--gateway-url" in detail
    assert checks["token API"][0] == "ok"
    assert checks["user-info"][0] == checks["followings"][0] == "FAIL"
    # followers by username need the gateway too; by --uid they do not
    assert checks["followers"][0] == "FAIL" and "--uid" in checks["followers"][1]


def test_a_gateway_url_answering_an_html_404_is_not_the_gateway(server: FakeTikTok) -> None:
    server.faults = [Fault("/user-info", 404, b"<html><body><h1>Not Found</h1></body></html>")]
    result = invoke("doctor")
    assert result.exit_code == 5
    status, detail = report(result)["gateway"]
    assert status == "FAIL"
    assert f"{server.url}/tiktok is not the gateway's API" in detail
    assert "from the environment TIKTOK_GATEWAY_URL" in detail


def test_a_gateway_saying_no_such_account_in_json_still_works(server: FakeTikTok) -> None:
    server.accounts.pop("tiktok")
    result = invoke("doctor")
    assert result.exit_code == 0, result.stdout
    status, detail = report(result)["gateway"]
    assert status == "ok" and "answers in its own terms" in detail


def test_a_rejected_token_fails_followers_only_and_is_never_printed(
    server: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_API_TOKEN", "wrong-token-4242")
    result = invoke("doctor")
    assert result.exit_code == 5
    checks = report(result)
    assert checks["token API"][0] == "FAIL" and "rejected" in checks["token API"][1]
    assert "TIKTOK_API_TOKEN" in checks["token API"][1]
    assert (checks["user-info"][0], checks["followers"][0]) == ("ok", "FAIL")
    assert "wrong-token-4242" not in result.stdout + result.stderr


def test_a_missing_token_api_setting_is_named(server: FakeTikTok, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIKTOK_API_URL")
    result = invoke("doctor")
    assert result.exit_code == 5
    status, detail = report(result)["token API"]
    assert status == "FAIL" and "set TIKTOK_API_URL" in detail
    assert server.count("/user/followers") == 0


def test_flags_override_the_environment(server: FakeTikTok, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_GATEWAY_URL", closed_port_url())
    monkeypatch.delenv("TIKTOK_API_URL")
    result = invoke("doctor", "--gateway-url", f"{server.url}/tiktok", "--api-url", f"{server.url}/tk")
    assert result.exit_code == 0, result.stdout


def test_checks_use_a_short_timeout_and_do_not_retry(server: FakeTikTok) -> None:
    server.latency = 1.0
    started = time.monotonic()
    result = invoke("doctor", "--timeout", "0.2")
    assert time.monotonic() - started < 4
    assert result.exit_code == 7
    assert "timed out" in report(result)["gateway"][1]
    assert "retrying" not in result.stderr
    time.sleep(server.latency + 0.3)  # the server records a request once its delay is over
    assert server.count("/user-info") == 1


def test_backend_web_against_a_local_tiktok_com(server: FakeTikTok, tmp_path: Path) -> None:
    server.faults = [Fault("/@tiktok", body=profile_page())]
    result = invoke("doctor", "--backend", "web", "--cookies", str(cookies_file(tmp_path)))
    assert result.exit_code == 0, result.stdout
    checks = report(result)
    assert {s: checks[s][0] for s in ("gateway", "token API", "tiktok.com", "cookies")} == {
        "gateway": "skip",
        "token API": "skip",
        "tiktok.com": "ok",
        "cookies": "ok",
    }
    assert "logged-in session" in checks["cookies"][1]
    served = ("ok", "served by tiktok.com (backend web from the flag --backend)")
    assert all(checks[c] == served for c in ("user-info", "followings", "followers"))
    assert server.count("/@tiktok") == 1 and server.count("/user-info") == 0
    assert SESSION_VALUE not in result.stdout + result.stderr
    assert "csrfSECRET" not in result.stdout + result.stderr


def test_backend_web_without_cookies_asks_lists_without_and_names_the_options(server: FakeTikTok) -> None:
    server.faults = [Fault("/@tiktok", body=profile_page())]
    result = invoke("doctor", "--backend", "web")
    checks = report(result)
    status, detail = checks["cookies"]
    assert status == "skip" and "--cookies-from-browser BROWSER (or --cookies FILE)" in detail
    assert checks["user-info"] == ("ok", "served by tiktok.com (backend web from the flag --backend)")
    for command in ("followings", "followers"):
        status, detail = checks[command]
        assert status == "warn" and "asked without a session" in detail
        assert "--cookies-from-browser BROWSER (or --cookies FILE)" in detail
    assert result.exit_code == 0  # a command asks without cookies first: it may well work


def test_cookies_without_a_session_promise_no_lists_either(server: FakeTikTok, tmp_path: Path) -> None:
    server.faults = [Fault("/@tiktok", body=profile_page())]
    path = tmp_path / "cookies.txt"
    path.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t2000000000\tlang\ten\n")
    result = invoke("doctor", "--backend", "web", "--cookies", str(path))
    checks = report(result)
    assert checks["cookies"][0] == "ok" and "no sessionid" in checks["cookies"][1]
    assert (checks["user-info"][0], checks["followers"][0]) == ("ok", "warn")
    assert result.exit_code == 0


def test_a_missing_cookies_file_fails_the_web_commands(server: FakeTikTok, tmp_path: Path) -> None:
    server.faults = [Fault("/@tiktok", body=profile_page())]
    result = invoke("doctor", "--backend", "web", "--cookies", str(tmp_path / "missing.txt"))
    assert result.exit_code == 5
    checks = report(result)
    assert checks["cookies"][0] == "FAIL" and "does not exist" in checks["cookies"][1]
    assert checks["tiktok.com"][0] == "ok"  # the host is still checked
    assert checks["followers"] == ("FAIL", "the cookies do not load (see above)")


def test_cookies_for_another_host_are_refused(server: FakeTikTok, tmp_path: Path) -> None:
    server.faults = [Fault("/@tiktok", body=profile_page())]
    path = cookies_file(tmp_path, domain=".tiktok.com")  # not the host of TIKTOK_WEB_URL here
    result = invoke("doctor", "--backend", "web", "--cookies", str(path))
    assert result.exit_code == 5
    status, detail = report(result)["cookies"]
    assert status == "FAIL" and "holds no cookies for 127.0.0.1" in detail
    assert SESSION_VALUE not in result.stdout + result.stderr


def test_broken_cookies_fail_the_doctor_but_not_commands_that_never_use_them(
    server: FakeTikTok, tmp_path: Path
) -> None:
    result = invoke("doctor", "--cookies", str(tmp_path / "missing.txt"))
    checks = report(result)
    assert checks["cookies"][0] == "FAIL"
    assert {checks[c][0] for c in ("user-info", "followings", "followers")} == {"ok"}
    assert result.exit_code == 5  # any FAIL is a failure: the cookies' own code


def test_an_unreachable_gateway_is_advised_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_GATEWAY_URL", f"{closed_port_url()}/tiktok")
    result = invoke("doctor")
    status, detail = report(result)["gateway"]
    assert status == "FAIL" and "cannot reach" in detail
    assert detail.count("start") == 1 and detail.count("TIKTOK_GATEWAY_URL") == 1, detail


def test_an_unreachable_tiktok_com_names_no_flag_that_does_not_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_WEB_URL", closed_port_url())
    result = invoke("doctor", "--backend", "web")
    assert result.exit_code != 0
    status, detail = report(result)["tiktok.com"]
    assert status == "FAIL" and "cannot reach" in detail
    assert "--web-url" not in detail and "start" not in detail, detail
    assert "connection" in detail and "TIKTOK_WEB_URL" in detail, detail


def test_tiktok_com_blocking_the_client_exits_6(server: FakeTikTok) -> None:
    server.faults = [
        Fault("/@tiktok", body=b"<html><title>Please wait...</title>captcha</html>"),
        Fault("/api/user/detail/", body=b""),  # the JSON fallback is refused too
    ]
    result = invoke("doctor", "--backend", "web")
    assert result.exit_code == 6
    assert report(result)["tiktok.com"][0] == "FAIL"


def test_backend_tkapi_skips_what_it_cannot_serve(server: FakeTikTok) -> None:
    result = invoke("doctor", "--backend", "tkapi")
    assert result.exit_code == 0, result.stdout
    checks = report(result)
    assert checks["user-info"][0] == "skip" and "--backend gateway" in checks["user-info"][1]
    assert checks["followers"] == (
        "ok",
        "served by the token API (backend tkapi from the flag --backend); "
        "usernames looked up through the gateway",
    )


def test_a_config_file_that_is_a_folder_is_one_failed_check(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = isolated_env / "conf.d"
    folder.mkdir()
    monkeypatch.setenv("TIKTOK_CONFIG", str(folder))
    result = invoke("doctor")
    assert result.exit_code == 5
    assert result.stdout.splitlines() == [
        f"FAIL  settings    config file {folder} is a folder, not a file; "
        f"point TIKTOK_CONFIG at a file inside it, such as {folder / 'config.toml'}"
    ]


# --- first-run errors point to the doctor ---------------------------------------------------


def test_a_missing_token_api_setting_points_to_the_doctor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIKTOK_API_URL")
    line = error_line(invoke("followers", "--uid", PROBE_UID), 5)
    assert "TIKTOK_API_URL" in line and "`tiktok doctor`" in line


def test_an_unreachable_gateway_points_to_the_doctor() -> None:
    line = error_line(invoke("user-info", "alice", "--gateway-url", closed_port_url()), 7)
    assert "`tiktok doctor`" in line


def test_other_failures_do_not_mention_the_doctor(server: FakeTikTok) -> None:
    line = error_line(invoke("user-info", "nosuchaccount"), 3)
    assert "doctor" not in line


def test_verbose_traces_the_checks_requests_with_the_token_redacted(server: FakeTikTok) -> None:
    result = invoke("doctor", "-v")
    assert result.exit_code == 0
    assert "GET " in result.stderr and "token=***" in result.stderr
    assert TOKEN not in result.stderr


def test_a_gateway_url_answering_a_web_page_is_not_the_gateway(server: FakeTikTok) -> None:
    server.faults = [Fault("/user-info", 200, b"<!DOCTYPE html><html><body>Welcome to nginx!</body></html>")]
    result = invoke("doctor")
    assert result.exit_code == 5
    status, detail = report(result)["gateway"]
    assert status == "FAIL" and "HTML page instead of JSON" in detail and "is not the gateway's API" in detail
    assert server.count("/user-info") == 1  # no retries


def test_a_token_refused_with_http_401_is_about_the_token_not_the_url(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 401, b"<html>401 Unauthorized</html>")]
    result = invoke("doctor")
    assert result.exit_code == 5
    status, detail = report(result)["token API"]
    assert status == "FAIL" and "refused the request (HTTP 401)" in detail and "TIKTOK_API_TOKEN" in detail
    assert "not the token API" not in detail


def test_the_store_is_checked_when_one_is_set(server: FakeTikTok, tmp_path: Path) -> None:
    store = tmp_path / "tiktok.db"
    missing = report(invoke("doctor", "--db", str(store)))["store"]
    assert missing == ("ok", f"{store} does not exist yet: the first run with --db creates it")
    (tmp_path / "afile").write_text("")
    blocked = invoke("doctor", "--db", str(tmp_path / "afile" / "sub" / "t.db"))
    assert blocked.exit_code == 5
    assert report(blocked)["store"] == (
        "FAIL",
        f"{tmp_path / 'afile' / 'sub' / 't.db'} cannot be created: {tmp_path / 'afile'} is not a folder",
    )
    assert invoke("user-info", "alice", "--db", str(store), "-f", "none").exit_code == 0
    result = invoke("doctor", "--db", str(store))
    assert result.exit_code == 0
    assert report(result)["store"] == ("ok", f"{store} (from the flag --db): 0 snapshots of 0 lists")
    other = tmp_path / "other.db"
    other.write_text("not a database, but a file of text long enough to be read as one " * 100)
    result = invoke("doctor", "--db", str(other))
    assert result.exit_code == 5
    status, detail = report(result)["store"]
    assert status == "FAIL" and "cannot use the store" in detail
