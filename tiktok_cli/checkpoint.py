"""Atomic, resumable file exports.

``-o FILE`` never writes FILE directly. Rows go to a hidden sibling, ``.FILE.part``;
after pages are written, ``.FILE.checkpoint`` records (atomically, at most every half
second and whenever the run stops) how far the export got: the next cursor, the rows
and bytes written, and how many de-duplication keys ``.FILE.seen`` holds. Only a
finished export is renamed over FILE, so a failed or killed run never leaves a
half-written FILE and never touches one that existed.

Running the identical command again resumes: the part file is cut back to the last
checkpoint (dropping any half-written page, even after SIGKILL) and the export goes on
from the saved cursor. The checkpoint names the command, never a token or cookie.

One export at a time per FILE: ``ExportLock`` holds ``.FILE.lock`` (an ``flock``, which
the kernel drops when its process dies, so a stale lock never blocks) for the whole run.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from tiktok_cli import console
from tiktok_cli.errors import BusyError, UsageError
from tiktok_cli.seen import SeenAccounts

FORMAT_VERSION = 2
_DIGEST_BYTES = 8
# The fingerprint's key in the checkpoint file: "identity", its name when the format began,
# so part files written before the rename still resume.
_FINGERPRINT_KEY = "identity"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far an export got; enough to continue it exactly.

    ``progress`` is the caller's own JSON state (cursors per list, rows written…);
    ``offset`` and ``seen`` say how much of the part and seen files it covers.
    """

    fingerprint: Mapping[str, Any]
    progress: Mapping[str, Any]
    offset: int
    seen: int
    version: int = FORMAT_VERSION


class FileExport:
    """``-o FILE``: rows go to a part file, checkpointed after pages, renamed over FILE at the end.

    ``fingerprint`` names the command, so only the same command resumes it; None makes the
    export atomic but not resumable (user-info: nothing to continue from).
    """

    resumable = True
    to_terminal = False

    def __init__(
        self,
        path: Path,
        fingerprint: Mapping[str, Any] | None,
        *,
        resume: bool = True,
        shown: Path | None = None,
    ) -> None:
        self.target = path  # the real file (a symlink followed); the part and checkpoint sit beside it
        self.path = shown or path  # as the user named it, for messages
        self.fingerprint = dict(fingerprint) if fingerprint is not None else None
        self.part = path.with_name(f".{path.name}.part")
        self.checkpoint_path = path.with_name(f".{path.name}.checkpoint")
        self.seen_path = path.with_name(f".{path.name}.seen")
        self.resumed: Checkpoint | None = None
        self.seen = SeenAccounts()
        self.has_progress = False  # whether the part file holds a checkpointed export worth keeping
        self._resume = resume and self.fingerprint is not None
        self._stream: BinaryIO | None = None
        self._seen_stream: BinaryIO | None = None
        self._marked_offset = 0
        self._unsaved_digests: list[int] = []
        self._saved_digests = 0

    @property
    def stream(self) -> BinaryIO:
        assert self._stream is not None, "open() first"
        return self._stream

    def open(self) -> None:
        """Open the part file: continue a matching unfinished export, or start afresh."""
        previous = self._load_checkpoint() if self._resume else None
        try:
            if previous is not None and self._covers(previous):
                self._stream = self.part.open("r+b")
                self._stream.truncate(previous.offset)
                self._stream.seek(previous.offset)
                self._seen_stream = self.seen_path.open("a+b")
                self._seen_stream.truncate(previous.seen * _DIGEST_BYTES)
                self._seen_stream.seek(0)
                data = self._seen_stream.read()
                self.seen = SeenAccounts(
                    int.from_bytes(data[i : i + _DIGEST_BYTES], "big")
                    for i in range(0, len(data), _DIGEST_BYTES)
                )
                self.resumed, self.has_progress = previous, True
                self._marked_offset, self._saved_digests = previous.offset, previous.seen
            else:
                self.discard()
                self._stream = self.part.open("wb")
                self._seen_stream = self.seen_path.open("wb")
        except OSError as exc:
            raise UsageError(f"cannot write {self.path}: {exc.strerror}") from None

    def mark(self, digests: Iterable[int]) -> None:
        """A page is fully written: remember where it ends and the digests of its accounts."""
        if self.fingerprint is not None:
            self._marked_offset = self.stream.tell()
            self._unsaved_digests.extend(digests)

    def save(self, progress: Mapping[str, Any]) -> None:
        """Checkpoint everything up to the last mark; bytes past it are cut on resume."""
        assert self._stream is not None and self._seen_stream is not None
        if self.fingerprint is None:
            return
        self._stream.flush()
        if self._unsaved_digests:
            self._seen_stream.write(b"".join(d.to_bytes(_DIGEST_BYTES, "big") for d in self._unsaved_digests))
            self._saved_digests += len(self._unsaved_digests)
            self._unsaved_digests.clear()
        self._seen_stream.flush()
        checkpoint = {
            "version": FORMAT_VERSION,
            _FINGERPRINT_KEY: self.fingerprint,
            "progress": progress,
            "offset": self._marked_offset,
            "seen": self._saved_digests,
        }
        _write_atomically(self.checkpoint_path, orjson.dumps(checkpoint))
        self.has_progress = True

    def commit(self) -> None:
        """The export is complete: make FILE appear, whole, and clean up."""
        assert self._stream is not None
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self._close()
        self.part.replace(self.target)
        for leftover in (self.checkpoint_path, self.seen_path):
            leftover.unlink(missing_ok=True)

    def close(self, *, keep: bool = True) -> None:
        """Stop without finishing: a checkpointed part file stays for a resume (unless not
        ``keep``: nothing a rerun could continue), else it goes."""
        if keep and self.has_progress:
            self._close()
        else:
            self.discard()

    def discard(self) -> None:
        """Forget any unfinished export to this FILE, including a checkpoint cut short by a kill."""
        self._close()
        self.has_progress = False
        for leftover in (self.part, self.checkpoint_path, self.seen_path):
            leftover.unlink(missing_ok=True)
        for temp in self.target.parent.glob(f"{glob.escape(self.checkpoint_path.name)}.*.tmp"):
            temp.unlink(missing_ok=True)

    def _covers(self, checkpoint: Checkpoint) -> bool:
        """Whether the part and seen files still hold everything the checkpoint counts."""
        try:
            part, seen = self.part.stat().st_size, self.seen_path.stat().st_size
        except OSError:
            return False
        if 0 <= checkpoint.offset <= part and 0 <= checkpoint.seen * _DIGEST_BYTES <= seen:
            return True
        console.warn(f"{self.part} is shorter than its checkpoint says; starting over")
        return False

    def _close(self) -> None:
        for stream in (self._stream, self._seen_stream):
            if stream is not None and not stream.closed:
                with contextlib.suppress(OSError):
                    stream.close()

    def _load_checkpoint(self) -> Checkpoint | None:
        try:
            data = orjson.loads(self.checkpoint_path.read_bytes())
            checkpoint = Checkpoint(fingerprint=data.pop(_FINGERPRINT_KEY), **data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, LookupError, AttributeError):
            console.warn(f"ignoring an unreadable checkpoint {self.checkpoint_path}; starting over")
            return None
        if checkpoint.version != FORMAT_VERSION or checkpoint.fingerprint != self.fingerprint:
            console.warn(f"{self.part} belongs to a different command; starting over")
            return None
        numbers = (type(checkpoint.offset), type(checkpoint.seen))
        if not isinstance(checkpoint.progress, Mapping) or numbers != (int, int):
            console.warn(f"ignoring an unreadable checkpoint {self.checkpoint_path}; starting over")
            return None
        return checkpoint


class ExportLock:
    """Exclusive right to export to FILE, held in ``.FILE.lock`` beside it (which holds the pid).

    The lock file is removed when the export ends. ``flock`` locks die with their process,
    so a lock file left by a killed run is simply taken over.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(f".{path.name}.lock")
        self._fd: int | None = None

    def __enter__(self) -> ExportLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or raise BusyError naming the pid of the run that holds it."""
        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            except OSError as exc:
                raise UsageError(f"cannot write {self.path}: {exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                running = f" (pid {holder})" if holder else ""
                raise BusyError(
                    f"another export to {self.path} is running{running}",
                    hint="wait for it to finish, or stop it first",
                ) from None
            except OSError:  # a file system without flock: go on unlocked rather than not at all
                self._fd = fd
                return
            # The previous holder may have removed the file between our open and our lock:
            # then this inode is no longer the lock, and a later run would not see it.
            if _same_file(fd, self.lock_path):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self._fd = fd
                return
            os.close(fd)

    def release(self) -> None:
        """Remove the lock file (while still holding it, so no waiter locks a removed file)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            if _same_file(fd, self.lock_path):
                self.lock_path.unlink()
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), path.lstat())
    except OSError:
        return False


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader sees the old or the new file, never a mix."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
