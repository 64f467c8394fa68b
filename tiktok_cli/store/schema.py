"""The snapshot store's tables (SQLAlchemy Core), as the newest migration leaves them.

Lists are kept as membership intervals, not as a copy per run: a member has one open
row per list (``ended_run`` NULL) from the snapshot that first saw it (``first_run``);
a snapshot that covers the member and no longer sees it marks the row (``missing_run``),
and only the next covering snapshot that still does not see it closes the row
(``ended_run``), noting the last usable snapshot before the first miss that covered it
(``last_run``; the run that first saw it when none did); any run that sees it again
clears the mark. A complete snapshot covers its whole list; a window (the newest part of
a list TikTok caps, or a --new-only run's) covers the open members whose order key
(``position``) is above its ``floor`` when its order held (``disorder`` 0), and nothing
else; a usable snapshot (complete or window) whose order broke covers nothing. Recording
an unchanged list again writes no membership row at all. Snapshot ids grow with time, so
"present at snapshot S" is ``first_run <= S AND (ended_run IS NULL OR ended_run > S)``.

Times are UTC: PostgreSQL's ``timestamptz``; in SQLite, ISO 8601 text of one fixed width
(``2026-12-07T03:00:00.000000Z``), so that comparing it as text, as SQL does, compares the
times (``started_at >= '2026-12-07T00:00'``). No token or cookie is ever stored.

CHECK constraints make rows that the store could not mean impossible, and SQLite never
reuses a snapshot's id (AUTOINCREMENT), since snapshot ids order runs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

# The values of lists.kind and snapshots.status (as CHECK constraints list them). Outside
# the schema a list's kind is its ``list_name``: the value of its ``Operation``.
LIST_NAMES = ("followers", "followings")
STATUSES = ("running", "complete", "window", "incomplete", "abandoned")
# Why a run first saw a member other than a follow (memberships.arrival).
ARRIVALS = ("surfaced", "unproven")
# A time in SQLite: fixed width, so text order is time order.
SQLITE_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


class _SqliteTimeText(UserDefinedType[str]):
    """DATETIME in SQLite's DDL (the type the column always had); text in and out, as is."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "DATETIME"


class UtcTime(TypeDecorator[datetime]):
    """An aware UTC time: ``timestamptz`` in PostgreSQL, SQLITE_TIME text in SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return _SqliteTimeText()
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        aware = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
        return aware.astimezone(timezone.utc).strftime(SQLITE_TIME)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


def one_of(column: str, values: tuple[str, ...]) -> str:
    """The SQL of a CHECK that ``column`` holds one of ``values`` (constants of this module)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


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
    Column("updated_at", UtcTime(), nullable=False),
)
# Look-ups by what the user typed (reader.find): a username in any case, a uid, a secUid.
Index("accounts_name", func.lower(accounts.c.unique_id))
Index("accounts_user_id", accounts.c.user_id)
Index("accounts_sec_uid", accounts.c.sec_uid)

# One list of one account: its followers, or its followings.
lists = Table(
    "lists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # "followers" or "followings"
    UniqueConstraint("owner_id", "kind"),
    CheckConstraint(one_of("kind", LIST_NAMES), name="lists_kind"),
)

# One run over one list. ``status``: running (or killed and not resumed), complete (the
# API said the list ended and every page was recorded), window (read from the first page
# down to where TikTok stops serving the list, or with --new-only down to members already
# known: the newest ``rows`` of it), incomplete (``note`` says why), abandoned (left running
# by a process that died, and a later run of the list finished).
# ``whole``: the run started at the list's first page without --limit, so it may be complete.
# For runs recorded since revision 0005 (NULL before): ``floor``, the order key
# (memberships.position) above which the run covers the list: it saw every member there or
# counts it missing (NULL: it covers nothing, or, when complete, everything); ``known``, the
# members it saw that earlier runs had recorded in the list (0: it did not overlap them:
# none, or only a few apart, never more than TIE_SPAN in a row);
# ``disorder``, members it saw out of the stored order beyond a few ties (0: the order held;
# more: the run proves no member gone); ``new_only``, a --new-only run.
snapshots = Table(
    "snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("list_id", Integer, ForeignKey("lists.id"), nullable=False, index=True),
    Column("owner_name", Text),  # the owner's username at the time, when known
    Column("backend", String(32), nullable=False),
    Column("started_at", UtcTime(), nullable=False),
    Column("finished_at", UtcTime()),
    Column("status", String(16), nullable=False),
    Column("note", Text),
    Column("rows", BigInteger, nullable=False),
    Column("reported_total", BigInteger),
    Column("whole", Boolean, nullable=False, server_default=true()),
    Column("floor", BigInteger),
    Column("known", BigInteger),
    Column("disorder", Integer),
    Column("new_only", Boolean, nullable=False, server_default=false()),
    # While the run is running: where its sequence stands (record.py's JSON), so that a
    # resume in another process places the next members where they belong; NULL once done.
    Column("progress", Text),
    # The most entries one page of a covering run held (record.py's coverage.py): a page of
    # a later run with fewer, while the list said there was more, left some out.
    Column("page_size", Integer),
    CheckConstraint(one_of("status", STATUSES), name="snapshots_status"),
    sqlite_autoincrement=True,
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
    # The first covering snapshot of a run of them that did not see the open member; NULL
    # while every covering snapshot sees it (or a run since saw it).
    Column("missing_run", Integer, ForeignKey("snapshots.id")),
    # The member's place in the newest-first list: larger is newer (higher). One key per
    # interval, kept from the run that first placed it (record.py: keys are renumbered,
    # order and floors kept, only when a gap is used up); NULL for intervals recorded
    # before revision 0005 and not seen since.
    Column("position", BigInteger),
    # The member's key before a run whose order broke first moved it (record.py ``_move``),
    # NULL if never moved: a window covers it only when it passed both places.
    Column("moved_from", BigInteger),
    # NULL: the member came by a follow (or the list's first run met it). "surfaced": the
    # run that opened the interval met it below the deepest member the list already held,
    # an older member come up into the window, no new follow. "unproven": that run had no
    # member in common with the list's earlier runs (or, started mid-list, met it before
    # any), so nothing proves it new, until a run lists it above a placed member.
    Column("arrival", String(10)),
    # The follow happened at or after this time: the oldest follow time of the page that
    # first showed the member, where the API's cursor is a follow time (else NULL).
    Column("followed_after", UtcTime()),
    # An interval ends after it starts, and knows its last run exactly when it has ended.
    CheckConstraint("ended_run IS NULL OR first_run < ended_run", name="memberships_order"),
    CheckConstraint("(last_run IS NULL) = (ended_run IS NULL)", name="memberships_last_run"),
    CheckConstraint(f"arrival IS NULL OR {one_of('arrival', ARRIVALS)}", name="memberships_arrival"),
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
# A window's coverage: the open members above its floor, in list order.
Index("memberships_position", memberships.c.list_id, memberships.c.position)
# Every list an account is a member of (merging, or deleting, one account's rows).
Index("memberships_account", memberships.c.member_id)

# The history of usernames: one row per change of an account's username, when it was seen.
renames = Table(
    "renames",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("old_unique_id", Text, nullable=False),
    Column("new_unique_id", Text, nullable=False),
    Column("seen_at", UtcTime(), nullable=False),
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
    Column("observed_at", UtcTime(), nullable=False),
    Column("backend", String(32), nullable=False),
    Column("followers", BigInteger),
    Column("following", BigInteger),
    Column("likes", BigInteger),
    Column("videos", BigInteger),
)
Index("observations_account", observations.c.account_id, observations.c.observed_at)
