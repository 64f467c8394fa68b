"""A run over several accounts: how many at once, and what happens when some fail.

With one account, its failure is simply raised. With several, each failure is reported
on stderr as it happens and the batch goes on; ``--errors FILE`` lists the failed
inputs one per line, so the file can be fed back with --input. At the end ``verdict``
gives the error the batch ends with, if any; errors.py decides its exit code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tiktok_cli import console
from tiktok_cli.errors import BatchFailed, ConfigError, TikTokCliError, UsageError, batch_verdict
from tiktok_cli.identifiers import Target


@dataclass(frozen=True, slots=True)
class Batch:
    """How a multi-account run behaves: workers, and where failed inputs are listed."""

    concurrency: int = 4
    errors_path: Path | None = None
    # The accounts came from a list (--input or --shard), not from the command line: the
    # rows carry the owner column whatever the number of accounts the list holds
    # (output.owner_column), so a cron job's header never changes with its input file.
    listed: bool = False


class Failures:
    """Collects the per-account failures of one run (a context manager: it owns --errors)."""

    def __init__(self, targets: Sequence[Target], errors_path: Path | None) -> None:
        self.count = len(targets)
        self.errors: list[TikTokCliError] = []
        self._path = errors_path
        self._file: IO[str] | None = None

    def __enter__(self) -> Failures:
        if self._path is not None:
            try:
                self._file = self._path.open("w", encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot write --errors {self._path}: {exc.strerror}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()

    def add(self, target: Target, error: BaseException) -> None:
        """Record that ``target`` failed; raises what must end the whole run instead."""
        if not isinstance(error, TikTokCliError) or isinstance(error, (ConfigError, UsageError)):
            raise error  # a bug, or a setting every account would fail on: stop the batch
        if self._file is not None:
            self._file.write(target.text + "\n")
            self._file.flush()
        if self.count == 1:
            raise error  # one account: its failure is the run's
        self.errors.append(error)
        console.error(str(error))

    def verdict(self, *, hint: str | None = None) -> BatchFailed | None:
        """The error the batch ends with (None when nothing failed); ``hint`` says how to go on."""
        return batch_verdict(self.errors, self.count, hint=hint)
