"""Where rows go: the checked output options, the destination, and the writer.

Every output mistake is found by ``plan_output`` before any request is made. A
destination is standard output (no ``-o``, or ``-o -``); a stream written directly
(``-o`` naming a FIFO, a character device, a socket or ``/dev/fd/N``); or a regular
file, which alone gets the atomic, checkpointed and locked export of checkpoint.py.

Every command writes through one ``Output`` (``open_output``): it claims the file, opens
the destination when first needed, makes the rows (``write_page``), and has one clean-up
path (``Output.end``) for a finished run, a failure and a signal alike.
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
from tiktok_cli.errors import Interrupted, OutputError, UsageError, rerun_can_pass, with_note
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

    def fingerprint(self) -> dict[str, Any]:
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


def open_sink(plan: OutputPlan, *, fingerprint: Mapping[str, Any] | None) -> Sink:
    """The destination, opened; ``fingerprint`` None means a file export is not resumable."""
    destination = plan.destination
    if destination.kind == "stdout":
        # -f none writes nothing: a closed standard output is no concern of a --db run.
        return StdoutSink(None if plan.writer_class.writes_rows else io.BytesIO())
    if destination.kind == "stream":
        return StreamSink(destination)
    assert destination.target is not None
    export = FileExport(destination.target, fingerprint, resume=plan.spec.resume, shown=destination.path)
    export.open()
    return export


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


class Run(Protocol):
    """A run writing through an ``Output`` that has more to do when it stops short
    (``export.ListExport``: checkpoint, end its snapshots, say how to go on)."""

    def stopped(self, error: BaseException) -> None:
        """The run stops with ``error``: keep what it did (called before the output closes)."""

    def resume_note(self, error: BaseException | None = None) -> str | None:
        """How far it got and how to go on (asked after the output closed)."""


@contextlib.contextmanager
def open_output(plan: OutputPlan, *, names: Sequence[str] = ()) -> Iterator[Output]:
    """The output of one run: a regular -o FILE is claimed at once (created folder, lock), so
    an overlapping run fails before any request with BusyError; the destination is opened on
    first use, and rows are written within ``Output.writing``.

    ``names``: the accounts of the run, known before any row (the table sizes its columns
    by them); ``Output.set_fingerprint`` makes a file export resumable.
    """
    output = Output(plan, names=names)
    destination = plan.destination
    with contextlib.ExitStack() as held:
        if destination.kind == "file":
            assert destination.target is not None
            make_folder(destination.target, shown=destination.path)
            held.enter_context(ExportLock(destination.target))  # creating it beside FILE proves FILE can be
        try:
            yield output
        except BaseException as exc:  # a failure before the rows began: the same clean-up
            output.end(exc)
            raise
        output.end(None)


class Output:
    """Where one run's rows go: the destination, opened on first use, and its writer, made
    when the run starts writing (after the account is resolved, so a missing one fails
    before any header or JSON's "["). ``writing`` is the one clean-up path."""

    def __init__(self, plan: OutputPlan, *, names: Sequence[str] = ()) -> None:
        self.plan = plan
        self.rows = 0  # rows the destination holds: a resumed export's, then this run's
        self._fingerprint: Mapping[str, Any] | None = None
        self._names = tuple(names)
        self._to_row = row_maker(plan)
        self._sink: Sink | None = None
        self._writer: Writer | None = None
        self._run: Run | None = None
        self._begun = False  # writing() was entered: the run's own rules keep or drop its file
        self._unfinished = False
        self._ended = False

    # --- the destination ------------------------------------------------------------

    def set_fingerprint(self, fingerprint: Mapping[str, Any]) -> None:
        """What makes two exports "the same command", so a later run resumes this one's
        file (before the destination is opened; without it, a file export is atomic but
        not resumable)."""
        assert self._sink is None, "set_fingerprint() before the destination is opened"
        self._fingerprint = fingerprint

    @property
    def sink(self) -> Sink:
        if self._sink is None:
            self._sink = open_sink(self.plan, fingerprint=self._fingerprint)
        return self._sink

    @property
    def resumed(self) -> Checkpoint | None:
        """The checkpoint of the unfinished export this run continues, if any."""
        return self.sink.resumed

    @property
    def seen(self) -> SeenAccounts:
        return self.sink.seen

    @property
    def path(self) -> Path | None:
        return self.sink.path

    @property
    def part(self) -> Path | None:
        return self.sink.part

    @property
    def resumable(self) -> bool:
        return self.sink.resumable

    @property
    def has_progress(self) -> bool:
        return self.sink.has_progress

    @property
    def to_terminal(self) -> bool:
        return self.sink.to_terminal

    # --- writing ----------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self, run: Run | None = None, *, rows_written: int = 0) -> Iterator[Output]:
        """The rows of the run: at the end, the writer is closed and the output committed
        (or kept for a resume, after ``keep_unfinished``). After a failure or a signal,
        what was written is flushed, ``run`` stops, the output is closed (its part file
        kept for a resume or dropped, by ``end``'s rule) and the error is raised with its
        exit code and ``run``'s note. ``rows_written``: rows a resumed export holds."""
        self._run, self._begun, self.rows = run, True, rows_written
        try:
            yield self
        except BaseException as exc:
            self.end(exc)  # closes the output, then raises the error as the run's
            raise
        self.end(None)

    def start(self) -> None:
        """Write the header (or JSON's "["): the run is ready to write rows."""
        if self._writer is not None:
            return
        sink = self.sink
        options = WriterOptions(
            header=sink.resumed is None,
            formula_guard=self.plan.spec.formula_guard,
            excel=self.plan.spec.excel,
            terminal=sink.to_terminal,
            rows_written=self.rows,
            names=self._names,
        )
        self._writer = self.plan.writer_class(sink.stream, self.plan.columns, options)
        if self._fingerprint is not None and sink.resumed is None:
            self.page_written(())  # a resume keeps the header the writer just wrote

    def write_page(
        self, users: Sequence[User], owner: str | None, fetched_at: str | None, digests: Iterable[int] = ()
    ) -> None:
        """Write ``users`` (the list's ``owner``, when they were fetched) as one whole page;
        ``digests``: their de-duplication digests, kept for a resume."""
        self.start()
        assert self._writer is not None
        to_row = self._to_row
        self._writer.write_rows([to_row(user, owner, fetched_at) for user in users])
        self.rows += len(users)
        self.page_written(digests)

    def write_rows(self, rows: Iterable[Any], *, flush_every: int) -> None:
        """Write ``rows`` as they are (a report's, as the database streams them), flushed
        every ``flush_every`` rows, so memory stays flat and a pipe sees rows as they come."""
        self.start()
        assert self._writer is not None
        write, flush = self._writer.write, self._writer.flush
        count = 0
        try:
            for row in rows:
                write(row)
                count += 1
                if count % flush_every == 0:
                    flush()
        finally:
            self.rows += count

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def page_written(self, digests: Iterable[int]) -> None:
        """Everything written so far is whole: flush it, and mark it for the checkpoint."""
        self.flush()
        self.sink.mark(digests)

    def save(self, progress: Mapping[str, Any]) -> None:
        """Checkpoint up to the last whole page, with the run's ``progress``."""
        self.sink.save(progress)

    def keep_unfinished(self) -> None:
        """The run did not finish: at the end, keep what it wrote for a resume, not FILE."""
        self._unfinished = True

    def end(self, exc: BaseException | None) -> None:
        """The one clean-up path (run once). With no failure: finish the writer and commit
        (or keep the unfinished part). After ``exc``: flush what was written, let the run stop,
        close, and raise the error. A failure the same command cannot get past (a private
        list, a missing setting) keeps no part file unless rows were written: those wait for
        it to change; nor does a Ctrl-C before the first row. A failure before ``writing``
        began keeps what a resume would continue (a refused resume)."""
        if self._ended:
            return
        self._ended = True
        if exc is None:
            self._finish()
            return
        if self._sink is None:
            return  # nothing was opened: the failure is raised as it is
        from tiktok_cli.signals import as_interrupted

        error = output_failure(as_interrupted(exc), self._sink)
        if self._writer is not None:
            with contextlib.suppress(Exception):  # a second failure must not hide the first
                self._writer.close()
        if self._run is not None:
            with contextlib.suppress(Exception):
                self._run.stopped(error)
        worth_keeping = rerun_can_pass(error) and not isinstance(error, Interrupted)
        self._sink.close(keep=not self._begun or self.rows > 0 or worth_keeping)
        note = self._run.resume_note(error) if self._run is not None else None
        raise with_note(error, note) from None

    def _finish(self) -> None:
        try:
            if self._begun:
                self.start()  # an empty run still writes its header
            if self._writer is not None:
                self._writer.close()
            if self._sink is None:
                return
            if self._unfinished or not self._begun:
                self._sink.close()  # transient failures: keep the part file for a resume
            else:
                self._sink.commit()
        except BaseException as exc:  # a failure to finish is the run's failure
            self._ended = False
            self.end(exc)
            raise


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
