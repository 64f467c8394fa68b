"""A live progress line on stderr, for people watching a long export.

Shown only when stderr is a terminal and --quiet is off; otherwise every call here is a
no-op. When rows go to that same terminal (a table), the line is lifted while each page
prints, so it never lands inside the data.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from types import TracebackType
from typing import Any


class Progress:
    """Records so far, the expected total (TikTok's count, capped by --limit), rate and ETA."""

    def __init__(self, description: str, *, enabled: bool) -> None:
        self._description = description
        self._enabled = enabled
        self._live: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self._enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                SpinnerColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            self._live = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[counts]}"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
                redirect_stdout=False,
                redirect_stderr=True,  # warnings print above the bar instead of through it
            )
            self._live.start()
            self._task = self._live.add_task(self._description, total=None, counts="", rate="")
        return self

    def update(self, done: int, total: int | None) -> None:
        if self._live is None:
            return
        task = self._live.tasks[0]
        speed = task.speed
        counts = f"{done:,}" + (f" of ~{total:,}" if total else "")
        self._live.update(
            self._task,
            completed=done,
            total=max(total, done) if total else None,
            counts=counts,
            rate=f"{speed:,.0f}/s" if speed else "",
        )

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Take the line off the terminal while something else prints there, then redraw it."""
        if self._live is None:
            yield
            return
        self._live.stop()
        try:
            yield
        finally:
            self._live.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()


def wanted(*, quiet: bool) -> bool:
    """Whether a progress display makes sense for this run: someone watches stderr."""
    if quiet:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
