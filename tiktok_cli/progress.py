"""A live progress line on stderr, for people watching a long export.

Shown only when stderr is a terminal, data is not going to that same terminal, and
--quiet is off; otherwise every call here is a no-op.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


class Progress:
    """Records so far, the total TikTok reports, rate and elapsed time."""

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

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()


def wanted(*, quiet: bool, data_to_terminal: bool) -> bool:
    """Whether a progress display makes sense for this run."""
    if quiet or data_to_terminal:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
