"""Exit codes are decided in errors.py: batch verdicts from counts, notes added to a copy."""

from __future__ import annotations

import pytest

from tiktok_cli.errors import (
    BusyError,
    ExitCode,
    Interrupted,
    NotFoundError,
    NotVisibleError,
    UnreachableError,
    UsageError,
    batch_verdict,
    with_note,
)


def test_no_failures_no_verdict() -> None:
    assert batch_verdict([], 3) is None


def test_some_failed_is_partial() -> None:
    verdict = batch_verdict([NotFoundError("a")], 3, hint="go on")
    assert verdict is not None
    assert (verdict.exit_code, str(verdict)) == (ExitCode.PARTIAL, "1 of 3 accounts failed; go on")


def test_all_failed_alike_keeps_their_code() -> None:
    verdict = batch_verdict([NotFoundError("a"), NotFoundError("b")], 2)
    assert verdict is not None
    assert (verdict.exit_code, str(verdict)) == (ExitCode.NOT_FOUND, "all 2 accounts failed")


def test_all_failed_differently() -> None:
    verdict = batch_verdict([NotFoundError("a"), NotVisibleError("b")], 2)
    assert verdict is not None and verdict.exit_code == ExitCode.ALL_FAILED


def test_a_note_goes_on_a_copy() -> None:
    original = UnreachableError("no answer", url="http://x/", host="x")
    original.hint = "start it"
    noted = with_note(original, "3 rows kept")
    assert str(noted) == "no answer; start it; 3 rows kept"
    assert (noted.url, noted.host, noted.exit_code) == ("http://x/", "x", original.exit_code)
    assert str(original) == "no answer; start it"  # as its raiser built it


def test_a_note_keeps_the_signal_exit_code_and_is_not_repeated() -> None:
    stopped = Interrupted("terminated", exit_code=ExitCode.TERMINATED)
    noted = with_note(stopped, "kept")
    assert (noted.exit_code, str(noted)) == (ExitCode.TERMINATED, "terminated; kept")
    assert with_note(noted, "kept") is noted


@pytest.mark.parametrize("error", [UsageError("bad"), BusyError("busy"), KeyboardInterrupt()])
def test_no_note_on_errors_that_stop_a_run_before_it_starts(error: BaseException) -> None:
    assert with_note(error, "kept") is error


def test_no_note_no_copy() -> None:
    error = NotFoundError("gone")
    assert with_note(error, None) is error
