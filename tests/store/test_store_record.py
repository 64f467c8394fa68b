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
from helpers import (
    Serve,
    csv_rows,
    error_line,
    invoke,
    jsonl,
    query,
    spawn_cli,
    sqlalchemy_url,
    wait_for_rows,
)

from tiktok_cli.models import User
from tiktok_cli.store.database import HEAD

ALICE_UID = "6754915036232582149"


def alice(members: list[int] | None = None, **kwargs: Any) -> Account:
    followers = len(members) if members is not None else kwargs.pop("followers", 12)
    return Account("alice", ALICE_UID, sec_uid_for("alice"), followers, 3, members=members, **kwargs)


def fan(index: int) -> str:
    return str(UID_BASE + index)


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
    assert members(store, 2) - members(store, 1) == {fan(10)}
    # Missed by one complete snapshot: only marked, still a member.
    assert members(store, 1) - members(store, 2) == set()
    marked = "SELECT first_run, missing_run, ended_run FROM memberships WHERE missing_run IS NOT NULL"
    assert query(store, marked) == [(1, 2, None)]
    record(db_target)  # missed by two complete snapshots in a row: the interval ends
    assert [s[1] for s in snapshots(store)] == ["complete", "complete", "complete"]
    assert members(store, 2) - members(store, 3) == {fan(9)}
    ended = query(store, "SELECT first_run, last_run, ended_run FROM memberships WHERE ended_run IS NOT NULL")
    assert ended == [(1, 1, 3)]  # last seen by snapshot 1
    # An unchanged member costs no write: its one row still says only where it began.
    assert query(store, "SELECT count(*) FROM memberships") == [(11,)]


def test_a_member_missing_one_night_and_back_the_next_is_never_unfollowed(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve(accounts=[alice(list(range(10)))], page_size=4)
    record(db_target)
    server.accounts["alice"].members = list(range(9))  # an upstream hiccup hides fan 9 one night
    record(db_target)
    server.accounts["alice"].members = list(range(10))
    record(db_target)
    record(db_target)
    assert (
        query(store, "SELECT first_run, last_run, ended_run, missing_run FROM memberships")
        == [(1, None, None, None)] * 10
    )
    for older, newer in ((1, 2), (2, 3), (3, 4), (1, 4)):
        result = invoke("changes", "alice", "--db", db_target, "--from", str(older), "--to", str(newer))
        assert (result.exit_code, result.stdout) == (0, ""), (older, newer, result.stderr)


def test_a_member_seen_by_a_cut_short_run_between_two_misses_is_never_unfollowed(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve(accounts=[alice(list(range(10)))], page_size=4)
    record(db_target)
    server.accounts["alice"].members = list(range(1, 10))  # fan 0 hidden one night
    record(db_target)
    server.accounts["alice"].members = list(range(10))
    record(db_target, "--limit", "2")  # a peek that shows fan 0: still there
    server.accounts["alice"].members = list(range(1, 10))  # hidden again, another night
    record(db_target)
    assert query(store, "SELECT ended_run FROM memberships WHERE ended_run IS NOT NULL") == []
    for older, newer in ((1, 4), (2, 4)):
        result = invoke("changes", "alice", "--db", db_target, "--from", str(older), "--to", str(newer))
        assert (result.exit_code, result.stdout) == (0, ""), (older, newer, result.stderr)


def test_a_refollow_after_an_unfollow_is_a_new_interval(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve(accounts=[alice([0, 1])])
    record(db_target)
    server.accounts["alice"].members = [0]
    record(db_target)
    record(db_target)  # two nights without fan 1: it unfollowed
    server.accounts["alice"].members = [1, 0]
    record(db_target)
    rows = query(
        store,
        "SELECT m.first_run, m.ended_run FROM memberships m JOIN accounts a ON a.id = m.member_id "
        "WHERE a.user_id = :uid ORDER BY m.first_run",
        uid=fan(1),
    )
    assert rows == [(1, 3), (4, None)]
    assert [members(store, s) for s in (1, 3, 4)] == [{fan(0), fan(1)}, {fan(0)}, {fan(0), fan(1)}]


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
    if case == "cap":  # read from the top down to TikTok's cap: a window, which ends nothing either
        assert second[1] == "window", second
    else:
        assert second[1] == "incomplete" and note in second[4], second
    # Nobody left the list as far as the store knows: only a complete run could say so.
    assert query(store, "SELECT count(*) FROM memberships WHERE ended_run IS NOT NULL") == [(0,)]
    assert fan(11) in members(store, second[0])
    # The next two complete runs settle it: the first marks fan 11 missing, the second ends it.
    server.faults = []
    record(db_target)
    record(db_target)
    third, fourth = snapshots(store)[2:]
    assert (third[1], fourth[1]) == ("complete", "complete")
    assert members(store, third[0]) == {fan(i) for i in [20, *range(12)]}
    assert members(store, fourth[0]) == {fan(i) for i in [20, *range(11)]}


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
        assert f'db = "{tmp_path / "stores" / "t.db"}"' in shown, shown


# --- what may be complete, lost pages, old snapshots ---------------------------------------


def followers_page(server: FakeTikTok, change: Any) -> Fault:
    """The server's own followers page, changed by ``change(data)`` (the token API's payload)."""

    def body(query: dict[str, str]) -> bytes:
        page = json.loads(server.followers(query)[1])
        change(page["data"])
        return json.dumps(page).encode()

    return Fault("/tk/user/followers", body=body)


def emptied(data: dict[str, Any]) -> None:
    data["followers"], data["has_more"], data["total"] = [], False, 0


def test_a_list_that_comes_back_empty_is_not_complete_even_when_tiny(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve(accounts=[alice(list(range(3)))])
    record(db_target)
    server.faults = [followers_page(server, emptied)]  # "no followers at all", and a count of 0
    result = invoke("followers", "alice", "--db", db_target, "-f", "none")
    assert result.exit_code == 0, result.stderr
    assert "kept as incomplete" in result.stderr
    _, status, rows, _, note = snapshots(store)[1]
    assert (status, rows) == ("incomplete", 0)
    assert note == "the list came back empty, where the last complete snapshot (#1) had 3 accounts"
    assert query(store, "SELECT count(*) FROM memberships WHERE missing_run IS NOT NULL") == [(0,)]


def test_a_list_well_short_of_the_last_complete_one_without_a_count_is_not_complete(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve(accounts=[alice(list(range(40)))], page_size=10)

    def ends_early(data: dict[str, Any]) -> None:
        data["has_more"] = False
        del data["total"]

    record(db_target)
    server.faults = [followers_page(server, ends_early)]  # one page of 10, then "no more"
    record(db_target)
    second = snapshots(store)[1]
    assert second[1:3] == ("incomplete", 10)
    assert "well short of the 40 of the last complete snapshot (#1)" in second[4]
    # A list that really shrank, with TikTok's count to vouch for it, is complete.
    server.faults = []
    server.accounts["alice"].members = list(range(20))
    record(db_target)
    assert snapshots(store)[2][1:3] == ("complete", 20)


@pytest.mark.parametrize(
    ("listed", "reported", "skipped", "previous", "plausible"),
    [
        (120, 120, 0, None, True),
        (108, 120, 0, None, True),  # 90% of TikTok's count: deleted and banned accounts it counts
        (100, 120, 0, None, False),
        (100, 120, 10, None, True),  # entries that are no account are on the list all the same
        (0, 4, 0, None, True),  # a tiny list: a few accounts TikTok counts may be gone
        (0, 6, 0, None, False),
        (20, None, 0, (1, 120), False),
        (20, 20, 0, (1, 120), True),  # TikTok's count vouches for a list that shrank
        (3, None, 0, (1, 5), True),
        (0, 0, 0, (1, 2), False),  # empty, where the last complete snapshot was not
        (0, 0, 0, (1, 0), True),
    ],
)
def test_the_plausibility_gate(
    listed: int, reported: int | None, skipped: int, previous: tuple[int, int] | None, plausible: bool
) -> None:
    from tiktok_cli.store.record import implausible

    verdict = implausible(listed, reported=reported, skipped=skipped, previous=previous)
    assert (verdict is None) == plausible, verdict


@pytest.mark.parametrize("checkpoints", ["every page", "at the end"])
def test_a_page_the_store_refused_is_fetched_again_by_the_resume(
    serve: Serve,
    db_target: str,
    store: sa.Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    checkpoints: str,
) -> None:
    from tiktok_cli import export
    from tiktok_cli.store import open_store

    if checkpoints == "every page":
        monkeypatch.setattr(export, "CHECKPOINT_INTERVAL", 0.0)
    serve(accounts=[alice(list(range(20)))], page_size=4)
    assert invoke("followers", "alice", "--db", str(tmp_path / "whole.db"), "-o", "whole.csv").exit_code == 0
    open_store(db_target, create=True).close()
    refuse = f"NEW.user_id = '{fan(10)}'"  # the third page's first account
    with store.begin() as connection:
        if "://" in db_target:
            connection.execute(
                sa.text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF {refuse} THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
                )
            )
            connection.execute(
                sa.text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )
        else:
            connection.execute(
                sa.text(
                    f"CREATE TRIGGER refuse BEFORE INSERT ON accounts WHEN {refuse} "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
    failed = invoke("followers", "alice", "--db", db_target, "-o", "out.csv")
    assert failed.exit_code == 5, failed.stderr
    assert "refused a write" in failed.stderr
    with store.begin() as connection:
        connection.execute(sa.text("DROP TRIGGER refuse" + (" ON accounts" if "://" in db_target else "")))
    resumed = invoke("followers", "alice", "--db", db_target, "-o", "out.csv")
    assert resumed.exit_code == 0, resumed.stderr
    whole = sa.create_engine(f"sqlite:///{tmp_path / 'whole.db'}", poolclass=sa.pool.NullPool)
    try:
        assert contents(store) == contents(whole)
    finally:
        whole.dispose()
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def contents(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """``table_dump`` by account, not by row id (PostgreSQL spends ids on a failed insert)."""
    return {
        **{name: rows for name, rows in table_dump(engine).items() if name != "memberships"},
        "memberships": query(
            engine,
            "SELECT a.account_key, m.first_run, m.last_run, m.ended_run, m.missing_run FROM memberships m "
            "JOIN accounts a ON a.id = m.member_id ORDER BY a.account_key, m.first_run",
        ),
    }


def test_an_old_export_resumed_after_a_newer_run_of_its_list_does_not_rewrite_history(
    serve: Serve, db_target: str, store: sa.Engine, tmp_path: Path
) -> None:
    server = serve(accounts=[alice(list(range(12)))], page_size=4)
    record(db_target)
    server.faults = [passthrough(server), Fault("/tk/user/followers", 500)]
    assert invoke("followers", "alice", "--db", db_target, "-o", "old.csv", "--retries", "0").exit_code == 7
    server.faults = []
    # Fan 7 left, inside a page of 4 (8 would be at an edge, which proves nothing while it stays).
    server.accounts["alice"].members = [n for n in range(12) if n != 7]
    record(db_target)
    record(db_target)  # twice without fan 7: it unfollowed
    unfollowed = [("unfollowed", fan(7))]
    assert changes_between(db_target, 3, 4) == unfollowed
    ended = "SELECT first_run, last_run, ended_run FROM memberships WHERE ended_run IS NOT NULL"
    before = query(store, ended)
    server.accounts["alice"].members = list(range(12))  # and came back; the old export is resumed
    resumed = invoke("followers", "alice", "--db", db_target, "-o", "old.csv")
    assert resumed.exit_code == 0, resumed.stderr
    assert len(csv_rows((tmp_path / "old.csv").read_bytes())) == 1 + 12  # the file is finished
    _, old, *_, new = snapshots(store)
    assert old[1] == "incomplete" and "resumed" in old[4] and "new snapshot" in old[4]
    assert new[1] == "incomplete" and "middle of the list" in new[4]
    # What the later runs recorded stands: fan 7 left, then came back with the resume's run.
    assert changes_between(db_target, 3, 4) == unfollowed
    assert query(store, ended) == before
    rows = "SELECT m.first_run FROM memberships m JOIN accounts a ON a.id = m.member_id "
    assert query(store, rows + "WHERE a.user_id = :uid AND m.ended_run IS NULL", uid=fan(7)) == [(new[0],)]


def changes_between(db_target: str, older: int, newer: int) -> list[tuple[str, str]]:
    args = ("--from", str(older), "--to", str(newer), "-f", "jsonl")
    result = invoke("changes", "alice", "--db", db_target, *args)
    assert result.exit_code == 0, result.stderr
    return [(row["change"], row["user_id"]) for row in jsonl(result.stdout)]


def test_a_limited_run_started_meanwhile_does_not_demote_a_full_one(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    from tiktok_cli.seen import SeenAccounts
    from tiktok_cli.store import open_store
    from tiktok_cli.store.record import Recorder

    serve(accounts=[alice(list(range(6)))])
    owner = User(unique_id="alice", user_id=ALICE_UID)
    fans = [User(unique_id=f"fan_{i}", user_id=fan(i)) for i in range(6)]
    seen = SeenAccounts().scoped("alice")
    for member in fans:
        seen.claim(member)
    with open_store(db_target, create=True) as opened:
        recorder = Recorder(opened, "tkapi")
        full = recorder.begin(owner, "followers", owner_name="alice")
        recorder.add(full, fans[:3], rows=3, total=6)
        recorder.flush()
        # A --limit run of the same list, in another process, while the full one runs.
        peek = invoke("followers", "alice", "--db", db_target, "--limit", "2", "-f", "none")
        assert peek.exit_code == 0, peek.stderr
        recorder.add(full, fans[3:], rows=6, total=6)
        recorder.flush()
        assert recorder.finish(full, complete=True, seen=seen.has) is None
    assert [s[1] for s in snapshots(store)] == ["complete", "incomplete"]
    assert query(store, "SELECT whole FROM snapshots ORDER BY id") == [(True,), (False,)]
    # A full run started meanwhile does demote it: the two runs' intervals interleave.
    with open_store(db_target, create=True) as opened:
        recorder = Recorder(opened, "tkapi")
        first = recorder.begin(owner, "followers", owner_name="alice")
        record(db_target)
        recorder.add(first, fans, rows=6, total=6)
        recorder.flush()
        assert (
            recorder.finish(first, complete=True, seen=seen.has)
            == "another run of this list started while it ran"
        )


def test_a_member_whose_text_holds_nul_is_stored_on_both_databases(
    serve: Serve, db_target: str, store: sa.Engine
) -> None:
    server = serve(accounts=[alice(list(range(5)))])

    def nul(data: dict[str, Any]) -> None:
        data["followers"][1]["nickname"] = "Ni\x00ck"
        data["followers"][1]["signature"] = "bio\x00"

    server.faults = [followers_page(server, nul)]
    result = invoke("followers", "alice", "--db", db_target, "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert "Ni\x00ck" in [row["nickname"] for row in jsonl(result.stdout)]  # the output is exact
    assert snapshots(store)[0][1:3] == ("complete", 5)
    assert query(store, "SELECT nickname, bio FROM accounts WHERE user_id = :uid", uid=fan(1)) == [
        ("Ni\ufffdck", "bio\ufffd")
    ]


def test_a_full_store_exits_74_and_a_later_run_marks_its_snapshot_abandoned(
    serve: Serve, db_target: str, store: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tiktok_cli.store import database, open_store

    serve(accounts=[alice(list(range(400)))], page_size=50)
    open_store(db_target, create=True).close()
    if "://" in db_target:
        with store.begin() as connection:  # PostgreSQL's own "disk full" error
            connection.execute(
                sa.text(
                    "CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "RAISE EXCEPTION 'could not extend file: No space left on device' "
                    "USING ERRCODE = 'disk_full'; END $$"
                )
            )
            connection.execute(
                sa.text("CREATE TRIGGER full_disk BEFORE INSERT ON memberships EXECUTE FUNCTION full_disk()")
            )
    else:
        engine = database._sqlite_engine

        def small_disk(path: Path, label: str, *, create: bool) -> sa.Engine:
            made = engine(path, label, create=create)
            # The file may not grow past a few pages more than it holds: SQLite's "disk is full".
            sa.event.listen(
                made, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA max_page_count = 40")
            )
            return made

        monkeypatch.setattr(database, "_sqlite_engine", small_disk)
    line = error_line(invoke("followers", "alice", "--db", db_target, "-f", "none"), 74)
    assert "is full" in line
    assert [s[1] for s in snapshots(store)] == ["running"]
    monkeypatch.undo()
    if "://" in db_target:
        with store.begin() as connection:
            connection.execute(sa.text("DROP TRIGGER full_disk ON memberships"))
    serve(accounts=[alice(list(range(10)))])
    record(db_target)
    first, second = snapshots(store)
    assert first[1] == "abandoned" and "a later run of this list (#2) finished" in first[4]
    assert second[1] == "complete"


def test_a_snapshot_stopped_by_a_closed_pipe_says_so_in_a_sentence(
    slow_server: FakeTikTok, tmp_path: Path
) -> None:
    with spawn_cli(slow_server, "followers", "alice", "--db", "s.db", "-f", "jsonl", cwd=tmp_path) as run:
        assert run.stdout is not None
        for _ in range(25):  # past the first page (20 rows): its snapshot has begun
            run.stdout.readline()
        run.stdout.close()  # the reader goes away, as `| head -25` would
        assert run.wait(30) == 141
    engine = sa.create_engine(f"sqlite:///{tmp_path / 's.db'}", poolclass=sa.pool.NullPool)
    try:
        assert query(engine, "SELECT status, note FROM snapshots") == [
            ("incomplete", "stopped: the reader closed the pipe")
        ]
    finally:
        engine.dispose()


def test_without_a_store_an_export_records_nothing_and_loads_no_database_library() -> None:
    """The export talks to a recording whatever --db says: without it, the twin that
    records nothing, keeps nothing in the checkpoint, and costs no SQLAlchemy import."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import tiktok_cli.export, tiktok_cli.user_info\n"
        "from tiktok_cli.identifiers import read_targets\n"
        "from tiktok_cli.models import User\n"
        "from tiktok_cli.paginate import FreshPage\n"
        "from tiktok_cli.store import recordings\n"
        "with recordings(None, 'gateway') as recorder:\n"
        "    (target,) = read_targets(['alice'], None)\n"
        "    run = recorder.list_run(target, 'followers', saved=None, checkpoint={}, from_start=True,\n"
        "        limit=None, seen=lambda key: False, lookup=User, looked_up_by=lambda: 'gateway')\n"
        "    run.find_owner()\n"
        "    run.page(FreshPage([User(unique_id='bob', user_id='1')], None, [None], ''), rows=1, total=1)\n"
        "    run.ended()\n"
        "    recorder.observe(User(unique_id='bob'))\n"
        "    print(recorder.label, recorder.progress(), run.progress())\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'sqlalchemy' or m.endswith('store.record')]\n"
        "print(sorted(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.splitlines() == ["None {} {}", "[]"]
