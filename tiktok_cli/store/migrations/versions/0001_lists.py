"""Lists as membership intervals: accounts, lists, snapshots, memberships.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_info",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_key", sa.Text, nullable=False, unique=True),
        sa.Column("user_id", sa.Text),
        sa.Column("sec_uid", sa.Text),
        sa.Column("unique_id", sa.Text),
        sa.Column("nickname", sa.Text),
        sa.Column("bio", sa.Text),
        sa.Column("verified", sa.Boolean),
        sa.Column("private", sa.Boolean),
        sa.Column("followers", sa.BigInteger),
        sa.Column("following", sa.BigInteger),
        sa.Column("likes", sa.BigInteger),
        sa.Column("videos", sa.BigInteger),
        sa.Column("avatar_url", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "lists",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.UniqueConstraint("owner_id", "kind"),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("lists.id"), nullable=False, index=True),
        sa.Column("owner_name", sa.Text),
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("reported_total", sa.BigInteger),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("lists.id"), nullable=False),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("first_run", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("last_run", sa.Integer, sa.ForeignKey("snapshots.id")),
        sa.Column("ended_run", sa.Integer, sa.ForeignKey("snapshots.id")),
    )
    open_rows = sa.text("ended_run IS NULL")
    op.create_index(
        "memberships_open",
        "memberships",
        ["list_id", "member_id"],
        unique=True,
        sqlite_where=open_rows,
        postgresql_where=open_rows,
    )
    op.create_index("memberships_started", "memberships", ["list_id", "first_run"])
    op.create_index("memberships_ended", "memberships", ["list_id", "ended_run"])
    op.create_index("memberships_member", "memberships", ["list_id", "member_id"])


def downgrade() -> None:
    for table in ("memberships", "snapshots", "lists", "accounts", "store_info"):
        op.drop_table(table)
