"""The one exception tree and the exit codes it maps to.

Every failure a user can cause or meet is a ``TikTokCliError``; the CLI turns it into
one line on stderr and ``exit_code``. Nothing else in the package knows exit codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import NamedTuple, TypeVar


class ExitCode(IntEnum):
    """Process exit codes; ``describe`` says what each means (--help and README use it)."""

    OK = 0
    PARTIAL = 1
    USAGE = 2
    NOT_FOUND = 3
    NOT_VISIBLE = 4
    CONFIG = 5
    BLOCKED = 6
    UPSTREAM = 7
    ALL_FAILED = 8
    INTERNAL = 70  # EX_SOFTWARE
    OUTPUT = 74  # EX_IOERR
    BUSY = 75  # EX_TEMPFAIL: try again later
    INTERRUPTED = 130  # 128 + SIGINT
    BROKEN_PIPE = 141  # 128 + SIGPIPE, as if killed by it
    TERMINATED = 143  # 128 + SIGTERM

    def describe(self) -> str:
        """What this exit status tells the user, in a few words."""
        return _MEANINGS[self]


# README's exit-code table starts each row with these words (a test checks).
_MEANINGS: Mapping[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.PARTIAL: "some accounts of a batch failed, others succeeded",
    ExitCode.USAGE: "usage error",
    ExitCode.NOT_FOUND: "the account does not exist",
    ExitCode.NOT_VISIBLE: "the account or its list is private or hidden",
    ExitCode.CONFIG: "authentication or configuration",
    ExitCode.BLOCKED: "rate-limited, captcha or blocked",
    ExitCode.UPSTREAM: "upstream or network failure",
    ExitCode.ALL_FAILED: "every account of a batch failed, for different reasons",
    ExitCode.INTERNAL: "an internal error",
    ExitCode.OUTPUT: "the output could not be written",
    ExitCode.BUSY: "another export to the same file is running",
    ExitCode.INTERRUPTED: "interrupted by Ctrl-C",
    ExitCode.BROKEN_PIPE: "the reader of standard output went away",
    ExitCode.TERMINATED: "interrupted by SIGTERM",
}

# Failures that running the same command again can get past: the network, the server, the
# pace, a full disk or a stopped process, not what was asked. A scheduler retries only these
# (examples/: the Kubernetes Job's podFailurePolicy, run-share.sh): any other answer comes
# back the same, after the whole share was fetched again. A batch's 1 and 8 are permanent
# as a whole: retry its failed accounts (--errors FILE, then --input FILE), not the batch.
RETRYABLE: frozenset[ExitCode] = frozenset(
    {
        ExitCode.BLOCKED,
        ExitCode.UPSTREAM,
        ExitCode.OUTPUT,
        ExitCode.BUSY,
        ExitCode.INTERRUPTED,
        ExitCode.TERMINATED,
    }
)
PERMANENT: frozenset[ExitCode] = frozenset(ExitCode) - RETRYABLE - {ExitCode.OK}


class TikTokCliError(Exception):
    """Base of every expected failure: shown to the user without a traceback."""

    exit_code: ExitCode = ExitCode.UPSTREAM
    # Whether running the same command again, unchanged, can get past it (a network
    # failure, a block, an interruption): only then is a file export kept for a resume.
    transient: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UsageError(TikTokCliError):
    """Bad arguments, detected before any request."""

    exit_code = ExitCode.USAGE


class NotFoundError(TikTokCliError):
    """The account does not exist."""

    exit_code = ExitCode.NOT_FOUND


class NotVisibleError(TikTokCliError):
    """The account or its list is private or hidden."""

    exit_code = ExitCode.NOT_VISIBLE


class ConfigError(TikTokCliError):
    """Missing or rejected credentials, or missing settings."""

    exit_code = ExitCode.CONFIG


class BlockedError(TikTokCliError):
    """Rate limit, captcha or block page that outlasted the retries."""

    exit_code = ExitCode.BLOCKED
    transient = True


class UpstreamError(TikTokCliError):
    """Network failure, server error, or a body that is not the documented JSON."""

    exit_code = ExitCode.UPSTREAM
    transient = True


class UnreachableError(UpstreamError):
    """No answer at all: the connection was refused or the host name does not resolve.

    Backends rewrite it into a message naming the setting that chose the URL.
    """

    def __init__(self, message: str, *, url: str, host: str) -> None:
        super().__init__(message)
        self.url = url
        self.host = host


class UnexpectedStatus(UpstreamError):
    """A non-retryable HTTP status; backends turn the ones they know into finer errors."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        detail: str = "",
        location: str = "",
        json_body: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.location = location  # where a 3xx pointed
        # Whether the error body was JSON: an API's own "not found" is JSON, while a
        # mistyped base URL gets a web server's HTML or plain-text 404.
        self.json_body = json_body


class ServerError(UpstreamError):
    """A server error (5xx) that outlasted the retries. The message quotes ``detail``, the
    body's own message, after ``unquoted``: a backend whose API fills it with "success"
    whatever failed says ``unquoted`` alone."""

    def __init__(self, unquoted: str, *, status: int, detail: str = "") -> None:
        super().__init__(unquoted + (f": {detail}" if detail else ""))
        self.unquoted = unquoted
        self.status = status
        self.detail = detail


class UnexpectedBody(UpstreamError):
    """A 2xx answer whose body is empty or an HTML page where JSON was expected."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind  # "empty" or "html"


class RefusedError(UpstreamError):
    """The API refused one request with its own error code: about that account, or, when
    every account gets it, about the token or plan. Only a check of a known-good account
    (``tiktok doctor``) can tell the two apart."""


class IncompleteListError(UpstreamError):
    """Pagination stopped before the API said the list was complete."""


class StalledListError(IncompleteListError):
    """The list stopped advancing: asked again from its last cursor, the API answered the
    same. Only a later try (TikTok may serve it again) can get past that point."""


class OutputError(TikTokCliError):
    """Rows cannot be written: standard output is closed, the disk is full, an I/O error.

    ``transient``: the same command can go on from what was kept; ``after`` says when
    ("once there is space").
    """

    exit_code = ExitCode.OUTPUT

    def __init__(self, message: str, *, transient: bool = False, after: str = "") -> None:
        super().__init__(message)
        self.transient = transient
        self.after = after


class BusyError(TikTokCliError):
    """Another run is exporting to the same file."""

    exit_code = ExitCode.BUSY


class Interrupted(TikTokCliError):
    """SIGINT or SIGTERM arrived; carries the matching exit code."""

    transient = True

    def __init__(self, message: str, *, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        # A user's own Ctrl-C is no failure of the run: it is said without "error:".
        self.is_error = exit_code is not ExitCode.INTERRUPTED


EXCERPT_CHARS = 200


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Upstream text cut to a short, one-line excerpt fit for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class BatchFailed(TikTokCliError):
    """Some or all accounts of a batch failed; the exit code says which, from the counts."""

    def __init__(self, message: str, *, exit_code: ExitCode, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = exit_code


def batch_verdict(
    failures: Sequence[TikTokCliError], count: int, *, hint: str | None = None
) -> BatchFailed | None:
    """How a batch of ``count`` accounts ended, given the failures of some of them.

    Some failed: PARTIAL. All failed alike: that shared code (a batch of missing
    accounts exits 3, as one would). All failed, differently: ALL_FAILED.
    """
    if not failures:
        return None
    codes = {error.exit_code for error in failures}
    if len(failures) < count:
        return BatchFailed(
            f"{len(failures)} of {count} accounts failed", exit_code=ExitCode.PARTIAL, hint=hint
        )
    if len(codes) == 1:
        return BatchFailed(f"all {count} accounts failed", exit_code=codes.pop(), hint=hint)
    return BatchFailed(
        f"all {count} accounts failed, for different reasons", exit_code=ExitCode.ALL_FAILED, hint=hint
    )


def rerun_can_pass(exc: BaseException) -> bool:
    """Whether the same command, run again as it is, can get past ``exc``: a network or
    server failure, a block, a full disk, an interruption. An answer about the account
    (missing, private) or a setting (missing, rejected) needs something else to change."""
    if isinstance(exc, TikTokCliError):
        return exc.transient
    return True  # a signal, an output error not yet named, or a bug: keep what was written


E = TypeVar("E", bound=BaseException)


def with_note(exc: E, note: str | None) -> E:
    """``exc`` with ``note`` (how far a run got, how to go on) added to its hint.

    A copy, so the error as its raiser built it is never changed; exit code and
    traceback are kept. Usage and busy errors stop a run before it starts: no note.
    """
    if not note or not isinstance(exc, TikTokCliError) or isinstance(exc, (UsageError, BusyError)):
        return exc
    if note in (exc.hint or ""):
        return exc
    # Not copy.copy: it re-runs __init__ with the message alone, which errors with
    # keyword-only fields (a URL, a status) refuse.
    noted = type(exc).__new__(type(exc), *exc.args)
    noted.__dict__.update(exc.__dict__)
    noted.hint = f"{exc.hint}; {note}" if exc.hint else note
    return noted.with_traceback(exc.__traceback__)


class StoreError(TikTokCliError):
    """``--db`` names something that is not a usable snapshot store (or too new a one)."""

    exit_code = ExitCode.CONFIG


class MissingExtra(TikTokCliError):
    """An optional part of the package (an extra such as ``plot``) is not installed."""

    exit_code = ExitCode.CONFIG


class StoreUnavailable(UpstreamError):
    """The store's database server did not answer, or failed mid-run."""


class StoreFull(TikTokCliError):
    """The store's disk is full: what the run read could not all be recorded."""

    exit_code = ExitCode.OUTPUT


# --- the exit status of a stopped run, and of `tiktok doctor` -------------------------


def interruption(*, terminated: bool) -> Interrupted:
    """The error a run stopped by a signal ends with: SIGTERM (a scheduler's stop, `kill`)
    or SIGINT (Ctrl-C), each with its own exit code."""
    if terminated:
        return Interrupted("terminated", exit_code=ExitCode.TERMINATED)
    return Interrupted("interrupted", exit_code=ExitCode.INTERRUPTED)


def first_failure_code(failures: Sequence[TikTokCliError]) -> ExitCode:
    """The exit status of checks that found ``failures``, the one that decides first:
    its code, or 0 when there are none (`tiktok doctor`)."""
    return failures[0].exit_code if failures else ExitCode.OK


class HelpShown(UsageError):
    """A command given nothing at all: its help went to stderr in place of an error line."""


class Failure(NamedTuple):
    """How an exception ends a command: what stderr is told and the exit code."""

    message: str | None  # one line; None: nothing to say
    exit_code: ExitCode
    is_error: bool = True  # False: a user's own Ctrl-C, said without "error:"
    doctor_helps: bool = False  # typical of a first run: `tiktok doctor` checks the whole setup


def failure(exc: BaseException, *, output: str = "the output") -> Failure:
    """What the user is told of ``exc``, which ended a command, and the exit code it gives.

    Reading input and config is checked where it happens: an ``OSError`` left is writing
    ``output`` (a full disk, an I/O error). A missing or rejected setting or an unreachable
    server is typical of a first run, where `tiktok doctor` helps; a source of settings
    that names itself in the message (``names_its_source``: the config file, a variable)
    needs no more. Anything else is a bug.
    """
    if isinstance(exc, HelpShown):
        return Failure(None, exc.exit_code)
    if isinstance(exc, Interrupted):
        return Failure(str(exc), exc.exit_code, is_error=exc.is_error)
    if isinstance(exc, TikTokCliError):
        setup = isinstance(exc, (ConfigError, UnreachableError)) and not getattr(
            exc, "names_its_source", False
        )
        return Failure(str(exc), exc.exit_code, doctor_helps=setup)
    if isinstance(exc, BrokenPipeError):  # the reader went away (`| head`): nothing to tell it
        return Failure(None, ExitCode.BROKEN_PIPE)
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return Failure(f"cannot write {output}{where}: {exc.strerror or exc}", ExitCode.OUTPUT)
    return Failure(
        f"unexpected {type(exc).__name__}: {exc} (a bug: please report it; --debug shows where)",
        ExitCode.INTERNAL,
    )
