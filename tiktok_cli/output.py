"""Where rows go: the checked output options, the destination, and the writer.

Every output mistake is found by ``plan_output`` before any request is made. A
destination is standard output (no ``-o``, or ``-o -``); a stream written directly
(``-o`` naming a FIFO, a character device, a socket or ``/dev/fd/N``); or a regular
file, which alone gets the atomic, checkpointed and locked export of checkpoint.py.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol, cast

from tiktok_cli import console, writers
from tiktok_cli.checkpoint import Checkpoint, ExportLock, FileExport
from tiktok_cli.errors import OutputError, UsageError
from tiktok_cli.models import FETCHED_AT, FIELDS, OWNER_FIELD, User
from tiktok_cli.seen import SeenAccounts
from tiktok_cli.writers.base import Writer, WriterOptions

# Names of this process's own open descriptors: written through a copy of the descriptor,
# so its offset and append mode are kept exactly as the shell set them up.
_FD_NAME = re.compile(r"/(?:dev/fd|proc/(?:self|thread-self|(?P<pid>[0-9]+))/fd)/(?P<fd>[0-9]+)")
_STD_NAMES = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
# Options that only some formats have, and how the user spells them.
_FORMAT_OPTIONS = {"excel": "--excel", "formula_guard": "--no-formula-guard"}


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Where and how rows are written, as the user asked."""

    format: str | None = None
    path: Path | None = None
    fields: tuple[str, ...] | None = None
    raw: bool = False
    formula_guard: bool = True
    excel: bool = False
    resume: bool = True


@dataclass(frozen=True, slots=True)
class Destination:
    """What ``-o`` names: standard output, a stream to write directly, or a regular file."""

    kind: Literal["stdout", "stream", "file"]
    path: Path | None = None  # as given, for messages
    target: Path | None = None  # file: the real file (a symlink followed); its part and lock sit beside it
    fd: int | None = None  # stream: one of this process's descriptors (/dev/fd/N)

    @property
    def resumable(self) -> bool:
        return self.kind == "file"


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """The checked output options: which writer, which columns, which options, where."""

    spec: OutputSpec
    writer_class: type[Writer]
    columns: tuple[str, ...]
    destination: Destination = Destination("stdout")

    def identity(self) -> dict[str, Any]:
        """What makes two exports "the same command" for resuming (JSON-safe)."""
        return {
            "format": self.writer_class.name,
            "columns": list(self.columns),
            "raw": self.spec.raw,
            "formula_guard": self.spec.formula_guard,
            "excel": self.spec.excel,
        }


def owner_column(accounts: int, *, listed: bool) -> bool:
    """Whether rows carry the ``owner`` column: with several accounts, or with accounts
    from a list (``listed``: --input or --shard), however many it holds, so one command
    writes one header whether its input file names one account or many."""
    return accounts > 1 or listed


def plan_output(spec: OutputSpec, *, owner: bool, record: Sequence[str] = FIELDS) -> OutputPlan:
    """Check the output options; every mistake here is a usage error before any request.

    ``record``: the columns of a row (an account's fields, or a report's, such as `changes`).
    """
    destination = destination_of(spec.path)
    name = resolve_format(spec, destination)
    writer_class = writers.load(name)
    if spec.raw and not writer_class.supports_raw:
        able = " or ".join(f"-f {n}" for n in writers.names() if writers.load(n).supports_raw)
        raise UsageError(f"--raw writes the API's own objects, which only {able} can hold (not {name})")
    if spec.raw and (owner or spec.fields):
        # Raw objects have no columns to pick, and no room for the owner column of a batch.
        raise UsageError("--raw writes the API's objects unchanged: use it without --fields, for one account")
    asked = {"excel": spec.excel, "formula_guard": not spec.formula_guard}
    for option in (o for o, given in asked.items() if given and o not in writer_class.options_used):
        formats = [n for n in writers.names() if option in writers.load(n).options_used]
        raise UsageError(f"{_FORMAT_OPTIONS[option]} is for -f {' or '.join(formats)} output, not {name}")
    if not writer_class.writes_rows and destination.kind != "stdout":
        raise UsageError(f"-f {name} writes no rows: drop -o {destination.path}")
    columns = resolve_columns(spec.fields, writer_class, owner=owner, record=record)
    return OutputPlan(spec, writer_class, columns, destination)


def warn_if_kept_nowhere(plan: OutputPlan, db: str | None, what: str) -> None:
    """``-f none`` without ``--db`` reads ``what`` and keeps nothing: every command says so."""
    if not plan.writer_class.writes_rows and db is None:
        console.warn(f"-f none without --db: {what} are read and their rows dropped")


def destination_of(path: Path | None) -> Destination:
    """Classify ``-o PATH`` without opening it (a FIFO would block)."""
    if path is None or str(path) == "-":
        return Destination("stdout")
    name = os.path.abspath(path)  # noqa: PTH100 - lexical: /dev/stdout must not be followed
    found = _FD_NAME.fullmatch(name)
    fd = _STD_NAMES.get(name)
    if found and found["pid"] in (None, str(os.getpid())):
        fd = int(found["fd"])
    if fd == 1:
        return Destination("stdout", path)
    if fd is not None:
        return Destination("stream", path, fd=fd)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None  # a new file (or a symlink to one)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    if mode is None or stat.S_ISREG(mode):
        return Destination("file", path, target=Path(os.path.realpath(path)) if path.is_symlink() else path)
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return Destination("stream", path)
    what = "a folder" if stat.S_ISDIR(mode) else "a block device" if stat.S_ISBLK(mode) else "not a file"
    raise UsageError(f"cannot write {path}: it is {what}")


def resolve_format(spec: OutputSpec, destination: Destination | None = None) -> str:
    """Explicit -f; else the -o file's extension; else table on a terminal, jsonl elsewhere."""
    destination = destination or destination_of(spec.path)
    if spec.format:
        return spec.format
    path = destination.path
    if path is not None:
        found = writers.for_path(path)
        if found:
            return found
        if destination.kind == "file":  # a stream's name (rows.sock, /dev/fd/63) is no choice of format
            raise UsageError(_unknown_extension(path))
    if destination.kind == "stream":
        return "table" if destination.fd is not None and _fd_is_terminal(destination.fd) else "jsonl"
    return "table" if is_terminal(sys.stdout) else "jsonl"


def _unknown_extension(path: Path) -> str:
    extensions = [e for n in writers.names() for e in writers.load(n).extensions]
    choices = f"give -f FORMAT ({', '.join(writers.names())}), or name it {', '.join(extensions)}"
    if not path.suffix:
        return f"cannot tell the format of {path}: it has no extension; {choices}"
    hint = ""
    if path.suffix.lower() in _COMPRESSED:
        hint = f" (to compress, pipe it: -f FORMAT -o >({_COMPRESSED[path.suffix.lower()]} > {path.name}))"
    return f"cannot tell the format of {path} from its extension {''.join(path.suffixes)!r}; {choices}{hint}"


_COMPRESSED = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}


def resolve_columns(
    fields: Sequence[str] | None, writer_class: type[Writer], *, owner: bool, record: Sequence[str] = FIELDS
) -> tuple[str, ...]:
    """Validate --fields, or take the writer's default columns (with `owner` first in batches)."""
    # fetched_at: when an account's page was fetched, for the account records alone.
    valid = (OWNER_FIELD, *record, *((FETCHED_AT,) if record is FIELDS else ()))
    if fields:
        unknown = [f for f in fields if f not in valid]
        if unknown:
            raise UsageError(f"unknown field {unknown[0]!r} in --fields (valid: {', '.join(valid)})")
        return tuple(dict.fromkeys(fields))
    columns = (writer_class.default_columns if tuple(record) == FIELDS else None) or record
    return (OWNER_FIELD, *columns) if owner else tuple(columns)


@contextlib.contextmanager
def claim_output(plan: OutputPlan) -> Iterator[None]:
    """Hold the right to write a regular -o FILE for the whole run (creating its folder).

    Taken before any request, so an overlapping run fails at once with BusyError.
    """
    destination = plan.destination
    if destination.kind != "file":
        yield
        return
    assert destination.target is not None
    make_folder(destination.target, shown=destination.path)
    with ExportLock(destination.target):  # creating the lock file beside FILE proves FILE can be
        yield


def make_folder(path: Path, *, shown: Path | None = None) -> None:
    """Create the folder of a file to write (-o, --plot): one that cannot be made is a usage
    error, found before any request."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write {shown or path}: folder {folder}: {exc.strerror}") from None


def check_creatable(path: Path) -> None:
    """Make sure a file can be created at ``path`` (a file that is not -o's, such as
    --plot's): like -o, one that cannot is a usage error, found before any work."""
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")
    make_folder(path)
    try:
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    os.close(fd)
    Path(probe).unlink()


class Sink(Protocol):
    """An opened destination: where the writer writes, and how the export is kept.

    ``checkpoint.FileExport`` is the one for a regular -o FILE; standard output and
    streams have nothing to checkpoint or resume.
    """

    @property
    def stream(self) -> BinaryIO: ...
    @property
    def seen(self) -> SeenAccounts:
        """Digests of the accounts already written (by the run a resume continues)."""
        ...

    @property
    def resumed(self) -> Checkpoint | None: ...
    @property
    def path(self) -> Path | None:
        """As the user named it, for messages; None: standard output."""
        ...

    @property
    def part(self) -> Path | None: ...
    @property
    def resumable(self) -> bool: ...
    @property
    def has_progress(self) -> bool: ...
    @property
    def to_terminal(self) -> bool:
        """Whether rows land on a terminal (colours, its width, progress kept off the data)."""
        ...

    def mark(self, digests: Iterable[int]) -> None:
        """A page is fully written (the digests of its accounts are ``digests``)."""

    def save(self, progress: Mapping[str, Any]) -> None:
        """Checkpoint up to the last mark."""

    def commit(self) -> None:
        """The export is complete."""

    def close(self, *, keep: bool = True) -> None:
        """Stop without finishing; ``keep`` False: keep nothing for a resume."""


class StdoutSink:
    """Standard output: nothing to checkpoint, nothing to resume."""

    resumed: Checkpoint | None = None
    path: Path | None = None
    part: Path | None = None
    has_progress = False
    resumable = False

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self.stream: BinaryIO = stream if stream is not None else _stdout()
        self.seen = SeenAccounts()

    @property
    def to_terminal(self) -> bool:
        return is_terminal(sys.stdout)

    def mark(self, digests: Iterable[int]) -> None:
        pass

    def save(self, progress: Mapping[str, Any]) -> None:
        pass

    def commit(self) -> None:
        self.stream.flush()

    def close(self, *, keep: bool = True) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()


class StreamSink(StdoutSink):
    """-o naming a FIFO, device, socket or /dev/fd/N: written directly, never renamed."""

    def __init__(self, destination: Destination) -> None:
        self.path = destination.path
        self._closers: list[Callable[[], None]] = []
        try:
            stream = self._open(destination)
        except OSError as exc:
            raise UsageError(f"cannot write {destination.path}: {exc.strerror}") from None
        super().__init__(stream)

    def _open(self, destination: Destination) -> BinaryIO:
        path = destination.path
        assert path is not None
        if destination.fd is not None:
            if _access_mode(destination.fd) == os.O_RDONLY:
                raise OSError(0, "it is open for reading only")
            stream = os.fdopen(os.dup(destination.fd), "wb")
        elif stat.S_ISSOCK(path.stat().st_mode):
            import socket  # rarely needed: not loaded for every run

            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connection.connect(str(path))
            except OSError:
                connection.close()
                raise
            self._closers.append(connection.close)
            stream = connection.makefile("wb")
        else:
            stream = path.open("wb")  # a FIFO waits here for its reader, as `>` does
        self._closers.insert(0, stream.close)
        return stream

    @property
    def to_terminal(self) -> bool:
        return is_terminal(self.stream)

    def commit(self) -> None:
        try:
            self.stream.flush()
        finally:
            self._close()

    def close(self, *, keep: bool = True) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()
        self._close()

    def _close(self) -> None:
        for close in self._closers:
            with contextlib.suppress(OSError, ValueError):
                close()
        self._closers.clear()


def _stdout() -> BinaryIO:
    """Standard output's bytes; closed (`>&-`) or missing, it is an output error."""
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        raise OutputError("standard output is closed, so the rows have nowhere to go: give -o FILE")
    return cast(BinaryIO, stream)


def output_failure(exc: BaseException, sink: Sink | None) -> BaseException:
    """A failure to write rows (a full disk, an I/O error) as an output error naming where
    they went; anything else (a closed pipe included) unchanged."""
    if not isinstance(exc, OSError) or isinstance(exc, BrokenPipeError):
        return exc
    where = str(sink.path) if sink is not None and sink.path is not None else "standard output"
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    resumable = sink is not None and sink.resumable
    error = OutputError(
        f"cannot write {where}: {exc.strerror or exc}",
        transient=resumable,
        after="once there is space" if full and resumable else "",
    )
    error.__traceback__ = exc.__traceback__
    return error


def _access_mode(fd: int) -> int:
    """The access mode (O_RDONLY, O_WRONLY, O_RDWR) ``fd`` was opened with."""
    import fcntl

    try:
        return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
    except OSError as exc:
        raise OSError(exc.errno, f"file descriptor {fd} is not open") from None


def open_sink(plan: OutputPlan, *, identity: Mapping[str, Any] | None) -> Sink:
    """The destination, opened; ``identity`` None means a file export is not resumable."""
    destination = plan.destination
    if destination.kind == "stdout":
        # -f none writes nothing: a closed standard output is no concern of a --db run.
        return StdoutSink(None if plan.writer_class.writes_rows else io.BytesIO())
    if destination.kind == "stream":
        return StreamSink(destination)
    assert destination.target is not None
    export = FileExport(destination.target, identity, resume=plan.spec.resume, shown=destination.path)
    export.open()
    return export


def make_writer(plan: OutputPlan, sink: Sink, *, rows_written: int = 0, names: Sequence[str] = ()) -> Writer:
    """The writer for ``sink``; a resumed export continues after its ``rows_written`` rows.
    ``names``: the accounts of the run, known before any row (the table sizes columns by them)."""
    options = WriterOptions(
        header=sink.resumed is None,
        formula_guard=plan.spec.formula_guard,
        excel=plan.spec.excel,
        terminal=sink.to_terminal,
        rows_written=rows_written,
        names=tuple(names),
    )
    return plan.writer_class(sink.stream, plan.columns, options)


# (the account, the list owner in batches, when it was fetched) -> what the writer writes
RowMaker = Callable[[User, str | None, str | None], Any]


def row_maker(plan: OutputPlan) -> RowMaker:
    """Turns a User (with its list owner and fetch time) into what the writer writes."""
    if plan.spec.raw:
        return lambda user, _owner, _at: dict(user.raw)
    columns = plan.columns
    if OWNER_FIELD not in columns and FETCHED_AT not in columns:
        values = attrgetter(*columns)
        if len(columns) == 1:
            return lambda user, _owner, _at: {columns[0]: values(user)}
        return lambda user, _owner, _at: dict(zip(columns, values(user), strict=True))

    def row(user: User, owner: str | None, fetched_at: str | None) -> dict[str, Any]:
        extra = {OWNER_FIELD: owner, FETCHED_AT: fetched_at}
        return {column: extra[column] if column in extra else getattr(user, column) for column in columns}

    return row


@contextlib.contextmanager
def writing(plan: OutputPlan, sink: Sink, *, names: Sequence[str] = ()) -> Iterator[Writer]:
    """The writer for ``sink``, for a run that writes rows as they come (user-info, the
    store's reports): finished and committed at the end; after a failure or a signal,
    what was written is flushed, the output closed, and the error raised with its exit code."""
    from tiktok_cli.signals import as_interrupted

    writer: Writer | None = None
    try:
        writer = make_writer(plan, sink, names=names)
        yield writer
    except BaseException as exc:  # noqa: BLE001 - closes the output, then re-raises
        if writer is not None:
            close_quietly(writer)
        sink.close()
        raise output_failure(as_interrupted(exc), sink) from None
    writer.close()
    sink.commit()


def close_quietly(writer: Writer) -> None:
    """Flush what was written before a failure; a second failure must not hide the first."""
    with contextlib.suppress(Exception):
        writer.close()


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _fd_is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
