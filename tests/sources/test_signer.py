"""signer_url: tiktok.com API URLs signed by a signing service before they are sent.

A local stand-in speaks the interface of the signing servers scraper deployments run
(tiktok-signature's ``POST /signature``: the URL as the body; ``{"status": "ok", "data":
{"signed_url", "x-bogus", "navigator": {"user_agent"}}}`` back).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fakeserver import Account, FakeTikTok, sec_uid_for
from helpers import error_line, invoke

ALICE = Account("alice", "6754915036232582149", sec_uid_for("alice"), 12, 5)
SIGNER_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) SignerStandIn/1.0"


class FakeSigner:
    """A signing service on 127.0.0.1; ``answer`` turns the URL to sign into (status, body)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.answer = self.sign
        signer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                url = self.rfile.read(int(self.headers["Content-Length"])).decode()
                signer.asked.append(url)
                signer.headers.append(dict(self.headers))
                status, body = signer.answer(url) if self.path == "/signature" else (404, b"")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/signature"

    def sign(self, url: str) -> tuple[int, bytes]:
        signed = f"{url}&verifyFp=verify_stand_in&_signature=_02B4Z6wo0000&X-Bogus=DFSzswVStandIn"
        data = {
            "signature": "_02B4Z6wo0000",
            "verify_fp": "verify_stand_in",
            "signed_url": signed,
            "x-bogus": "DFSzswVStandIn",
            "navigator": {"user_agent": SIGNER_UA, "browser_language": "en-US"},
        }
        return 200, json.dumps({"status": "ok", "data": data}).encode()

    def __enter__(self) -> FakeSigner:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def local_web(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    with FakeTikTok(accounts=[ALICE], page_size=8) as srv:
        monkeypatch.setenv("TIKTOK_WEB_URL", srv.url)
        yield srv


@pytest.fixture
def signer(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSigner]:
    with FakeSigner() as srv:
        monkeypatch.setenv("TIKTOK_SIGNER_URL", srv.url)
        yield srv


def web(*args: str) -> Any:
    return invoke(*args, "--backend", "web", "--rate", "1000", "--retries", "0")


def test_api_calls_go_out_signed_with_the_signers_user_agent(
    local_web: FakeTikTok, signer: FakeSigner
) -> None:
    result = web("followers", "alice", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 12
    lists = [r for r in local_web.requests if urlsplit(r).path == "/api/user/list/"]
    assert len(lists) == len(signer.asked) == 2  # each page signed, the profile page never
    for sent, asked in zip(lists, signer.asked, strict=True):
        query = parse_qs(urlsplit(sent).query)
        assert query["X-Bogus"] == ["DFSzswVStandIn"] and query["scene"] == ["67"]
        assert urlsplit(asked).path == "/api/user/list/" and "X-Bogus" not in asked
    agents = [h.get("User-Agent") for path, h in local_web.received if path == "/api/user/list/"]
    assert agents == [SIGNER_UA, SIGNER_UA]
    assert all("Cookie" not in h for h in signer.headers)


def test_the_setting_may_come_from_the_config_file(
    local_web: FakeTikTok, signer: FakeSigner, monkeypatch
) -> None:
    monkeypatch.delenv("TIKTOK_SIGNER_URL")
    assert invoke("config", "set", "signer_url", signer.url).exit_code == 0
    assert web("followings", "alice").exit_code == 0
    assert len(signer.asked) == 1


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (
            (500, b'{"status":"error","error":{"message":"Signer not initialized","code":500}}'),
            "answered HTTP 500: Signer not initialized",
        ),
        ((200, b"<html>Bad Gateway</html>"), 'answered "<html>Bad Gateway</html>", not JSON'),
        (
            (200, b'{"status":"error","error":{"message":"URL is too long"}}'),
            "answered without a signature: URL is too long",
        ),
        ((200, b'{"status":"ok","data":{"signature":"x"}}'), "answered without a signed_url"),
        (
            (200, b'{"status":"ok","data":{"signed_url":"https://evil.example/api/user/list/?a=1"}}'),
            "answered a signed_url for another address (evil.example/api/user/list/)",
        ),
    ],
)
def test_a_signer_that_fails_or_answers_nonsense_is_a_configuration_error(
    local_web: FakeTikTok, signer: FakeSigner, answer: tuple[int, bytes], words: str
) -> None:
    signer.answer = lambda url: answer
    line = error_line(web("followers", "alice"), 5)
    assert f"the signer at {signer.url} {words}" in line
    assert "signer_url (TIKTOK_SIGNER_URL)" in line
    assert [path for path, _ in local_web.received] == ["/@alice"]  # nothing unsigned went out


def test_a_signer_that_is_not_running_is_a_configuration_error(local_web: FakeTikTok, monkeypatch) -> None:
    monkeypatch.setenv("TIKTOK_SIGNER_URL", "http://127.0.0.1:9/signature")
    line = error_line(web("followings", "alice"), 5)
    assert "the signer at http://127.0.0.1:9/signature cannot be reached" in line
    assert "signer_url (TIKTOK_SIGNER_URL)" in line


def test_with_a_signer_an_invalid_parameters_answer_does_not_ask_for_one(
    local_web: FakeTikTok, signer: FakeSigner
) -> None:
    from fakeserver import Fault

    local_web.faults = [Fault("/api/user/list/", body=b'{"statusCode":10201}')]
    line = error_line(web("followers", "alice"), 6)
    assert "status 10201" in line and "set signer_url" not in line


def test_the_doctor_checks_the_signer(local_web: FakeTikTok, signer: FakeSigner) -> None:
    def line(result: Any) -> tuple[str, str]:
        found = next(x for x in result.stdout.splitlines() if x[6:17].strip() == "signer")
        return found[:5].strip(), found[18:]

    assert line(invoke("doctor", "--backend", "web")) == (
        "ok",
        f"{signer.url} (from the environment TIKTOK_SIGNER_URL) signs tiktok.com API calls",
    )
    assert urlsplit(signer.asked[0]).path == "/api/user/list/"
    signer.answer = lambda url: (500, b"")
    result = invoke("doctor", "--backend", "web")
    status, detail = line(result)
    assert status == "FAIL" and "answered HTTP 500" in detail
    assert result.exit_code == 5
