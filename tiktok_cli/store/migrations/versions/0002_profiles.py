"""Profiles over time: each change of an account's username, and observations of its counts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renames",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("old_unique_id", sa.Text, nullable=False),
        sa.Column("new_unique_id", sa.Text, nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run", sa.Integer, sa.ForeignKey("snapshots.id")),
    )
    op.create_index("renames_account", "renames", ["account_id", "id"])
    op.create_index("renames_seen", "renames", ["seen_at"])
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("followers", sa.BigInteger),
        sa.Column("following", sa.BigInteger),
        sa.Column("likes", sa.BigInteger),
        sa.Column("videos", sa.BigInteger),
    )
    op.create_index("observations_account", "observations", ["account_id", "observed_at"])


def downgrade() -> None:
    op.drop_table("observations")
    op.drop_table("renames")
