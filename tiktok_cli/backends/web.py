"""tiktok.com directly: profiles from the page's embedded JSON, lists from /api/user/list/.

No gateway and no token. Profiles work anonymously; follower lists usually need a
logged-in session (``--cookies``). TikTok answers bots with captchas, empty bodies and
login redirects: each is reported as a block (exit 6) with what to try, never as an
empty result. Requests are polite by default (1 per second) unless ``--rate`` says.

Every answer is checked against the shape this backend reads, in one function per
endpoint (``profile_detail`` + ``profile_user``, ``list_page``): what does not fit is
one clear error, never a traceback and never a guess.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from collections.abc import Callable, Mapping
from functools import cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from tiktok_cli.backends._shapes import as_object, count, cursor_value, parsing, text, web_user
from tiktok_cli.backends.base import Backend, BackendContext, ListQuery, Operation, looks_like_block_page
from tiktok_cli.client import ClientOptions, loads, loads_prefix
from tiktok_cli.errors import (
    BlockedError,
    ConfigError,
    NotFoundError,
    NotVisibleError,
    TikTokCliError,
    UnexpectedBody,
    UnexpectedStatus,
    UpstreamError,
    excerpt,
)
from tiktok_cli.identifiers import IdKind
from tiktok_cli.models import Cursor, Page, User
from tiktok_cli.safetext import shown
from tiktok_cli.settings import SETTINGS, Settings

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

    import httpx

    from tiktok_cli.backends._signer import Signer

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
INVALID_PARAMETERS = 10201  # also how tiktok.com answers unsigned calls
SESSION_COOKIES = ("sessionid", "sessionid_ss")
LOGIN_OPTIONS = "--cookies-from-browser BROWSER (firefox, chrome, edge, …) or --cookies FILE (a cookies.txt)"
BLOCKED = {10000: "a captcha", 10201: "invalid parameters (a sign of a flagged client)", 10204: "an IP block"}

UNIVERSAL = "__UNIVERSAL_DATA_FOR_REHYDRATION__"
SIGI = "SIGI_STATE"
NEXT_DATA = "__NEXT_DATA__"
# Before 2022 the state was a script statement, not a JSON element: window['SIGI_STATE']={…};
_INLINE_SIGI = re.compile(r"""\s*window\s*\[\s*(['"])SIGI_STATE\1\s*\]\s*=\s*""")


class WebBackend(Backend):
    name = "web"
    label = service = "tiktok.com"
    url_setting = "web_url"
    unreachable_advice = None  # nobody starts tiktok.com: the client's words (its host) stand
    # Its own rules (status_error): an API route's 404 is a missing route, 403 and 405 walls.
    status_errors: ClassVar[Mapping[int, type[TikTokCliError]]] = {}
    operations = frozenset({Operation.USER_INFO, Operation.FOLLOWINGS, Operation.FOLLOWERS})
    automatic = False  # chosen with --backend web: it scrapes, and needs care
    default_rate = DEFAULT_RATE
    # Lists without a session answer "hidden" (API notes): profiles are public.
    needs_session = frozenset({Operation.FOLLOWINGS, Operation.FOLLOWERS})

    @classmethod
    def client_options(cls, settings: Settings) -> ClientOptions:
        return dataclasses.replace(
            super().client_options(settings),
            headers={"User-Agent": USER_AGENT},
            cookies=session_cookies(settings),
            transport=browser_transport(),
            on_response=rotate_ms_token,
        )

    def __init__(self, context: BackendContext) -> None:
        super().__init__(context)
        self._signer: Signer | None = None
        if self.settings.signer_url:
            from tiktok_cli.backends._signer import Signer

            self._signer = Signer(self.settings.signer_url, timeout=self.settings.timeout)

    # --- profiles -------------------------------------------------------------------

    def user_info(self, username: str) -> User:
        what = f"profile of @{username}"
        url = f"{self.settings.web_url}/@{username}"
        try:
            html, final_url = self.client.get_page(url, what=what, headers=PAGE_HEADERS)
        except UnexpectedStatus as exc:
            raise self.status_error(exc, what=what, account=f"@{username}", profile_page=True) from None
        if urlsplit(final_url).path.startswith("/login"):
            raise blocked(f"{what}: tiktok.com redirected to its login page")
        detail = profile_detail(html, username)
        if detail is None:
            # A client-side shell (or a wall) without the embedded JSON: the JSON profile
            # API holds the same userInfo, and tells a block from a missing account.
            if not html.strip():
                page = "an empty page"
            elif looks_like_block_page(html.encode("utf-8", "replace")):
                page = "a challenge page instead of the profile"
            else:
                page = "a page without the profile's data"
            return self._detail_api(username, f"{what}: tiktok.com answered with {page}")
        return profile_user(detail, username, what)

    def _detail_api(self, username: str, page_problem: str) -> User:
        """The profile from ``/api/user/detail/``, asked when the page could not be read.

        Only TikTok's own "not found" status there means the account does not exist: an
        HTTP 404 from an API route says the route is missing (TikTok answers an unknown
        account with 200 and a status code), and the page itself answered 200.
        """
        url = f"{self.settings.web_url}/api/user/detail/"
        params: dict[str, str | int] = {**WEB_PARAMS, "uniqueId": username}
        what = f"profile of @{username}"
        try:
            return profile_user(self._api_body(url, params, what, f"@{username}"), username, what)
        except BlockedError as exc:
            raise blocked(f"{page_problem} (/api/user/detail/ too: {_after_colon(exc.message)})") from None
        except UpstreamError as exc:
            raise UpstreamError(
                f"{page_problem} (/api/user/detail/ instead: {_after_colon(exc.message)})", hint=exc.hint
            ) from None

    # --- lists ----------------------------------------------------------------------

    def page_fetcher(self, operation: Operation, query: ListQuery) -> Callable[[Cursor], Page]:
        if operation not in SCENES:
            raise self._unsupported(operation)
        sec_uid = self.resolve(
            query.account,
            IdKind.SEC_UID,
            usage="tiktok.com lists accounts by secUid: give USER (or --sec-uid) with --backend web",
        )
        what = f"{operation.value} of {query.account}"
        url = f"{self.settings.web_url}/api/user/list/"
        size = min(query.page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        start = self.start_cursor(query)

        def fetch(cursor: Cursor) -> Page:
            params: dict[str, str | int] = {
                **WEB_PARAMS, "secUid": sec_uid, "count": size, "maxCursor": 0, "minCursor": cursor,
                "scene": SCENES[operation],
            }  # fmt: skip
            body = self._api(url, params, what, str(query.account))
            try:
                return list_page(body, what, first=cursor == start)
            except NotVisibleError as exc:
                members = self._reported_members(operation, query)
                if members and not self._has_session():
                    # Asked without a session, TikTok answers a list the profile says is not
                    # empty as if it were hidden: it is the login it wants.
                    raise self.login_needed(
                        f"{what}: tiktok.com shows none of the {members:,} accounts its profile "
                        "reports without a logged-in session"
                    ) from None
                raise exc from None

        return fetch

    def _reported_members(self, operation: Operation, query: ListQuery) -> int | None:
        """The list's size the profile reports, when the account was looked up by name."""
        if query.account.kind is not IdKind.USERNAME:
            return None
        user = self.context.lookup(query.account.value)  # cached: resolving it looked it up
        if user.private:
            return None  # hidden from everyone but its followers: no login of ours changes that
        return user.followers if operation is Operation.FOLLOWERS else user.following

    def _has_session(self) -> bool:
        return any(self.client.cookie(name) for name in SESSION_COOKIES)

    def login_needed(self, message: str) -> ConfigError:
        """tiktok.com wants a login: the error names the option that gives it one."""
        browser = self.settings.cookies_from_browser
        if self._has_session():
            hint = (
                "the session in the cookies was refused (expired or logged out): log in to tiktok.com again"
            )
        elif browser or self.settings.cookies:
            where = f"--cookies-from-browser {browser}" if browser else "--cookies"
            hint = f"the cookies of {where} carry no session (no sessionid): log in to tiktok.com there first"
        else:
            hint = f"log in to tiktok.com in a browser and pass {LOGIN_OPTIONS}"
        return ConfigError(message, hint=hint)

    def _unsigned(self, error: BlockedError) -> BlockedError:
        """Empty bodies and 10201 are how tiktok.com answers unsigned calls: say so."""
        if not self.settings.signer_url:
            error.hint = (
                f"{error.hint}; tiktok.com may want signed requests: "
                f"set signer_url ({SETTINGS['signer_url'].env})"
            )
        return error

    def close(self) -> None:
        if self._signer is not None:
            self._signer.close()

    def _api(self, url: str, params: dict[str, str | int], what: str, account: str) -> Mapping[str, Any]:
        """One tiktok.com API call: a JSON object whose statusCode says success, or an error."""
        obj = self._api_body(url, params, what, account)
        status = status_code(obj, what)
        if status in NOT_FOUND:
            raise NotFoundError(f"{account} does not exist or is banned")
        if status in LOGIN_REQUIRED:
            raise self.login_needed(f"{what}: tiktok.com wants a logged-in session (status {status})")
        try:
            raise_for_status(status, what, account)
        except BlockedError as exc:
            raise self._unsigned(exc) if status == INVALID_PARAMETERS else exc from None
        return obj

    def _api_body(self, url: str, params: dict[str, str | int], what: str, account: str) -> Mapping[str, Any]:
        """One tiktok.com API call's JSON object, its statusCode left to the caller."""
        token = self.client.cookie("msToken")
        if token:
            params["msToken"] = token
        headers = {"Referer": f"{self.settings.web_url}/", "Accept": "application/json, text/plain, */*"}
        sent: dict[str, str | int] | None
        if self._signer is not None:
            import httpx

            signed = self._signer.sign(str(httpx.URL(url, params=params)))
            url, sent, headers = signed.url, None, {**headers, **signed.headers}
        else:
            sent = params
        try:
            body = self.request(url, sent, what=what, account=account, headers=headers)
        except UnexpectedBody as exc:
            error = blocked(exc.message)
            raise self._unsigned(error) if exc.kind == "empty" else error from None
        return as_object(body, what)

    def status_error(
        self, exc: UnexpectedStatus, *, what: str, account: str, profile_page: bool = False
    ) -> TikTokCliError:
        """tiktok.com's statuses: a login redirect, a missing profile page, a refusal (a wall)."""
        if 300 <= exc.status < 400 and "/login" in exc.location:
            if not profile_page:  # profiles are public: there a login page is a wall
                return self.login_needed(f"{what}: tiktok.com redirected to its login page")
            return blocked(f"{what}: tiktok.com redirected to its login page")
        # A 404 profile page is TikTok's "no such account"; a 404 from an API route only
        # says the route is missing (an unknown account there is 200 and a status code).
        if exc.status == 404 and profile_page:
            return NotFoundError(f"{account} does not exist (tiktok.com answered 404)")
        if exc.status in (403, 405):
            return blocked(f"{what}: tiktok.com refused the request (HTTP {exc.status})")
        if exc.status == 404:
            return exc  # an API route's: the route is missing, not the account
        return super().status_error(exc, what=what, account=account)


def session_cookies(settings: Settings) -> CookieJar | None:
    """The tiktok.com cookies of ``--cookies`` or ``--cookies-from-browser`` (one of them), if any."""
    if settings.cookies and settings.cookies_from_browser:
        raise ConfigError(
            "both cookies and cookies_from_browser are set: tiktok.com gets one session",
            hint="unset one (see `tiktok config show`)",
        )
    if settings.cookies:
        from tiktok_cli.cookies import load_cookies

        return load_cookies(settings.cookies, settings.web_url)
    if settings.cookies_from_browser:
        from tiktok_cli.browser_cookies import load_browser_cookies

        return load_browser_cookies(settings.cookies_from_browser, settings.web_url)
    return None


# --- checkers: one per endpoint ---------------------------------------------------------


def status_code(obj: Mapping[str, Any], what: str) -> int:
    """TikTok's ``statusCode`` (0 when absent); anything but an integer is bad data."""
    value = obj.get("statusCode")
    if value is None:
        value = obj.get("status_code")
    if value is None:
        return 0
    if type(value) is not int:
        raise UpstreamError(f"{what}: statusCode is {shown(value)}, not a status code")
    return value


def raise_for_status(status: int, what: str, account: str) -> None:
    """The error a non-zero statusCode stands for (not-found codes are the caller's)."""
    if status == 0:
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
    raise UpstreamError(f"{what}: tiktok.com answered status {status}")


def list_page(body: Any, what: str, *, first: bool) -> Page:
    """One ``/api/user/list/`` answer (status already checked) as a Page.

    ``{userList: [{user, stats, statsV2}], hasMore, minCursor, total}``. Without
    ``userList`` on the first page and with nothing more, the list is hidden (TikTok's
    documented answer); later, a missing list ends the list only when hasMore is false.
    Entries that are no account (``{}``, no ``user``, placeholders) are counted as skipped.
    """
    obj = as_object(body, what)
    has_more = obj.get("hasMore")
    if type(has_more) is not bool:
        raise UpstreamError(f"{what}: hasMore is {shown(has_more)}, not true/false")
    entries = obj.get("userList")
    if entries is None:
        if first and not has_more:
            raise NotVisibleError(
                f"{what}: the list is hidden, or needs a logged-in session",
                hint=f"if the list is public, log in to tiktok.com in a browser and pass {LOGIN_OPTIONS}",
            )
        if has_more or "userList" in obj:
            raise UpstreamError(f"{what}: the answer holds no userList but hasMore is {has_more}")
        entries = []
    elif type(entries) is not list:
        raise UpstreamError(f"{what}: userList is {shown(entries)}, not a list")
    users: list[User] = []
    skipped = 0
    with parsing(what):
        for entry in entries:
            if not isinstance(entry, Mapping):
                raise UpstreamError(f"{what}: a userList entry is {shown(entry)}, not an object")
            user = entry.get("user")
            if user is None:
                skipped += 1
                continue
            if not isinstance(user, Mapping):
                raise UpstreamError(f"{what}: a userList entry's user is {shown(user)}, not an object")
            uid = user.get("id")
            if uid == "0" or (type(uid) is int and uid == 0):
                skipped += 1  # TikTok's placeholder for an account it no longer shows
                continue
            account = web_user(user, entry.get("stats"), entry.get("statsV2"), raw=entry)
            if account.user_id is None and not account.unique_id:
                skipped += 1
                continue
            users.append(account)
        cursor = cursor_value(obj.get("minCursor"), "minCursor")
        total = count((obj, "total"))
    # minCursor is the page's oldest follow time, in Unix seconds.
    return Page(users, cursor, has_more, total, skipped=skipped, follow_time=cursor)


def profile_user(detail: Mapping[str, Any], username: str, what: str) -> User:
    """The account in a profile's ``{statusCode, userInfo: {user, stats, statsV2}}``.

    Only TikTok's not-found codes mean "does not exist"; a page that holds no user, or
    another account than the one asked for, is bad data. A private account's page says
    so (10222) next to the profile, which is readable: only its lists are not.
    """
    status = status_code(detail, what)
    if status in NOT_FOUND:
        raise NotFoundError(f"@{username} does not exist or is banned")
    if status == PRIVATE:
        if not _holds_a_user(detail):
            raise_for_status(status, what, f"@{username}")
        return dataclasses.replace(_profile_account(detail, username, what), private=True)
    raise_for_status(status, what, f"@{username}")
    return _profile_account(detail, username, what)


def _holds_a_user(detail: Mapping[str, Any]) -> bool:
    info = detail.get("userInfo")
    return isinstance(info, Mapping) and isinstance(info.get("user"), Mapping) and bool(info["user"])


def _profile_account(detail: Mapping[str, Any], username: str, what: str) -> User:
    info = detail.get("userInfo")
    if info is None:
        raise UpstreamError(f"{what}: the answer holds no userInfo")
    info = as_object(info, f"{what}: userInfo")
    user = info.get("user")
    if not isinstance(user, Mapping) or not user:
        raise UpstreamError(f"{what}: userInfo.user is {shown(user)}, not an account")
    for key in ("stats", "statsV2"):
        if info.get(key) is not None and not isinstance(info.get(key), Mapping):
            raise UpstreamError(f"{what}: userInfo.{key} is {shown(info.get(key))}, not an object")
    name = text(user, "uniqueId")
    if name is None:
        raise UpstreamError(f"{what}: the profile's user has no uniqueId")
    if name.casefold() != username.casefold():
        raise UpstreamError(f"{what}: tiktok.com answered with the profile of @{excerpt(name, 40)}")
    with parsing(what):
        return web_user(user, info.get("stats"), info.get("statsV2"), raw=info)


def profile_detail(html: str, username: str) -> Mapping[str, Any] | None:
    """The profile's ``{statusCode, userInfo: {user, stats, statsV2}}`` from any page generation.

    Tries today's ``__UNIVERSAL_DATA_FOR_REHYDRATION__``, then ``SIGI_STATE`` (2022-2024,
    a JSON element, or before that a ``window['SIGI_STATE']=…`` statement), then
    ``__NEXT_DATA__`` (2020). None when the page carries none of them (a client-side
    shell, a wall); UpstreamError when one is there but cut or of the wrong shape.
    """
    what = f"profile page of @{username}"
    scripts = page_scripts(html)
    universal = scripts.json(UNIVERSAL, what)
    if universal is not None:
        scope = as_object(universal, f"{what}: {UNIVERSAL}").get("__DEFAULT_SCOPE__")
        detail = as_object(scope, f"{what}: __DEFAULT_SCOPE__").get("webapp.user-detail") if scope else None
        if detail is not None:
            return as_object(detail, f"{what}: webapp.user-detail")
    sigi = scripts.json(SIGI, what)
    if sigi is None:
        sigi = scripts.inline_sigi(what)
    if sigi is not None:
        detail = _sigi_detail(as_object(sigi, f"{what}: {SIGI}"), username, what)
        if detail is not None:
            return detail
    next_data = scripts.json(NEXT_DATA, what)
    if next_data is not None:
        props = as_object(next_data, f"{what}: {NEXT_DATA}").get("props")
        page_props = as_object(props, f"{what}: props").get("pageProps") if props is not None else None
        if page_props is not None:
            page_props = as_object(page_props, f"{what}: pageProps")
            return {"statusCode": page_props.get("statusCode", 0), "userInfo": page_props.get("userInfo")}
    return None


def _sigi_detail(sigi: Mapping[str, Any], username: str, what: str) -> Mapping[str, Any] | None:
    module = sigi.get("UserModule")
    if module is None:
        return None
    module = as_object(module, f"{what}: UserModule")
    users = as_object(module.get("users") or {}, f"{what}: UserModule.users")
    stats = as_object(module.get("stats") or {}, f"{what}: UserModule.stats")
    page = sigi.get("UserPage")
    page = as_object(page, f"{what}: UserPage") if page is not None else {}
    # Only the account asked for: a page keyed by another name holds another account.
    key = next((k for k in users if k.casefold() == username.casefold()), None)
    info = {"user": users[key], "stats": stats.get(key)} if key is not None else None
    return {"statusCode": page.get("statusCode", 0), "userInfo": info}


class PageScripts(HTMLParser):
    """The full text of every ``<script>`` element of a page, as an HTML parser reads it.

    "Full" is what the HTML standard makes it: a script's text ends at the first
    ``</script``, whatever JSON string it sits in. TikTok escapes ``<`` as ``\\u003c``
    inside its JSON, so a literal ``</script>`` there means the JSON was cut: the text
    then fails to decode as a whole and is reported as bad data, never read as a prefix.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, str | None] = {}  # None: opened, never closed (a cut page)
        self.inline: list[str] = []
        self._open: tuple[str | None, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._open = (dict(attrs).get("id"), [])

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._open is not None:
            script_id, parts = self._open
            self._open = None
            if script_id is None:
                self.inline.append("".join(parts))
            else:
                self.by_id.setdefault(script_id, "".join(parts))  # the first, as getElementById

    def finish(self) -> PageScripts:
        self.close()
        if self._open is not None and self._open[0] is not None:
            self.by_id.setdefault(self._open[0], None)
        return self

    def json(self, script_id: str, what: str) -> Any:
        """The JSON value of ``<script id=script_id>``; None when the page has no such element."""
        if script_id not in self.by_id:
            return None
        content = self.by_id[script_id]
        if content is None:
            raise UpstreamError(f"{what}: the page ends inside its {script_id} script")
        return decode_json(content, f"{what}: {script_id}")

    def inline_sigi(self, what: str) -> Any:
        for content in self.inline:
            match = _INLINE_SIGI.match(content)
            if match:
                return decode_json(content[match.end() :], f"{what}: {SIGI}", statement=True)
        return None


def page_scripts(html: str) -> PageScripts:
    """Parse ``html`` once and keep its scripts."""
    parser = PageScripts()
    parser.feed(html)
    return parser.finish()


def decode_json(content: str, what: str, *, statement: bool = False) -> Any:
    """Decode a script's JSON; a cut, malformed or absurdly deep text is bad data.

    ``statement``: the JSON is the right-hand side of a script statement, so it may be
    followed by ``;`` and more statements, but by nothing else.
    """
    try:
        if not statement:
            return loads(content)
        value, end = loads_prefix(content)
    except (ValueError, RecursionError):
        raise UpstreamError(f"{what} is not valid JSON (cut, or malformed)") from None
    rest = content[end:].lstrip()
    if rest and not rest.startswith(";"):
        raise UpstreamError(f"{what} is not valid JSON (cut, or malformed)")
    return value


def _after_colon(message: str) -> str:
    return message.split(": ", 1)[-1]


def blocked(message: str) -> BlockedError:
    """A block, with what to try; suggests the TLS extra when it is not installed."""
    hint = "try --cookies from a logged-in browser, a slower --rate, or another network"
    if not has_browser_tls():
        hint += "; pip install 'tiktok-follows[web]' (a browser-like TLS fingerprint) often helps"
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


def rotate_ms_token(response: httpx.Response, cookies: httpx.Cookies) -> None:
    """tiktok.com hands out a fresh msToken in a header; the next request must carry it."""
    rotated = response.headers.get("x-ms-token")
    if rotated:
        cookies.set("msToken", rotated, domain=response.url.host)
