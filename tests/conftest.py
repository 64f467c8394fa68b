"""Shared fixtures: an isolated environment, the CLI runner, and vcrpy cassettes.

Cassettes replay by default (record mode ``none``): a request a cassette does not hold
fails the test instead of reaching the network. To re-record against real servers:

    TIKTOK_RECORD_MODE=all TIKTOK_TEST_API_URL=http://HOST/tk TIKTOK_API_TOKEN=... \\
        pytest tests/test_followers.py

Requests are stored against the canonical test hosts below, with the token removed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml
from typer.testing import CliRunner

from tiktok_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"

GATEWAY_URL = "http://localhost:3000/tiktok"
API_URL = "http://tkapi.test/tk"
# Re-recording points the tests at real servers; the cassettes keep the canonical hosts.
REAL_GATEWAY_URL = os.environ.get("TIKTOK_TEST_GATEWAY_URL", GATEWAY_URL)
REAL_API_URL = os.environ.get("TIKTOK_TEST_API_URL", API_URL)
TEST_TOKEN = os.environ.get("TIKTOK_API_TOKEN") or "tok-SECRET-7f3a9c"
RECORD_MODE = os.environ.get("TIKTOK_RECORD_MODE", "none")


def _canonical(request: Any) -> Any:
    for real, canonical in ((REAL_API_URL, API_URL), (REAL_GATEWAY_URL, GATEWAY_URL)):
        if real != canonical and request.uri.startswith(real):
            request.uri = canonical + request.uri[len(real) :]
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() == "set-cookie":
            del headers[name]
    return response


VCR = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode=RECORD_MODE,
    match_on=["method", "scheme", "host", "port", "path", "query"],
    filter_query_parameters=["token", "msToken"],
    filter_headers=["authorization", "cookie"],
    before_record_request=_canonical,
    before_record_response=_scrub_response,
    decode_compressed_response=True,
)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No test sees the developer's config, environment or working directory."""
    for name in list(os.environ):
        if name.startswith("TIKTOK_") and name not in ("TIKTOK_RECORD_MODE",):
            monkeypatch.delenv(name)
    monkeypatch.delenv("COLUMNS", raising=False)  # the table's width off a terminal
    config = tmp_path / "config" / "config.toml"
    monkeypatch.setenv("TIKTOK_CONFIG", str(config))
    monkeypatch.setenv("TIKTOK_GATEWAY_URL", REAL_GATEWAY_URL)
    monkeypatch.setenv("TIKTOK_API_URL", REAL_API_URL)
    monkeypatch.setenv("TIKTOK_API_TOKEN", TEST_TOKEN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# Ports that a test of this process is listening on (its local servers); nothing else is reachable.
_LISTENING: set[int] = set()
_real_bind = socket.socket.bind
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_bind(self: socket.socket, address: Any) -> None:
    _real_bind(self, address)
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _LISTENING.add(self.getsockname()[1])


def _check_reachable(self: socket.socket, address: Any) -> None:
    if self.family not in (socket.AF_INET, socket.AF_INET6):
        return  # Unix sockets (a PostgreSQL server's, for instance) never leave the machine
    host, port = address[0], address[1]
    if host not in ("127.0.0.1", "::1", "localhost") or port not in _LISTENING:
        raise ConnectionRefusedError(
            f"test network guard: {host}:{port} is neither a cassette nor a local server of this test"
        )


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check_reachable(self, address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check_reachable(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test with no cassette and no local server cannot reach any host, localhost:3000 included.

    vcrpy replays without opening sockets; a test's own servers bind a port first, which
    makes exactly that port reachable on loopback.
    """
    monkeypatch.setattr(socket.socket, "bind", _guarded_bind)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture(autouse=True)
def _fast_retries() -> Iterator[None]:
    """Retries happen, without their waits."""
    import stamina

    stamina.set_testing(True, attempts=100, cap=True)
    yield
    stamina.set_testing(False)


@pytest.fixture
def cassette() -> Callable[[str], AbstractContextManager[Any]]:
    """``with cassette("gateway/user_info_seed"):`` replays cassettes/gateway/user_info_seed.yaml."""

    def use(name: str) -> AbstractContextManager[Any]:
        return VCR.use_cassette(f"{name}.yaml", allow_playback_repeats=False)

    return use


runner = CliRunner()


def invoke(*args: str, input: str | None = None) -> Any:
    """Run `tiktok ARGS...` in-process; the result has exit_code, stdout and stderr."""
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


# --- helpers shared by the test modules ------------------------------------------------

# A cassette with no interactions: replaying it proves a command made no request.
NO_REQUESTS = "no_requests"


def jsonl(text: str) -> list[dict[str, Any]]:
    """The records of JSON-lines output."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def csv_rows(data: bytes) -> list[list[str]]:
    """CSV output parsed back with the stdlib, header row first.

    Takes bytes (``result.stdout_bytes``): Click's ``result.stdout`` rewrites CRLF.
    """
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def error_line(result: Any, code: int) -> str:
    """Assert the run failed with ``code`` and stderr is exactly one error line; return it."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tiktok: error: "), result.stderr
    return lines[0]


def cassette_bodies(name: str) -> list[Any]:
    """The JSON response bodies a cassette holds, in recorded order."""
    data = yaml.safe_load((CASSETTES / f"{name}.yaml").read_text(encoding="utf-8"))
    return [json.loads(i["response"]["body"]["string"]) for i in data["interactions"]]
