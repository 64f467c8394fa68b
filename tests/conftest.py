"""Shared fixtures. Which harness a test uses (see tests/README.md):

- ``cassette`` (vcrpy, cassettes/): the documented response bodies, replayed exactly. Use it
  to check what the CLI makes of a real answer: fields, formats, --limit against real pages.
- ``server`` / ``serve`` (tests/fakeserver.py, a local HTTP server): faults and timing, such
  as retries, stalls, broken bodies, kills, large or slow lists. ``serve(...)`` starts one
  with other accounts; ``server`` is the default one. Both point every backend at it.
- ``backend`` (tests/sources/test_lists.py): one list behaviour checked on gateway, tkapi and web.
- ``db_target`` (the snapshot store): runs a test twice, on a fresh SQLite file and on a fresh
  database of a real PostgreSQL server; ``pg_url`` is the PostgreSQL one alone. The server
  (tests/pgserver.py) starts once per session, on 127.0.0.1, from the machine's binaries.

Tests go by behaviour, through ``helpers.invoke`` (the real CLI) or public functions; plain
helpers are imported from tests/helpers.py, never from this file.

Cassettes replay by default (record mode ``none``): a request a cassette does not hold
fails the test instead of reaching the network. To re-record against real servers:

    TIKTOK_RECORD_MODE=all TIKTOK_TEST_API_URL=http://HOST/tk TIKTOK_API_TOKEN=... \\
        pytest tests/commands/test_cli_followers.py

Requests are stored against the canonical test hosts, with the token removed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import pytest
import vcr
from fakeserver import TOKEN, Account, FakeTikTok, Fault
from helpers import API_URL, CASSETTES, GATEWAY_URL, REAL_API_URL, REAL_GATEWAY_URL, TEST_TOKEN, Serve
from pgserver import INSTALL_HINT, PostgresServer, find_bindir

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


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    """``serve(accounts=[...], page_size=8, faults=[...])`` starts a local server for this test.

    The gateway, the token API (with its token) and tiktok.com all point at it, as a user
    would configure them through the environment; it stops when the test ends.
    """
    with ExitStack() as stack:

        def start(
            *,
            accounts: list[Account] | None = None,
            page_size: int = 20,
            latency: float = 0.0,
            faults: list[Fault] | None = None,
        ) -> FakeTikTok:
            srv = stack.enter_context(
                FakeTikTok(accounts=accounts, page_size=page_size, latency=latency, faults=faults)
            )
            monkeypatch.setenv("TIKTOK_GATEWAY_URL", srv.url + "/tiktok")
            monkeypatch.setenv("TIKTOK_API_URL", srv.url + "/tk")
            monkeypatch.setenv("TIKTOK_API_TOKEN", TOKEN)
            monkeypatch.setenv("TIKTOK_WEB_URL", srv.url)
            return srv

        yield start


@pytest.fixture
def server(serve: Serve) -> FakeTikTok:
    """The default local server (alice: 95 followers, 43 followings); a module whose tests
    need other accounts overrides it with ``serve(accounts=...)``."""
    return serve()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on 127.0.0.1, started by the first test that needs it.

    Without the server's binaries a developer's run skips the PostgreSQL tests, saying what to
    install; under CI (``CI`` set) they fail instead, so that they are never skipped unseen:
    .ci/run installs the binaries first.
    """
    bindir = find_bindir()
    if bindir is None:
        reason = f"no PostgreSQL server binaries (initdb, pg_ctl, postgres): run `{INSTALL_HINT}`"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI runs the store's tests on PostgreSQL, never skips them", pytrace=False)
        pytest.skip(reason)
    with PostgresServer(bindir) as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> Iterator[str]:
    """``postgresql+psycopg://postgres@127.0.0.1:PORT/test_N``: a new empty database for this test.

    The server is another process, so it is not among the ports the test process bound; the
    network guard is told its port for the length of the test. A child process (the real
    ``tiktok`` command) can use the URL as it is.
    """
    name = pg_server.create_database()
    _LISTENING.add(pg_server.port)
    try:
        yield pg_server.url(name)
    finally:
        _LISTENING.discard(pg_server.port)
        pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store test keeps its data, once per backend: a fresh SQLite file's path
    (``tmp_path/store.db``, not yet created), then a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(db_target: str) -> Iterator[Any]:
    """The store's database (a SQLAlchemy engine on ``db_target``), for reading it back."""
    import sqlalchemy as sa
    from helpers import sqlalchemy_url

    engine = sa.create_engine(sqlalchemy_url(db_target), poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()  # no pooled connection outlives the test (or its database)
