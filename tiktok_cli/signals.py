"""SIGINT and SIGTERM as exceptions, so a stopped run closes its output like a failed one.

Python raises KeyboardInterrupt for SIGINT; ``sigterm_raises`` does the same for SIGTERM
(a scheduler's stop, `kill`). The CLI's error edge installs it around every command, and
``as_interrupted`` turns either into the error with its exit code.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from tiktok_cli.errors import Interrupted, interruption


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt is for SIGINT."""


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Raise ``Terminated`` in the main thread on SIGTERM while the block runs."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (a command run from a test's thread)
        return

    received = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal received
        received = True
        raise Terminated

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
        if received:
            # The exception can be lost where Python cannot raise it (a finalizer, an import
            # being compiled): a stopped run must still end as stopped, never as success.
            raise Terminated
    finally:
        signal.signal(signal.SIGTERM, previous)


# The exceptions signals raise in the main thread.
SIGNALLED = (KeyboardInterrupt, Terminated)


def as_interrupted(exc: BaseException) -> BaseException:
    """A signal as the ``Interrupted`` error carrying its exit code; anything else unchanged."""
    if isinstance(exc, SIGNALLED):
        return interrupted(exc)
    return exc


def interrupted(exc: KeyboardInterrupt | Terminated) -> Interrupted:
    return interruption(terminated=isinstance(exc, Terminated))


# SQLite calls the progress handler every this many virtual machine instructions
# (microseconds apart): how soon a signal takes effect inside one long statement.
_PROGRESS_EVERY = 10_000
ProgressSetter = Callable[[Callable[[], int] | None, int], None]


@contextlib.contextmanager
def stopping_statements(set_progress_handler: ProgressSetter) -> Iterator[None]:
    """SIGINT and SIGTERM stop a running SQLite statement at once, not after it.

    Python runs a signal's handler only between bytecodes of the main thread, never
    inside a C call such as SQLite stepping through one statement (minutes, on a bad
    plan). A progress handler gives it that chance. Inside it, the handler notes the
    signal and the progress handler returns non-zero, which aborts the statement; the
    signal is then raised as usual (KeyboardInterrupt, Terminated) instead of the
    database's "interrupted" error. Elsewhere the handler raises at once, as usual.
    ``set_progress_handler`` is the sqlite3 connection's.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (a command run from a test's thread)
        return
    pending: list[type[BaseException]] = []

    def progress() -> int:
        return 1 if pending else 0  # a signal that arrived here was noted just before this line

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop = Terminated if signum == signal.SIGTERM else KeyboardInterrupt
        if frame is not None and frame.f_code is progress.__code__:
            pending.append(stop)  # raising here would be swallowed by sqlite3
            return
        raise stop

    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    set_progress_handler(progress, _PROGRESS_EVERY)
    try:
        yield
    except Exception:
        if pending:  # the statement the signal aborted fails: the signal is what happened
            raise pending[0]() from None
        raise
    finally:
        set_progress_handler(None, _PROGRESS_EVERY)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if pending:
        raise pending[0]()


@contextlib.contextmanager
def cancelling_statements(cancel: Callable[[], object]) -> Iterator[None]:
    """SIGINT and SIGTERM cancel the server's running statement, then raise as usual.

    A client that just goes away leaves its query running on the server until the
    server next writes to it; ``cancel`` (the driver's, e.g. psycopg's ``cancel_safe``)
    asks the server to stop it at once. psycopg waits for the server in Python, so the
    handler runs while a statement is running.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(Exception):  # the signal is what to report, not a failed cancel
            cancel()
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
