"""Windows: snapshots of the newest part of a list TikTok caps, and the list order.

- ``snapshots.status`` may be ``window``; ``floor``, ``known``, ``disorder`` and
  ``new_only`` say what such a run covers and proves (NULL, false: runs recorded before,
  which keep their meaning: a complete snapshot still covers its whole list); ``progress``
  holds a running snapshot's place in its list, for a resume (NULL once it ended).
- ``memberships.position`` orders the intervals as TikTok lists them (NULL before),
  ``arrival`` says why a run met a member that was no follow, ``followed_after`` bounds
  the follow time from the API's cursor. Existing intervals keep NULL in all three: they
  came by a follow, as before.

SQLite cannot change a table's CHECK constraint, so snapshots is rebuilt, rows and ids
unchanged, as 0003 did (foreign keys are off during the migration: database.py; they are
checked here before it ends).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STATUS = "status IN ('running', 'complete', 'window', 'incomplete', 'abandoned')"
ARRIVAL = "arrival IS NULL OR arrival IN ('surfaced', 'unproven')"


def _snapshot_columns() -> list[sa.Column[object]]:
    """The columns snapshots gains (new objects each time: a column belongs to one table)."""
    return [
        sa.Column("floor", sa.BigInteger),
        sa.Column("known", sa.BigInteger),
        sa.Column("disorder", sa.Integer),
        sa.Column("new_only", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("progress", sa.Text),
        sa.Column("page_size", sa.Integer),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_snapshots()
        # SQLite adds a column with its CHECK in one statement (not checked against old rows,
        # which are NULL); Alembic's batch mode would rebuild memberships and its partial index.
        op.execute(
            "ALTER TABLE memberships ADD COLUMN arrival VARCHAR(10) "
            f"CONSTRAINT memberships_arrival CHECK ({ARRIVAL})"
        )
    else:
        op.drop_constraint("snapshots_status", "snapshots", type_="check")
        op.create_check_constraint("snapshots_status", "snapshots", sa.text(STATUS))
        for column in _snapshot_columns():
            op.add_column("snapshots", column)
        op.add_column("memberships", sa.Column("arrival", sa.String(10)))
        op.create_check_constraint("memberships_arrival", "memberships", sa.text(ARRIVAL))
    op.add_column("memberships", sa.Column("position", sa.BigInteger))
    op.add_column("memberships", sa.Column("moved_from", sa.BigInteger))
    # The type of UtcTime's columns in each database (schema.py): timestamptz, or SQLite's text.
    op.add_column("memberships", sa.Column("followed_after", sa.DateTime(timezone=True)))
    op.create_index("memberships_position", "memberships", ["list_id", "position"])


def _rebuild_sqlite_snapshots() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    sa.Table("lists", meta, sa.Column("id", sa.Integer, primary_key=True))
    old = (
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
        sa.Column("whole", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    table = sa.Table(
        "_new_snapshots",
        meta,
        *old,
        *_snapshot_columns(),
        sa.CheckConstraint(STATUS, name="snapshots_status"),
        sqlite_autoincrement=True,
    )
    table.create(bind)  # AUTOINCREMENT continues after the highest id copied
    columns = ", ".join(column.name for column in old)
    # Names are this module's constants, not input.
    bind.exec_driver_sql(f"INSERT INTO _new_snapshots ({columns}) SELECT {columns} FROM snapshots")  # noqa: S608
    # AUTOINCREMENT remembers the highest id ever given, even of a snapshot since deleted.
    given = bind.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'snapshots'").scalar()
    if given is not None:
        bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = '_new_snapshots'")
        bind.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES ('_new_snapshots', ?)", (given,))
    op.drop_table("snapshots")
    op.rename_table("_new_snapshots", "snapshots")
    op.create_index("ix_snapshots_list_id", "snapshots", ["list_id"])
    problems = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"the store's rows refer to missing rows: {problems[:3]}")


def downgrade() -> None:
    raise NotImplementedError("a store is never downgraded: a newer release refuses it untouched")
