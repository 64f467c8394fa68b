"""Recording into the snapshot store (`--db`), on SQLite and on a real PostgreSQL server.

Each test runs the real command against the local server and reads the store back
with SQLAlchemy, as a user querying it with sqlite3 or psql would.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fakeserver import TOKEN, UID_BASE, Account, FakeTikTok, Fault, sec_uid_for
from helpers import Serve, error_line, invoke, jsonl, spawn_cli, sqlalchemy_url, wait_for_rows

ALICE_UID = "6754915036232582149"


def alice(members: list[int] | None = None, **kwargs: Any) -> Account:
    followers = len(members) if members is not None else kwargs.pop("followers", 12)
    return Account("alice", ALICE_UID, sec_uid_for("alice"), followers, 3, members=members, **kwargs)


def fan(index: int) -> str:
    return str(UID_BASE + index)


@pytest.fixture
def store(db_target: str) -> Iterator[sa.Engine]:
    """The store's database, for reading it back (the runs create it)."""
    engine = sa.create_engine(sqlalchemy_url(db_target), poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def query(engine: sa.Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql), params)]


def snapshots(engine: sa.Engine) -> list[tuple[Any, ...]]:
    return query(engine, "SELECT id, status, rows, reported_total, note FROM snapshots ORDER BY id")


def members(engine: sa.Engine, at: int) -> set[str]:
    """The user ids on alice's followers list as of snapshot ``at``."""
    return {
        row[0]
        for row in query(
            engine,
            "SELECT a.user_id FROM memberships m JOIN accounts a ON a.id = m.member_id "
            "WHERE m.first_run <= :at AND (m.ended_run IS NULL OR m.ended_run > :at)",
            at=at,
        )
    }


def record(db: str, *args: str) -> None:
    result = invoke("followers", "alice", "--db", db, "-f", "none", *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""


def test_a_run_records_a_complete_snapshot_and_the_owner(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    serve(accounts=[alice(list(range(30)))], page_size=8)
    record(db_target)
    assert snapshots(store) == [(1, "complete", 30, 30, None)]
    assert members(store, 1) == {fan(i) for i in range(30)}
    owner = query(
        store,
        "SELECT s.owner_name, a.user_id, l.kind FROM snapshots s JOIN lists l ON l.id = s.list_id "
        "JOIN accounts a ON a.id = l.owner_id",
    )
    assert owner == [("alice", ALICE_UID, "followers")]
    # The owner's look-up is an observation of its counts.
    assert query(store, "SELECT followers, following FROM observations") == [(30, 3)]


def test_follow_and_unfollow_open_and_end_intervals(serve: Serve, db_target: str, store: sa.Engine) -> None:
    server = serve(accounts=[alice(list(range(10)))], page_size=4)
    record(db_target)
    server.accounts["alice"].members = [10, *range(9)]  # fan 10 followed, fan 9 left
    record(db_target)
    assert [s[1] for s in snapshots(store)] == ["complete", "complete"]
    assert members(store, 1) - members(store, 2) == {fan(9)}
    assert members(store, 2) - members(store, 1) == {fan(10)}
    ended = query(store, "SELECT first_run, last_run, ended_run FROM memberships WHERE ended_run IS NOT NULL")
    assert ended == [(1, 1, 2)]
    # An unchanged member costs no write: its one row still says only where it began.
    assert query(store, "SELECT count(*) FROM memberships") == [(11,)]


def test_a_refollow_after_an_unfollow_is_a_new_interval(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve(accounts=[alice([0, 1])])
    record(db_target)
    server.accounts["alice"].members = [0]
    record(db_target)
    server.accounts["alice"].members = [1, 0]
    record(db_target)
    rows = query(
        store,
        "SELECT m.first_run, m.ended_run FROM memberships m JOIN accounts a ON a.id = m.member_id "
        "WHERE a.user_id = :uid ORDER BY m.first_run",
        uid=fan(1),
    )
    assert rows == [(1, 2), (3, None)]
    assert [members(store, s) for s in (1, 2, 3)] == [{fan(0), fan(1)}, {fan(0)}, {fan(0), fan(1)}]


def passthrough(server: FakeTikTok) -> Fault:
    """A fault that answers as the server would: the scripted faults after it hit later pages."""
    return Fault("/tk/user/followers", body=lambda query: server.followers(query)[1])


def capped(server: FakeTikTok) -> Fault:
    """A page claiming more, with no cursor to fetch it: TikTok's list cap."""

    def body(query: dict[str, str]) -> bytes:
        page = json.loads(server.followers(query)[1])
        page["data"]["min_time"] = -1
        page["data"]["has_more"] = True
        return json.dumps(page).encode()

    return Fault("/tk/user/followers", body=body)


# How a run can stop short of a whole list: its arguments, the server's faults, the note.
INCOMPLETE_RUNS: dict[str, tuple[tuple[str, ...], Any, str]] = {
    "limit": (("--limit", "5"), lambda s: [], "stopped by --limit 5"),
    "failure": ((), lambda s: [passthrough(s), Fault("/tk/user/followers", 500)], "HTTP 500"),
    "cap": ((), lambda s: [passthrough(s), capped(s)], "TikTok stopped serving the list after 8 accounts"),
    "cursor": (("--cursor", str(1_700_000_000 - 3)), lambda s: [], "started in the middle of the list"),
}


@pytest.mark.parametrize("case", sorted(INCOMPLETE_RUNS))
def test_a_run_that_is_not_complete_never_ends_a_membership(
    serve: Serve, db_target: str, store: sa.Engine, case: str
) -> None:
    args, faults, note = INCOMPLETE_RUNS[case]
    server = serve(accounts=[alice(list(range(12)))], page_size=4)
    record(db_target)
    server.accounts["alice"].members = [20, *range(11)]  # fan 20 followed, fan 11 left
    server.faults = faults(server)
    result = invoke("followers", "alice", "--db", db_target, "-f", "none", "--retries", "0", *args)
    assert result.exit_code in (0, 7), result.stderr
    second = snapshots(store)[1]
    assert second[1] == "incomplete" and note in second[4], second
    # Nobody left the list as far as the store knows: only a complete run could say so.
    assert query(store, "SELECT count(*) FROM memberships WHERE ended_run IS NOT NULL") == [(0,)]
    assert fan(11) in members(store, second[0])
    # The next complete run settles it.
    server.faults = []
    record(db_target)
    third = snapshots(store)[2]
    assert third[1] == "complete"
    assert members(store, third[0]) == {fan(i) for i in [20, *range(11)]}


def test_a_new_username_is_recorded_as_a_rename(serve: Serve, db_target: str, store: sa.Engine) -> None:
    server = serve(accounts=[alice(list(range(5)))])
    record(db_target)
    server.accounts["alice"].names = {3: "fan_three"}
    record(db_target)
    assert query(store, "SELECT old_unique_id, new_unique_id, run FROM renames") == [
        ("fan_000003", "fan_three", 2)
    ]
    assert query(store, "SELECT unique_id FROM accounts WHERE user_id = :uid", uid=fan(3)) == [("fan_three",)]
    assert [s[1] for s in snapshots(store)] == ["complete", "complete"]
    assert members(store, 2) == members(store, 1)


def test_a_resumed_file_export_continues_its_snapshot(
    serve: Serve, db_target: str, store: sa.Engine, tmp_path: Path
) -> None:
    server = serve(accounts=[alice(list(range(12)))], page_size=4)
    out = tmp_path / "out.csv"
    server.faults = [passthrough(server), Fault("/tk/user/followers", 500)]
    failed = invoke("followers", "alice", "--db", db_target, "-o", str(out), "--retries", "0")
    assert failed.exit_code == 7
    assert snapshots(store) == [(1, "incomplete", 4, 12, snapshots(store)[0][4])]
    resumed = invoke("followers", "alice", "--db", db_target, "-o", str(out))
    assert resumed.exit_code == 0, resumed.stderr
    assert snapshots(store) == [(1, "complete", 12, 12, None)]
    assert members(store, 1) == {fan(i) for i in range(12)}


def test_a_resume_without_its_store_starts_a_snapshot_that_cannot_be_complete(
    serve: Serve, db_target: str, store: sa.Engine, tmp_path: Path
) -> None:
    server = serve(accounts=[alice(list(range(12)))], page_size=4)
    out = tmp_path / "out.csv"
    server.faults = [passthrough(server), Fault("/tk/user/followers", 500)]
    assert invoke("followers", "alice", "-o", str(out), "--retries", "0").exit_code == 7
    resumed = invoke("followers", "alice", "--db", db_target, "-o", str(out))
    assert resumed.exit_code == 0, resumed.stderr
    [(_, status, rows, _, note)] = snapshots(store)
    assert (status, rows) == ("incomplete", 8) and "middle of the list" in note


def test_user_info_records_an_observation_of_the_counts(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    serve(accounts=[alice(followers=40)])
    result = invoke("user-info", "alice", "--db", db_target, "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(jsonl(result.stdout)) == 1
    assert query(
        store,
        "SELECT a.unique_id, o.followers, o.following, o.backend FROM observations o "
        "JOIN accounts a ON a.id = o.account_id",
    ) == [("alice", 40, 3, "gateway")]


def test_followings_are_a_list_of_their_own(serve: Serve, db_target: str, store: sa.Engine) -> None:
    serve(accounts=[alice(followers=5)])
    assert invoke("followings", "alice", "--db", db_target, "-f", "none").exit_code == 0
    record(db_target)
    assert query(store, "SELECT kind FROM lists ORDER BY kind") == [("followers",), ("followings",)]
    assert [s[1:3] for s in snapshots(store)] == [("complete", 3), ("complete", 5)]


def test_secrets_never_reach_the_store(serve: Serve, db_target: str, store: sa.Engine) -> None:
    serve(accounts=[alice(followers=10)])
    record(db_target)
    assert invoke("user-info", "alice", "--db", db_target, "-f", "none").exit_code == 0
    dumped = []
    with store.connect() as connection:
        for table in sa.inspect(store).get_table_names():
            dumped += [repr(tuple(row)) for row in connection.execute(sa.text(f"SELECT * FROM {table}"))]
    text = "\n".join(dumped)
    assert TOKEN not in text and "token" not in text.lower()
    if "://" not in db_target:
        assert TOKEN.encode() not in Path(db_target).read_bytes()


def test_none_writes_no_rows_and_takes_no_output_file(serve: Serve, db_target: str, tmp_path: Path) -> None:
    serve(accounts=[alice(followers=10)])
    line = error_line(
        invoke("followers", "alice", "--db", db_target, "-f", "none", "-o", str(tmp_path / "x")), 2
    )
    assert "-f none writes no rows" in line
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("format", ["jsonl", "csv"])
def test_fetched_at_is_a_field_on_request(serve: Serve, format: str) -> None:
    serve(accounts=[alice(followers=3)])
    result = invoke("followers", "alice", "-f", format, "--fields", "unique_id,fetched_at")
    assert result.exit_code == 0, result.stderr
    stamps = (
        [row["fetched_at"] for row in jsonl(result.stdout)]
        if format == "jsonl"
        else [line.split(",")[1] for line in result.stdout.splitlines()[1:]]
    )
    assert len(stamps) == 3
    for stamp in stamps:
        assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), stamp
    info = jsonl(invoke("user-info", "alice", "-f", "jsonl", "--fields", "fetched_at").stdout)
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", info[0]["fetched_at"])


# --- real processes: SIGKILL, two writers, schema versions -----------------------------


def table_dump(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The store's contents without its clocks (times differ between any two runs)."""
    return {
        "snapshots": query(
            engine,
            "SELECT id, list_id, owner_name, backend, status, note, rows, reported_total "
            "FROM snapshots ORDER BY id",
        ),
        "memberships": query(
            engine, "SELECT list_id, member_id, first_run, last_run, ended_run FROM memberships ORDER BY id"
        ),
        "accounts": query(
            engine, "SELECT account_key, user_id, unique_id, followers FROM accounts ORDER BY account_key"
        ),
        "renames": query(
            engine, "SELECT account_id, old_unique_id, new_unique_id, run FROM renames ORDER BY id"
        ),
    }


@pytest.fixture
def slow_server() -> Iterator[FakeTikTok]:
    with FakeTikTok(accounts=[alice(followers=600)], latency=0.02) as srv:
        yield srv


def test_sigkill_then_resume_leaves_the_store_an_uninterrupted_run_leaves(
    slow_server: FakeTikTok, db_target: str, store: sa.Engine, tmp_path: Path
) -> None:
    whole_db = str(tmp_path / "whole.db")
    with spawn_cli(
        slow_server, "followers", "alice", "--db", whole_db, "-o", "whole.csv", cwd=tmp_path
    ) as whole:
        assert whole.wait(60) == 0
    with spawn_cli(
        slow_server, "followers", "alice", "--db", db_target, "-o", "out.csv", cwd=tmp_path
    ) as victim:
        wait_for_rows(tmp_path / ".out.csv.checkpoint", 100)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    assert query(store, "SELECT status FROM snapshots") == [("running",)]
    with spawn_cli(
        slow_server, "followers", "alice", "--db", db_target, "-o", "out.csv", cwd=tmp_path
    ) as resumed:
        _, err = resumed.communicate(timeout=60)
        assert resumed.returncode == 0, err
    whole_engine = sa.create_engine(f"sqlite:///{whole_db}", poolclass=sa.pool.NullPool)
    try:
        assert table_dump(store) == table_dump(whole_engine)
    finally:
        whole_engine.dispose()
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_two_processes_record_into_one_store_at_once(
    db_target: str, store: sa.Engine, tmp_path: Path
) -> None:
    accounts = [
        Account(name, str(6754915036232582149 + n), sec_uid_for(name), 300 + n, 3)
        for n, name in enumerate(["alice", "bob", "carol"])
    ]
    with FakeTikTok(accounts=accounts, latency=0.005) as server:
        runs = [
            spawn_cli(server, "followers", name, "--db", db_target, "-f", "none", cwd=tmp_path)
            for name in ("alice", "bob", "carol")
        ]
        runs.append(
            spawn_cli(server, "user-info", "alice", "bob", "--db", db_target, "-f", "none", cwd=tmp_path)
        )
        for run in runs:
            _, err = run.communicate(timeout=120)
            assert run.returncode == 0, err
    assert sorted(s[1:3] for s in snapshots(store)) == [
        ("complete", 300),
        ("complete", 301),
        ("complete", 302),
    ]
    # The fans are the same accounts in every list: stored once each, members of three lists.
    assert query(store, "SELECT count(*) FROM accounts WHERE account_key LIKE 'id:7%'") == [(302,)]
    assert query(store, "SELECT count(*) FROM memberships") == [(903,)]
    assert query(store, "SELECT count(*) FROM observations") == [(5,)]


def _old_store(db_target: str, version: str) -> None:
    """A store as an older release left it: its schema at ``version``, with its marker rows."""
    from alembic import command
    from alembic.config import Config

    from tiktok_cli.store.database import FORMAT

    engine = sa.create_engine(sqlalchemy_url(db_target), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", "tiktok_cli.store:migrations")
            config.attributes["connection"] = connection
            command.upgrade(config, version)
            connection.execute(
                sa.text("INSERT INTO store_info (key, value) VALUES ('format', :f), ('id', 'old-store')"),
                {"f": FORMAT},
            )
    finally:
        engine.dispose()


def test_a_store_of_the_previous_schema_is_upgraded_in_place(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    _old_store(db_target, "0001")
    serve(accounts=[alice(followers=5)])
    result = invoke("followers", "alice", "--db", db_target, "-f", "none")
    assert result.exit_code == 0, result.stderr
    from tiktok_cli.store.database import HEAD

    assert "upgrading the store" in result.stderr and f"from schema 0001 to {HEAD}" in result.stderr
    assert query(store, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert query(store, "SELECT value FROM store_info WHERE key = 'id'") == [("old-store",)]
    assert [s[1:3] for s in snapshots(store)] == [("complete", 5)]
    assert query(store, "SELECT count(*) FROM observations") == [(1,)]


def test_a_store_from_a_newer_release_is_refused_untouched(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    _old_store(db_target, "0002")
    with store.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    before = table_dump(store)
    serve(accounts=[alice(followers=5)])
    line = error_line(invoke("followers", "alice", "--db", db_target, "-f", "none"), 5)
    assert "made by a newer tiktok-follows (schema 0999" in line
    assert table_dump(store) == before


def test_another_programs_database_is_refused(serve: Serve, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE photos (id INTEGER)")
    serve(accounts=[alice(followers=5)])
    line = error_line(invoke("followers", "alice", "--db", str(other), "-f", "none"), 5)
    assert "is not a tiktok-cli store: it holds other tables (photos)" in line
    assert "tiktok: error: " in line


def test_a_bad_store_fails_before_any_request(serve: Serve, tmp_path: Path) -> None:
    server = serve(accounts=[alice(followers=5)])
    (tmp_path / "folder.db").mkdir()
    line = error_line(invoke("followers", "alice", "--db", str(tmp_path / "folder.db")), 2)
    assert "is a folder" in line
    unreachable = "postgresql://tiktok:hunter2pass@127.0.0.1:1/db"
    line = error_line(invoke("followers", "alice", "--db", unreachable), 7)
    assert "cannot reach the store" in line and "hunter2pass" not in line and "***" in line
    assert server.requests == []


# Alembic compares no expression index (accounts_name); the names compared below do.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_the_migrations_build_exactly_the_schema_a_new_store_gets(db_target: str) -> None:
    """A new store is made from schema.py and stamped; an old one is upgraded by the
    migrations. Alembic's own comparison holds the two to one schema, and the names of
    the indexes and CHECK constraints, which it does not compare, are the same too."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tiktok_cli.store import open_store
    from tiktok_cli.store.database import HEAD
    from tiktok_cli.store.schema import metadata

    _old_store(db_target, "0001")
    with open_store(db_target, create=False) as store:  # upgraded to HEAD by the migrations
        assert store.id == "old-store"
    engine = sa.create_engine(sqlalchemy_url(db_target), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
            version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
            indexes, checks = _index_and_check_names(connection)
    finally:
        engine.dispose()
    assert differences == []
    assert version == HEAD
    tables = metadata.tables.values()
    assert indexes == {index.name for table in tables for index in table.indexes}
    assert checks == {c.name for t in tables for c in t.constraints if isinstance(c, sa.CheckConstraint)}


def _index_and_check_names(connection: sa.Connection) -> tuple[set[str], set[str]]:
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("SELECT type, name, sql FROM sqlite_master").all()
        indexes = {name for kind, name, _ in rows if kind == "index" and not name.startswith("sqlite_")}
        checks = {
            found
            for kind, _, sql in rows
            if kind == "table"
            for found in re.findall(r"CONSTRAINT (\w+) CHECK", sql)
        }
        return indexes, checks
    indexes = set(
        connection.exec_driver_sql(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"  # keys' own indexes
        ).scalars()
    )
    checks = set(
        connection.exec_driver_sql(
            "SELECT conname FROM pg_constraint WHERE contype = 'c' "
            "AND connamespace = current_schema()::regnamespace"
        ).scalars()
    )
    return indexes, checks


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://tiktok:hunter2pass@127.0.0.1:1/db",
        "postgresql://tiktok@127.0.0.1:1/db?password=hunter2pass",
    ],
)
def test_a_store_password_is_never_shown_or_saved(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = invoke("user-info", "alice", "--db", url, "-f", "none")
    assert result.exit_code == 7 and "hunter2pass" not in result.stdout + result.stderr
    assert "***" in result.stderr
    monkeypatch.setenv("TIKTOK_DB", url)
    shown = invoke("config", "show")
    assert "hunter2pass" not in shown.stdout and "***" in shown.stdout
    refused = invoke("config", "set", "db", url)
    assert refused.exit_code == 2 and "hunter2pass" not in refused.stdout + refused.stderr
    config = tmp_path / "config.toml"
    assert not config.exists() or "hunter2pass" not in config.read_text()


def test_config_set_db_saves_a_file_as_an_absolute_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for given in ("stores/t.db", "sqlite:///stores/t.db"):
        assert invoke("config", "set", "db", given).exit_code == 0
        shown = invoke("config", "show").stdout
        assert f"db = {tmp_path / 'stores' / 't.db'}" in shown, shown
