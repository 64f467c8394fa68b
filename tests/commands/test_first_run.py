"""First run: with nothing configured, tiktok.com answers; a dead or mistyped base URL of a
configured service says which setting to fix, never "no such account"."""

from __future__ import annotations

import json

import pytest
from fakeserver import Account, FakeTikTok, Fault, sec_uid_for
from helpers import Serve, invoke

from tiktok_cli.settings import Settings

ALICE = Account("alice", "6754915036232582149", sec_uid_for("alice"), 3, 3)
DEAD = "http://127.0.0.1:9"  # the test network guard refuses every port no test listens on


@pytest.fixture
def server(serve: Serve) -> FakeTikTok:
    return serve(accounts=[ALICE])


def error(result: object, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stderr)  # type: ignore[attr-defined]
    lines = result.stderr.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("tiktok: error: "), lines
    return lines[0]


def test_no_gateway_at_the_default_url_names_the_setting_and_the_alternative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TIKTOK_GATEWAY_URL")
    line = error(invoke("user-info", "alice"), 7)
    assert f"no REST gateway at {Settings().gateway_url} (the default)" in line
    assert "start it, set TIKTOK_GATEWAY_URL / --gateway-url, or use --backend web" in line
    assert "tiktok doctor" in line


def test_no_gateway_at_a_set_url_does_not_call_it_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_GATEWAY_URL", DEAD + "/tiktok")
    line = error(invoke("followings", "--sec-uid", ALICE.sec_uid), 7)
    assert f"no REST gateway at {DEAD}/tiktok (cannot reach 127.0.0.1:9)" in line
    assert "(the default)" not in line


def test_no_token_api_names_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_API_URL", DEAD + "/tk")
    line = error(invoke("followers", "--uid", ALICE.uid), 7)
    assert f"no token API at {DEAD}/tk" in line
    assert "TIKTOK_API_URL / --api-url" in line and "tiktok doctor" in line
    # A vendor's hosted service is nothing the user can start.
    assert "start it" not in line and "check the address the vendor gave you" in line


def test_followers_by_name_without_a_gateway_says_the_name_needs_it_and_offers_uid(
    server: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_GATEWAY_URL", DEAD + "/tiktok")
    line = error(invoke("followers", "alice"), 7)
    assert "the token API needs a profile look-up to turn @alice into a uid" in line
    assert "no REST gateway at" in line and "or pass --uid UID" in line
    assert server.count("/user/followers") == 0


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, b"<html><body>404 Not Found</body></html>"), (404, b"Cannot GET /tiktk/user-info"), (405, b"")],
)
def test_a_wrong_gateway_url_is_a_configuration_error_not_a_missing_account(
    server: FakeTikTok, status: int, body: bytes
) -> None:
    server.faults = [Fault("/user-info", status, body)]
    line = error(invoke("user-info", "alice"), 5)
    assert f"HTTP {status}" in line and "TIKTOK_GATEWAY_URL / --gateway-url" in line
    assert "does not exist" not in line


def test_a_wrong_gateway_url_stops_a_batch_instead_of_completing_it(server: FakeTikTok, tmp_path) -> None:
    errors = tmp_path / "failed.txt"
    server.faults = [Fault("/user-info", 404, b"<html>Not Found</html>")]
    result = invoke("followings", "alice", "-o", str(tmp_path / "out.csv"), "--errors", str(errors))
    assert "TIKTOK_GATEWAY_URL" in error(result, 5)
    assert not (tmp_path / "out.csv").exists()


def test_a_wrong_token_api_url_is_a_configuration_error(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 404, b"<html>Not Found</html>")]
    line = error(invoke("followers", "--uid", ALICE.uid), 5)
    assert "TIKTOK_API_URL / --api-url" in line


def test_the_gateways_own_json_not_found_still_means_no_such_account(server: FakeTikTok) -> None:
    body = json.dumps({"status": "error", "message": "User not found"}).encode()
    server.faults = [Fault("/user-info", 404, body)]
    assert "@alice does not exist" in error(invoke("user-info", "alice"), 3)


# --- nothing configured: `--backend auto` reads tiktok.com itself ---------------------

NOTICE = "tiktok: warning: no gateway or token API configured: reading tiktok.com directly; see tiktok doctor"


@pytest.fixture
def fresh(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> FakeTikTok:
    """A fresh machine: no gateway, token API or backend set anywhere; the local server plays
    tiktok.com (its address is no service a user configures)."""
    srv = serve(accounts=[ALICE])
    for name in ("TIKTOK_GATEWAY_URL", "TIKTOK_API_URL", "TIKTOK_API_TOKEN"):
        monkeypatch.delenv(name)
    return srv


def test_with_nothing_configured_auto_reads_tiktok_com_and_says_so_once(fresh: FakeTikTok) -> None:
    result = invoke("user-info", "alice", "-f", "jsonl", "--rate", "1000")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["unique_id"] == "alice"
    assert result.stderr.splitlines() == [NOTICE]
    assert [path for path, _ in fresh.received] == ["/@alice"]


def test_with_nothing_configured_lists_come_from_tiktok_com_too(fresh: FakeTikTok) -> None:
    for command in ("followings", "followers"):
        fresh.received.clear()
        result = invoke(command, "alice", "-f", "jsonl", "--rate", "1000", "-q")
        assert result.exit_code == 0, result.stderr
        assert len(result.stdout.splitlines()) == 3
        assert result.stderr.splitlines() == [NOTICE]  # once, though the name is looked up first
        assert [path for path, _ in fresh.received] == ["/@alice", "/api/user/list/"]


def test_with_nothing_configured_tiktok_coms_polite_rate_applies(fresh: FakeTikTok) -> None:
    from tiktok_cli.backends.web import DEFAULT_RATE

    assert invoke("config", "get", "rate").stdout == f"{DEFAULT_RATE}\n"
    shown = invoke("config", "show").stdout
    assert "# default of backend web" in next(
        line for line in shown.splitlines() if line.startswith("# rate =")
    )


@pytest.mark.parametrize(
    ("where", "value"),
    [("env", "TIKTOK_GATEWAY_URL"), ("file", "gateway_url"), ("flag", "--gateway-url")],
)
def test_a_configured_gateway_that_is_down_still_fails_and_nothing_switches(
    fresh: FakeTikTok, monkeypatch: pytest.MonkeyPatch, isolated_env, where: str, value: str
) -> None:
    args = ["user-info", "alice"]
    if where == "env":
        monkeypatch.setenv(value, DEAD + "/tiktok")
    elif where == "file":
        config = isolated_env / "config" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'{value} = "{DEAD}/tiktok"\n')
    else:
        args += [value, DEAD + "/tiktok"]
    line = error(invoke(*args), 7)
    assert f"no REST gateway at {DEAD}/tiktok" in line
    assert fresh.received == []


def test_a_token_api_half_configured_still_fails_with_what_is_missing(
    fresh: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_API_TOKEN", "tok-only")
    line = error(invoke("followers", "--uid", ALICE.uid), 5)
    assert "set TIKTOK_API_URL" in line
    assert fresh.received == []


def test_the_doctor_says_which_source_each_command_uses_and_why(fresh: FakeTikTok) -> None:
    result = invoke("doctor")
    lines = {line[6:17].strip(): (line[:5].strip(), line[18:]) for line in result.stdout.splitlines()}
    why = "no gateway or token API is configured (flags, environment, config file): auto reads tiktok.com"
    assert why in lines["settings"][1]
    assert lines["gateway"][0] == lines["token API"][0] == "skip"
    assert lines["user-info"] == ("ok", "served by tiktok.com (auto: no gateway or token API is configured)")
    for command in ("followings", "followers"):
        status, detail = lines[command]
        assert status == "warn" and "--cookies-from-browser BROWSER" in detail
    assert result.exit_code == 0, result.stdout
    assert result.stderr == ""
