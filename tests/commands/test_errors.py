"""Exit codes are decided in errors.py: batch verdicts from counts, notes added to a copy, and
what each failure that ends a command says."""

from __future__ import annotations

import errno

import pytest

from tiktok_cli.config import SettingsError
from tiktok_cli.errors import (
    BusyError,
    ConfigError,
    ExitCode,
    Failure,
    HelpShown,
    Interrupted,
    NotFoundError,
    NotVisibleError,
    UnreachableError,
    UsageError,
    batch_verdict,
    failure,
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


def _full_disk() -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", "out.csv")


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (NotFoundError("no account @x"), Failure("no account @x", ExitCode.NOT_FOUND)),
        (ConfigError("no token"), Failure("no token", ExitCode.CONFIG, doctor_helps=True)),
        (
            SettingsError("config file x is not valid TOML"),
            Failure("config file x is not valid TOML", ExitCode.CONFIG),
        ),
        (
            UnreachableError("nothing answers", url="http://h", host="h"),
            Failure("nothing answers", ExitCode.UPSTREAM, doctor_helps=True),
        ),
        (
            Interrupted("interrupted", exit_code=ExitCode.INTERRUPTED),
            Failure("interrupted", ExitCode.INTERRUPTED, is_error=False),
        ),
        (
            Interrupted("terminated", exit_code=ExitCode.TERMINATED),
            Failure("terminated", ExitCode.TERMINATED),
        ),
        (HelpShown("no command given"), Failure(None, ExitCode.USAGE)),
        (BrokenPipeError(), Failure(None, ExitCode.BROKEN_PIPE)),
        (_full_disk(), Failure("cannot write the output out.csv: No space left on device", ExitCode.OUTPUT)),
        (
            KeyError("x"),
            Failure(
                "unexpected KeyError: 'x' (a bug: please report it; --debug shows where)", ExitCode.INTERNAL
            ),
        ),
    ],
)
def test_each_failure_has_its_line_and_exit_code(exc: BaseException, said: Failure) -> None:
    assert failure(exc) == said


def test_a_failure_to_write_names_what_was_written() -> None:
    said = failure(OSError(errno.ENOSPC, "No space left on device"), output="standard output")
    assert said == Failure("cannot write standard output: No space left on device", ExitCode.OUTPUT)
