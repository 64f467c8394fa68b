"""The store's test harness itself: ``db_target`` gives each test a fresh, real database, on
SQLite and on a PostgreSQL server of its own, that the test and the CLI's processes can use."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from helpers import sqlalchemy_url

METADATA = sa.MetaData()
SNAPSHOTS = sa.Table(
    "snapshots",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("followers", sa.Integer, nullable=False),
)


@pytest.fixture
def engine(db_target: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sqlalchemy_url(db_target))
    yield engine
    engine.dispose()  # no pooled connection outlives the test (or its database)


def test_a_row_written_is_read_back(engine: sa.Engine) -> None:
    METADATA.create_all(engine)
    with engine.begin() as conn:
        conn.execute(SNAPSHOTS.insert(), [{"account": "alice", "followers": 95}])
    with engine.connect() as conn:
        rows = conn.execute(sa.select(SNAPSHOTS.c.account, SNAPSHOTS.c.followers)).all()
    assert [tuple(r) for r in rows] == [("alice", 95)]


def test_every_test_starts_with_an_empty_database(engine: sa.Engine) -> None:
    assert sa.inspect(engine).get_table_names() == []


def test_postgresql_is_a_real_server_on_loopback(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version()")).scalar_one()
            address = conn.execute(sa.text("SELECT host(inet_server_addr())")).scalar_one()
            database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
    finally:
        engine.dispose()
    assert "PostgreSQL" in version
    assert address == "127.0.0.1"
    assert database == sa.make_url(pg_url).database


def test_two_connections_see_each_others_committed_writes(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    try:
        METADATA.create_all(engine)
        accounts = sa.select(SNAPSHOTS.c.account).order_by(SNAPSHOTS.c.account)
        with engine.connect() as first, engine.connect() as second:
            first.execute(SNAPSHOTS.insert(), {"account": "alice", "followers": 1})
            assert second.execute(accounts).scalars().all() == []  # not yet committed
            second.rollback()
            first.commit()
            assert second.execute(accounts).scalars().all() == ["alice"]
            second.execute(SNAPSHOTS.insert(), {"account": "bob", "followers": 2})
            second.commit()
            assert first.execute(accounts).scalars().all() == ["alice", "bob"]
            first.rollback()
    finally:
        engine.dispose()


def test_a_child_process_reads_what_the_test_wrote(engine: sa.Engine, db_target: str) -> None:
    # Subprocess tests hand the same target to the real `tiktok` command; the network guard
    # only patches this process, so the child connects like any client.
    METADATA.create_all(engine)
    with engine.begin() as conn:
        conn.execute(SNAPSHOTS.insert(), {"account": "carol", "followers": 7})
    engine.dispose()
    child = (
        "import sqlalchemy as sa, sys\n"
        "engine = sa.create_engine(sys.argv[1])\n"
        "with engine.connect() as conn:\n"
        "    print(conn.execute(sa.text('SELECT account, followers FROM snapshots')).one())\n"
        "engine.dispose()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", child, sqlalchemy_url(db_target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out.strip() == "('carol', 7)"


def test_the_network_guard_lets_a_test_reach_its_postgresql_server(pg_url: str) -> None:
    port = sa.make_url(pg_url).port
    assert port is not None
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
