"""The one cursor loop: lazy, de-duplicating, suspicious of every cursor, and the one
place that stops at ``--limit``.

TikTok repeats accounts across pages, sometimes hands back the cursor it was given, and
sometimes claims there is more while sending nothing. Each of those would make a naive
loop spin forever or write duplicates; here they end the run with an error instead.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from tiktok_cli.errors import StalledListError, UpstreamError, UsageError
from tiktok_cli.models import Cursor, Page, User, follow_time, utc_stamp
from tiktok_cli.seen import SeenAccounts

MAX_IDLE_PAGES = 3
# A backend's function from a cursor to the page it starts (Backend.page_fetcher).
PageFetcher = Callable[[Cursor], Page]
# The longest pause --sleep may ask for between two pages, in seconds.
MAX_SLEEP = 3600


@dataclass(frozen=True, slots=True)
class Pacing:
    """Politeness between pages: sleep a random time in [low, high] seconds."""

    low: float = 0.0
    high: float = 0.0

    @classmethod
    def parse(cls, text: str | None) -> Pacing:
        """--sleep MIN[-MAX] checked: 0 <= MIN <= MAX <= 3600 seconds; None: no pause."""
        if text is None:
            return cls()
        low_text, _, high_text = text.partition("-")
        try:
            low = float(low_text)
            high = float(high_text) if high_text else low
        except ValueError:
            raise UsageError(f"--sleep takes SECONDS or MIN-MAX (like 1-3), not {text!r}") from None
        if not (0 <= low <= high <= MAX_SLEEP):  # also false for nan
            raise UsageError(f"--sleep {text!r}: need 0 <= MIN <= MAX <= {MAX_SLEEP} seconds")
        return cls(low, high)

    def pause(self) -> None:
        if self.high > 0:
            time.sleep(random.uniform(self.low, self.high))  # noqa: S311 - jitter, not crypto


@dataclass(frozen=True, slots=True)
class FreshPage:
    """What the paginator yields for one page: its accounts not met before, and where the
    list stands after it."""

    users: list[User]
    next_cursor: Cursor | None  # where to resume after this page; None: the list ends here
    # De-duplication digests of ``users`` (None where an account has no id), recorded
    # only once their rows are written, so a resume never skips an unwritten account.
    digests: list[int | None]
    fetched_at: str  # when the page was fetched (utc_stamp)
    total: int | None = None  # what the API reports the list holds
    skipped: int = 0  # list entries that were no account (``Page.skipped``)
    capped: bool = False  # the API claimed more but gave no cursor to fetch it (its list cap)
    limited: bool = False  # --limit cut this page short: the list went on past it
    # Its accounts followed at or after this time: the page's oldest follow time (from the
    # backend's cursor), when plausible; None: unknown.
    followed_after: datetime | None = None


def paginate(
    fetch: PageFetcher,
    start: Cursor,
    *,
    seen: SeenAccounts | None = None,
    limit: int | None = None,
    pause: Callable[[], None] | None = None,
    max_idle_pages: int = MAX_IDLE_PAGES,
) -> Iterator[FreshPage]:
    """Yield the accounts not seen yet, page by page, starting at ``start``, until the list ends.

    Each yielded page's ``next_cursor`` is where to resume after it (None at the end).
    With ``limit``, stops once that many accounts were yielded, trimming the last page
    and fetching nothing more. Raises StalledListError when the API stops making
    progress but claims more.
    """
    seen = SeenAccounts() if seen is None else seen
    left = limit
    cursor = start
    sent: set[Cursor] = set()
    idle = 0
    while left is None or left > 0:
        if sent and pause is not None:
            pause()
        sent.add(cursor)
        page = fetch(cursor)
        stamp = utc_stamp()
        fresh: list[User] = []
        digests: list[int | None] = []
        limited = False
        for index, user in enumerate(page.users):
            new, digest = seen.claim(user)
            if new:
                fresh.append(user)
                digests.append(digest)
                if left is not None and len(fresh) == left:
                    # The rest of the page stays unseen, as if never fetched.
                    limited = index + 1 < len(page.users)
                    break
        nxt, skipped = page.next_cursor, page.skipped
        if left is not None:
            left -= len(fresh)
        # What the page brought, wherever it leaves the list.
        made = functools.partial(
            FreshPage,
            fresh,
            digests=digests,
            fetched_at=stamp,
            total=page.total,
            skipped=skipped,
            limited=limited,
            followed_after=follow_time(page.follow_time),
        )
        if not page.has_more:
            yield made(None)
            return
        if nxt is not None and type(nxt) is not int:
            # Only a missing or negative cursor is TikTok's list cap; anything else is
            # bad data (backends read cursors with _shapes.cursor_value, which says so).
            raise UpstreamError(f"the list's next cursor is {type(nxt).__name__}, not an integer")
        if nxt is None or nxt < 0:
            # The API says "more" but gives no way to get it: it stopped serving the
            # list (TikTok's caps). Nothing can be fetched past this point.
            yield made(None, capped=True)
            return
        yield made(nxt)
        idle = 0 if fresh and nxt not in sent else idle + 1
        if idle >= max_idle_pages and (left is None or left > 0):
            problem = "the cursor stopped advancing" if nxt in sent else "pages brought no new accounts"
            raise StalledListError(
                f"the list stalled: {problem} for {idle} pages in a row (last cursor {nxt})"
            )
        cursor = nxt
