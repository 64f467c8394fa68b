"""Opening a SQLite store: another program's file is left as it was, read commands only
read (also where nothing can be written), and a new store is private to its owner."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fakeserver import Account, sec_uid_for
from helpers import Serve, csv_rows, invoke, spawn_cli

RECORDERS = [
    ("followers", "alice", "-f", "none"),
    ("followings", "alice", "-f", "none"),
    ("user-info", "alice"),
]
READERS = [("changes", "alice"), ("history", "alice"), ("snapshots", "alice"), ("doctor",)]


def alice(members: list[int] | None = None) -> Account:
    count = len(members) if members is not None else 6
    return Account("alice", "6754915036232582149", sec_uid_for("alice"), count, 3, members=members)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder`` and its bytes: what a refused store must leave as it was."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("command", RECORDERS + READERS, ids=lambda c: c[0])
@pytest.mark.parametrize("wal", [False, True], ids=["rollback-journal", "wal"])
def test_another_programs_database_is_left_byte_for_byte(
    serve: Serve, tmp_path: Path, command: tuple[str, ...], wal: bool
) -> None:
    other = tmp_path / "photos.db"
    with contextlib.closing(sqlite3.connect(other)) as connection, connection:
        if wal:  # reading a WAL database makes -wal and -shm files: none may be left
            connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
        connection.execute("INSERT INTO photos (path) VALUES ('a.jpg')")
    before = folder_bytes(tmp_path)
    server = serve(accounts=[alice()])
    result = invoke(*command, "--db", str(other))
    assert result.exit_code == 5, result.stderr
    assert "is not a tiktok-cli store" in result.stderr + result.stdout  # doctor reports on stdout
    # Not even its journal-mode bytes (18-19) or change counter: nothing was written.
    assert folder_bytes(tmp_path) == before
    assert not any(path.endswith("/followers") for path in server.requests)


@pytest.mark.parametrize("command", READERS, ids=lambda c: c[0])
def test_an_empty_file_is_refused_by_a_read_command_and_stays_empty(
    serve: Serve, tmp_path: Path, command: tuple[str, ...]
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    serve(accounts=[alice()])
    result = invoke(*command, "--db", str(empty))
    assert result.exit_code == 5, result.stderr
    assert "is empty" in result.stderr + result.stdout
    assert folder_bytes(tmp_path) == {"empty.db": b""}


def test_a_new_store_is_readable_by_its_owner_alone(serve: Serve, tmp_path: Path) -> None:
    serve(accounts=[alice()])
    previous = os.umask(0o022)  # the usual umask, which would let others read a 0644 file
    try:
        store = tmp_path / "new" / "tiktok.db"
        assert invoke("followers", "alice", "--db", str(store), "-f", "none").exit_code == 0
        assert mode(store) == 0o600
        # A read connection leaves SQLite's -wal and -shm beside the store: they take its mode.
        assert invoke("snapshots", "alice", "--db", str(store), "-f", "csv").exit_code == 0
        for companion in ("tiktok.db-wal", "tiktok.db-shm"):
            assert mode(store.with_name(companion)) == 0o600
    finally:
        os.umask(previous)


def test_an_existing_empty_file_becomes_the_store_and_keeps_its_mode(serve: Serve, tmp_path: Path) -> None:
    store = tmp_path / "tiktok.db"
    store.touch()
    store.chmod(0o640)  # made ahead, say for a group that reads the reports
    serve(accounts=[alice()])
    assert invoke("followers", "alice", "--db", str(store), "-f", "none").exit_code == 0
    assert mode(store) == 0o640
    result = invoke("snapshots", "alice", "--db", str(store), "-f", "csv")
    assert [row[4] for row in csv_rows(result.stdout_bytes)[1:]] == ["complete"]


def test_a_read_command_changes_no_byte_of_the_store(serve: Serve, tmp_path: Path) -> None:
    """Read commands open the store read-only (SQLite's mode=ro)."""
    store = tmp_path / "tiktok.db"
    server = serve(accounts=[alice(members=[1, 2, 3])])
    assert invoke("followers", "alice", "--db", str(store), "-f", "none").exit_code == 0
    server.accounts["alice"].members = [2, 3, 4]
    assert invoke("followers", "alice", "--db", str(store), "-f", "none").exit_code == 0
    before = store.read_bytes()
    for command in READERS:
        assert invoke(*command, "--db", str(store)).exit_code == 0
    assert store.read_bytes() == before


@pytest.fixture
def sealable(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], None]]]:
    """A folder, and how to make it and its files impossible to write.

    For a user other than root, ``chmod`` does it (0444 files in a 0555 folder). Root
    writes through any mode, so for root the folder is a tmpfs mounted for the test and
    remounted read-only: a read-only file system, where SQLite cannot even make the
    ``-shm`` file a WAL reader needs.
    """
    folder = tmp_path / "sealed"
    folder.mkdir()
    if os.geteuid() != 0:

        def seal() -> None:
            for path in folder.iterdir():
                path.chmod(0o444)
            folder.chmod(0o555)

        try:
            yield folder, seal
        finally:
            folder.chmod(0o755)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", str(folder)], check=True)

    def seal_root() -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        with pytest.raises(OSError):  # it is read-only, even for root
            (folder / "probe").touch()

    try:
        yield folder, seal_root
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_read_commands_work_where_nothing_can_be_written(
    serve: Serve, sealable: tuple[Path, Callable[[], None]]
) -> None:
    folder, seal = sealable
    store = folder / "tiktok.db"
    server = serve(accounts=[alice(members=[1, 2, 3])])
    assert invoke("followers", "alice", "--db", str(store), "-f", "none").exit_code == 0
    server.accounts["alice"].members = [2, 3, 4]
    for _ in range(2):  # an unfollow is told once two complete snapshots miss the member
        assert invoke("followers", "alice", "--db", str(store), "-f", "none").exit_code == 0
    assert invoke("user-info", "alice", "--db", str(store)).exit_code == 0
    seal()
    before = folder_bytes(folder)
    changes = invoke("changes", "alice", "--from", "1", "--to", "3", "--db", str(store), "-f", "csv")
    assert changes.exit_code == 0, changes.stderr
    assert sorted(row[1] for row in csv_rows(changes.stdout_bytes)[1:]) == ["followed", "unfollowed"]
    snapshots = invoke("snapshots", "alice", "--db", str(store), "-f", "csv")
    assert [row[4] for row in csv_rows(snapshots.stdout_bytes)[1:]] == ["complete"] * 3
    history = invoke("history", "alice", "--db", str(store), "-f", "csv")
    assert history.exit_code == 0 and len(csv_rows(history.stdout_bytes)) >= 2
    assert folder_bytes(folder) == before


# --- stopping a long read ---------------------------------------------------------------------

SLOW_MEMBERS = 600_000


def slow_store(path: Path) -> None:
    """A store where `changes --from 1 --to 3` runs two long statements that return no row:
    every member left at snapshot 2 and came back at 3, so each is a candidate that its
    probe rules out, all inside one step of SQLite."""
    from tiktok_cli.store import open_store

    open_store(str(path), create=True).close()  # the schema, as the tool makes it
    stamp = "2026-12-01T03:00:00.000000Z"
    members = range(2, SLOW_MEMBERS + 2)
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(
            "INSERT INTO accounts (id, account_key, user_id, unique_id, updated_at) "
            "VALUES (1, 'id:1', '1', 'alice', ?)",
            (stamp,),
        )
        connection.execute("INSERT INTO lists (id, owner_id, kind) VALUES (1, 1, 'followers')")
        connection.executemany(
            "INSERT INTO snapshots (id, list_id, backend, started_at, finished_at, status, rows) "
            "VALUES (?, 1, 'tkapi', ?, ?, 'complete', ?)",
            [(run, stamp, stamp, SLOW_MEMBERS) for run in (1, 2, 3)],
        )
        connection.executemany(
            "INSERT INTO accounts (id, account_key, user_id, updated_at) VALUES (?, 'id:' || ?, ?, ?)",
            ((i, i, str(i), stamp) for i in members),
        )
        connection.executemany(
            "INSERT INTO memberships (list_id, member_id, first_run, last_run, ended_run) "
            "VALUES (1, ?, 1, 1, 2)",
            ((i,) for i in members),
        )
        connection.executemany(
            "INSERT INTO memberships (list_id, member_id, first_run) VALUES (1, ?, 3)",
            ((i,) for i in members),
        )


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """slow_store, made once for the tests that read it (they write nothing to it)."""
    path = tmp_path_factory.mktemp("slow") / "tiktok.db"
    slow_store(path)
    return path


def opened(process: subprocess.Popen[bytes], path: Path) -> bool:
    """Whether ``process`` has ``path`` open (it is reading the store)."""
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{process.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if fd.readlink() == path:
                    return True
    return False


def cpu_seconds(pid: int) -> float:
    """The CPU time ``pid`` has used so far (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def finish(process: subprocess.Popen[bytes]) -> tuple[int, float, bytes]:
    """Wait for ``process``: its exit code, the CPU time it used in all, and its stderr."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None and process.stdout is not None
    process.stdout.close()
    with process.stderr:
        return process.returncode, usage.ru_utime + usage.ru_stime, process.stderr.read()


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGTERM, 143, b"tiktok: error: terminated"), (signal.SIGINT, 130, b"tiktok: interrupted")],
)
def test_a_signal_stops_changes_inside_a_long_query(
    serve: Serve, tmp_path: Path, slow: Path, signum: int, code: int, said: bytes
) -> None:
    """Measured in CPU time, not wall time: the machine may be busy with other work."""
    server = serve(accounts=[alice()])
    store = slow
    command = ("changes", "alice", "--from", "1", "--to", "3", "--db", str(store), "-f", "csv")
    exit_code, whole, _ = finish(spawn_cli(server, *command, cwd=tmp_path))
    assert exit_code == 0
    process = spawn_cli(server, *command, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not opened(process, store) and time.monotonic() < deadline:
        time.sleep(0.005)
    inside = cpu_seconds(process.pid) + 0.2  # well inside the first long statement
    while cpu_seconds(process.pid) < inside and time.monotonic() < deadline:
        time.sleep(0.005)
    before = cpu_seconds(process.pid)
    process.send_signal(signum)
    exit_code, used, stderr = finish(process)
    assert exit_code == code, stderr
    assert stderr == said + b"\n"  # a user's Ctrl-C is no error
    # Without the fix the signal waited for the statement to end: most of the run.
    after, left = used - before, whole - before
    assert left > 1.0, f"the store is too small to tell ({whole:.2f} s of CPU in all)"
    assert after < min(0.4, left / 3), (after, left)


def running_queries(engine: sa.Engine) -> list[str]:
    """The statements over memberships that other sessions are running on the server."""
    with engine.connect() as connection:
        return list(
            connection.exec_driver_sql(
                "SELECT query FROM pg_stat_activity WHERE state = 'active' "
                "AND pid <> pg_backend_pid() AND query LIKE '%%memberships%%'"
            ).scalars()
        )


def test_a_signal_cancels_the_query_of_changes_on_postgresql(
    serve: Serve, tmp_path: Path, pg_url: str
) -> None:
    """The process stops, and so does its query on the server: a client that only goes
    away leaves it running until the server next writes to it. The query is made to
    wait, as long as the test likes, behind a lock the test holds."""
    server = serve(accounts=[alice(members=[1, 2, 3])])
    for members in ([1, 2, 3], [2, 3, 4]):
        server.accounts["alice"].members = members
        assert invoke("followers", "alice", "--db", pg_url, "-f", "none").exit_code == 0
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql("LOCK TABLE memberships IN ACCESS EXCLUSIVE MODE")
            process = spawn_cli(server, "changes", "alice", "--db", pg_url, "-f", "csv", cwd=tmp_path)
            deadline = time.monotonic() + 60
            while not running_queries(engine) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert process.poll() is None and running_queries(engine)
            process.send_signal(signal.SIGTERM)
            exit_code, _, stderr = finish(process)
            assert exit_code == 143, stderr
            assert stderr == b"tiktok: error: terminated\n"
            time.sleep(0.2)
            assert running_queries(engine) == []
            holder.rollback()
    finally:
        engine.dispose()


def test_a_read_command_opens_a_store_that_refuses_writes(serve: Serve, db_target: str) -> None:
    """What the read commands open: SQLite's mode=ro, a read-only session on PostgreSQL."""
    from tiktok_cli.store import open_store

    serve(accounts=[alice()])
    assert invoke("followers", "alice", "--db", db_target, "-f", "none").exit_code == 0
    with open_store(db_target, create=False) as store:
        assert store.connection.execute(sa.text("SELECT count(*) FROM snapshots")).scalar_one() == 1
        with pytest.raises(sa.exc.DBAPIError, match=r"read-only|readonly"):
            store.connection.execute(sa.text("DELETE FROM snapshots"))
