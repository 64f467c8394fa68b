"""First run: a dead or mistyped base URL says which setting to fix, never "no such account"."""

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
