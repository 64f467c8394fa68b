"""A local server on 127.0.0.1 that speaks both seed APIs, for tests and benchmarks.

    GET /tiktok/user-info?uniqueId=NAME                     (seed 000)
    GET /tiktok/user-followings?secUid=&count=&minCursor=   (seed 000)
    GET /tk/user/followers?token=&uid=&cursor=              (seed 004)
    GET /@NAME, /api/user/detail/?uniqueId=, /api/user/list/?secUid=&scene=&minCursor=
                                                            (tiktok.com, for --backend web)

Lists are generated on the fly (accounts ``fan_000000`` …), newest first; a cursor is
the "time" of the last account of the previous page, like TikTok's ``min_time``.
``faults`` scripts misbehaviour: each entry answers one matching request instead of
the normal handler, in order. Run it alone with ``python tests/fakeserver.py``.

An account given a ``FollowList`` (``Account.follower_list``, ``Account.following_list``)
is served as TikTok serves big lists, on all three APIs: every member has a fixed follow
time, the list is newest first by it, each page's cursor is the oldest follow time on it,
only the newest ``cap`` entries can be paged, and ``FollowList.evolve`` makes the list
change between runs (new members on top, some leaving, some renamed). Its flags script
the upstream's bad nights (an empty page, an early end, a failing page, a broken order,
a repeated page).
"""

from __future__ import annotations

import bisect
import contextlib
import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "local-test-token"
BASE_TIME = 1_700_000_000
UID_BASE = 7_000_000_000_000_000_000


def _dumps(obj: Any) -> bytes:
    try:
        import orjson

        return orjson.dumps(obj)
    except ImportError:  # pragma: no cover - the test extra installs orjson
        return json.dumps(obj, ensure_ascii=False).encode()


@dataclass
class Fault:
    """One scripted answer for the next request whose path ends with ``path``.

    ``raw_headers`` go out byte for byte after ``headers`` (junk the stdlib would refuse);
    ``content_type`` replaces the guessed Content-Type (None: guess, "": send none);
    ``compress`` ("gzip" or "deflate") really compresses the body and says so;
    ``content_length=False`` sends no Content-Length and closes the connection after the body.
    """

    path: str
    status: int = 200
    body: bytes | Callable[[dict[str, str]], bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    raw_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_type: str | None = None
    compress: str | None = None
    content_length: bool = True


_COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.compress, "deflate": zlib.compress}


# A FollowList's members are followed one minute apart unless a test says otherwise.
FOLLOW_STEP = 60


@dataclass(frozen=True)
class Generation:
    """What one ``FollowList.evolve`` did, in member indexes: what the tests expect to read."""

    followed: list[int]  # new members, newest first
    unfollowed: list[int]  # members that left, in the order they were listed
    renamed: dict[int, tuple[str | None, str]]  # index -> (old name or None: the default, new name)


@dataclass
class FollowList:
    """One follower or following list as TikTok serves it.

    Every member (an index, rendered as ``fan_NNNNNN`` or ``followed_NNNNNN``) has a fixed
    follow time in Unix seconds; the list is newest first by it (ties: lower index first).
    A page holds the members followed before the cursor asked for (0: from the top), and
    its cursor is the oldest follow time on it, like the token API's ``min_time``, the
    gateway's ``metadata.minCursor`` and tiktok.com's ``minCursor``. With ``cap``, only the
    newest ``cap`` entries are served: the page that reaches the cap is cut there and says
    "more" with no cursor to fetch it (-1 on the token API and tiktok.com, no ``minCursor``
    on the gateway), while ``total`` stays the list's real size.

    Change it through its methods (they keep the served order up to date), never by
    writing ``times`` directly.
    """

    times: dict[int, int] = field(default_factory=dict)  # member index -> follow time
    names: dict[int, str] = field(default_factory=dict)  # index -> a username other than the default
    cap: int | None = None
    # The upstream's bad nights. Page numbers count from 0 in a run from the top, in pages
    # of the size asked for. A page number in a set misbehaves once, then is taken out.
    empty_pages: set[int] = field(default_factory=set)  # no entries, "more", the cursor it was given
    failing_pages: set[int] = field(default_factory=set)  # HTTP 500
    repeated_pages: set[int] = field(default_factory=set)  # the page before it again, cursor and all
    ends_at: int | None = None  # "no more" after this many entries (every run, until reset)
    # Two positions whose members trade places in every answer (the cursors stay those of
    # the true order): TikTok's order broken, until reset.
    swapped: tuple[int, int] | None = None
    # Positions left out of the page that holds them, its cursor unchanged (every run, until reset).
    dropped: set[int] = field(default_factory=set)
    _order: list[int] = field(default_factory=list, init=False, repr=False)
    _keys: list[int] = field(default_factory=list, init=False, repr=False)  # -time of _order, ascending
    _stale: bool = field(default=True, init=False, repr=False)
    _generation: int = field(default=0, init=False, repr=False)  # evolve() calls, for new names
    _next: int = field(default=0, init=False, repr=False)  # the next new member's index

    @classmethod
    def of(
        cls, size: int, *, newest: int = BASE_TIME, step: int = FOLLOW_STEP, cap: int | None = None
    ) -> FollowList:
        """Members 0 .. size-1, member 0 followed at ``newest`` and each next one ``step`` earlier."""
        return cls(times={i: newest - i * step for i in range(size)}, cap=cap)

    def __len__(self) -> int:
        return len(self.times)

    @property
    def members(self) -> list[int]:
        """Every member's index, newest first (what an uncapped list would show)."""
        self._sort()
        return list(self._order)

    def window(self) -> list[int]:
        """The members a run from the top can read: the newest ``cap`` (all without a cap)."""
        members = self.members
        return members if self.cap is None else members[: self.cap]

    def name(self, index: int, prefix: str = "fan") -> str:
        return self.names.get(index) or f"{prefix}_{index:06d}"

    def follow(self, count: int, *, step: int = FOLLOW_STEP, at: int | None = None) -> list[int]:
        """``count`` new members on top, ``step`` seconds apart, the newest followed at ``at``
        (default: now, as a real new follower is; never at or below the list's newest):
        their indexes, newest first. New indexes come after every index the list ever had."""
        top = max(self.times.values(), default=0)
        newest = max(int(time.time()) if at is None else at, top + count * step)
        first = max(self._next, max(self.times, default=-1) + 1)
        for k in range(count):
            self.times[first + k] = newest - (count - 1 - k) * step
        self._next = first + count
        self._stale = True
        return list(range(first + count - 1, first - 1, -1))

    def unfollow(self, indexes: Iterable[int]) -> None:
        for index in indexes:
            del self.times[index]
        self._stale = True

    def rename(self, index: int, name: str) -> None:
        self.names[index] = name

    def retime(self, index: int, follow_time: int) -> None:
        """Give a member another follow time: the same as a neighbour's makes a tie, which
        TikTok orders as it likes (and a tie across a page's edge loses the members the
        cursor passes over, as a ``min_time`` cursor does)."""
        self.times[index] = follow_time
        self._stale = True

    def evolve(
        self,
        *,
        follow: int = 0,
        unfollow_at: Iterable[int] = (),
        rename_at: Iterable[int] = (),
        step: int = FOLLOW_STEP,
    ) -> Generation:
        """One night of the list. Positions are in the list as it stands (newest first, from
        0), before the change: the members there leave (``unfollow_at``) or take a new
        name (``rename_at``); then ``follow`` new members come on top."""
        members = self.members
        gone = [members[p] for p in sorted(set(unfollow_at))]
        self._generation += 1
        renamed: dict[int, tuple[str | None, str]] = {}
        for position in sorted(set(rename_at)):
            index = members[position]
            renamed[index] = (self.names.get(index), f"renamed_{index:06d}_g{self._generation}")
            self.rename(index, renamed[index][1])
        self.unfollow(gone)
        return Generation(self.follow(follow, step=step), gone, renamed)

    def _sort(self) -> None:
        if self._stale:
            self._order = sorted(self.times, key=lambda i: (-self.times[i], i))
            self._keys = [-self.times[i] for i in self._order]
            self._stale = False

    def _spend(self, pages: set[int], page: int) -> bool:
        if page in pages:
            pages.discard(page)
            return True
        return False

    def page(self, cursor: int, size: int) -> ListPage:
        """The answer to a request for ``size`` entries after ``cursor``."""
        self._sort()
        # Members followed strictly before the cursor; 0 or less: from the top.
        start = 0 if cursor <= 0 else bisect.bisect_right(self._keys, -cursor)
        number = start // max(size, 1)
        if self._spend(self.failing_pages, number):
            return ListPage([], cursor, True, len(self), status=500)
        if self._spend(self.empty_pages, number):
            return ListPage([], cursor, True, len(self))
        if number > 0 and self._spend(self.repeated_pages, number):
            start -= size  # with the cursor of the page before: the client asks again
        end = len(self._order)
        if self.ends_at is not None:
            end = min(end, self.ends_at)
        capped = self.cap is not None and self.cap < end
        if self.cap is not None and capped:
            end = self.cap
        stop = min(end, start + size)
        served = self._order
        if self.swapped is not None and max(self.swapped) < len(served):
            a, b = self.swapped
            served = list(served)
            served[a], served[b] = served[b], served[a]
        indexes = [served[at] for at in range(start, stop) if at not in self.dropped]
        more = stop < end
        if capped and not more:
            return ListPage(indexes, None, True, len(self))
        next_cursor = -self._keys[stop - 1] if stop > start else cursor
        return ListPage(indexes, next_cursor, more, len(self))


@dataclass(frozen=True)
class ListPage:
    """One answer of a FollowList: member indexes, the next cursor (None: TikTok's cap,
    past which it serves nothing), whether it claims more, the list's real size."""

    indexes: list[int]
    cursor: int | None
    more: bool
    total: int
    status: int = 200


@dataclass
class Account:
    name: str
    uid: str
    sec_uid: str
    followers: int = 0
    followings: int = 0
    hidden: bool = False
    # Which fans follow, newest first (their indexes); None: fans 0 .. followers-1. Tests
    # change it between runs to make accounts follow and unfollow.
    members: list[int] | None = None
    # Fans known by another username than fan_NNNNNN: index -> name (a rename).
    names: dict[int, str] = field(default_factory=dict)
    # Lists served as TikTok serves big ones (follow times, a cap); they replace
    # ``followers``/``members``/``names`` (and ``followings``) on every API.
    follower_list: FollowList | None = None
    following_list: FollowList | None = None

    @property
    def follower_count(self) -> int:
        return len(self.follower_list) if self.follower_list is not None else self.followers

    @property
    def following_count(self) -> int:
        return len(self.following_list) if self.following_list is not None else self.followings


def sec_uid_for(name: str) -> str:
    return "MS4wLjABAAAA" + (name.replace(".", "-") + "x" * 40)[:40] + "SecUidPadding"


def mobile_follower(index: int, name: str | None = None) -> dict[str, Any]:
    uid = str(UID_BASE + index)
    return {
        "uid": uid,
        "sec_uid": sec_uid_for(f"fan_{index:06d}"),
        "unique_id": name or f"fan_{index:06d}",
        "nickname": f"Fan number {index}",
        "signature": f"Bio of fan {index}\nwith a second line, and a comma",
        "follower_count": index % 997,
        "following_count": index % 89,
        "total_favorited": index * 3,
        "aweme_count": index % 13,
        "custom_verify": "",
        "enterprise_verify_reason": "",
        "secret": 1 if index % 50 == 0 else 0,
        "avatar_thumb": {"url_list": [f"https://p16.example.com/avatar/{uid}.webp"]},
        "region": "US",
    }


def web_following(index: int, name: str | None = None) -> dict[str, Any]:
    return {
        "username": name or f"followed_{index:06d}",
        "nickname": f"Followed {index}",
        "avatar": f"https://p16.example.com/avatar/f{index}.jpeg",
        "verified": index % 10 == 0,
        "bio": f"Followed account {index}",
        "secUid": sec_uid_for(f"followed_{index:06d}"),
        "id": str(UID_BASE + 500_000 + index),
        "stats": {
            "followers": index * 7,
            "followings": index % 50,
            "likes": index * 100,
            "videos": index % 30,
        },
    }


def web_account(index: int, prefix: str = "fan", name: str | None = None) -> dict[str, Any]:
    """One tiktok.com ``userList`` entry: ``{user, stats, statsV2}``; ``name``: a rename."""
    default = f"{prefix}_{index:06d}"
    name = name or default
    return {
        "user": {
            "id": str(UID_BASE + 900_000 + index),
            "uniqueId": name,
            "secUid": sec_uid_for(default),
            "nickname": f"Web {prefix} {index}",
            "signature": f"Bio of {default}",
            "verified": index % 10 == 0,
            "privateAccount": False,
            "avatarThumb": f"https://p16.example.com/avatar/{default}.jpeg",
        },
        "stats": {"followerCount": index * 7, "followingCount": index % 50, "heartCount": index * 100},
        "statsV2": {"followerCount": str(index * 7), "followingCount": str(index % 50)},
    }


def profile_page(detail: dict[str, Any]) -> bytes:
    """A tiktok.com profile page carrying ``detail`` as today's rehydration JSON."""
    # TikTok escapes "<" inside the JSON, so no "</script>" can end the element early.
    payload = json.dumps({"__DEFAULT_SCOPE__": {"webapp.user-detail": detail}}).replace("<", "\\u003c")
    return (
        '<!DOCTYPE html><html><head><title>TikTok</title></head><body><div id="app"></div>'
        f'<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">{payload}</script>'
        "</body></html>"
    ).encode()


class FakeTikTok:
    """The server; use as a context manager. ``url`` is its base (http://127.0.0.1:PORT)."""

    def __init__(
        self,
        *,
        accounts: list[Account] | None = None,
        page_size: int = 20,
        latency: float = 0.0,
        faults: list[Fault] | None = None,
    ) -> None:
        self.accounts = {
            a.name: a
            for a in (accounts or [Account("alice", "6754915036232582149", sec_uid_for("alice"), 95, 43)])
        }
        self.page_size = page_size
        self.latency = latency
        self.faults = list(faults or [])
        self.requests: list[str] = []
        self.received: list[tuple[str, dict[str, str]]] = []  # (path, headers) of every request
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeTikTok:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, path_suffix: str) -> int:
        return sum(1 for r in self.requests if urlsplit(r).path.endswith(path_suffix))

    # --- routing ---------------------------------------------------------------------

    def answer(self, target: str) -> tuple[int, bytes, dict[str, str]]:
        status, body, headers, _ = self.answer_with_fault(target)
        return status, body, headers

    def answer_with_fault(self, target: str) -> tuple[int, bytes, dict[str, str], Fault | None]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(target)
            fault = next((f for f in self.faults if parts.path.endswith(f.path)), None)
            if fault is not None:
                self.faults.remove(fault)
        if fault is not None:
            body = fault.body(query) if callable(fault.body) else fault.body
            return fault.status, body, fault.headers, fault
        if parts.path.endswith("/user-info"):
            return (*self.user_info(query), None)
        if parts.path.endswith("/user-followings"):
            return (*self.followings(query), None)
        if parts.path.endswith("/user/followers"):
            return (*self.followers(query), None)
        if parts.path.startswith("/@"):
            return (*self.web_profile(parts.path[2:]), None)
        if parts.path.endswith("/api/user/detail/"):
            return 200, _dumps(self.web_detail(query.get("uniqueId", ""))), {}, None
        if parts.path.endswith("/api/user/list/"):
            return (*self.web_list(query), None)
        return 404, _dumps({"status": "error", "message": "no such route"}), {}, None

    # --- tiktok.com ------------------------------------------------------------------

    def web_detail(self, name: str) -> dict[str, Any]:
        account = self.accounts.get(name)
        if account is None:
            return {"statusCode": 10221, "statusMsg": "user banned", "userInfo": {}}
        user = {
            "id": account.uid,
            "uniqueId": account.name,
            "secUid": account.sec_uid,
            "nickname": account.name.title(),
            "signature": f"Bio of {account.name}",
            "verified": False,
            "privateAccount": account.hidden,
            "avatarThumb": f"https://p16.example.com/{account.name}.jpeg",
        }
        stats = {
            "followerCount": account.follower_count,
            "followingCount": account.following_count,
            "heartCount": 12345,
        }
        return {"statusCode": 0, "userInfo": {"user": user, "stats": stats}}

    def web_profile(self, name: str) -> tuple[int, bytes, dict[str, str]]:
        return 200, profile_page(self.web_detail(name)), {}

    def web_list(self, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        account = next((a for a in self.accounts.values() if a.sec_uid == query.get("secUid")), None)
        if account is None:
            return 200, _dumps({"statusCode": 10202, "statusMsg": "user not exist"}), {}
        if account.hidden:
            return 200, _dumps({"hasMore": False, "minCursor": -1, "statusCode": 0}), {}
        followers = query.get("scene") == "67"
        prefix = "fan" if followers else "followed"
        page_size = min(int(query.get("count", "30")), self.page_size)
        timed = account.follower_list if followers else account.following_list
        if timed is not None:
            page = timed.page(int(query.get("minCursor", "0")), page_size)
            if page.status != 200:
                return page.status, _dumps({"statusCode": 10000, "statusMsg": "server error"}), {}
            body: dict[str, Any] = {
                "userList": [web_account(i, prefix, timed.names.get(i)) for i in page.indexes],
                "hasMore": page.more,
                "minCursor": -1 if page.cursor is None else page.cursor,
                "total": page.total,
                "statusCode": 0,
            }
            return 200, _dumps(body), {}
        size = account.followers if followers else account.followings
        indexes, min_cursor, more = self._page(size, int(query.get("minCursor", "0")), page_size)
        body = {
            "userList": [web_account(i, prefix) for i in indexes],
            "hasMore": more,
            "minCursor": min_cursor,
            "total": size,
            "statusCode": 0,
        }
        return 200, _dumps(body), {}

    def user_info(self, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        account = self.accounts.get(query.get("uniqueId", ""))
        if account is None:
            return 404, _dumps({"status": "error", "message": "User not found"}), {}
        info = {
            "uniqueId": account.name,
            "nickname": account.name.title(),
            "bio": f"Bio of {account.name}",
            "followers": account.follower_count,
            "following": account.following_count,
            "likes": 12345,
            "profilePictureUrl": f"https://p16.example.com/{account.name}.jpg",
            "secUid": account.sec_uid,
            "id": account.uid,
            "verified": False,
            "privateAccount": account.hidden,
        }
        return 200, _dumps({"status": "success", "data": {"userInfo": info}}), {}

    def _page(self, size: int, cursor: int, page_size: int) -> tuple[range, int, bool]:
        start = 0 if cursor <= 0 else BASE_TIME - cursor + 1
        stop = min(size, start + page_size)
        return range(start, stop), BASE_TIME - (stop - 1), stop < size

    def followings(self, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        account = next((a for a in self.accounts.values() if a.sec_uid == query.get("secUid")), None)
        if account is None:
            return 404, _dumps({"status": "error", "message": "User not found"}), {}
        if account.hidden:
            return 403, _dumps({"status": "error", "message": "Forbidden"}), {}
        count = int(query.get("count", "50"))
        if account.following_list is not None:
            return self._timed_followings(account, account.following_list, query, count)
        indexes, min_cursor, more = self._page(account.followings, int(query.get("minCursor", "0")), count)
        return (
            200,
            _dumps(
                {
                    "requestDetails": {"secUid": account.sec_uid, "count": str(count)},
                    "metadata": {
                        "totalFollowings": account.followings,
                        "hasMore": more,
                        "maxCursor": 0,
                        "minCursor": min_cursor,
                    },
                    "followings": [web_following(i) for i in indexes],
                }
            ),
            {},
        )

    def _timed_followings(
        self, account: Account, timed: FollowList, query: dict[str, str], count: int
    ) -> tuple[int, bytes, dict[str, str]]:
        page = timed.page(int(query.get("minCursor", "0")), count)
        if page.status != 200:
            return page.status, _dumps({"status": "error", "message": "Internal Server Error"}), {}
        metadata: dict[str, Any] = {"totalFollowings": page.total, "hasMore": page.more, "maxCursor": 0}
        if page.cursor is not None:  # at its cap the gateway sends no minCursor at all
            metadata["minCursor"] = page.cursor
        body = {
            "requestDetails": {"secUid": account.sec_uid, "count": str(count)},
            "metadata": metadata,
            "followings": [web_following(i, timed.names.get(i)) for i in page.indexes],
        }
        return 200, _dumps(body), {}

    def followers(self, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        if query.get("token") != TOKEN:
            return 200, _dumps({"code": 10001, "msg": "token无效", "data": None}), {}
        account = next((a for a in self.accounts.values() if a.uid == query.get("uid")), None)
        if account is None:
            data: dict[str, Any] = {"status_code": 2065, "has_more": False, "followers": []}
        elif account.hidden:
            data = {"status_code": 2096, "has_more": False, "followers": []}
        elif account.follower_list is not None:
            timed = account.follower_list
            page = timed.page(int(query.get("cursor", "0")), self.page_size)
            if page.status != 200:
                return page.status, _dumps({"code": 500, "msg": "Internal Server Error", "data": None}), {}
            cursor = -1 if page.cursor is None else page.cursor
            data = {
                "status_code": 0,
                "has_more": page.more,
                "min_time": cursor,
                "max_time": cursor,
                "total": page.total,
                "offset": self.page_size,
                "followers": [mobile_follower(i, timed.names.get(i)) for i in page.indexes],
            }
        else:
            members = account.members if account.members is not None else range(account.followers)
            positions, min_time, more = self._page(
                len(members), int(query.get("cursor", "0")), self.page_size
            )
            data = {
                "status_code": 0,
                "has_more": more,
                "min_time": min_time,
                "max_time": min_time,
                "total": len(members),
                "offset": self.page_size,
                "followers": [mobile_follower(members[p], account.names.get(members[p])) for p in positions],
            }
        return 200, _dumps({"code": 200, "msg": "成功", "data": data}), {}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes; without this, Nagle's algorithm
                # and delayed ACKs add ~40 ms to every keep-alive request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                if server.latency:
                    time.sleep(server.latency)
                with server._lock:
                    server.received.append((urlsplit(self.path).path, dict(self.headers)))
                status, body, headers, fault = server.answer_with_fault(self.path)
                fault = fault or Fault("")
                if fault.compress:
                    body = _COMPRESSORS[fault.compress](body)
                    headers = {**headers, "Content-Encoding": fault.compress}
                self.send_response(status)
                content_type = fault.content_type
                if content_type is None:
                    kind = "text/html" if body.lstrip()[:1] == b"<" else "application/json"
                    content_type = f"{kind}; charset=utf-8"
                if content_type:
                    self.send_header("Content-Type", content_type)
                if fault.content_length:
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                for key, value in headers.items():
                    self.send_header(key, value)
                for raw_key, raw_value in fault.raw_headers:
                    self._headers_buffer.append(raw_key + b": " + raw_value + b"\r\n")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


if __name__ == "__main__":
    import sys

    followers = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with FakeTikTok(
        accounts=[Account("alice", "6754915036232582149", sec_uid_for("alice"), followers, 120)]
    ) as srv:
        print(f"gateway: {srv.url}/tiktok   token API: {srv.url}/tk   token: {TOKEN}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
