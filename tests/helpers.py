"""Plain helpers the test modules import: the CLI runner, output parsers, seed identifiers.

Fixtures live in conftest.py (pytest finds them by name); modules never import conftest.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from fakeserver import TOKEN, FakeTikTok
from typer.testing import CliRunner, Result

from tiktok_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"

# The canonical hosts the cassettes are stored against.
GATEWAY_URL = "http://localhost:3000/tiktok"
API_URL = "http://tkapi.test/tk"
# Re-recording points the tests at real servers; the cassettes keep the canonical hosts.
REAL_GATEWAY_URL = os.environ.get("TIKTOK_TEST_GATEWAY_URL", GATEWAY_URL)
REAL_API_URL = os.environ.get("TIKTOK_TEST_API_URL", API_URL)
TEST_TOKEN = os.environ.get("TIKTOK_API_TOKEN") or "tok-SECRET-7f3a9c"

# The seed documents' own accounts (tests/data), as the cassettes hold them.
SEED_SEC_UID = "MS4wLjABAAAATtFKZYaOb-9nF_w7QRi4y64d45mvuWuwf5ACEd3c6f-GTlfW9rJJlKfV2vWhg0aw"
SEED_UID = "6754915036232582149"
CNN_SEC_UID = "MS4wLjABAAAAKLCQBcvlVE2Yhw0fDg42yOuUR6G4c9cNcNnFYDh6vsXRMiEA2V6z-dDr4hKbUCd8"
CNN_ID = "6750512244347290630"

# A cassette with no interactions: replaying it proves a command made no request.
NO_REQUESTS = "no_requests"

# The ``serve`` fixture: starts a local server with the given accounts, every backend on it.
Serve = Callable[..., FakeTikTok]

runner = CliRunner()


def invoke(*args: str, input: str | None = None) -> Result:
    """Run `tiktok ARGS...` in-process; the result has exit_code, stdout and stderr.

    The autouse ``isolated_env`` fixture gives every run a clean environment and config.
    """
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def jsonl(text: str) -> list[dict[str, Any]]:
    """The records of JSON-lines output (lines end at \n only, as JSON lines define them)."""
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def csv_rows(data: bytes) -> list[list[str]]:
    """CSV output parsed back with the stdlib, header row first.

    Takes bytes (``result.stdout_bytes``): Click's ``result.stdout`` rewrites CRLF.
    """
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def error_line(result: Result, code: int) -> str:
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


# --- the CLI as a real process (signals, pipes, terminals) ---------------------------


def cli_env(server: FakeTikTok, cwd: Path, **extra: str) -> dict[str, str]:
    """A child's environment: none of the caller's TIKTOK_ settings, both APIs on ``server``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    env.update(
        TIKTOK_CONFIG=str(cwd / "none.toml"),
        TIKTOK_GATEWAY_URL=server.url + "/tiktok",
        TIKTOK_API_URL=server.url + "/tk",
        TIKTOK_API_TOKEN=TOKEN,
        **extra,
    )
    return env


def spawn_cli(server: FakeTikTok, *args: str, cwd: Path, **env: str) -> subprocess.Popen[bytes]:
    """Start `tiktok ARGS...` as a process in ``cwd``, stdout and stderr piped; ``env`` adds
    variables to its environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "tiktok_cli", *args],
        cwd=cwd,
        env=cli_env(server, cwd, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def on_a_terminal(
    server: FakeTikTok,
    cwd: Path,
    *args: str,
    columns: int,
    lines: int | None = None,
    stdout_too: bool = False,
) -> tuple[bytes, bytes]:
    """Run the CLI with stderr (and, with ``stdout_too``, stdout) on a pseudo-terminal.

    Returns what reached the stdout file and what the terminal showed.
    """
    import pty

    primary, secondary = pty.openpty()
    out = cwd / "stdout.bin"
    size = {"COLUMNS": str(columns)} | ({"LINES": str(lines)} if lines else {})
    env = cli_env(server, cwd, **size, TERM="xterm")
    with out.open("wb") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tiktok_cli", *args],
            cwd=cwd,
            env=env,
            stdout=secondary if stdout_too else stdout,
            stderr=secondary,
            stdin=subprocess.DEVNULL,
        )
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(30)
    os.close(primary)
    return out.read_bytes(), seen


def wait_for_rows(checkpoint: Path, rows: int) -> None:
    """Wait until a running export's checkpoint counts at least ``rows`` written rows."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if checkpoint.exists():
            lists = json.loads(checkpoint.read_text() or "{}")["progress"]["lists"]
            if sum(state["rows"] for state in lists.values()) >= rows:
                return
        time.sleep(0.02)
    raise AssertionError("the export never reached a checkpoint")


# --- the snapshot store's databases --------------------------------------------------


def sqlalchemy_url(db_target: str) -> str:
    """The SQLAlchemy URL of a ``db_target``: a PostgreSQL URL as it is, a SQLite path as ``sqlite:///PATH``."""
    return db_target if "://" in db_target else f"sqlite:///{db_target}"


def query(engine: Any, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` on a store's database, as tuples."""
    import sqlalchemy as sa

    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql), params)]
