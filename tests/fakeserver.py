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
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable
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


def web_following(index: int) -> dict[str, Any]:
    return {
        "username": f"followed_{index:06d}",
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


def web_account(index: int, prefix: str = "fan") -> dict[str, Any]:
    """One tiktok.com ``userList`` entry: ``{user, stats, statsV2}``."""
    name = f"{prefix}_{index:06d}"
    return {
        "user": {
            "id": str(UID_BASE + 900_000 + index),
            "uniqueId": name,
            "secUid": sec_uid_for(name),
            "nickname": f"Web {prefix} {index}",
            "signature": f"Bio of {name}",
            "verified": index % 10 == 0,
            "privateAccount": False,
            "avatarThumb": f"https://p16.example.com/avatar/{name}.jpeg",
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
            "followerCount": account.followers,
            "followingCount": account.followings,
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
        size = account.followers if followers else account.followings
        page_size = min(int(query.get("count", "30")), self.page_size)
        indexes, min_cursor, more = self._page(size, int(query.get("minCursor", "0")), page_size)
        prefix = "fan" if followers else "followed"
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
            "followers": account.followers,
            "following": account.followings,
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

    def followers(self, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        if query.get("token") != TOKEN:
            return 200, _dumps({"code": 10001, "msg": "token无效", "data": None}), {}
        account = next((a for a in self.accounts.values() if a.uid == query.get("uid")), None)
        if account is None:
            data: dict[str, Any] = {"status_code": 2065, "has_more": False, "followers": []}
        elif account.hidden:
            data = {"status_code": 2096, "has_more": False, "followers": []}
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
