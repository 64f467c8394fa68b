"""tiktok.com directly: profiles from the page's embedded JSON, lists from /api/user/list/.

No gateway and no token. Profiles work anonymously; follower lists usually need a
logged-in session (``--cookies``). TikTok answers bots with captchas, empty bodies and
login redirects: each is reported as a block (exit 6) with what to try, never as an
empty result. Requests are polite by default (1 per second) unless ``--rate`` says.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from tiktok_cli.backends._shapes import as_object, count, cursor_value, parsing, web_user
from tiktok_cli.backends.base import Backend, ListQuery, Operation
from tiktok_cli.config import Settings
from tiktok_cli.errors import (
    BlockedError,
    ConfigError,
    NotFoundError,
    NotVisibleError,
    TikTokCliError,
    UnexpectedBody,
    UnexpectedStatus,
    UpstreamError,
    UsageError,
)
from tiktok_cli.identifiers import Account, IdKind
from tiktok_cli.models import Cursor, Page, User

DEFAULT_RATE = 1.0  # requests per second when the user sets none
MAX_PAGE_SIZE = 30
SCENES = {Operation.FOLLOWINGS: 21, Operation.FOLLOWERS: 67}
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PAGE_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
}
# The query every tiktok.com web client sends with API calls.
WEB_PARAMS: Mapping[str, str] = {
    "aid": "1988",
    "app_name": "tiktok_web",
    "device_platform": "web_pc",
    "browser_name": "Mozilla",
    "browser_platform": "Win32",
    "browser_language": "en-US",
    "browser_online": "true",
    "cookie_enabled": "true",
    "os": "windows",
    "region": "US",
    "language": "en",
    "screen_width": "1920",
    "screen_height": "1080",
    "tz_name": "UTC",
}

NOT_FOUND = frozenset({10202, 10221})
PRIVATE = 10222
LOGIN_REQUIRED = frozenset({10101, 10102})
BLOCKED = {10000: "a captcha", 10201: "invalid parameters (a sign of a flagged client)", 10204: "an IP block"}
_SCRIPT = '<script[^>]*\\bid="{}"[^>]*>'


class WebBackend(Backend):
    name = "web"
    operations = frozenset({Operation.USER_INFO, Operation.FOLLOWINGS, Operation.FOLLOWERS})
    automatic = False  # chosen with --backend web: it scrapes, and needs care

    @classmethod
    def client_options(cls, settings: Settings) -> dict[str, Any]:
        options: dict[str, Any] = {
            "rate": settings.rate or DEFAULT_RATE,
            "headers": {"User-Agent": USER_AGENT},
        }
        if settings.cookies:
            from tiktok_cli.cookies import load_cookies

            options["cookies"] = load_cookies(settings.cookies)
        transport = browser_transport()
        if transport is not None:
            options["transport"] = transport
        return options

    # --- profiles -------------------------------------------------------------------

    def user_info(self, username: str) -> User:
        what = f"profile of @{username}"
        url = f"{self.settings.web_url}/@{username}"
        try:
            html, final_url = self.client.get_page(url, what=what, headers=PAGE_HEADERS)
        except UnexpectedStatus as exc:
            raise self._status_error(exc, f"@{username}") from None
        if urlsplit(final_url).path.startswith("/login"):
            raise blocked(f"{what}: tiktok.com redirected to its login page")
        detail = profile_detail(html, username)
        if detail is None:
            if not html.strip():
                raise blocked(f"{what}: tiktok.com answered with an empty page")
            raise blocked(f"{what}: tiktok.com answered with a challenge page instead of the profile")
        status = detail.get("statusCode", 0)
        info = detail.get("userInfo")
        user = info.get("user") if isinstance(info, Mapping) else None
        if status in NOT_FOUND or (status == 0 and not user):
            raise NotFoundError(f"@{username} does not exist or is banned")
        if not isinstance(user, Mapping) or not isinstance(info, Mapping):
            self._raise_for(status, what, f"@{username}")
            raise UpstreamError(f"{what}: the page's user data is missing")
        with parsing(what):
            return web_user(user, info.get("stats"), info.get("statsV2"), raw=info)

    # --- lists ----------------------------------------------------------------------

    def page_fetcher(self, operation: Operation, query: ListQuery) -> Callable[[Cursor], Page]:
        if operation not in SCENES:
            raise self._unsupported(operation)
        sec_uid = self._sec_uid(query.account)
        what = f"{operation.value} of {query.account}"
        url = f"{self.settings.web_url}/api/user/list/"
        size = min(query.page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        start = self.start_cursor(query)

        def fetch(cursor: Cursor) -> Page:
            params: dict[str, str | int] = {
                **WEB_PARAMS, "secUid": sec_uid, "count": size, "maxCursor": 0, "minCursor": cursor,
                "scene": SCENES[operation],
            }  # fmt: skip
            token = self.client.cookie("msToken")
            if token:
                params["msToken"] = token
            body = self._api(url, params, what, str(query.account))
            entries = body.get("userList")
            if entries is None and cursor == start:
                raise NotVisibleError(
                    f"{query.account}'s {operation.value} list is hidden, or needs a logged-in session",
                    hint="if the list is public, pass --cookies with a cookies.txt from a logged-in browser",
                )
            with parsing(what):
                return _list_page(entries, body, what)

        return fetch

    def _sec_uid(self, account: Account) -> str:
        account = account.prefer(IdKind.SEC_UID)  # an --input row may carry it: no look-up
        if account.kind is IdKind.SEC_UID:
            return account.value
        if account.kind is not IdKind.USERNAME:
            raise UsageError(
                "tiktok.com lists accounts by secUid: give USER (or --sec-uid) with --backend web"
            )
        user = self.context.lookup(account.value)
        if not user.sec_uid:
            raise UpstreamError(f"the profile of {account} carries no secUid")
        return user.sec_uid

    def _api(self, url: str, params: Mapping[str, str | int], what: str, account: str) -> dict[str, Any]:
        headers = {"Referer": f"{self.settings.web_url}/", "Accept": "application/json, text/plain, */*"}
        try:
            body = self.client.get_json(url, params, what=what, headers=headers)
        except UnexpectedBody as exc:
            raise blocked(exc.message) from None
        except UnexpectedStatus as exc:
            raise self._status_error(exc, account) from None
        obj = dict(as_object(body, what))
        status = obj.get("statusCode", obj.get("status_code", 0))
        if status in NOT_FOUND:
            raise NotFoundError(f"{account} does not exist or is banned")
        self._raise_for(status, what, account)
        return obj

    def _raise_for(self, status: Any, what: str, account: str) -> None:
        if status in (0, None):
            return
        if status == PRIVATE:
            raise NotVisibleError(f"{account} is a private account")
        if status in LOGIN_REQUIRED:
            raise ConfigError(
                f"{what}: tiktok.com wants a logged-in session (status {status})",
                hint="pass --cookies with a cookies.txt exported from a logged-in browser",
            )
        if status in BLOCKED:
            raise blocked(f"{what}: tiktok.com answered with {BLOCKED[status]} (status {status})")
        raise UpstreamError(f"{what}: tiktok.com answered status {status!r}")

    def _status_error(self, exc: UnexpectedStatus, account: str) -> TikTokCliError:
        if 300 <= exc.status < 400 and "/login" in exc.location:
            return blocked(f"{exc.message.split(':')[0]}: tiktok.com redirected to its login page")
        if exc.status == 404:
            return NotFoundError(f"{account} does not exist (tiktok.com answered 404)")
        if exc.status in (403, 405):
            return blocked(f"{exc.message.split(':')[0]}: tiktok.com refused the request (HTTP {exc.status})")
        return exc


def _list_page(entries: Any, body: Mapping[str, Any], what: str) -> Page:
    users = []
    for entry in entries or []:
        entry = as_object(entry, f"{what}: list entry")
        user = entry.get("user")
        if isinstance(user, Mapping) and str(user.get("id", "0")) not in ("0", ""):  # "0": a placeholder
            users.append(web_user(user, entry.get("stats"), entry.get("statsV2"), raw=entry))
    has_more = body.get("hasMore")
    if not isinstance(has_more, bool):
        raise UpstreamError(f"{what}: hasMore is missing or not true/false")
    return Page(users, cursor_value(body.get("minCursor"), "minCursor"), has_more, count((body, "total")))


def profile_detail(html: str, username: str) -> Mapping[str, Any] | None:
    """The profile's ``{statusCode, userInfo: {user, stats, statsV2}}`` from any page generation.

    Tries today's ``__UNIVERSAL_DATA_FOR_REHYDRATION__``, then ``SIGI_STATE`` (2022-2024),
    then ``__NEXT_DATA__`` (2020). None when the page carries none of them.
    """
    universal = embedded_json(html, "__UNIVERSAL_DATA_FOR_REHYDRATION__")
    if isinstance(universal, Mapping):
        scope = universal.get("__DEFAULT_SCOPE__")
        detail = scope.get("webapp.user-detail") if isinstance(scope, Mapping) else None
        if isinstance(detail, Mapping):
            return detail
    sigi = embedded_json(html, "SIGI_STATE")
    if isinstance(sigi, Mapping) and isinstance(sigi.get("UserModule"), Mapping):
        module = sigi["UserModule"]
        users, stats = module.get("users") or {}, module.get("stats") or {}
        key = next((k for k in users if k.lower() == username.lower()), next(iter(users), None))
        page = sigi.get("UserPage")
        page = page if isinstance(page, Mapping) else {}
        return {
            "statusCode": page.get("statusCode", 0),
            "userInfo": {"user": users.get(key), "stats": stats.get(key)} if key else {},
        }
    next_data = embedded_json(html, "__NEXT_DATA__")
    if isinstance(next_data, Mapping):
        props = next_data.get("props")
        page_props = props.get("pageProps") if isinstance(props, Mapping) else None
        if isinstance(page_props, Mapping):
            return {
                "statusCode": page_props.get("statusCode", 0),
                "userInfo": page_props.get("userInfo") or {},
            }
    return None


def embedded_json(html: str, script_id: str) -> Any:
    """The JSON inside ``<script id="script_id">``; trailing HTML is ignored."""
    match = re.search(_SCRIPT.format(re.escape(script_id)), html)
    if match is None:
        return None
    decoder = json.JSONDecoder()
    start = match.end()
    while start < len(html) and html[start].isspace():
        start += 1
    try:
        value, _ = decoder.raw_decode(html, start)
    except ValueError:
        return None
    return value


def blocked(message: str) -> BlockedError:
    """A block, with what to try; suggests the TLS extra when it is not installed."""
    hint = "try --cookies from a logged-in browser, a slower --rate, or another network"
    if not has_browser_tls():
        hint += "; installing tiktok-cli[web] (a browser-like TLS fingerprint) often helps"
    return BlockedError(message, hint=hint)


@cache
def has_browser_tls() -> bool:
    """Whether the [web] extra (curl_cffi's browser TLS fingerprint) is installed."""
    return importlib.util.find_spec("httpx_curl_cffi") is not None


def browser_transport() -> Any:
    """An httpx transport with a browser's TLS fingerprint, when the [web] extra is installed."""
    if not has_browser_tls():
        return None
    from httpx_curl_cffi import CurlTransport

    return CurlTransport(impersonate="chrome", default_headers=False)


BACKEND = WebBackend
