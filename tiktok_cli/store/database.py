"""Opening a store: which database a ``--db`` target names, and its schema version.

An existing SQLite file is first opened read-only and checked: another program's
database, or a store from a newer release, is refused before anything in it or beside
it changes. A new store is created readable by its owner alone (0600; SQLite gives its
``-wal`` and ``-shm`` files the same mode). Read commands keep the read-only connection
(``mode=ro``, or ``immutable=1`` where even that cannot open: a read-only file system).

A store that will be written runs in WAL mode with a busy timeout, and every writing
transaction starts with ``BEGIN IMMEDIATE``: several processes recording into one file
then queue for the write lock instead of failing with "database is locked" halfway
through. PostgreSQL needs nothing of that: each commit is one transaction.

The schema is versioned by Alembic (``migrations/``). A store at the newest version
opens without importing Alembic; an older one is upgraded under a lock (SQLite's write
lock, a PostgreSQL advisory lock), so two first runs at once cannot both migrate it;
a store from a newer release is refused, never touched.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError, SQLAlchemyError

from tiktok_cli import console
from tiktok_cli.errors import StoreError, StoreFull, StoreUnavailable, UsageError
from tiktok_cli.settings import STORE_SCHEMES, masked_url, url_password
from tiktok_cli.store.schema import metadata, store_info

# The newest schema this release knows, and every older one it can upgrade.
HEAD = "0005"
KNOWN_VERSIONS = ("0001", "0002", "0003", "0004", "0005")
FORMAT = "tiktok-cli snapshot store"
# Seconds a writer waits for another process's SQLite write lock before giving up.
BUSY_TIMEOUT = 60.0
# Any constant, the same in every release: the key of PostgreSQL's migration lock.
_MIGRATION_LOCK = 0x7469_6B74_6F6B
# SQLite's result code for "database or disk is full" (sqlite3.SQLITE_FULL from Python 3.11).
_SQLITE_FULL = 13
_POSTGRES_SCHEMES = tuple(s for s in STORE_SCHEMES if s.startswith("postgres"))


def connect(target: str, *, create: bool) -> Store:
    """Open (and with ``create``, make) the store ``target`` names; see ``open_store``.

    Without ``create`` the store is only read: opened read-only unless its schema must be
    upgraded first."""
    url, label = _parse_target(target, create=create)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        engine = _sqlite_engine(Path(url.database), label, create=create)
    else:
        engine = _engine(url)
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        engine.dispose()
        raise _connect_error(exc, label) from None
    try:
        store_id = _prepare(connection, label, create=create)
        if not create and connection.dialect.name == "postgresql":
            # Read commands read: the server itself refuses anything else from them.
            connection.execution_options(postgresql_readonly=True)
    except BaseException:
        connection.close()
        engine.dispose()
        raise
    return Store(engine, connection, label, store_id, writes=create)


def _parse_target(target: str, *, create: bool) -> tuple[URL, str]:
    """The SQLAlchemy URL for ``target``, and how messages name it (never with a password)."""
    text = target.strip()
    if not text:
        raise UsageError("--db needs a file path or a postgresql:// URL")
    if "://" not in text:
        return _sqlite_url(Path(text).expanduser(), create=create)
    try:
        url = make_url(text)
    except ArgumentError:
        raise UsageError(
            "--db: not a valid database URL (expected postgresql://USER@HOST/DATABASE)"
        ) from None
    password = url_password(text)
    if password:
        console.add_secret(password)
    label = masked_url(text)
    if url.drivername == "sqlite":
        if not url.database:
            raise UsageError("--db sqlite:// needs a file: sqlite:///PATH")
        return _sqlite_url(Path(url.database).expanduser(), create=create)
    if url.drivername not in _POSTGRES_SCHEMES:
        raise UsageError(f"--db {label}: only SQLite files and postgresql:// URLs are supported")
    try:
        import psycopg  # noqa: F401 - only to say how to install it when missing
    except ImportError:
        raise StoreError(
            "a PostgreSQL store needs psycopg",
            hint="pip install 'tiktok-follows[postgres]' (from a clone: pip install '.[postgres]')",
        ) from None
    return url.set(drivername="postgresql+psycopg"), label


def _sqlite_url(path: Path, *, create: bool) -> tuple[URL, str]:
    label = str(path)
    if path.is_dir():
        raise UsageError(f"--db {label} is a folder: name a file, such as {path / 'tiktok.db'}")
    if path.exists() and not path.is_file():
        raise UsageError(f"--db {label} is not a regular file: a SQLite store is a file of its own")
    if not path.exists():
        if not create:
            raise StoreError(f"no store at {label}", hint="record into it first with --db on an export")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store {label}: {exc.strerror}") from None
    return URL.create("sqlite", database=str(path.absolute())), label


def _engine(url: URL) -> Engine:
    # One connection per process is all a run uses; no pool to keep alive.
    return create_engine(url, poolclass=_null_pool(), connect_args={"connect_timeout": 10})


def _sqlite_engine(path: Path, label: str, *, create: bool) -> Engine:
    """An engine on the SQLite file ``path``: read-only for a store that is only read and
    needs no upgrade, else (once the file is known to be a store, or new) in WAL mode."""
    if path.exists() and path.stat().st_size > 0:
        version = _inspect(path, label)
    else:  # SQLite takes an empty file for an empty database: a new store
        if not create:
            raise StoreError(f"{label} is empty: no snapshot was recorded in it")
        version = None
        _create_private(path)
    read_only = not create and version == HEAD
    engine = create_engine("sqlite://", poolclass=_null_pool(), creator=_sqlite_opener(path, read_only))

    @event.listens_for(engine, "connect")
    def _sqlite_setup(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Take transactions out of the driver's hands, so ours begin IMMEDIATE (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable across a crashed process in WAL
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        # A writer takes the lock at BEGIN, where the busy timeout applies, rather than at
        # its first write, where SQLite gives up at once to avoid a deadlock. Readers
        # (plain BEGIN) never wait for writers in WAL mode.
        connection.exec_driver_sql(connection.info.pop("begin", "BEGIN"))

    return engine


def _sqlite_opener(path: Path, read_only: bool) -> Callable[[], sqlite3.Connection]:
    """How the engine opens ``path``: read-write, or read-only (``mode=ro``, falling back
    to ``immutable=1`` where SQLite cannot even open it so: a read-only file system or
    folder, where it could not make the ``-shm`` file WAL readers need)."""

    def open_read_write() -> sqlite3.Connection:
        return sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)

    def open_read_only() -> sqlite3.Connection:
        uri = path.absolute().as_uri()
        connection = sqlite3.connect(
            f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT, check_same_thread=False
        )
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the WAL index
        except sqlite3.OperationalError as exc:
            connection.close()
            if not _cannot_open(exc):
                raise
            # SQLite then reads the file as it is, without locks or the -wal file: right
            # where no one can write (a read-only file system, a copy on read-only media).
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)
        return connection

    return open_read_only if read_only else open_read_write


def _cannot_open(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_READONLY or SQLITE_CANTOPEN (any extended code): nothing can be written there."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (8, 14)
    return str(exc) in ("unable to open database file", "attempt to write a readonly database")


def _inspect(path: Path, label: str) -> str | None:
    """The schema version of the existing file ``path``, read without changing it; another
    program's database, or a store from a newer release, is refused here."""
    # Reading a WAL database makes its -wal and -shm files: a refused file keeps none of ours.
    beside = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    made = [file for file in beside if not file.exists()]
    engine = create_engine("sqlite://", poolclass=_null_pool(), creator=_sqlite_opener(path, True))
    try:
        with engine.connect() as connection:
            return _version(connection, label)
    except (SQLAlchemyError, StoreError) as exc:  # another program's file, or a newer store
        engine.dispose()  # first: the files are closed before they are removed
        _remove(made)
        if isinstance(exc, SQLAlchemyError):  # not a database at all: "cannot use the store …"
            raise _connect_error(exc, label) from None
        raise
    finally:
        engine.dispose()


def _remove(files: list[Path]) -> None:
    for file in files:
        with contextlib.suppress(OSError):
            file.unlink()


def _create_private(path: Path) -> None:
    """Create the new store's file readable by its owner alone: it holds other people's
    follower lists. (An existing file keeps its mode; the -wal and -shm files take it.)"""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another first run made it meanwhile, or it is an empty file of the user's
    except OSError as exc:
        raise StoreError(f"cannot create the store {path}: {exc.strerror}") from None


@contextlib.contextmanager
def writing(connection: Connection) -> Iterator[None]:
    """A transaction that will write: on SQLite it holds the write lock from its start."""
    if connection.in_transaction():  # a read autobegun earlier: end it first
        connection.commit()
    connection.info["begin"] = "BEGIN IMMEDIATE"
    try:
        with connection.begin():
            yield
    finally:
        connection.info.pop("begin", None)


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


def _prepare(connection: Connection, label: str, *, create: bool) -> str:
    """Check the schema version, upgrading or creating the store; returns the store's id."""
    try:
        version = _version(connection, label)
        connection.rollback()
        if version != HEAD:
            if version is None and not create:
                raise StoreError(f"{label} is empty: no snapshot was recorded in it")
            with _foreign_keys_off(connection), writing(connection):
                _lock_for_migration(connection)
                version = _version(connection, label)  # another process may have done it meanwhile
                if version != HEAD:
                    _migrate(connection, version, label)
        found = connection.execute(select(store_info.c.value).where(store_info.c.key == "id")).scalar()
        connection.rollback()
        if found is None:
            raise StoreError(f"{label} is not a tiktok-cli store (it has no store id)")
        return str(found)
    except OperationalError as exc:
        raise _connect_error(exc, label) from None
    except DBAPIError as exc:
        raise StoreError(f"{label} is not a usable store: {_reason(exc)}") from None


def _version(connection: Connection, label: str) -> str | None:
    """The store's schema version; None for an empty database. Refuses another tool's."""
    tables = _table_names(connection)
    if "alembic_version" not in tables:
        if tables:
            raise StoreError(f"{label} is not a tiktok-cli store: it holds other tables ({_few(tables)})")
        return None
    if "store_info" not in tables:
        raise StoreError(f"{label} is not a tiktok-cli store: it is another program's database")
    version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    marker = connection.execute(select(store_info.c.value).where(store_info.c.key == "format")).scalar()
    if marker != FORMAT:
        raise StoreError(f"{label} is not a tiktok-cli store: it is another program's database")
    if version not in KNOWN_VERSIONS:
        raise StoreError(
            f"{label} was made by a newer tiktok-follows (schema {version}; this one knows up to {HEAD})",
            hint="upgrade tiktok-follows to use it; it was left untouched",
        )
    return str(version)


def _table_names(connection: Connection) -> set[str]:
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    else:
        query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    return {str(name) for name in connection.exec_driver_sql(query).scalars()}


@contextlib.contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite: foreign keys off around a migration's transaction, as SQLite's own recipe
    for rebuilding a table says (dropping the old table would otherwise count every row
    that refers to it as a violation); the migration checks them itself before it ends.
    The pragma only takes effect outside a transaction."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def _lock_for_migration(connection: Connection) -> None:
    """Serialize migrations: SQLite's BEGIN IMMEDIATE already holds the write lock."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")


def _migrate(connection: Connection, version: str | None, label: str) -> None:
    """Create the store, or upgrade it to HEAD, in the caller's transaction.

    A new store is made from ``schema.py`` and stamped HEAD, as Alembic advises for new
    databases (a test holds the migrations to the same schema); only an upgrade loads
    Alembic, and runs the migrations from the store's version on.
    """
    if version is None:
        metadata.create_all(connection)
        _alembic_version.create(connection)
        connection.execute(_alembic_version.insert(), {"version_num": HEAD})
        connection.execute(
            store_info.insert(),
            [{"key": "format", "value": FORMAT}, {"key": "id", "value": uuid.uuid4().hex}],
        )
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "tiktok_cli.store:migrations")
    config.attributes["connection"] = connection
    console.info(f"upgrading the store {label} from schema {version} to {HEAD}")
    command.upgrade(config, HEAD)


# Alembic's own version table, as Alembic creates it (kept apart from the store's tables).
_alembic_version = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def _connect_error(exc: SQLAlchemyError, label: str) -> StoreError | StoreUnavailable:
    reason = _reason(exc)
    if isinstance(exc, NoSuchModuleError):
        return StoreError(f"--db {label}: {reason}")
    if isinstance(exc.__cause__ if isinstance(exc, DBAPIError) else None, sqlite3.Error):
        return StoreError(f"cannot use the store {label}: {reason}")
    if "password authentication failed" in reason or "does not exist" in reason:
        return StoreError(f"cannot use the store {label}: {reason}")
    return StoreUnavailable(f"cannot reach the store {label}: {reason}")


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's own words, on one line, without SQLAlchemy's statement dump."""
    original = getattr(exc, "orig", None) or exc
    return console.redact(" ".join(str(original).split()))[:300] or type(original).__name__


def _few(names: set[str]) -> str:
    shown = sorted(names)[:3]
    return ", ".join(shown) + (", …" if len(names) > 3 else "")


class Store:
    """An open store: one connection, used by one thread at a time (the writing thread)."""

    def __init__(
        self, engine: Engine, connection: Connection, label: str, store_id: str, *, writes: bool = False
    ) -> None:
        self.engine = engine
        self.connection = connection
        self.label = label
        self.id = store_id
        self.dialect = connection.dialect.name
        self.writes = writes  # opened to record: its statistics are kept up to date on close

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(SQLAlchemyError):
            if self.connection.in_transaction():
                self.connection.rollback()
        if self.writes and self.dialect == "sqlite":
            with contextlib.suppress(SQLAlchemyError):  # statistics only speed reads up
                self._keep_statistics()
        with contextlib.suppress(SQLAlchemyError):
            self.connection.close()
        self.engine.dispose()

    def _keep_statistics(self) -> None:
        """SQLite: ANALYZE when the store has no statistics yet, or its memberships have
        more than doubled since they were taken; else ``PRAGMA optimize``, as SQLite
        advises on closing. (PostgreSQL's autovacuum does this by itself.)

        The queries that matter do not depend on statistics (read.py), but every other
        plan is better for them, and a store made by this tool would otherwise never have
        any: SQLite's own ``optimize`` (before 3.46) skips tables never analyzed. Full
        statistics take a second or two per million memberships, so they are retaken
        only as the store grows, not on every run.
        """
        connection = self.connection
        taken = connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).scalar_one()
        stat = None
        if taken:
            stat = connection.exec_driver_sql(
                "SELECT stat FROM sqlite_stat1 WHERE idx = 'memberships_member'"
            ).scalar()
        analyzed = int(str(stat).split()[0]) if stat else 0
        rows = connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM memberships").scalar_one()
        connection.rollback()
        statement = "ANALYZE" if not taken or rows > 2 * analyzed else "PRAGMA optimize"
        with writing(connection):
            connection.exec_driver_sql(statement)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction; database failures become the package's errors."""
        try:
            with writing(self.connection):
                yield self.connection
        except DBAPIError as exc:
            if _disk_full(exc):
                raise StoreFull(
                    f"the store {self.label} is full: {_reason(exc)}",
                    hint="free some space, then run again",
                ) from None
            if isinstance(exc, OperationalError):
                raise StoreUnavailable(f"the store {self.label} failed: {_reason(exc)}") from None
            raise StoreError(f"the store {self.label} refused a write: {_reason(exc)}") from None


def _disk_full(exc: DBAPIError) -> bool:
    """Whether the database ran out of space: SQLite's SQLITE_FULL, PostgreSQL's disk_full."""
    original = exc.orig
    if isinstance(original, sqlite3.Error):
        return getattr(original, "sqlite_errorcode", None) == _SQLITE_FULL
    return getattr(original, "sqlstate", None) == "53100" or "No space left on device" in str(original)
