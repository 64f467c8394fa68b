"""The local server's big lists (``fakeserver.FollowList``), which the window tests rest on:
follow-time cursors, TikTok's cap, generations and the scripted bad nights, on the token
API, the gateway and tiktok.com alike. Read straight from the server's answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fakeserver import BASE_TIME, FOLLOW_STEP, TOKEN, Account, FakeTikTok, FollowList, sec_uid_for

ALICE_UID = "6754915036232582149"


@dataclass(frozen=True)
class Answer:
    status: int
    names: list[str]
    cursor: int | None  # None: no cursor (the gateway at its cap)
    more: bool
    total: int | None


@dataclass(frozen=True)
class Api:
    """One API serving a list: the request for a page after ``cursor`` and how to read it."""

    name: str
    kind: str  # followers or followings

    def target(self, cursor: int) -> str:
        sec = sec_uid_for("alice")
        if self.name == "tkapi":
            return f"/tk/user/followers?token={TOKEN}&uid={ALICE_UID}&cursor={cursor}"
        if self.name == "gateway":
            return f"/tiktok/user-followings?secUid={sec}&count=10&minCursor={cursor}"
        scene = 67 if self.kind == "followers" else 21
        return f"/api/user/list/?secUid={sec}&scene={scene}&count=10&minCursor={cursor}"

    def read(self, status: int, body: bytes) -> Answer:
        if status != 200:
            return Answer(status, [], None, True, None)
        obj: dict[str, Any] = json.loads(body)
        if self.name == "tkapi":
            data = obj["data"]
            names = [u["unique_id"] for u in data["followers"]]
            return Answer(status, names, data["min_time"], data["has_more"], data["total"])
        if self.name == "gateway":
            meta = obj["metadata"]
            names = [u["username"] for u in obj["followings"]]
            return Answer(status, names, meta.get("minCursor"), meta["hasMore"], meta["totalFollowings"])
        names = [u["user"]["uniqueId"] for u in obj["userList"]]
        return Answer(status, names, obj["minCursor"], obj["hasMore"], obj["total"])


APIS = [
    Api("tkapi", "followers"),
    Api("web", "followers"),
    Api("gateway", "followings"),
    Api("web", "followings"),
]


@pytest.fixture(params=APIS, ids=lambda api: f"{api.name}-{api.kind}")
def api(request: pytest.FixtureRequest) -> Api:
    result: Api = request.param
    return result


def serving(api: Api, timed: FollowList) -> FakeTikTok:
    alice = Account("alice", ALICE_UID, sec_uid_for("alice"))
    if api.kind == "followers":
        alice.follower_list = timed
    else:
        alice.following_list = timed
    return FakeTikTok(accounts=[alice], page_size=10)


def ask(server: FakeTikTok, api: Api, cursor: int) -> Answer:
    status, body, _ = server.answer(api.target(cursor))
    return api.read(status, body)


def walk(server: FakeTikTok, api: Api, limit: int = 100) -> Iterator[Answer]:
    """Every answer of a run from the top, as a client pages: next cursor until no more."""
    cursor = 0
    for _ in range(limit):
        answer = ask(server, api, cursor)
        yield answer
        if answer.status == 200 and (not answer.more or answer.cursor is None or answer.cursor < 0):
            return
        cursor = cursor if answer.cursor is None else answer.cursor


def prefix(api: Api) -> str:
    return "fan" if api.kind == "followers" else "followed"


def names(api: Api, indexes: list[int]) -> list[str]:
    return [f"{prefix(api)}_{i:06d}" for i in indexes]


def test_a_pages_cursor_is_its_oldest_follow_time_and_the_next_page_follows_before_it(api: Api) -> None:
    timed = FollowList.of(25)
    with serving(api, timed) as server:
        pages = list(walk(server, api))
    assert [len(p.names) for p in pages] == [10, 10, 5]
    assert [p.cursor for p in pages[:2]] == [BASE_TIME - 9 * FOLLOW_STEP, BASE_TIME - 19 * FOLLOW_STEP]
    assert [p.more for p in pages] == [True, True, False]
    assert [n for p in pages for n in p.names] == names(api, list(range(25)))
    assert {p.total for p in pages} == {25}


def test_a_cursor_between_follow_times_starts_at_the_members_followed_before_it(api: Api) -> None:
    with serving(api, FollowList.of(25)) as server:
        answer = ask(server, api, BASE_TIME - 4 * FOLLOW_STEP - 1)  # just below member 4's time
    assert answer.names == names(api, list(range(5, 15)))


def test_at_the_cap_the_list_says_more_with_no_cursor_and_its_real_total(api: Api) -> None:
    with serving(api, FollowList.of(200, cap=25)) as server:
        pages = list(walk(server, api))
        past = ask(server, api, BASE_TIME - 30 * FOLLOW_STEP)  # a cursor below the cap
    assert [n for p in pages for n in p.names] == names(api, list(range(25)))
    last = pages[-1]
    assert last.more is True
    # -1 on the token API and tiktok.com, no minCursor at all on the gateway, as TikTok does.
    assert last.cursor == (None if api.name == "gateway" else -1)
    assert last.total == 200
    assert past.names == [] and past.more is True


def test_a_generation_adds_on_top_removes_and_renames(api: Api) -> None:
    timed = FollowList.of(40, cap=30)
    night = timed.evolve(follow=3, unfollow_at=[2, 35], rename_at=[5])
    assert night.followed == [42, 41, 40]
    assert night.unfollowed == [2, 35]
    assert night.renamed == {5: (None, "renamed_000005_g1")}
    assert len(timed) == 41
    with serving(api, timed) as server:
        served = [n for p in walk(server, api) for n in p.names]
    expected = names(api, [42, 41, 40, 0, 1, *range(3, 28)])  # the newest 30
    expected[expected.index(f"{prefix(api)}_000005")] = "renamed_000005_g1"
    assert served == expected
    # New followers were followed after everyone on the list, the newest last.
    assert timed.times[42] > timed.times[41] > timed.times[40] > timed.times[0]
    again = timed.evolve(follow=1, rename_at=[timed.members.index(5)])
    assert again.followed == [43]
    assert again.renamed == {5: ("renamed_000005_g1", "renamed_000005_g2")}


def test_removed_indexes_are_never_given_to_new_followers() -> None:
    timed = FollowList.of(3)
    timed.evolve(unfollow_at=[0])
    timed.follow(1)
    timed.evolve(unfollow_at=[0])
    assert timed.follow(1) == [4]


def test_an_empty_page_answers_once_with_the_cursor_it_was_given(api: Api) -> None:
    timed = FollowList.of(30, cap=25)
    timed.empty_pages = {1}
    with serving(api, timed) as server:
        pages = list(walk(server, api))
    assert [len(p.names) for p in pages] == [10, 0, 10, 5]
    assert pages[1].cursor == pages[0].cursor and pages[1].more
    assert timed.empty_pages == set()


def test_a_failing_page_fails_once(api: Api) -> None:
    timed = FollowList.of(30)
    timed.failing_pages = {2}
    with serving(api, timed) as server:
        pages = list(walk(server, api))
    assert [p.status for p in pages] == [200, 200, 500, 200]
    assert [n for p in pages for n in p.names] == names(api, list(range(30)))


def test_a_repeated_page_is_the_page_before_with_its_cursor_once(api: Api) -> None:
    timed = FollowList.of(30)
    timed.repeated_pages = {1}
    with serving(api, timed) as server:
        pages = list(walk(server, api))
    assert [p.names for p in pages[:2]] == [names(api, list(range(10)))] * 2
    assert pages[0].cursor == pages[1].cursor
    assert [n for p in pages[2:] for n in p.names] == names(api, list(range(10, 30)))


def test_a_list_that_ends_early_says_no_more_mid_list(api: Api) -> None:
    timed = FollowList.of(100, cap=50)
    timed.ends_at = 15
    with serving(api, timed) as server:
        pages = list(walk(server, api))
    assert [len(p.names) for p in pages] == [10, 5]
    assert pages[-1].more is False and pages[-1].total == 100


def test_a_broken_order_swaps_two_members_far_apart(api: Api) -> None:
    timed = FollowList.of(30)
    timed.swapped = (1, 25)
    with serving(api, timed) as server:
        served = [n for p in walk(server, api) for n in p.names]
    order = list(range(30))
    order[1], order[25] = 25, 1
    assert served == names(api, order)


def test_user_info_counts_a_timed_list_whole() -> None:
    alice = Account("alice", ALICE_UID, sec_uid_for("alice"), follower_list=FollowList.of(70, cap=20))
    with FakeTikTok(accounts=[alice]) as server:
        _, body, _ = server.answer("/tiktok/user-info?uniqueId=alice")
    assert json.loads(body)["data"]["userInfo"]["followers"] == 70


def test_a_tie_across_a_pages_edge_loses_the_members_the_cursor_passes_over() -> None:
    timed = FollowList.of(30)
    timed.retime(10, timed.times[9])  # member 10 followed in the same second as member 9
    api = APIS[0]
    with serving(api, timed) as server:
        served = [n for p in walk(server, api) for n in p.names]
    assert served == names(api, [i for i in range(30) if i != 10])
