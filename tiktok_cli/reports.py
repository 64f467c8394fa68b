"""The reports' columns (`changes`, `history`, `snapshots`), and how a table shows them.

Each fact once: tracking.py makes the rows, cli.py names the columns in each report's
--fields help, writers/table.py lays them out. Standard library only (models.py is), so
cli.py reads it at start-up for nothing.
"""

from __future__ import annotations

from tiktok_cli.models import FIELDS

# The counts an account has, and how much each moved between two observations (history).
COUNTS = ("followers", "following", "likes", "videos")
COUNT_CHANGES = tuple(f"{name}_change" for name in COUNTS)

# Each report's columns, in order; `changes` puts `owner` first in a batch (output.owner_column).
CHANGE_COLUMNS = ("list", "change", "old_unique_id", "since", "until", *FIELDS)
HISTORY_COLUMNS = ("observed_at", "backend", *COUNTS, *COUNT_CHANGES)
SNAPSHOT_COLUMNS = (
    "id",
    "list",
    "started_at",
    "finished_at",
    "status",
    "kind",
    "coverage",
    "note",
    "rows",
    "reported_total",
    "backend",
    "owner_name",
)

# --- how a table shows them ------------------------------------------------------------

# Numbers besides the counts: right-aligned, as wide as they need.
NUMBERS = frozenset({"id", "rows", "reported_total"})
# Usernames (the name a `renamed` change had): never cut, never dropped.
NAMES = ("old_unique_id",)
TIMES = ("since", "until", "observed_at", "started_at", "finished_at")
TIME_WIDTH = len("2026-12-02T03:00:00Z")
# `snapshots` shows its times to the millisecond: whole, never wrapped onto two lines.
SNAPSHOT_TIMES = ("started_at", "finished_at")
MS_TIME_WIDTH = len("2026-12-02T03:00:00.000Z")
# Columns of a few known words, as wide as the longest, and the times.
WIDTHS = {
    "list": len("followings"),
    "change": len("unfollowed"),
    "status": len("incomplete"),
    "kind": len("window, order broken"),
    # `snapshots`' coverage in a table: rows of TikTok's count (elsewhere the share, a number);
    # TikTok serves at most ~10,000 of a list, so a longer one wraps, rarely.
    "coverage": len("10,000 of 999.9M"),
    "backend": len("gateway"),
    **dict.fromkeys(TIMES, TIME_WIDTH),
    **dict.fromkeys(SNAPSHOT_TIMES, MS_TIME_WIDTH),
}
# When the width is short: the report's columns that matter least go before any account
# field, and these last (when it happened, on every row of `changes`) after them.
DROP_FIRST = (
    "status",  # `snapshots`' kind says it too
    "backend",
    "owner_name",
    "reported_total",
    "finished_at",
    "note",
    "videos_change",
    "likes_change",
    "following_change",
)
DROP_LAST = ("since", "list", "until")
