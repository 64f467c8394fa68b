"""The installed entry point: usage errors and unwritable outputs are one line, with their codes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fakeserver import TOKEN, FakeTikTok


def tiktok(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tiktok_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["followers", "alice", "--limit", "0"], "--limit"),
        (["followers", "--bogus"], "tiktok followers has no option --bogus"),
        (["followers", "alice", "--timeout", "abc"], "--timeout"),
        (["followers", "alice", "-o", "."], "is a directory"),
    ],
)
def test_a_usage_error_is_one_line_with_exit_2(args: list[str], words: str) -> None:
    result = tiktok(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tiktok: error: ") and words in lines[0], result.stderr
    assert result.stdout == ""


def test_version_and_help_still_exit_0() -> None:
    assert tiktok("--version").returncode == 0
    helped = tiktok("followers", "--help")
    assert helped.returncode == 0 and "--limit" in helped.stdout


def test_a_full_disk_is_one_line_with_exit_74(tmp_path: Path) -> None:
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o600, os.makedev(1, 7))  # like /dev/full: every write fails
    with FakeTikTok() as server:
        env = {"TIKTOK_API_URL": f"{server.url}/tk", "TIKTOK_API_TOKEN": TOKEN}
        result = tiktok("followers", "--uid", "6754915036232582149", "-f", "jsonl", "-o", str(full), env=env)
    assert result.returncode == 74, result.stderr
    [line] = result.stderr.splitlines()
    assert line == f"tiktok: error: cannot write {full}: No space left on device"
