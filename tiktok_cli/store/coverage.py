"""Where a run really passed: the parts of a list a covering run proves nothing about.

A run that misses a member it covered counts it missing (record.py's two strikes). Three
places of a run's list are exceptions, where TikTok may not have shown a member that is
still there:

- A page's edge. The next page's cursor is the oldest follow time on the page, and
  TikTok serves the follows *before* it: a member who followed in the same second as the
  page's last member falls between the two pages, on every run with the same edges.
- A short page: one with fewer entries than the run's longest page while more pages
  followed, TikTok having left one out. Its whole span, from the previous page's last
  member to the next page's first, proves nothing.
- A complete run's tail: when more than ``ALLOWANCE`` members the list placed below the
  deepest member the run saw were all missed, the list more likely ended early than they
  all left at once (the plausibility gate lets a list end a little short).

The recorder notes each page's first and last member (store ids) and its entries, a few
ints per page, kept in the run's progress for a resume; ``Coverage`` reads their order
keys back when the run finishes (after any renumbering or move) and spares the members
whose keys lie in those places.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select, update

from tiktok_cli.models import ALLOWANCE
from tiktok_cli.store.schema import memberships, snapshots

# A page as buffered: its first and last member's account keys (None: no account) and its
# entries, accounts and skipped ones.
Buffered = tuple[str | None, str | None, int]
# A page as kept in the run's progress: [first member id, last member id, entries] (0: none).
Kept = list[int]


def buffered(keys: Sequence[str | None], skipped: int) -> Buffered:
    """The note of a page whose accounts have these keys (in page order)."""
    present = [key for key in keys if key is not None]
    return (present[0], present[-1], len(keys) + skipped) if present else (None, None, len(keys) + skipped)


def keep(
    connection: Connection, run: int, kept: list[Kept], pages: Sequence[Buffered], ids: dict[str, int]
) -> None:
    """Add the buffered ``pages`` of run ``run`` to ``kept``, with their members' store ids
    (``ids`` by account key), and note its longest page on the snapshot for later runs."""
    longest = max((entries for *_, entries in kept), default=0)
    kept += [
        [ids.get(first, 0) if first else 0, ids.get(last, 0) if last else 0, entries]
        for first, last, entries in pages
    ]
    grown = max((entries for *_, entries in pages), default=0)
    if grown > longest:
        connection.execute(update(snapshots).where(snapshots.c.id == run).values(page_size=grown))


@dataclass(slots=True)
class Coverage:
    """The order keys a finishing run spares: open spans between page edges, and its tail."""

    spans: list[tuple[float, float]] = field(default_factory=list)  # (lower, upper), open
    tail: int | None = None  # every key below it is spared (a complete run ended early)
    note: str | None = None

    def spares(self, position: int | None) -> bool:
        """Whether a member at ``position`` may have been passed over unseen."""
        if position is None:
            return False
        if self.tail is not None and position < self.tail:
            return True
        return any(lower < position < upper for lower, upper in self.spans)

    @classmethod
    def of(
        cls, connection: Connection, list_id: int, run: int, pages: Sequence[Kept], *, complete: bool
    ) -> Coverage:
        """What run ``run`` of list ``list_id``, which read ``pages``, spares."""
        members = sorted({member for first, last, _ in pages for member in (first, last) if member})
        key: dict[int, int] = {}
        for start in range(0, len(members), 500):
            query = select(memberships.c.member_id, memberships.c.position).where(
                memberships.c.list_id == list_id,
                memberships.c.ended_run.is_(None),
                memberships.c.position.is_not(None),
                memberships.c.member_id.in_(members[start : start + 500]),
            )
            key.update((int(member), int(position)) for member, position in connection.execute(query))
        firsts = [key.get(first) for first, _, _ in pages]
        lasts = [key.get(last) for _, last, _ in pages]
        longest = max((entries for *_, entries in pages), default=0)
        new_only, earlier = connection.execute(
            select(
                snapshots.c.new_only,
                select(snapshots.c.page_size)
                .where(
                    snapshots.c.list_id == list_id, snapshots.c.id < run, snapshots.c.page_size.is_not(None)
                )
                .order_by(snapshots.c.id.desc())
                .limit(1)
                .scalar_subquery(),
            ).where(snapshots.c.id == run)
        ).one()
        # A page as long as the run's longest, or as earlier runs' (a --new-only run may read
        # one page only), is whole.
        whole = max(longest, earlier or 0)
        found = cls()
        # Each page another followed; a --new-only run's last too: the list said there was more.
        for index in range(len(pages) if new_only else len(pages) - 1):
            short = pages[index][2] < whole
            lower = next((k for k in firsts[index + 1 :] if k is not None), None)
            if lower is None and not (short and index == len(pages) - 1):
                break  # nothing keyed below it: no edge to pass
            # An edge starts at the page's last member; a short page's span at the one before it.
            before = lasts[:index] if short else lasts[: index + 1]
            upper = next((k for k in reversed(before) if k is not None), None)
            low = float("-inf") if lower is None else float(lower if upper is None else min(upper, lower))
            high = float("inf") if upper is None else float(upper if lower is None else max(upper, lower))
            found.spans.append((low, high))
        deepest = min((k for k in (*firsts, *lasts) if k is not None), default=None)
        if complete and deepest is not None:
            below = connection.execute(
                select(func.count())
                .select_from(memberships)
                .where(
                    memberships.c.list_id == list_id,
                    memberships.c.ended_run.is_(None),
                    memberships.c.first_run < run,
                    memberships.c.position < deepest,
                )
            ).scalar_one()
            if below > ALLOWANCE:
                found.tail = deepest
                found.note = (
                    f"the list may have ended early: the {below:,} members recorded below the last one "
                    "it showed are not counted missing"
                )
        return found


def joined(note: str | None, more: str | None) -> str | None:
    """A snapshot's note with one more sentence."""
    if more is None:
        return note
    return more if note is None else f"{note}; {more}"
