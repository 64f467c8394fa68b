"""What -o does with what it is given: streams, regular files, locks, folders, resumes.

Streams (FIFOs, device nodes, sockets, /dev/fd/N) are made inside the test's own
temporary folder; no test writes to the real /dev/null or /dev/stdout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fakeserver import Account, FakeTikTok, Fault, mobile_follower, sec_uid_for
from helpers import NO_REQUESTS, error_line, invoke, jsonl, spawn_cli

from tiktok_cli.checkpoint import ExportLock

UID = "6754915036232582149"
FOLLOWERS = ("followers", "--uid", UID)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def read_in_background(open_reader: Callable[[], int]) -> tuple[threading.Thread, list[bytes]]:
    """Read everything from the descriptor ``open_reader`` returns, on a thread."""
    got: list[bytes] = []

    def run() -> None:
        fd = open_reader()
        with os.fdopen(fd, "rb") as reader:
            got.append(reader.read())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, got


def failing_at(server: FakeTikTok, page: int, answer: Fault) -> list[Fault]:
    """Faults that serve the list normally up to ``page``, which gets ``answer``."""
    normal = [Fault("/user/followers", body=lambda q: server.followers(q)[1]) for _ in range(page - 1)]
    return [*normal, answer]


# --- streams: written directly, never replaced ------------------------------------------


def test_dash_is_standard_output(server: FakeTikTok, tmp_path: Path) -> None:
    result = invoke(*FOLLOWERS, "-o", "-", "--limit", "3")
    assert result.exit_code == 0, result.stderr
    assert len(jsonl(result.stdout)) == 3
    assert not (tmp_path / "-").exists() and leftovers(tmp_path) == []


def test_a_fifo_is_written_directly_and_stays_a_fifo(server: FakeTikTok, tmp_path: Path) -> None:
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    thread, got = read_in_background(lambda: os.open(fifo, os.O_RDONLY))
    result = invoke(*FOLLOWERS, "-o", str(fifo))
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    assert got[0].startswith(b"unique_id,nickname,") and got[0].count(b"\r\n") == 96  # csv, from .csv
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert leftovers(tmp_path) == []


def test_a_character_device_is_written_directly_and_stays_one(server: FakeTikTok, tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # the null device, in a temp folder
    result = invoke(*FOLLOWERS, "-o", str(null))
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(null.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "config") == ["null"]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_dev_fd_n_is_written_through_that_descriptor(server: FakeTikTok, fmt: str) -> None:
    read_end, write_end = os.pipe()
    thread, got = read_in_background(lambda: read_end)
    try:
        result = invoke(*FOLLOWERS, "-f", fmt, "-o", f"/dev/fd/{write_end}")
    finally:
        os.close(write_end)
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(got[0]) if fmt == "json" else jsonl(got[0].decode())
    assert len(rows) == 95
    assert f"95 followers of uid {UID} written to /dev/fd/{write_end}" in result.stderr


def test_a_unix_socket_is_connected_to_and_written(server: FakeTikTok, tmp_path: Path) -> None:
    path = tmp_path / "rows.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def accept() -> int:
        connection, _ = listener.accept()
        return connection.detach()

    thread, got = read_in_background(accept)
    result = invoke(*FOLLOWERS, "--limit", "5", "-o", str(path))
    thread.join(10)
    listener.close()
    assert result.exit_code == 0, result.stderr
    assert len(jsonl(got[0].decode())) == 5


def test_a_failed_export_to_a_stream_says_where_to_continue_not_to_resume(server: FakeTikTok) -> None:
    server.faults = failing_at(server, 2, Fault("/user/followers", 500))
    read_end, write_end = os.pipe()
    thread, got = read_in_background(lambda: read_end)
    try:
        result = invoke(*FOLLOWERS, "-f", "json", "-o", f"/dev/fd/{write_end}", "--retries", "0")
    finally:
        os.close(write_end)
    thread.join(10)
    assert result.exit_code == 7
    assert len(json.loads(got[0])) == 20  # the array is closed even so
    assert "(not a regular file, so nothing is kept to resume); continue with --cursor" in result.stderr
    assert "run the same command again" not in result.stderr


def test_a_descriptor_that_is_not_open_is_a_usage_error(server: FakeTikTok) -> None:
    result = invoke(*FOLLOWERS, "-o", "/dev/fd/987")
    assert result.exit_code == 2 and "cannot write /dev/fd/987" in result.stderr
    assert server.requests == []


# --- which format a name asks for ------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.xlsx", "out.tsv", "f.csv.gz", "out"])
def test_an_extension_that_is_not_understood_is_a_usage_error(cassette, tmp_path: Path, name: str) -> None:
    with cassette(NO_REQUESTS) as cas:
        result = invoke(*FOLLOWERS, "-o", name)
    assert result.exit_code == 2, result.stderr
    line = result.stderr.strip()
    assert line.startswith(f"tiktok: error: cannot tell the format of {name}")
    assert (f"'{name[name.index('.') :]}'" if "." in name else "no extension") in line
    for fmt in ("csv", "json", "jsonl", "table"):
        assert fmt in line
    assert cas.play_count == 0
    assert list(tmp_path.glob("*out*")) == list(tmp_path.glob(".f*")) == []


@pytest.mark.parametrize("option", ["--excel", "--no-formula-guard"])
@pytest.mark.parametrize("args", [["-f", "jsonl"], ["-o", "out.json"], ["-f", "table"]])
def test_csv_options_with_another_format_are_a_usage_error(cassette, option: str, args: list[str]) -> None:
    with cassette(NO_REQUESTS) as cas:
        result = invoke(*FOLLOWERS, option, *args)
    assert result.exit_code == 2
    assert f"{option} is for -f csv output" in result.stderr
    assert cas.play_count == 0


# --- the json format ------------------------------------------------------------------------


def test_json_is_one_array_chosen_by_its_extension(server: FakeTikTok, tmp_path: Path) -> None:
    result = invoke(*FOLLOWERS, "-o", "out.json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads((tmp_path / "out.json").read_bytes())
    assert len(rows) == len({r["user_id"] for r in rows}) == 95
    assert rows[0]["user_id"] == "7000000000000000000"  # ids stay strings, exact


def test_an_empty_list_is_an_empty_json_array(server: FakeTikTok) -> None:
    server.accounts["alice"].followers = 0
    result = invoke(*FOLLOWERS, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_json_on_stdout_stays_valid_when_the_run_fails_midway(server: FakeTikTok) -> None:
    server.faults = failing_at(server, 2, Fault("/user/followers", 500))
    result = invoke(*FOLLOWERS, "-f", "json", "--retries", "0")
    assert result.exit_code == 7
    assert len(json.loads(result.stdout)) == 20


def nested_body(depth: int) -> bytes:
    """A followers page whose one entry carries an object ``depth`` levels deep."""
    entry = json.dumps(mobile_follower(1))[:-1] + ', "extra": ' + '{"a":' * depth + '"x"' + "}" * depth + "}"
    data = '{"status_code": 0, "has_more": false, "followers": [' + entry + "]}"
    return ('{"code": 200, "msg": "ok", "data": ' + data + "}").encode()


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_raw_with_a_body_nested_very_deeply_is_one_clear_error(server: FakeTikTok, fmt: str) -> None:
    server.faults = [Fault("/user/followers", body=nested_body(300))]  # past what orjson can re-encode
    result = invoke(*FOLLOWERS, "--raw", "-f", fmt)
    assert "nested deeper than" in error_line(result, 7)


# --- one export at a time --------------------------------------------------------------------


def test_a_second_export_to_the_same_file_is_busy(server: FakeTikTok, tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    with ExportLock(out):
        result = invoke(*FOLLOWERS, "-o", str(out))
    assert result.exit_code == 75
    assert f"another export to {out} is running (pid {os.getpid()})" in result.stderr
    assert server.requests == []
    assert leftovers(tmp_path) == [] and not out.exists()


def test_a_stale_lock_from_a_dead_process_never_blocks(server: FakeTikTok, tmp_path: Path) -> None:
    code = "import os; print(os.getpid())"
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    (tmp_path / ".f.csv.lock").write_text(dead.stdout)
    result = invoke(*FOLLOWERS, "-o", "f.csv")
    assert result.exit_code == 0, result.stderr
    assert leftovers(tmp_path) == []


def test_overlapping_runs_one_exports_the_other_exits_75(tmp_path: Path) -> None:
    with (
        FakeTikTok(accounts=[Account("alice", UID, sec_uid_for("alice"), 300)], latency=0.02) as slow,
        spawn_cli(slow, *FOLLOWERS, "-o", "f.csv", "--sleep", "0.2", cwd=tmp_path) as first,
    ):
        while not (tmp_path / ".f.csv.part").exists():
            assert first.poll() is None
            time.sleep(0.01)
        with spawn_cli(slow, *FOLLOWERS, "-o", "f.csv", cwd=tmp_path) as second:
            _, err = second.communicate(timeout=30)
        assert second.returncode == 75
        assert f"another export to f.csv is running (pid {first.pid})" in err.decode()
        assert first.wait(60) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv"]


# --- regular files ------------------------------------------------------------------------------


def test_a_missing_folder_is_created(server: FakeTikTok, tmp_path: Path) -> None:
    result = invoke(*FOLLOWERS, "-o", "exports/2026-11-22/f.csv")
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "exports" / "2026-11-22"
    assert sorted(p.name for p in folder.iterdir()) == ["f.csv"]


def test_a_symlink_to_a_file_stays_a_symlink(server: FakeTikTok, tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("old\n")
    (tmp_path / "latest.csv").symlink_to("real.csv")
    assert invoke(*FOLLOWERS, "-o", "latest.csv").exit_code == 0
    assert (tmp_path / "latest.csv").is_symlink()
    assert (tmp_path / "real.csv").read_bytes().count(b"\r\n") == 96


def test_stale_files_of_a_different_command_are_replaced_cleanly(server: FakeTikTok, tmp_path: Path) -> None:
    for name, data in {
        ".f.csv.part": b"someone else's rows\n",
        ".f.csv.seen": b"\x00" * 24,
        ".f.csv.checkpoint": b'{"version": 2, "identity": {"command": "followings"}, "progress": {}, '
        b'"offset": 5, "seen": 3}',
        ".f.csv.checkpoint.k2j4.tmp": b"half a checkp",
    }.items():
        (tmp_path / name).write_bytes(data)
    result = invoke(*FOLLOWERS, "-o", "f.csv")
    assert result.exit_code == 0, result.stderr
    assert leftovers(tmp_path) == []
    assert (tmp_path / "f.csv").read_bytes().count(b"\r\n") == 96


def test_a_checkpoint_longer_than_its_part_file_starts_over(server: FakeTikTok, tmp_path: Path) -> None:
    server.faults = failing_at(server, 2, Fault("/user/followers", 500))
    assert invoke(*FOLLOWERS, "-o", "f.jsonl", "--retries", "0").exit_code == 7
    (tmp_path / ".f.jsonl.part").write_bytes(b"")  # cut by something else
    result = invoke(*FOLLOWERS, "-o", "f.jsonl")
    assert result.exit_code == 0 and "starting over" in result.stderr
    assert len(jsonl((tmp_path / "f.jsonl").read_text())) == 95


# --- resuming -----------------------------------------------------------------------------------


def test_a_stale_failure_is_asked_again_not_replayed(server: FakeTikTok, tmp_path: Path) -> None:
    gone = {"code": 200, "msg": "ok", "data": {"status_code": 2065, "has_more": False, "followers": []}}
    server.faults = [Fault("/user/followers", body=lambda q: server.followers(q)[1]) for _ in range(2)]
    server.faults.append(Fault("/user/followers", body=json.dumps(gone).encode()))
    failed = invoke(*FOLLOWERS, "-o", "f.csv")
    assert failed.exit_code == 3 and "run the same command again to resume" in failed.stderr
    asked = server.count("/user/followers")
    resumed = invoke(*FOLLOWERS, "-o", "f.csv")
    assert resumed.exit_code == 0, resumed.stderr
    assert server.count("/user/followers") == asked + 3  # pages 3, 4 and 5 asked again
    assert (tmp_path / "f.csv").read_bytes().count(b"\r\n") == 96


def test_resuming_json_gives_one_valid_array(server: FakeTikTok, tmp_path: Path) -> None:
    for kept in (0, 2):  # resume before any row, and after two pages
        server.faults = [Fault("/user/followers", body=lambda q: server.followers(q)[1]) for _ in range(kept)]
        server.faults.append(Fault("/user/followers", 500))
        assert invoke(*FOLLOWERS, "-o", f"f{kept}.json", "--retries", "0").exit_code == 7
        result = invoke(*FOLLOWERS, "-o", f"f{kept}.json")
        assert result.exit_code == 0, result.stderr
        rows = json.loads((tmp_path / f"f{kept}.json").read_bytes())
        assert len(rows) == len({r["user_id"] for r in rows}) == 95


BAD = b'{"code": 200, "msg": "ok", "data": {"status_code": 0, "has_more": true, "followers": null}}'
GONE = b'{"code": 200, "msg": "ok", "data": {"status_code": 2065, "has_more": false, "followers": []}}'


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
@pytest.mark.parametrize(
    ("first", "second"),
    # The request that fails in the first run, then in the resumed one (which starts at that page).
    [(1, 3), (2, 2), (3, 2), (5, 1)],
)
@pytest.mark.parametrize(
    "answer",
    [Fault("/user/followers", 500), Fault("/user/followers", body=BAD), Fault("/user/followers", body=GONE)],
    ids=["5xx", "bad-data", "not-found"],
)
def test_two_resumes_after_failures_match_an_uninterrupted_export(
    server: FakeTikTok, tmp_path: Path, fmt: str, first: int, second: int, answer: Fault
) -> None:
    assert invoke(*FOLLOWERS, "-o", f"whole.{fmt}").exit_code == 0
    for page in (first, second):
        server.faults = failing_at(server, page, answer)
        assert invoke(*FOLLOWERS, "-o", f"out.{fmt}", "--retries", "0").exit_code != 0
        assert not (tmp_path / f"out.{fmt}").exists()
    server.faults = []
    result = invoke(*FOLLOWERS, "-o", f"out.{fmt}")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / f"out.{fmt}").read_bytes() == (tmp_path / f"whole.{fmt}").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "config") == [f"out.{fmt}", f"whole.{fmt}"]


@pytest.mark.parametrize("page", [2, 4])
def test_a_kill_between_checkpoints_then_a_resume_matches_an_uninterrupted_export(
    tmp_path: Path, page: int
) -> None:
    with FakeTikTok(accounts=[Account("alice", UID, sec_uid_for("alice"), 95)]) as srv:
        with spawn_cli(srv, *FOLLOWERS, "-o", "whole.csv", cwd=tmp_path) as whole:
            assert whole.wait(60) == 0
        victim: list[subprocess.Popen[bytes]] = []

        def kill(query: dict[str, str]) -> bytes:
            victim[0].send_signal(signal.SIGKILL)
            victim[0].wait(10)
            return srv.followers(query)[1]

        srv.faults = failing_at(srv, page, Fault("/user/followers", body=kill))
        with spawn_cli(srv, *FOLLOWERS, "-o", "out.csv", cwd=tmp_path) as proc:
            victim.append(proc)
            assert proc.wait(60) == -signal.SIGKILL
        with spawn_cli(srv, *FOLLOWERS, "-o", "out.csv", cwd=tmp_path) as resumed:
            _, err = resumed.communicate(timeout=60)
            assert resumed.returncode == 0, err
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "whole.csv"]
