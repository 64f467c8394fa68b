"""SIGINT and SIGTERM as exceptions, so a stopped run closes its output like a failed one.

Python raises KeyboardInterrupt for SIGINT; ``sigterm_raises`` does the same for SIGTERM
(a scheduler's stop, `kill`). The CLI's error edge installs it around every command, and
``as_interrupted`` turns either into the error with its exit code.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from tiktok_cli.errors import ExitCode, Interrupted


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
    if isinstance(exc, Terminated):
        return Interrupted("terminated", exit_code=ExitCode.TERMINATED)
    return Interrupted("interrupted", exit_code=ExitCode.INTERRUPTED)
