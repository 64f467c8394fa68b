"""What a failed run says and exits with: a rejected credential, failures a rerun cannot get
past, a stalled list, an output that cannot be written, and a user's own Ctrl-C."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeserver import Account, FakeTikTok, Fault, mobile_follower, sec_uid_for
from helpers import Serve, cli_env, error_line, invoke, spawn_cli, wait_for_rows

from tiktok_cli.checkpoint import FileExport

ACCOUNTS = [
    Account("alice", "6754915036232582149", sec_uid_for("alice"), 95, 43),
    Account("bob.b", "6754915036232582150", sec_uid_for("bob.b"), 30, 7),
    Account("hidden.one", "6754915036232582152", sec_uid_for("hidden.one"), 10, 10, hidden=True),
]


@pytest.fixture
def server(serve: Serve) -> FakeTikTok:
    return serve(accounts=ACCOUNTS)


def body(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def page(users: range, *, min_time: int) -> bytes:
    data = {"status_code": 0, "has_more": True, "min_time": min_time, "total": 95}
    return body(
        {"code": 200, "msg": "成功", "data": {**data, "followers": [mobile_follower(i) for i in users]}}
    )


def hidden_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


TOKEN_INVALID = body({"code": 401, "msg": "token invalid", "data": None})


# --- a rejected credential ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "faults", "path", "env", "asked"),
    [
        (["followers"], [Fault("/user/followers", 200, TOKEN_INVALID)], "/user/followers", {}, 1),
        # The local server's own answer to a wrong token: code 10001, "token无效" (token invalid).
        (["followers"], [], "/user/followers", {"TIKTOK_API_TOKEN": "wrong"}, 1),
        # user-info looks up to 4 accounts ahead per worker, in flight when the first fails.
        (["user-info"], [Fault("/user-info", 401, body({"status": "error"}))], "/user-info", {}, 4),
    ],
    ids=["token-api-code-401", "token-api-wrong-token", "gateway-http-401"],
)
def test_a_rejected_credential_exits_5_and_stops_the_batch_at_once(
    server: FakeTikTok,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    faults: list[Fault],
    path: str,
    env: dict[str, str],
    asked: int,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server.faults = faults
    accounts = ["alice", "bob.b", "hidden.one", *(f"more_{n}" for n in range(7))]
    result = invoke(*args, *accounts, "-j", "1", "-f", "jsonl", "--retries", "0")
    assert result.exit_code == 5, result.stderr
    # One line, not one per account. (Only this tool's lines: the local server may log the
    # look-ups user-info had in flight, dropped when the batch stopped.)
    [line] = [line for line in result.stderr.splitlines() if line.startswith("tiktok:")]
    assert "TIKTOK_API_TOKEN" in line or "credentials" in line
    assert server.count(path) <= asked


# --- failures a rerun cannot get past ----------------------------------------------------


@pytest.mark.parametrize(
    ("account", "env", "code"),
    [
        ("hidden.one", {}, 4),
        ("nosuch_a", {}, 3),
        ("alice", {"TIKTOK_API_URL": ""}, 5),
        ("alice", {"TIKTOK_API_TOKEN": "wrong"}, 5),
    ],
    ids=["private", "unknown", "no-token-api", "rejected-token"],
)
def test_a_permanent_failure_keeps_nothing_and_offers_no_resume(
    server: FakeTikTok,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    account: str,
    env: dict[str, str],
    code: int,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for _ in range(2):  # and the rerun fails the same way, resuming nothing
        result = invoke("followers", account, "-o", "p.csv")
        line = error_line(result, code)
        assert "resum" not in line and "kept" not in line
        assert hidden_files(tmp_path) == [] and not (tmp_path / "p.csv").exists()


def test_rows_written_before_a_rejected_token_wait_for_it_to_be_fixed(
    server: FakeTikTok, tmp_path: Path
) -> None:
    server.faults = [Fault("/user/followers", body=lambda q: server.followers(q)[1]) for _ in range(2)]
    server.faults.append(Fault("/user/followers", 200, TOKEN_INVALID))
    failed = invoke("followers", "alice", "-o", "p.csv")
    assert (
        "40 rows kept in .p.csv.part; run the same command again to resume once that changes"
        in error_line(failed, 5)
    )
    resumed = invoke("followers", "alice", "-o", "p.csv")
    assert resumed.exit_code == 0, resumed.stderr
    assert "resuming p.csv: 40 rows already written" in resumed.stderr
    assert (tmp_path / "p.csv").read_bytes().count(b"\r\n") == 96 and hidden_files(tmp_path) == []


# --- a stalled list -------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["stdout", "file"])
def test_a_stalled_list_never_offers_the_cursor_it_stalls_at(
    server: FakeTikTok, tmp_path: Path, output: str
) -> None:
    server.faults = [Fault("/user/followers", body=page(range(20), min_time=1_699_999_981)) for _ in range(4)]
    where = ["-o", "p.csv"] if output == "file" else ["-f", "jsonl"]
    line = error_line(invoke("followers", "alice", *where), 7)
    assert "the cursor stopped advancing" in line
    assert "--cursor" not in line
    if output == "file":
        assert line.endswith(
            "20 rows kept in .p.csv.part; run the same command again to resume later "
            "(--no-resume starts over)"
        )
    else:
        assert line.endswith("20 rows written; TikTok served no more of the list: try again later")


# --- outputs that cannot be written ---------------------------------------------------------


def test_a_full_disk_names_the_file_and_the_export_resumes_once_there_is_space(
    server: FakeTikTok, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marked = FileExport.mark
    pages = 0

    def full_after_two_pages(self: FileExport, digests: Iterator[int]) -> None:
        nonlocal pages
        pages += 1
        if pages > 3:  # the header, then two pages fit
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        marked(self, digests)

    monkeypatch.setattr(FileExport, "mark", full_after_two_pages)
    failed = invoke("followers", "alice", "-o", "p.csv")
    assert error_line(failed, 74) == (
        "tiktok: error: cannot write p.csv: No space left on device; 40 rows kept in .p.csv.part; "
        "run the same command again to resume once there is space (--no-resume starts over)"
    )
    monkeypatch.setattr(FileExport, "mark", marked)  # space again
    resumed = invoke("followers", "alice", "-o", "p.csv")
    assert resumed.exit_code == 0, resumed.stderr
    lines = (tmp_path / "p.csv").read_bytes().split(b"\r\n")[1:-1]
    assert len(lines) == len(set(lines)) == 95


@pytest.mark.parametrize("option", ["-o", "--plot"])
def test_a_file_that_cannot_be_created_is_a_usage_error_before_any_work(
    server: FakeTikTok, tmp_path: Path, option: str
) -> None:
    (tmp_path / "blocker").write_text("a file, where a folder would have to be\n")
    if option == "-o":
        result = invoke("followers", "alice", "-o", "blocker/out.csv")
    else:
        store = tmp_path / "store.db"  # never opened: the chart's file is checked first
        result = invoke("history", "alice", "--db", str(store), "--plot", "blocker/chart.png")
        assert not store.exists()
    assert "cannot write blocker/" in error_line(result, 2)
    assert server.requests == []


def test_a_closed_standard_output_is_an_output_error_in_one_line(server: FakeTikTok, tmp_path: Path) -> None:
    closed = ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "tiktok_cli"]
    env = cli_env(server, tmp_path)
    run = subprocess.run(
        [*closed, "user-info", "alice"], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )
    assert run.returncode == 74
    assert run.stderr.decode().splitlines() == [
        "tiktok: error: standard output is closed, so the rows have nowhere to go: give -o FILE"
    ]
    to_file = subprocess.run(
        [*closed, "user-info", "alice", "-o", "a.csv"], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )
    assert to_file.returncode == 0, to_file.stderr
    assert b"alice" in (tmp_path / "a.csv").read_bytes()


@pytest.mark.parametrize(
    "args",
    [["--version"], ["config", "path"], ["config", "show"], ["config", "get", "timeout"], ["doctor"]],
)
def test_commands_that_print_no_rows_fail_on_a_closed_standard_output(
    server: FakeTikTok, tmp_path: Path, args: list[str]
) -> None:
    closed = ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "tiktok_cli"]
    run = subprocess.run(
        [*closed, *args], env=cli_env(server, tmp_path), cwd=tmp_path, capture_output=True, timeout=60
    )
    assert run.returncode == 74, run.stderr
    assert run.stderr.decode().splitlines()[-1] == (
        "tiktok: error: standard output is closed, so there is nowhere to print to"
    )


@pytest.mark.parametrize("args", [["--help"], ["user-info", "--help"], ["--version"], ["config", "path"]])
def test_help_and_version_on_a_full_disk_are_one_line_and_exit_74(
    server: FakeTikTok, tmp_path: Path, args: list[str]
) -> None:
    with Path("/dev/full").open("wb") as full:
        run = subprocess.run(
            [sys.executable, "-m", "tiktok_cli", *args],
            env=cli_env(server, tmp_path),
            cwd=tmp_path,
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    assert run.returncode == 74
    assert run.stderr.decode().splitlines() == [
        "tiktok: error: cannot write standard output: No space left on device"
    ]


@pytest.mark.parametrize(
    ("args", "code"), [(["user-info", "nosuch"], 3), (["followers", "alice", "--limit", "0"], 2)]
)
def test_a_closed_standard_error_keeps_the_exit_code(
    server: FakeTikTok, tmp_path: Path, args: list[str], code: int
) -> None:
    closed = ["sh", "-c", 'exec "$@" 2>&-', "sh", sys.executable, "-m", "tiktok_cli"]
    run = subprocess.run(
        [*closed, *args], env=cli_env(server, tmp_path), cwd=tmp_path, capture_output=True, timeout=60
    )
    assert run.returncode == code


# --- Ctrl-C -------------------------------------------------------------------------------


def test_ctrl_c_is_no_error_and_says_how_to_resume(tmp_path: Path) -> None:
    with (
        FakeTikTok(
            accounts=[Account("alice", "6754915036232582149", sec_uid_for("alice"), 600)], latency=0.02
        ) as srv,
        spawn_cli(srv, "followers", "alice", "-o", "out.jsonl", cwd=tmp_path) as proc,
    ):
        wait_for_rows(tmp_path / ".out.jsonl.checkpoint", 40)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    lines = err.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tiktok: interrupted; "), lines
    assert lines[0].endswith(
        " kept in .out.jsonl.part; run the same command again to resume (--no-resume starts over)"
    )
    assert "error" not in lines[0]


def test_ctrl_c_before_the_first_row_leaves_nothing_to_resume(tmp_path: Path) -> None:
    with (
        FakeTikTok(accounts=ACCOUNTS[:1], latency=3) as srv,
        spawn_cli(srv, "followers", "alice", "-o", "out.jsonl", cwd=tmp_path) as proc,
    ):
        deadline = time.monotonic() + 30
        while not srv.requests and time.monotonic() < deadline:  # alice looked up: her first page is asked
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert (proc.returncode, err.decode()) == (130, "tiktok: interrupted\n")
    assert hidden_files(tmp_path) == []


def test_ctrl_c_at_the_token_prompt_is_an_interruption_not_a_bug(tmp_path: Path) -> None:
    import fcntl
    import pty
    import select
    import termios

    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tiktok_cli", "config", "set", "api_token"],
        env={**env, "TIKTOK_CONFIG": str(tmp_path / "config.toml")},
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
        # The pseudo-terminal is the child's own controlling terminal: ^C typed there is SIGINT.
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(secondary)
    seen = b""
    while b"api_token: " not in seen:
        assert select.select([primary], [], [], 30)[0], seen
        seen += os.read(primary, 1024)
    os.write(primary, b"\x03")  # the terminal turns it into SIGINT
    try:
        while chunk := os.read(primary, 1024):
            seen += chunk
    except OSError:  # the child closed the terminal
        pass
    os.close(primary)
    assert proc.wait(30) == 130
    assert seen.decode().splitlines()[-1] == "tiktok: interrupted", seen
    assert not (tmp_path / "config.toml").exists()
