"""The one HTTP client every backend talks through.

Retries, the global rate limit, timeouts, tracing and secret redaction live around a
single request method, so no endpoint can forget them.
"""

from __future__ import annotations

import email.utils
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from tiktok_cli import __version__, console
from tiktok_cli.console import redact
from tiktok_cli.errors import (
    BlockedError,
    ServerError,
    UnexpectedBody,
    UnexpectedStatus,
    UnreachableError,
    UpstreamError,
    excerpt,
)

if TYPE_CHECKING:
    import httpx

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 120.0  # seconds: the longest a Retry-After header makes one retry wait
# A refused connection or a failed DNS look-up is a wrong URL or a server that is not
# running: one quick second try (a server restarting), then a clear answer, not minutes of backoff.
UNREACHABLE_RETRY_WAIT = 0.3
USER_AGENT = f"tiktok-cli/{__version__}"
# Real TikTok bodies nest fewer than 20 levels. Anything deeper is hostile or broken, and
# past ~250 levels orjson cannot write it back out (--raw) and the stdlib parser recurses.
MAX_DEPTH = 64
Params = Mapping[str, str | int | float | None]
T = TypeVar("T")
# Backend hooks: what a site's answers mean is the backend's business, not the client's.
ResponseHook = Callable[["httpx.Response", "httpx.Cookies"], None]
HtmlCheck = Callable[[bytes, str, str], "BlockedError | None"]


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """What a backend adds to the shared client: its politeness, identity and site rules.

    ``on_response`` sees every answer with the session's cookies (a site rotating a
    token); ``check_html`` turns an HTML answer into a retried error (an anti-bot wall).
    """

    rate: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: CookieJar | None = None
    transport: httpx.BaseTransport | None = None
    on_response: ResponseHook | None = None
    check_html: HtmlCheck | None = None


class RateLimiter:
    """Spaces request starts at least 1/rate seconds apart, across all threads."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)


class _Transient(Exception):
    """One failed attempt worth retrying; ``final`` is what to raise if retries run out."""

    def __init__(self, final: UpstreamError | BlockedError, retry_after: float | None = None):
        super().__init__(final.message)
        self.final = final
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped.

    Junk (non-ASCII digits, negative numbers, impossible dates) is ignored: None.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # Compare as text: int() of a 5,000-digit value is refused by the interpreter.
        return MAX_RETRY_AFTER if len(value) > 6 else min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        target = when.timestamp()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    current = datetime.now(timezone.utc).timestamp() if now is None else now
    return min(max(0.0, target - current), MAX_RETRY_AFTER)


class HttpClient:
    """A shared httpx client with retries, rate limit, tracing and redaction."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        retries: int = 4,
        rate: float | None = None,
        secrets: Iterable[str | None] = (),
        trace: bool = False,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 10,
        transport: httpx.BaseTransport | None = None,
        cookies: CookieJar | None = None,
        on_response: ResponseHook | None = None,
        check_html: HtmlCheck | None = None,
    ) -> None:
        import httpx

        for secret in secrets:
            console.add_secret(secret)
        for cookie in cookies or ():
            console.add_secret(cookie.value, min_length=console.MIN_COOKIE_SECRET)
        self.retries = retries
        self.trace = trace
        self._limiter = RateLimiter(rate)
        self._closed = False
        self._on_response = on_response
        self._check_html = check_html
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            follow_redirects=False,  # a redirect must never carry a token to another host
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
            cookies=cookies,
            # Vet a redirect before httpx builds the next request from it (which it does
            # even when not following), so a malformed Location is a clear error.
            event_hooks={"response": [_vet_redirect]},
        )

    def close(self) -> None:
        # Workers may still be mid-request (the run ended under them): from now on they
        # fail at once and silently instead of retrying and warning.
        self._closed = True
        self._http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_json(
        self, url: str, params: Params | None = None, *, what: str, headers: Mapping[str, str] | None = None
    ) -> Any:
        """GET ``url`` and return its parsed JSON body, retrying what is worth retrying.

        ``what`` names the request for error messages ("followers of @alice").
        """
        return self._retrying(lambda: self._attempt(url, params, what, headers, page=False))

    def get_page(
        self, url: str, params: Params | None = None, *, what: str, headers: Mapping[str, str] | None = None
    ) -> tuple[str, str]:
        """GET an HTML page, following redirects; returns its text and the final URL."""
        return self._retrying(lambda: self._attempt(url, params, what, headers, page=True))  # type: ignore[no-any-return]

    def cookie(self, name: str) -> str | None:
        """The current value of a session cookie (an ``on_response`` hook may rotate it)."""
        for cookie in self._http.cookies.jar:
            if cookie.name == name:
                return cookie.value
        return None

    def _retrying(self, attempt_once: Callable[[], T]) -> T:
        """Run one request, retrying transient failures with stamina's backoff and jitter."""
        try:
            return attempt_once()  # the common case pays nothing for the retry machinery
        except _Transient as exc:
            failure: _Transient | None = exc
        import stamina  # only now: a run where nothing fails never loads it

        _install_retry_hooks()

        for attempt in stamina.retry_context(
            on=_backoff,
            attempts=self.retries + 1,
            timeout=None,
            wait_initial=1.0,
            wait_max=60.0,
            wait_jitter=1.0,
        ):
            with attempt:
                try:
                    if failure is not None:
                        # Replay the first attempt's failure so stamina schedules the first wait.
                        first, failure = failure, None
                        raise first
                    return attempt_once()
                except _Transient as exc:
                    if attempt.num > self.retries or self._closed:
                        raise exc.final from None
                    if self.trace or not console.is_quiet():
                        console.warn(f"{exc.final.message}; retrying ({attempt.num}/{self.retries})")
                    raise
        raise AssertionError("unreachable: retry_context always runs once")  # pragma: no cover

    def _attempt(
        self, url: str, params: Params | None, what: str, headers: Mapping[str, str] | None, *, page: bool
    ) -> Any:
        # No params: the URL is sent as given (a signed URL's query must stay byte for byte;
        # httpx would drop it for an empty mapping).
        query = None if params is None else {k: v for k, v in params.items() if v is not None}
        self._limiter.wait()
        started = time.monotonic()
        response = self._send(url, query, what, headers, page=page)
        self._remember_session(response)
        if self.trace:
            elapsed = (time.monotonic() - started) * 1000
            console.info(
                f"GET {redact(str(response.request.url))} -> {response.status_code} "
                f"({len(response.content)} bytes, {elapsed:.0f} ms)"
            )
        host = _host(url)
        if page:
            self._check_status(response, what, host)
            return page_text(response), str(response.url)
        return self._decode(response, what, host)

    def _send(
        self, url: str, query: Params | None, what: str, headers: Mapping[str, str] | None, *, page: bool
    ) -> httpx.Response:
        """One GET; every httpx failure leaves as an UpstreamError (a ``_Transient`` if worth retrying)."""
        import httpx

        host = _host(url)
        try:
            try:
                return self._http.get(url, params=query, headers=headers, follow_redirects=page)
            except httpx.ConnectError:
                if self._closed:
                    raise
                time.sleep(UNREACHABLE_RETRY_WAIT)
                return self._http.get(url, params=query, headers=headers, follow_redirects=page)
        except _BadRedirect as exc:
            raise UnexpectedStatus(
                f"{what}: {host} redirected to an invalid address (HTTP {exc.status}); check the base URL",
                status=exc.status,
            ) from None
        except httpx.ConnectError as exc:
            raise UnreachableError(
                f"{what}: cannot reach {host} ({_reason(exc)})", url=url, host=host
            ) from None
        except httpx.TimeoutException:
            raise _Transient(UpstreamError(f"{what}: {host} timed out")) from None
        except httpx.UnsupportedProtocol as exc:
            raise UpstreamError(f"{what}: cannot request {host} ({_reason(exc)})") from None
        except httpx.LocalProtocolError as exc:
            raise _Transient(
                UpstreamError(f"{what}: could not send the request to {host} ({_reason(exc)})")
            ) from None
        except httpx.ProtocolError as exc:
            raise _Transient(
                UpstreamError(f"{what}: {host} broke the HTTP protocol ({_reason(exc)})")
            ) from None
        except httpx.TransportError as exc:
            raise _Transient(UpstreamError(f"{what}: cannot reach {host} ({_reason(exc)})")) from None
        except httpx.TooManyRedirects:
            raise UpstreamError(f"{what}: {host} redirected in a loop (too many redirects)") from None
        except httpx.DecodingError as exc:
            raise UpstreamError(
                f"{what}: {host} sent a body that its Content-Encoding does not describe ({_reason(exc)})"
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{what}: the request to {host} failed ({_reason(exc)})") from None
        except (httpx.InvalidURL, UnicodeError) as exc:  # UnicodeError: a malformed IDNA host name
            raise UpstreamError(
                f"{what}: {excerpt(redact(url))} is not a valid URL ({_reason(exc)})"
            ) from None

    def _remember_session(self, response: httpx.Response) -> None:
        """Let the backend see the answer, and keep every cookie value out of stderr."""
        if self._on_response is not None:
            self._on_response(response, self._http.cookies)
        for cookie in self._http.cookies.jar:
            console.add_secret(cookie.value, min_length=console.MIN_COOKIE_SECRET)

    def _decode(self, response: httpx.Response, what: str, host: str) -> Any:
        self._check_status(response, what, host)
        return self._parse_body(response.content, what, host)

    def _check_status(self, response: httpx.Response, what: str, host: str) -> None:
        status = response.status_code
        body = response.content
        if status == 429:
            message = f"{what}: rate-limited by {host} (HTTP 429)"
            wait = parse_retry_after(response.headers.get("Retry-After"))
            raise _Transient(BlockedError(message, hint="lower --rate or try again later"), wait)
        if status in RETRY_STATUSES:
            detail = _error_detail(body)
            raise _Transient(
                ServerError(f"{what}: {host} answered HTTP {status}", status=status, detail=detail),
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            target = redirect_target(response.url, location)
            where = target.netloc.decode("ascii") if target is not None else "an invalid address"
            raise UnexpectedStatus(
                f"{what}: {host} redirected to {where} (HTTP {status}); check the base URL",
                status=status,
                location=str(target) if target is not None else "",
            )
        if status >= 400:
            detail = _error_detail(body)
            raise UnexpectedStatus(
                f"{what}: {host} answered HTTP {status}" + (f": {detail}" if detail else ""),
                status=status,
                detail=detail,
                json_body=_is_json(body),
            )

    def _parse_body(self, body: bytes, what: str, host: str) -> Any:
        stripped = body.lstrip()
        if not stripped:
            raise _Transient(UnexpectedBody(f"{what}: {host} answered with an empty body", kind="empty"))
        if stripped[:1] == b"<":
            blocked = self._check_html(stripped, what, host) if self._check_html is not None else None
            if blocked is not None:
                raise _Transient(blocked)
            raise _Transient(
                UnexpectedBody(f"{what}: {host} answered with an HTML page instead of JSON", kind="html")
            )
        try:
            return loads(body)
        except _TooDeep as exc:
            raise UpstreamError(f"{what}: {host} answered with {exc}") from None
        except ValueError:
            raise UpstreamError(f"{what}: {host} answered with a body that is not JSON") from None


class _TooDeep(ValueError):
    """JSON nested deeper than MAX_DEPTH."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels")


def loads(body: bytes | str) -> Any:
    """Parse a JSON document, nested at most MAX_DEPTH deep; ValueError for anything else.

    orjson first; the stdlib for what orjson refuses but is JSON (lone surrogates such as
    ``"\\ud800"``). Bytes must be UTF-8 (RFC 8259).
    """
    import orjson

    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # Check the nesting first: the stdlib parser recurses, and orjson refuses > 1024 levels.
        if _too_deep(raw):
            raise _TooDeep from None
        text = body if isinstance(body, str) else body.decode("utf-8")  # UnicodeError is a ValueError
        return _stdlib_decode(lambda decoder: decoder.decode(text))
    if _too_deep(raw):
        raise _TooDeep
    if _beyond_64_bits(raw):
        # orjson turns an integer outside 64 bits into a rounded float; ids must stay exact.
        return _stdlib_decode(lambda decoder: decoder.decode(raw.decode("utf-8")))
    return value


def _beyond_64_bits(raw: bytes) -> bool:
    """Whether ``raw`` holds a number token below -2**63 or at least 10**19: a separator
    (``:[,`` or whitespace) or the start, then ``-`` and 19 digits or 20 digits. A false match
    inside a string only costs the slower exact parse.

    A regex says the same (tests/test_client.py checks that they agree), but its leading
    alternative (the start, or a separator) defeats the regex engine's fast scan: it cost
    several times orjson's own parse, on every page. Folding the bytes into classes and
    looking for the runs stays in C: 15 us against 350 us for a page of 20 followers.
    """
    folded = b":" + raw.translate(_NUMBER_CLASSES)  # the start counts as a separator
    return _POSITIVE in folded or _NEGATIVE in folded


# Separators as ":", digits as "0", "-" as itself, every other byte as "x".
_NUMBER_CLASSES = bytes(
    ord(":") if b in b":[, \t\n\r\f\v" else ord("0") if b in b"0123456789" else b if b in b"-" else ord("x")
    for b in range(256)
)
_POSITIVE, _NEGATIVE = b":" + b"0" * 20, b":-" + b"0" * 19


def loads_prefix(text: str, start: int = 0) -> tuple[Any, int]:
    """The JSON value at ``text[start:]`` (after whitespace), and where it ends; what
    follows is the caller's. For JSON embedded in a script (tiktok.com's pre-2022
    ``window['SIGI_STATE']={…};``): the same limits as ``loads``, ValueError when there is none.
    """
    while start < len(text) and text[start].isspace():
        start += 1
    value, end = _stdlib_decode(lambda decoder: decoder.raw_decode(text, start))
    if _too_deep(text[start:end].encode("utf-8", "surrogatepass")):
        raise _TooDeep
    return value, end


def _stdlib_decode(parse: Callable[[Any], T]) -> T:
    import json

    try:
        return parse(json.JSONDecoder(parse_constant=_not_json))
    except RecursionError:
        raise _TooDeep from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# The structure of a JSON text: brackets folded to {}, and every byte but brackets and
# quotes dropped, in C (bytes methods), so the check costs a fraction of the parse.
_FOLD = bytes.maketrans(b"[]", b"{}")
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'{}[]"')))
_STRING = re.compile(rb'"[^"]*"')
_ESCAPED_QUOTE = re.compile(rb'\\"')  # faster than bytes.find, whose scan keys on the frequent '"'


def _too_deep(raw: bytes) -> bool:
    """Whether JSON text nests more than MAX_DEPTH levels of arrays and objects."""
    if _ESCAPED_QUOTE.search(raw):
        # An escaped quote ends no string. Drop escaped backslashes first: in `\\"` the
        # quote does end one.
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = raw.translate(_FOLD, _NOT_STRUCTURE)
    # Removing adjacent quotes drops empty strings, or merges two strings across a gap
    # with no brackets: the brackets outside strings stay as they were.
    skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = _STRING.sub(b"", skeleton)  # strings holding brackets, like "[link]"
    for _ in range(MAX_DEPTH):
        if not skeleton:
            return False
        skeleton = skeleton.replace(b"{}", b"")  # one level of nesting per pass
    return b"{}" in skeleton


def page_text(response: httpx.Response) -> str:
    """An HTML page's text: UTF-8 if it is valid UTF-8, else the declared charset, else UTF-8
    with replacement characters. Never raises.

    Valid UTF-8 is almost never an accident, while servers do mislabel pages (a UTF-8
    page declared utf-16 would decode as noise, or fail for lack of a BOM).
    """
    content = response.content
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    charset = response.charset_encoding
    if charset:
        try:
            return content.decode(charset)
        except (LookupError, ValueError):  # unknown or non-text codecs; UnicodeError
            pass
    return content.decode("utf-8", "replace")


_HOST = re.compile(r"[A-Za-z0-9._\-]+|[0-9A-Fa-f:.]+")


def redirect_target(base: httpx.URL, location: str) -> httpx.URL | None:
    """Where a Location header points, as an absolute http(s) URL; None if it is not a valid one."""
    import httpx

    location = location.strip()
    if not location:
        return None
    try:
        urlsplit(location)  # stricter than httpx about brackets: "http://[bad"
        target = base.join(location)
        target.host  # noqa: B018 - decoding an IDNA host name raises for a malformed one
    except (httpx.InvalidURL, ValueError):  # IDNAError is a UnicodeError
        return None
    host = target.raw_host.decode("ascii", "replace")
    return target if target.scheme in ("http", "https") and _HOST.fullmatch(host) else None


class _BadRedirect(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _vet_redirect(response: httpx.Response) -> None:
    if (
        response.has_redirect_location
        and redirect_target(response.url, response.headers.get("Location", "")) is None
    ):
        raise _BadRedirect(response.status_code)


def _host(url: str) -> str:
    """The host[:port] of a URL for messages (never its user:password@)."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return excerpt(redact(url), 60)
    return netloc.rpartition("@")[2] or excerpt(redact(url), 60)


def _reason(exc: BaseException) -> str:
    """An exception's text, redacted and cut short, for a message."""
    return excerpt(redact(str(exc))) or type(exc).__name__


def _is_json(body: bytes) -> bool:
    try:
        loads(body)
    except ValueError:
        return False
    return True


def _error_detail(body: bytes) -> str:
    """The human part of an error body ({"message": …} or {"msg": …}), as a short excerpt."""
    try:
        data = loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict):
        for key in ("message", "msg", "error", "status_msg"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return excerpt(value)
    return ""


def _backoff(exc: BaseException) -> bool | float:
    if not isinstance(exc, _Transient):
        return False
    if exc.retry_after is not None:
        # Honour the server's wait, with a little jitter so parallel workers spread out.
        return min(exc.retry_after, MAX_RETRY_AFTER) + random.uniform(0, 0.5)  # noqa: S311
    return True


_hooks_installed = False


def _install_retry_hooks() -> None:
    """Replace stamina's default logging with nothing: the client reports retries itself."""
    global _hooks_installed
    if not _hooks_installed:
        from stamina.instrumentation import set_on_retry_hooks

        set_on_retry_hooks([])
        _hooks_installed = True
