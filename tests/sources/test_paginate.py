"""The one cursor loop: lazy, de-duplicating, and stopped by stalls and end markers."""

from __future__ import annotations

import itertools
import re

import pytest

from tiktok_cli.errors import IncompleteListError, UsageError
from tiktok_cli.models import Page, User
from tiktok_cli.paginate import MAX_IDLE_PAGES, Pacing, paginate
from tiktok_cli.seen import SeenAccounts


def users(*ids: int) -> list[User]:
    return [User(unique_id=f"user{i}", user_id=str(i)) for i in ids]


class FakeList:
    """Serves a page per cursor and records every cursor asked for."""

    def __init__(self, pages: dict[int, Page]) -> None:
        self.pages = pages
        self.asked: list[int] = []

    def __call__(self, cursor: int) -> Page:
        self.asked.append(cursor)
        return self.pages[cursor]


def ids(pages) -> list[str]:
    return [user.user_id for page in pages for user in page.users]


THREE = {
    0: Page(users(1, 2, 3), 10, True, total=7),
    10: Page(users(3, 4, 5), 20, True),
    20: Page(users(5, 6, 7), None, False),
}


def test_walks_every_page_and_drops_repeats():
    fetch = FakeList(THREE)
    pages = list(paginate(fetch, 0))
    assert ids(pages) == ["1", "2", "3", "4", "5", "6", "7"]
    assert fetch.asked == [0, 10, 20]
    assert [p.next_cursor for p in pages] == [10, 20, None]
    assert pages[0].total == 7


def test_is_lazy_no_fetch_beyond_what_is_consumed():
    fetch = FakeList(THREE)
    pages = paginate(fetch, 0)
    assert fetch.asked == []
    next(pages)
    assert fetch.asked == [0]
    next(pages)
    assert fetch.asked == [0, 10]


def test_pauses_between_pages_not_before_the_first():
    fetch = FakeList(THREE)
    pauses = []
    for _ in paginate(fetch, 0, pause=lambda: pauses.append(len(fetch.asked))):
        pass
    assert pauses == [1, 2]


def test_seen_accounts_carry_over_from_a_previous_run():
    seen = SeenAccounts()
    for user in users(1, 2):
        seen.claim(user)
    assert ids(paginate(FakeList(THREE), 0, seen=seen)) == ["3", "4", "5", "6", "7"]


def test_accounts_without_any_id_are_kept():
    anonymous = [User(nickname="no id"), User(nickname="no id")]
    pages = list(paginate(FakeList({0: Page(anonymous, None, False)}), 0))
    assert len(pages[0].users) == 2


def test_seen_accounts_match_names_case_insensitively():
    seen = SeenAccounts()
    assert seen.claim(User(unique_id="Alice"))[0]
    assert not seen.claim(User(unique_id="alice"))[0]


def test_pages_carry_the_digests_of_their_new_accounts():
    pages = list(paginate(FakeList(THREE), 0))
    assert [len(p.digests) for p in pages] == [len(p.users) for p in pages]
    assert all(isinstance(k, int) for p in pages for k in p.digests)


@pytest.mark.parametrize("end", [-1, None])
def test_more_without_a_usable_cursor_ends_the_list(end):
    fetch = FakeList({0: Page(users(1), 5, True), 5: Page(users(2), end, True)})
    pages = list(paginate(fetch, 0))
    assert ids(pages) == ["1", "2"]
    assert pages[-1].next_cursor is None
    assert fetch.asked == [0, 5]


def test_a_cursor_that_stops_advancing_raises_after_three_idle_pages():
    fetch = FakeList({0: Page(users(1), 5, True), 5: Page(users(1), 5, True)})
    pages = paginate(fetch, 0)
    got = [next(pages) for _ in range(1 + MAX_IDLE_PAGES)]
    with pytest.raises(IncompleteListError, match="stalled"):
        next(pages)
    assert ids(got) == ["1"]
    assert fetch.asked == [0, 5, 5, 5]


def test_pages_with_nothing_new_raise_even_if_the_cursor_moves():
    pages = {c: Page([], c + 1, True) for c in range(10)}
    fetch = FakeList(pages)
    with pytest.raises(IncompleteListError, match="no new accounts"):
        list(paginate(fetch, 0))
    assert fetch.asked == [0, 1, 2]


def test_new_accounts_reset_the_stall_count():
    counter = itertools.count(100)
    # Two idle pages, then one with a new account, forever: never three idle in a row.
    pages = {c: Page(users(next(counter)) if c % 3 == 2 else [], c + 1, True) for c in range(30)}
    pages[30] = Page([], None, False)
    assert len(ids(paginate(FakeList(pages), 0))) == 10


def test_the_last_page_ends_the_list_even_when_idle():
    fetch = FakeList({0: Page(users(1), 5, True), 5: Page(users(1), 5, False)})
    assert ids(paginate(fetch, 0)) == ["1"]
    assert fetch.asked == [0, 5]


def test_skipped_entries_are_counted_on_every_kind_of_page():
    pages = {
        0: Page(users(1), 10, True, skipped=2),
        10: Page(users(2), None, True, skipped=1),  # no cursor: the list cap
    }
    out = list(paginate(FakeList(pages), 0))
    assert [p.skipped for p in out] == [2, 1]
    assert out[-1].capped
    last = list(paginate(FakeList({0: Page(users(1), None, False, skipped=4)}), 0))
    assert [p.skipped for p in last] == [4]


@pytest.mark.parametrize("cursor", ["5", 5.0, [5]])
def test_a_cursor_that_is_not_an_integer_is_bad_data_not_the_list_cap(cursor):
    from tiktok_cli.errors import UpstreamError

    pages = {0: Page(users(1), cursor, True)}  # type: ignore[arg-type]
    out = paginate(FakeList(pages), 0)
    with pytest.raises(UpstreamError, match="not an integer"):
        list(out)


@pytest.mark.parametrize(
    ("limit", "expected", "asked"),
    [
        (1, ["1"], [0]),
        (3, ["1", "2", "3"], [0]),  # a full first page: the second is never fetched
        (4, ["1", "2", "3", "4"], [0, 10]),
        (5, ["1", "2", "3", "4", "5"], [0, 10]),  # the repeated 3 does not count
        (7, ["1", "2", "3", "4", "5", "6", "7"], [0, 10, 20]),
        (100, ["1", "2", "3", "4", "5", "6", "7"], [0, 10, 20]),
    ],
)
def test_limit_yields_exactly_that_many_and_fetches_no_further(limit, expected, asked):
    fetch = FakeList(THREE)
    pages = list(paginate(fetch, 0, limit=limit))
    assert ids(pages) == expected
    assert fetch.asked == asked
    assert all(len(p.digests) == len(p.users) for p in pages)


def test_a_limit_cut_page_leaves_the_rest_unseen():
    # The rest of a cut page was never written, so it must not count as met.
    seen = SeenAccounts()
    list(paginate(FakeList(THREE), 0, seen=seen, limit=2))
    assert len(seen) == 2


def test_a_used_up_limit_fetches_nothing():
    fetch = FakeList(THREE)
    assert list(paginate(fetch, 0, limit=0)) == []
    assert fetch.asked == []


def test_reaching_the_limit_on_idle_pages_is_not_a_stall():
    same = Page(users(1), 5, True)
    fetch = FakeList({0: Page(users(1), 5, True), 5: same})
    assert ids(paginate(fetch, 0, limit=1)) == ["1"]
    assert fetch.asked == [0]


@pytest.mark.parametrize(
    ("text", "pacing"),
    [(None, Pacing()), ("2", Pacing(2.0, 2.0)), ("1-3", Pacing(1.0, 3.0)), ("0", Pacing())],
)
def test_sleep_is_one_pause_or_a_range(text: str | None, pacing: Pacing) -> None:
    assert Pacing.parse(text) == pacing


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("soon", "--sleep takes SECONDS or MIN-MAX (like 1-3), not 'soon'"),
        ("3-1", "--sleep '3-1': need 0 <= MIN <= MAX <= 3600 seconds"),
        ("3601", "--sleep '3601': need 0 <= MIN <= MAX <= 3600 seconds"),
        ("nan", "--sleep 'nan': need 0 <= MIN <= MAX <= 3600 seconds"),
    ],
)
def test_a_sleep_that_is_no_pause_is_a_usage_error(text: str, message: str) -> None:
    with pytest.raises(UsageError, match="^" + re.escape(message) + "$"):
        Pacing.parse(text)


def test_every_kind_of_page_carries_its_follow_time_when_plausible():
    from datetime import datetime, timezone

    pages = {
        0: Page(users(1), 1_700_000_000, True, follow_time=1_700_000_000),
        1_700_000_000: Page(users(2), 5, True, follow_time=5),  # a counter, not a time
        5: Page(users(3), None, True, follow_time=1_690_000_000),  # the cap, with a time
    }
    out = list(paginate(FakeList(pages), 0))
    assert [p.followed_after for p in out] == [
        datetime.fromtimestamp(1_700_000_000, tz=timezone.utc),
        None,
        datetime.fromtimestamp(1_690_000_000, tz=timezone.utc),
    ]
    assert out[-1].capped
