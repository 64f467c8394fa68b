"""The snapshot store's tables (SQLAlchemy Core), as the newest migration leaves them.

Lists are kept as membership intervals, not as a copy per run: a member has one open
row per list (``ended_run`` NULL) from the snapshot that first saw it (``first_run``);
a complete snapshot that no longer sees it closes the row (``ended_run``) and notes
the last complete snapshot that did (``last_run``; the run that first saw it when no
complete one did). Recording an unchanged list again
writes no membership row at all. Snapshot ids grow with time, so "present at
snapshot S" is ``first_run <= S AND (ended_run IS NULL OR ended_run > S)``.

Times are UTC. No token or cookie is ever stored.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Key/value facts about the store itself (its random id, which checkpoints name).
store_info = Table(
    "store_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Every account met, once, keyed by ``account_key``: "id:<user id>", else "sec:<secUid>",
# else "name:<lower-cased username>" (some gateways pass no ids): the strongest id known,
# re-keyed when a stronger one is learnt (record.py matches accounts by any id). Its
# latest profile.
accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_key", Text, nullable=False, unique=True),
    Column("user_id", Text),
    Column("sec_uid", Text),
    Column("unique_id", Text),
    Column("nickname", Text),
    Column("bio", Text),
    Column("verified", Boolean),
    Column("private", Boolean),
    Column("followers", BigInteger),
    Column("following", BigInteger),
    Column("likes", BigInteger),
    Column("videos", BigInteger),
    Column("avatar_url", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One list of one account: its followers, or its followings.
lists = Table(
    "lists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # "followers" or "followings"
    UniqueConstraint("owner_id", "kind"),
)

# One run over one list. ``status``: running (or killed and not resumed), complete (the
# API said the list ended and every page was recorded), incomplete (``note`` says why).
snapshots = Table(
    "snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("list_id", Integer, ForeignKey("lists.id"), nullable=False, index=True),
    Column("owner_name", Text),  # the owner's username at the time, when known
    Column("backend", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),
    Column("note", Text),
    Column("rows", BigInteger, nullable=False),
    Column("reported_total", BigInteger),
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("list_id", Integer, ForeignKey("lists.id"), nullable=False),
    Column("member_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("first_run", Integer, ForeignKey("snapshots.id"), nullable=False),
    Column("last_run", Integer, ForeignKey("snapshots.id")),  # set when the interval ends
    Column("ended_run", Integer, ForeignKey("snapshots.id")),
)
# One open interval per member and list: the upsert of a page targets this index.
Index(
    "memberships_open",
    memberships.c.list_id,
    memberships.c.member_id,
    unique=True,
    sqlite_where=memberships.c.ended_run.is_(None),
    postgresql_where=memberships.c.ended_run.is_(None),
)
# What changed between two snapshots is read from these two, never by scanning a list.
Index("memberships_started", memberships.c.list_id, memberships.c.first_run)
Index("memberships_ended", memberships.c.list_id, memberships.c.ended_run)
Index("memberships_member", memberships.c.list_id, memberships.c.member_id)

# The history of usernames: one row per change of an account's username, when it was seen.
renames = Table(
    "renames",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("old_unique_id", Text, nullable=False),
    Column("new_unique_id", Text, nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Column("run", Integer, ForeignKey("snapshots.id")),  # the snapshot that saw it; None: user-info
)
Index("renames_account", renames.c.account_id, renames.c.id)
Index("renames_seen", renames.c.seen_at)

# The counts of an account at one moment (user-info, or a list owner's look-up).
observations = Table(
    "observations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("backend", String(32), nullable=False),
    Column("followers", BigInteger),
    Column("following", BigInteger),
    Column("likes", BigInteger),
    Column("videos", BigInteger),
)
Index("observations_account", observations.c.account_id, observations.c.observed_at)
