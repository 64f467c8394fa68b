"""Constraints, look-up indexes, and SQLite times as ISO 8601 text.

- CHECK constraints: ``lists.kind`` and ``snapshots.status`` hold known values, an
  interval ends after it starts, and ``last_run`` is set exactly when ``ended_run`` is.
- SQLite never reuses a snapshot id (AUTOINCREMENT): ids order runs.
- Indexes for the look-ups that scanned every account: a username in any case, a uid,
  a secUid, and every list of one member.
- SQLite times, stored by SQLAlchemy as ``2026-12-07 03:00:00.123456`` (which sorts
  before ``2026-12-07T00:00``), become ``2026-12-07T03:00:00.123456Z``: the same
  instants, as text that compares as the times do.

SQLite cannot add a constraint to a table, so lists, snapshots and memberships are
rebuilt, rows and ids unchanged, as SQLite's own recipe does (foreign keys are off
during the migration: database.py; they are checked here before it ends).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KIND = "kind IN ('followers', 'followings')"
STATUS = "status IN ('running', 'complete', 'incomplete', 'abandoned')"
ORDER = "ended_run IS NULL OR first_run < ended_run"
LAST_RUN = "(last_run IS NULL) = (ended_run IS NULL)"

# The time columns of each table, for SQLite's conversion.
TIMES = {
    "accounts": ("updated_at",),
    "snapshots": ("started_at", "finished_at"),
    "renames": ("seen_at",),
    "observations": ("observed_at",),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_tables()
        _convert_sqlite_times()
    else:
        op.create_check_constraint("lists_kind", "lists", sa.text(KIND))
        op.create_check_constraint("snapshots_status", "snapshots", sa.text(STATUS))
        op.create_check_constraint("memberships_order", "memberships", sa.text(ORDER))
        op.create_check_constraint("memberships_last_run", "memberships", sa.text(LAST_RUN))
    op.create_index("accounts_name", "accounts", [sa.text("lower(unique_id)")])
    op.create_index("accounts_user_id", "accounts", ["user_id"])
    op.create_index("accounts_sec_uid", "accounts", ["sec_uid"])
    op.create_index("memberships_account", "memberships", ["member_id"])


def _rebuilt_tables() -> list[sa.Table]:
    """lists, snapshots and memberships as of this revision (named ``_new_*`` until swapped in)."""
    meta = sa.MetaData()
    sa.Table("accounts", meta, sa.Column("id", sa.Integer, primary_key=True))
    lists = sa.Table(
        "_new_lists",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.UniqueConstraint("owner_id", "kind"),
        sa.CheckConstraint(KIND, name="lists_kind"),
    )
    snapshots = sa.Table(
        "_new_snapshots",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("lists.id"), nullable=False),
        sa.Column("owner_name", sa.Text),
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("reported_total", sa.BigInteger),
        sa.CheckConstraint(STATUS, name="snapshots_status"),
        sqlite_autoincrement=True,
    )
    sa.Table("lists", meta, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("snapshots", meta, sa.Column("id", sa.Integer, primary_key=True))
    memberships = sa.Table(
        "_new_memberships",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("lists.id"), nullable=False),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("first_run", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("last_run", sa.Integer, sa.ForeignKey("snapshots.id")),
        sa.Column("ended_run", sa.Integer, sa.ForeignKey("snapshots.id")),
        sa.CheckConstraint(ORDER, name="memberships_order"),
        sa.CheckConstraint(LAST_RUN, name="memberships_last_run"),
    )
    return [lists, snapshots, memberships]


def _rebuild_sqlite_tables() -> None:
    bind = op.get_bind()
    for table in _rebuilt_tables():
        name = table.name.removeprefix("_new_")
        table.create(bind)  # AUTOINCREMENT (snapshots) continues after the highest id copied
        columns = ", ".join(column.name for column in table.columns)
        # Names are this module's constants, not input.
        bind.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {name}")  # noqa: S608
        op.drop_table(name)
        op.rename_table(table.name, name)
    op.create_index("ix_snapshots_list_id", "snapshots", ["list_id"])
    open_rows = sa.text("ended_run IS NULL")
    op.create_index(
        "memberships_open", "memberships", ["list_id", "member_id"], unique=True, sqlite_where=open_rows
    )
    op.create_index("memberships_started", "memberships", ["list_id", "first_run"])
    op.create_index("memberships_ended", "memberships", ["list_id", "ended_run"])
    op.create_index("memberships_member", "memberships", ["list_id", "member_id"])
    problems = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"the store's rows refer to missing rows: {problems[:3]}")


def _convert_sqlite_times() -> None:
    """``2026-12-07 03:00:00.123456`` (SQLAlchemy's SQLite format) to ``2026-12-07T03:00:00.123456Z``."""
    bind = op.get_bind()
    for table, columns in TIMES.items():
        for column in columns:
            bind.exec_driver_sql(
                f"UPDATE {table} SET {column} = substr({column}, 1, 10) || 'T' || substr({column}, 12) "  # noqa: S608
                f"|| CASE WHEN length({column}) = 19 THEN '.000000Z' ELSE 'Z' END "
                f"WHERE {column} IS NOT NULL AND {column} NOT LIKE '%Z'"
            )


def downgrade() -> None:
    raise NotImplementedError("a store is never downgraded: a newer release refuses it untouched")
