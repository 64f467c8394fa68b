"""The store's schema: rows it could not mean are refused, snapshot ids are never reused,
SQLite times compare as text, a store of the previous schema keeps its meaning, and
`changes` reads through the intended indexes whatever statistics the store has."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fakeserver import Account, sec_uid_for
from helpers import Serve, csv_rows, invoke, query, sqlalchemy_url

README = Path(__file__).resolve().parents[2] / "README.md"


def alice(members: list[int]) -> Account:
    return Account("alice", "6754915036232582149", sec_uid_for("alice"), len(members), 3, members=members)


def record(db: str) -> None:
    result = invoke("followers", "alice", "--db", db, "-f", "none")
    assert result.exit_code == 0, result.stderr


def two_nights(serve: Serve, db: str) -> None:
    """Two complete snapshots of alice's followers: fan 9 left, fan 10 came, fan 3 renamed."""
    server = serve(accounts=[alice(list(range(10)))], page_size=4)
    record(db)
    server.accounts["alice"].members = [10, *range(9)]
    server.accounts["alice"].names = {3: "fan_three"}
    record(db)


@pytest.fixture
def engine(db_target: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sqlalchemy_url(db_target), poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


# --- a store of schema 0002, as that release wrote it -----------------------------------

OLD_TIME = sa.DateTime(
    timezone=True
)  # what 0002's schema.py declared: SQLite text "YYYY-MM-DD HH:MM:SS.ffffff"


def old_type(column: str) -> Any:
    if column.endswith("_at"):
        return OLD_TIME
    return (
        sa.Text
        if column
        in (
            "account_key",
            "user_id",
            "unique_id",
            "kind",
            "owner_name",
            "backend",
            "status",
            "old_unique_id",
            "new_unique_id",
        )
        else sa.Integer
    )


def day(number: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, number, hour, minute, tzinfo=timezone.utc)


def old_store(db_target: str) -> None:
    """A store at schema 0002 holding two complete snapshots of alice's followers, written
    with 0002's column types: fan 2 followed, fan 1 unfollowed, fan 0 renamed in between."""
    from alembic import command
    from alembic.config import Config

    from tiktok_cli.store.database import FORMAT

    meta = sa.MetaData()
    t = {
        name: sa.Table(name, meta, *(sa.Column(c, old_type(c)) for c in cols))
        for name, cols in {
            "accounts": ("id", "account_key", "user_id", "unique_id", "updated_at"),
            "lists": ("id", "owner_id", "kind"),
            "snapshots": (
                "id",
                "list_id",
                "owner_name",
                "backend",
                "started_at",
                "finished_at",
                "status",
                "rows",
            ),
            "memberships": ("id", "list_id", "member_id", "first_run", "last_run", "ended_run"),
            "renames": ("id", "account_id", "old_unique_id", "new_unique_id", "seen_at", "run"),
            "observations": ("id", "account_id", "observed_at", "backend", "followers"),
        }.items()
    }
    engine = sa.create_engine(sqlalchemy_url(db_target), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", "tiktok_cli.store:migrations")
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
            connection.execute(
                sa.text("INSERT INTO store_info (key, value) VALUES ('format', :f), ('id', 'old-store')"),
                {"f": FORMAT},
            )
            connection.execute(
                t["accounts"].insert(),
                [
                    {
                        "id": 1,
                        "account_key": "id:1",
                        "user_id": "1",
                        "unique_id": "alice",
                        "updated_at": day(2, 3),
                    },
                    *(
                        {
                            "id": 10 + i,
                            "account_key": f"id:10{i}",
                            "user_id": f"10{i}",
                            "unique_id": "newname" if i == 0 else f"fan{i}",
                            "updated_at": day(2, 3, 30),
                        }
                        for i in range(3)
                    ),
                ],
            )
            connection.execute(t["lists"].insert(), [{"id": 1, "owner_id": 1, "kind": "followers"}])
            connection.execute(
                t["snapshots"].insert(),
                [
                    {
                        "id": run,
                        "list_id": 1,
                        "owner_name": "alice",
                        "backend": "tkapi",
                        "started_at": day(run, 3),
                        "finished_at": day(run, 4),
                        "status": "complete",
                        "rows": 2,
                    }
                    for run in (1, 2)
                ],
            )
            connection.execute(
                t["memberships"].insert(),
                [
                    {
                        "id": 1,
                        "list_id": 1,
                        "member_id": 10,
                        "first_run": 1,
                        "last_run": None,
                        "ended_run": None,
                    },
                    {"id": 2, "list_id": 1, "member_id": 11, "first_run": 1, "last_run": 1, "ended_run": 2},
                    {
                        "id": 3,
                        "list_id": 1,
                        "member_id": 12,
                        "first_run": 2,
                        "last_run": None,
                        "ended_run": None,
                    },
                ],
            )
            connection.execute(
                t["renames"].insert(),
                [
                    {
                        "id": 1,
                        "account_id": 10,
                        "old_unique_id": "fan0",
                        "new_unique_id": "newname",
                        "seen_at": day(2, 3, 30),
                        "run": 2,
                    }
                ],
            )
            connection.execute(
                t["observations"].insert(),
                [{"id": 1, "account_id": 1, "observed_at": day(2, 3), "backend": "tkapi", "followers": 2}],
            )
    finally:
        engine.dispose()


def test_a_store_of_schema_0002_means_what_it_meant(db_target: str, engine: sa.Engine) -> None:
    from tiktok_cli.store.database import HEAD

    old_store(db_target)
    changes = invoke(
        "changes",
        "alice",
        "--db",
        db_target,
        "-f",
        "csv",
        "--fields",
        "list,change,old_unique_id,since,until,unique_id",
    )
    assert changes.exit_code == 0, changes.stderr
    assert "upgrading the store" in changes.stderr
    assert csv_rows(changes.stdout_bytes) == [
        ["list", "change", "old_unique_id", "since", "until", "unique_id"],
        ["followers", "followed", "", "2026-12-01T03:00:00Z", "2026-12-02T04:00:00Z", "fan2"],
        ["followers", "unfollowed", "", "2026-12-01T03:00:00Z", "2026-12-02T04:00:00Z", "fan1"],
        ["followers", "renamed", "fan0", "2026-12-01T03:00:00Z", "2026-12-02T03:30:00Z", "newname"],
    ]
    snapshots = invoke(
        "snapshots", "alice", "--db", db_target, "-f", "csv", "--fields", "id,started_at,status"
    )
    assert csv_rows(snapshots.stdout_bytes)[1:] == [
        ["1", "2026-12-01T03:00:00.000Z", "complete"],
        ["2", "2026-12-02T03:00:00.000Z", "complete"],
    ]
    assert query(engine, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert query(engine, "SELECT value FROM store_info WHERE key = 'id'") == [("old-store",)]
    if engine.dialect.name == "sqlite":
        assert query(engine, "SELECT started_at, finished_at FROM snapshots ORDER BY id") == [
            ("2026-12-01T03:00:00.000000Z", "2026-12-01T04:00:00.000000Z"),
            ("2026-12-02T03:00:00.000000Z", "2026-12-02T04:00:00.000000Z"),
        ]
        assert query(engine, "SELECT seen_at FROM renames") == [("2026-12-02T03:30:00.000000Z",)]
        assert query(engine, "SELECT observed_at FROM observations") == [("2026-12-02T03:00:00.000000Z",)]
    # The next night goes on from there: fan 0 and fan 2 stay, the ids continue.
    assert query(engine, "SELECT count(*) FROM memberships") == [(3,)]


def test_a_store_of_schema_0004_keeps_its_snapshots_meaning_through_windows(
    db_target: str, engine: sa.Engine
) -> None:
    """Revision 0005 (windows) adds coverage and order columns: the complete snapshots of
    a store of 0004 stay complete, cover their whole list, and compare as before."""
    from alembic import command
    from alembic.config import Config

    old_store(db_target)
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", "tiktok_cli.store:migrations")
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    changes = invoke("changes", "alice", "--db", db_target, "-f", "csv", "--fields", "change,unique_id")
    assert changes.exit_code == 0, changes.stderr
    assert "from schema 0004 to 0005" in changes.stderr
    assert csv_rows(changes.stdout_bytes) == [
        ["change", "unique_id"],
        ["followed", "fan2"],
        ["unfollowed", "fan1"],
        ["renamed", "newname"],
    ]
    columns = "id, status, floor, known, disorder, progress"
    assert query(engine, f"SELECT {columns} FROM snapshots ORDER BY id") == [
        (1, "complete", None, None, None, None),
        (2, "complete", None, None, None, None),
    ]
    assert [bool(new_only) for (new_only,) in query(engine, "SELECT new_only FROM snapshots")] == [False] * 2
    # The intervals came by follows, their places unknown: a window covers none of them.
    assert (
        query(engine, "SELECT position, arrival, followed_after FROM memberships") == [(None, None, None)] * 3
    )


# --- impossible rows ------------------------------------------------------------------------

IMPOSSIBLE = {
    "lists_kind": "INSERT INTO lists (owner_id, kind) VALUES (9999, 'likes')",
    "snapshots_status": (
        "INSERT INTO snapshots (list_id, backend, started_at, status, rows) "
        "VALUES (1, 'tkapi', '2026-12-01T03:00:00.000000Z', 'done', 0)"
    ),
    # an interval that ends where it starts
    "memberships_order": (
        "INSERT INTO memberships (list_id, member_id, first_run, last_run, ended_run) "
        "VALUES (1, 9999, 2, 2, 2)"
    ),
    # an ended interval without its last run, and a last run on an open one
    "memberships_last_run": (
        "INSERT INTO memberships (list_id, member_id, first_run, ended_run) VALUES (1, 9999, 1, 2)",
        "INSERT INTO memberships (list_id, member_id, first_run, last_run) VALUES (1, 9999, 1, 1)",
    ),
}


@pytest.mark.parametrize("made", ["new", "upgraded from 0002"])
def test_a_row_the_store_could_not_mean_is_refused(
    serve: Serve, db_target: str, engine: sa.Engine, made: str
) -> None:
    if made == "new":
        two_nights(serve, db_target)
    else:
        old_store(db_target)
        assert invoke("snapshots", "alice", "--db", db_target).exit_code == 0  # upgrades it
    with engine.begin() as connection:  # an account of its own, so that only the CHECK can object
        connection.execute(
            sa.text(
                "INSERT INTO accounts (id, account_key, updated_at) "
                "VALUES (9999, 'id:9999', '2026-12-01T03:00:00.000000Z')"
            )
        )
    for constraint, statements in IMPOSSIBLE.items():
        for sql in (statements,) if isinstance(statements, str) else statements:
            with pytest.raises(sa.exc.IntegrityError, match=constraint), engine.begin() as connection:
                connection.execute(sa.text(sql))
    # The same rows made possible are stored: the constraints refuse only what they name.
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO lists (owner_id, kind) VALUES (9999, 'followings')"))
        connection.execute(
            sa.text(
                "INSERT INTO memberships (list_id, member_id, first_run, last_run, ended_run) "
                "VALUES (1, 9999, 1, 1, 2)"
            )
        )


def test_a_snapshot_id_is_never_used_twice(serve: Serve, db_target: str, engine: sa.Engine) -> None:
    """Snapshot ids order runs: a new run after the newest was deleted gets a new id."""
    two_nights(serve, db_target)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM renames WHERE run = 2"))
        connection.execute(
            sa.text("UPDATE memberships SET ended_run = NULL, last_run = NULL WHERE ended_run = 2")
        )
        connection.execute(sa.text("UPDATE memberships SET missing_run = NULL WHERE missing_run = 2"))
        connection.execute(sa.text("DELETE FROM memberships WHERE first_run = 2"))
        connection.execute(sa.text("DELETE FROM snapshots WHERE id = 2"))
    record(db_target)
    assert query(engine, "SELECT id FROM snapshots ORDER BY id") == [(1,), (3,)]


# --- times in SQLite --------------------------------------------------------------------------


def readme_time_query() -> str:
    """README's example query over times (the SQL block that compares with '2026-12-07T00:00')."""
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.S)
    found = [block for block in blocks if "'2026-12-07T00:00'" in block]
    assert len(found) == 1, "README shows one query comparing a time with '2026-12-07T00:00'"
    return found[0]


def test_sqlite_times_are_iso_text_that_compares_as_times(serve: Serve, tmp_path: Path) -> None:
    store = tmp_path / "tiktok.db"
    server = serve(accounts=[alice(list(range(5)))])
    record(str(store))
    assert invoke("user-info", "alice", "--db", str(store)).exit_code == 0
    # A boundary between the two runs, to the second, as a user would type it.
    boundary = datetime.fromtimestamp(int(time.time()) + 1, timezone.utc)
    time.sleep(max(0.0, boundary.timestamp() - time.time()) + 0.05)
    server.accounts["alice"].names = {1: "fan_one"}
    record(str(store))
    with sqlite3.connect(store) as connection:
        times = [
            value
            for table, columns in {
                "accounts": "updated_at",
                "snapshots": "started_at, finished_at",
                "renames": "seen_at",
                "observations": "observed_at",
            }.items()
            for row in connection.execute(f"SELECT {columns} FROM {table}")
            for value in row
        ]
        assert times and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", t) for t in times), times
        sql = readme_time_query().replace("2026-12-07T00:00", boundary.strftime("%Y-%m-%dT%H:%M:%S"))
        sql = sql.replace("'cnn'", "'alice'")
        found = connection.execute(sql).fetchall()
    assert [row[0] for row in found] == [2]  # the run after the boundary, not the one before


# --- the plans of `changes` -------------------------------------------------------------------


@pytest.mark.parametrize("statistics", ["as the recorder left them", "none"])
def test_changes_reads_through_the_intended_indexes(serve: Serve, tmp_path: Path, statistics: str) -> None:
    """Without ANALYZE statistics SQLite probed memberships_started per row, and `changes`
    grew with the square of the list. Every query of `changes` must read memberships
    through an index made for it, whatever the store's statistics say."""
    from sqlalchemy import event

    from tiktok_cli.identifiers import Account as Named
    from tiktok_cli.identifiers import IdKind
    from tiktok_cli.store import open_store
    from tiktok_cli.store.read import StoreReader

    store = tmp_path / "tiktok.db"
    two_nights(serve, str(store))
    record(str(store))  # a third night confirms that fan 9 is gone
    with sqlite3.connect(store) as connection:
        kept = connection.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'memberships'").fetchone()
        assert kept[0] > 0  # the recorder took statistics of the store it made
        if statistics == "none":
            connection.execute("DELETE FROM sqlite_stat1")
    statements: list[tuple[str, Any]] = []
    with open_store(str(store), create=False) as opened:
        event.listen(
            opened.engine,
            "before_cursor_execute",
            lambda c, cur, sql, params, *_: statements.append((sql, params)),
        )
        reader = StoreReader(opened)
        owner = reader.find(Named(IdKind.USERNAME, "alice"))
        newer, _, older = reader.complete(owner, "followers", newest=3)
        assert sorted(c.change for c in reader.changes(older, newer)) == ["followed", "renamed", "unfollowed"]
    plans = {}
    with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True) as connection:
        for sql, params in statements:
            if "memberships" in sql:
                rows = connection.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
                plans[sql.split()[1]] = [row[3] for row in rows]
    assert len(plans) == 3, plans  # followed, unfollowed, renamed
    for steps in plans.values():
        on_memberships = [s for s in steps if re.match(r"(SEARCH|SCAN) (m|o)\b", s)]
        assert on_memberships and not any(s.startswith("SCAN") for s in on_memberships), steps
        probes = [s for s in on_memberships if s.startswith("SEARCH o ")]
        assert probes and all(
            "USING INDEX memberships_member (list_id=? AND member_id=?)" in s for s in probes
        )
    followed, unfollowed = plans["m.first_run,"], plans["m.last_run,"]
    assert any(s.startswith("SEARCH m USING INDEX memberships_started") for s in followed), followed
    assert any(s.startswith("SEARCH m USING INDEX memberships_ended") for s in unfollowed), unfollowed


def test_finding_an_account_reads_no_whole_table(serve: Serve, tmp_path: Path) -> None:
    """A username in any case, a uid or a secUid is found through an index of its own,
    not by reading every account (millions, in a store of long lists)."""
    from sqlalchemy import event

    from tiktok_cli.identifiers import Account as Named
    from tiktok_cli.identifiers import IdKind
    from tiktok_cli.store import open_store
    from tiktok_cli.store.read import StoreReader

    store = tmp_path / "tiktok.db"
    two_nights(serve, str(store))
    record(str(store))  # a third night confirms that fan 9 is gone
    with sqlite3.connect(store) as connection:
        connection.execute("DELETE FROM sqlite_stat1")
        uid, sec_uid = connection.execute(
            "SELECT user_id, sec_uid FROM accounts WHERE user_id IS NOT NULL "
            "AND sec_uid IS NOT NULL AND id > 1"
        ).fetchone()
    names = [Named(IdKind.USERNAME, "FAN_THREE"), Named(IdKind.UID, uid), Named(IdKind.SEC_UID, sec_uid)]
    statements: list[tuple[str, Any]] = []
    with open_store(str(store), create=False) as opened:
        reader = StoreReader(opened)
        event.listen(
            opened.engine,
            "before_cursor_execute",
            lambda c, cur, sql, params, *_: statements.append((sql, params)),
        )
        found = [reader.find(name) for name in names]
    assert [account.unique_id for account in found] == ["fan_three", found[1].unique_id, found[2].unique_id]
    with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True) as connection:
        for sql, params in statements:
            steps = [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            assert not any(step.startswith("SCAN accounts") for step in steps), (sql, steps)
