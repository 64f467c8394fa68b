"""Exports you can trust: retries, pagination guards, atomic and resumable files.

Every test talks to the fake server in tests/fakeserver.py on 127.0.0.1; the process
tests run the real `tiktok` command in a subprocess so signals behave as in cron.
"""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina
from fakeserver import BASE_TIME, TOKEN, Account, FakeTikTok, Fault, sec_uid_for
from helpers import Serve, invoke, on_a_terminal, spawn_cli, wait_for_rows

from tiktok_cli.client import MAX_RETRY_AFTER, _backoff, _Transient, parse_retry_after
from tiktok_cli.errors import BlockedError

UID = "6754915036232582149"


def alice(followers: int = 95, followings: int = 43) -> Account:
    return Account("alice", UID, sec_uid_for("alice"), followers, followings)


@pytest.fixture
def server(serve: Serve) -> FakeTikTok:
    return serve(accounts=[alice()])


def followers_page(users: range, *, min_time: int, has_more: bool = True) -> bytes:
    from fakeserver import mobile_follower

    data = {
        "status_code": 0,
        "has_more": has_more,
        "min_time": min_time,
        "total": 95,
        "followers": [mobile_follower(i) for i in users],
    }
    return json.dumps({"code": 200, "msg": "ok", "data": data}).encode()


def ids(stdout: str) -> list[str]:
    return [json.loads(line)["user_id"] for line in stdout.splitlines()]


# --- retries ------------------------------------------------------------------------


def test_a_502_is_retried_then_the_export_completes(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 502, b"<html>502 Bad Gateway</html>")]
    result = invoke("followers", "alice", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(ids(result.stdout)) == 95
    assert "HTTP 502" in result.stderr and "retrying (1/4)" in result.stderr


def test_retries_that_run_out_exit_7_after_exactly_retries_plus_one_attempts(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 503) for _ in range(10)]
    result = invoke("followers", "--uid", UID, "--retries", "2")
    assert result.exit_code == 7
    assert server.count("/user/followers") == 3
    assert result.stderr.strip().splitlines()[-1].startswith("tiktok: error: followers of uid")


def test_an_html_proxy_page_is_retried(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 200, b"<html><body>upstream connect error</body></html>")]
    assert invoke("followers", "--uid", UID).exit_code == 0


def test_retry_after_is_honoured(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 429, b"{}", {"Retry-After": "1"})]
    with stamina.set_testing(False):
        started = time.monotonic()
        result = invoke("followers", "--uid", UID, "--limit", "1")
        waited = time.monotonic() - started
    assert result.exit_code == 0
    assert waited >= 1.0


def test_retry_after_parsing_and_cap() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("soon") is None
    huge = _Transient(BlockedError("x"), retry_after=86_400)
    assert isinstance(wait := _backoff(huge), float) and wait <= MAX_RETRY_AFTER + 0.5
    assert _backoff(ValueError()) is False


def test_rate_limit_outlasting_retries_exits_6(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 429, b"{}") for _ in range(5)]
    result = invoke("followers", "--uid", UID, "--retries", "1")
    assert result.exit_code == 6
    assert "rate-limited" in result.stderr and "--rate" in result.stderr


def test_a_captcha_page_is_a_block_exit_6(server: FakeTikTok) -> None:
    captcha = (
        b"<html><head><title>Security Check</title></head><body>Please complete the captcha</body></html>"
    )
    server.faults = [Fault("/user/followers", 200, captcha) for _ in range(5)]
    result = invoke("followers", "--uid", UID, "--retries", "1")
    assert result.exit_code == 6
    assert "captcha or block page" in result.stderr


# --- pagination guards --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"code": 200, "msg": "ok", "data": []}', "data: expected a JSON object"),
        (
            b'{"code": 200, "msg": "ok", "data": {"status_code": 0, "has_more": "yes", "followers": []}}',
            "has_more",
        ),
        (
            b'{"code": 200, "msg": "ok", "data": {"status_code": 0, "has_more": true, "followers": null}}',
            "data.followers: expected a list, got null",
        ),
        (
            b'{"code": 200, "msg": "ok", "data": {"status_code": 0, "has_more": false, "followers": [3]}}',
            "follower entry: expected a JSON object",
        ),
        (b"not json at all", "not JSON"),
    ],
)
def test_bad_upstream_data_names_the_endpoint_and_the_problem(
    server: FakeTikTok, body: bytes, problem: str
) -> None:
    server.faults = [Fault("/user/followers", body=body)]
    result = invoke("followers", "--uid", UID, "--retries", "0")
    assert result.exit_code == 7
    assert f"followers of uid {UID}" in result.stderr and problem in result.stderr
    assert "Traceback" not in result.stderr


# --- atomic, resumable files ---------------------------------------------------------


def test_a_failed_export_leaves_no_file_and_keeps_an_old_one(server: FakeTikTok, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("yesterday's export\n")
    server.faults = [Fault("/user/followers", body=followers_page(range(20), min_time=1_699_999_981))]
    server.faults += [Fault("/user/followers", 500) for _ in range(3)]
    result = invoke("followers", "--uid", UID, "-o", str(out), "--retries", "2")
    assert result.exit_code == 7
    assert out.read_text() == "yesterday's export\n"
    assert "20 rows kept in" in result.stderr and "run the same command again to resume" in result.stderr
    checkpoint = (tmp_path / ".out.csv.checkpoint").read_text()
    assert TOKEN not in checkpoint and TOKEN not in (tmp_path / ".out.csv.part").read_text()

    resumed = invoke("followers", "--uid", UID, "-o", str(out))
    assert resumed.exit_code == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == len({r["user_id"] for r in rows}) == 95
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


def test_no_resume_starts_over(server: FakeTikTok, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    server.faults = [
        Fault("/user/followers", body=followers_page(range(20), min_time=1_699_999_981)),
        Fault("/user/followers", 500),
    ]
    assert invoke("followers", "--uid", UID, "-o", str(out), "--retries", "0").exit_code == 7
    result = invoke("followers", "--uid", UID, "-o", str(out), "--no-resume")
    assert result.exit_code == 0 and "resuming" not in result.stderr
    assert sum(r.endswith("cursor=0") for r in server.requests) == 2


def test_a_different_command_does_not_resume_anothers_export(server: FakeTikTok, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    server.faults = [
        Fault("/user/followers", body=followers_page(range(20), min_time=1_699_999_981)),
        Fault("/user/followers", 500),
    ]
    invoke("followers", "--uid", UID, "-o", str(out), "--retries", "0")
    result = invoke("followers", "--uid", UID, "-o", str(out), "--fields", "user_id")
    assert result.exit_code == 0
    assert "belongs to a different command" in result.stderr
    assert out.read_text().splitlines()[0] == "user_id"


def test_summary_goes_to_stderr_and_quiet_silences_it(server: FakeTikTok, tmp_path: Path) -> None:
    result = invoke("followers", "alice", "-o", str(tmp_path / "f.csv"))
    assert (
        result.stderr.strip()
        == f"95 followers of @alice written to {tmp_path / 'f.csv'} (TikTok reports ~95)"
    )
    assert invoke("followers", "alice", "-q", "-o", str(tmp_path / "g.csv")).stderr == ""


# --- real processes: SIGKILL, SIGTERM, SIGINT, closed pipes ---------------------------


@pytest.fixture
def slow_server() -> Iterator[FakeTikTok]:
    with FakeTikTok(accounts=[alice(followers=600)], latency=0.02) as srv:
        yield srv


def test_sigkill_mid_export_then_resume_matches_an_uninterrupted_export(
    slow_server: FakeTikTok, tmp_path: Path
) -> None:
    with spawn_cli(slow_server, "followers", "alice", "-o", "whole.csv", cwd=tmp_path) as whole:
        assert whole.wait(60) == 0

    with spawn_cli(slow_server, "followers", "alice", "-o", "out.csv", cwd=tmp_path) as victim:
        wait_for_rows(tmp_path / ".out.csv.checkpoint", 100)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    assert not (tmp_path / "out.csv").exists()
    # Simulate the kill landing mid-page: a half-written row past the checkpoint.
    with (tmp_path / ".out.csv.part").open("ab") as part:
        part.write(b'fan_999999,"half a bio\n')

    with spawn_cli(slow_server, "followers", "alice", "-o", "out.csv", cwd=tmp_path) as resumed:
        _, err = resumed.communicate(timeout=60)
        assert resumed.returncode == 0, err
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "whole.csv"]


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGTERM, 143, "error: terminated"), (signal.SIGINT, 130, "interrupted")],  # Ctrl-C: no error
)
def test_signals_stop_cleanly_with_a_resume_hint(
    slow_server: FakeTikTok, tmp_path: Path, signum: int, code: int, word: str
) -> None:
    with spawn_cli(slow_server, "followers", "alice", "-o", "out.jsonl", cwd=tmp_path) as proc:
        wait_for_rows(tmp_path / ".out.jsonl.checkpoint", 40)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == code
    message = err.decode().strip()
    assert message.startswith(f"tiktok: {word};") and "run the same command again to resume" in message
    assert "Traceback" not in message
    assert (tmp_path / ".out.jsonl.checkpoint").exists()


def test_interrupt_without_output_file_prints_the_cursor_to_continue_from(
    slow_server: FakeTikTok, tmp_path: Path
) -> None:
    with spawn_cli(slow_server, "followers", "alice", "-f", "jsonl", cwd=tmp_path) as proc:
        assert proc.stdout is not None
        for _ in range(40):
            proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    found = re.search(
        r"interrupted; ([0-9]+) rows written; continue with --cursor ([0-9]+)$", err.decode().strip()
    )
    assert found, err
    written, cursor = int(found[1]), int(found[2])
    assert cursor == BASE_TIME - (written - 1)  # the time of the last row written, as the API counts


def test_a_closed_pipe_exits_quietly(slow_server: FakeTikTok, tmp_path: Path) -> None:
    with spawn_cli(slow_server, "followers", "alice", "-f", "jsonl", cwd=tmp_path) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()  # what `| head -1` does
        assert proc.wait(20) == 141
        assert proc.stderr.read() == b""


def test_progress_shows_on_a_terminal_stderr_and_never_in_the_data(
    slow_server: FakeTikTok, tmp_path: Path
) -> None:
    data, terminal = on_a_terminal(slow_server, tmp_path, "followers", "alice", "-f", "jsonl", columns=120)
    assert len(data.splitlines()) == 600 and b"\x1b" not in data
    assert b"followers of @alice" in terminal and b"of ~600" in terminal
    assert b"600 followers of @alice written" in terminal  # the summary stays after the bar


def test_quiet_turns_progress_and_summary_off(slow_server: FakeTikTok, tmp_path: Path) -> None:
    data, terminal = on_a_terminal(
        slow_server, tmp_path, "followers", "alice", "-q", "-f", "jsonl", columns=120
    )
    assert len(data.splitlines()) == 600
    assert terminal == b""


def test_a_list_capped_by_tiktok_ends_cleanly_as_a_window(server: FakeTikTok) -> None:
    server.faults = [
        Fault("/user/followers", body=followers_page(range(20), min_time=1_699_999_981)),
        Fault("/user/followers", body=followers_page(range(20, 40), min_time=-1)),  # more, but no cursor
    ]
    result = invoke("followers", "--uid", UID, "-f", "jsonl")
    assert result.exit_code == 0
    assert len(ids(result.stdout)) == 40
    assert result.stderr == f"40 of ~95 followers of uid {UID} written: TikTok shows only the newest ~40\n"


def test_a_table_piped_into_head_exits_like_every_format(slow_server: FakeTikTok, tmp_path: Path) -> None:
    with spawn_cli(slow_server, "followers", "alice", "-f", "table", cwd=tmp_path) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        assert proc.wait(20) == 141
        assert proc.stderr.read() == b""


def test_a_sigterm_whose_exception_was_swallowed_still_ends_the_run_as_terminated() -> None:
    # Python cannot raise from a finalizer or some import machinery: the signal must not be lost.
    import os
    import signal

    from tiktok_cli.signals import Terminated, sigterm_raises

    with pytest.raises(Terminated), sigterm_raises():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here
        except Terminated:
            pass  # swallowed, as the interpreter does where it cannot raise
