"""The one cursor loop: lazy, de-duplicating, and suspicious of every cursor.

TikTok repeats accounts across pages, sometimes hands back the cursor it was given, and
sometimes claims there is more while sending nothing. Each of those would make a naive
loop spin forever or write duplicates; here they end the run with an error instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from hashlib import blake2b

from tiktok_cli.errors import IncompleteListError, UpstreamError
from tiktok_cli.models import Cursor, Page, User

MAX_IDLE_PAGES = 3


class SeenAccounts:
    """Identities met in this export, as stable 64-bit digests.

    Digests (not ``hash()``, which changes per process) so a resumed export can reload
    the ones it wrote. A batch shares one store between lists through ``scoped``
    views, so an account that follows two owners appears once under each.
    """

    __slots__ = ("_digests", "_scope")

    def __init__(self, digests: Iterable[int] = ()) -> None:
        self._digests: set[int] = set(digests)
        self._scope = b""

    def __len__(self) -> int:
        return len(self._digests)

    def scoped(self, scope: str) -> SeenAccounts:
        """A view sharing this store, whose keys are distinct per ``scope``."""
        view = SeenAccounts.__new__(SeenAccounts)
        view._digests, view._scope = self._digests, scope.encode() + b"\0"
        return view

    def claim(self, user: User) -> tuple[bool, int | None]:
        """Remember ``user``: (whether it is new, its digest or None when it has no id)."""
        key = user.key
        if key is None:  # nothing to tell it apart by: keep it
            return True, None
        data = self._scope + key.encode("utf-8", "surrogatepass")
        digest = int.from_bytes(blake2b(data, digest_size=8).digest(), "big")
        if digest in self._digests:
            return False, digest
        self._digests.add(digest)
        return True, digest


def paginate(
    fetch: Callable[[Cursor], Page],
    start: Cursor,
    *,
    seen: SeenAccounts | None = None,
    pause: Callable[[], None] | None = None,
    max_idle_pages: int = MAX_IDLE_PAGES,
) -> Iterator[Page]:
    """Yield pages of not-yet-seen accounts, starting at ``start``, until the list ends.

    Each yielded page's ``next_cursor`` is where to resume after it (None at the end).
    Raises IncompleteListError when the API stops making progress but claims more.
    """
    seen = SeenAccounts() if seen is None else seen
    cursor = start
    sent: set[Cursor] = set()
    idle = 0
    while True:
        if sent and pause is not None:
            pause()
        sent.add(cursor)
        page = fetch(cursor)
        fresh: list[User] = []
        keys: list[int | None] = []
        for user in page.users:
            new, digest = seen.claim(user)
            if new:
                fresh.append(user)
                keys.append(digest)
        nxt, skipped = page.next_cursor, page.skipped
        if not page.has_more:
            yield Page(fresh, None, False, page.total, keys=keys, skipped=skipped)
            return
        if nxt is not None and type(nxt) is not int:
            # Only a missing or negative cursor is TikTok's list cap; anything else is
            # bad data (backends read cursors with _shapes.cursor_value, which says so).
            raise UpstreamError(f"the list's next cursor is {type(nxt).__name__}, not an integer")
        if nxt is None or nxt < 0:
            # The API says "more" but gives no way to get it: it stopped serving the
            # list (TikTok's caps). Nothing can be fetched past this point.
            yield Page(fresh, None, False, page.total, capped=True, keys=keys, skipped=skipped)
            return
        yield Page(fresh, nxt, True, page.total, keys=keys, skipped=skipped)
        idle = 0 if fresh and nxt not in sent else idle + 1
        if idle >= max_idle_pages:
            problem = "the cursor stopped advancing" if nxt in sent else "pages brought no new accounts"
            raise IncompleteListError(
                f"the list stalled: {problem} for {idle} pages in a row (last cursor {nxt})"
            )
        cursor = nxt
