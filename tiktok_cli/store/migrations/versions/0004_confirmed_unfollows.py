"""Confirmed unfollows: a member a complete snapshot misses is only marked missing
(``memberships.missing_run``); and whether a run may be complete (``snapshots.whole``).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite takes a reference in ADD COLUMN (a NULL default), not as a constraint of its
        # own; Alembic's batch mode would rebuild the table and its partial index instead.
        op.execute("ALTER TABLE memberships ADD COLUMN missing_run INTEGER REFERENCES snapshots (id)")
    else:
        op.add_column("memberships", sa.Column("missing_run", sa.Integer, sa.ForeignKey("snapshots.id")))
    # Runs recorded before this schema did not say; counting them as whole keeps their old meaning.
    op.add_column("snapshots", sa.Column("whole", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    op.drop_column("snapshots", "whole")
    op.drop_column("memberships", "missing_run")
