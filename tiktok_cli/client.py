"""The one HTTP client every backend talks through.

Retries, the global rate limit, timeouts, tracing and secret redaction live around a
single request method, so no endpoint can forget them.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from tiktok_cli import __version__, console
from tiktok_cli.console import redact
from tiktok_cli.errors import (
    BlockedError,
    UnexpectedBody,
    UnexpectedStatus,
    UnreachableError,
    UpstreamError,
)

if TYPE_CHECKING:
    import httpx

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 120.0  # seconds: the longest a Retry-After header makes one retry wait
# A refused connection or a failed DNS look-up is a wrong URL or a server that is not
# running: one quick second try (a server restarting), then a clear answer, not minutes of backoff.
UNREACHABLE_RETRY_WAIT = 0.3
USER_AGENT = f"tiktok-cli/{__version__}"
Params = Mapping[str, str | int | float | None]
T = TypeVar("T")


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
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.now(timezone.utc).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


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
    ) -> None:
        import httpx

        for secret in secrets:
            console.add_secret(secret)
        for cookie in cookies or ():
            console.add_secret(cookie.value)
        self.retries = retries
        self.trace = trace
        self._limiter = RateLimiter(rate)
        self._closed = False
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            follow_redirects=False,  # a redirect must never carry a token to another host
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
            cookies=cookies,
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
        """The current value of a session cookie (TikTok rotates some, like msToken)."""
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
        import httpx

        host = urlsplit(url).netloc
        query = {k: v for k, v in (params or {}).items() if v is not None}
        self._limiter.wait()
        started = time.monotonic()
        try:
            try:
                response = self._http.get(url, params=query, headers=headers, follow_redirects=page)
            except httpx.ConnectError:
                if self._closed:
                    raise
                time.sleep(UNREACHABLE_RETRY_WAIT)
                response = self._http.get(url, params=query, headers=headers, follow_redirects=page)
        except httpx.ConnectError as exc:
            reason = redact(str(exc)) or type(exc).__name__
            raise UnreachableError(f"{what}: cannot reach {host} ({reason})", url=url, host=host) from None
        except httpx.TimeoutException:
            raise _Transient(UpstreamError(f"{what}: {host} timed out")) from None
        except httpx.TransportError as exc:
            reason = redact(str(exc)) or type(exc).__name__
            raise _Transient(UpstreamError(f"{what}: cannot reach {host} ({reason})")) from None
        self._remember_session(response)
        if self.trace:
            elapsed = (time.monotonic() - started) * 1000
            console.info(
                f"GET {redact(str(response.request.url))} -> {response.status_code} "
                f"({len(response.content)} bytes, {elapsed:.0f} ms)"
            )
        if page:
            self._check_status(response, what, host)
            return response.text, str(response.url)
        return self._decode(response, what, host)

    def _remember_session(self, response: httpx.Response) -> None:
        """Keep rotating session tokens, and keep every cookie value out of stderr."""
        rotated = response.headers.get("x-ms-token")
        if rotated:
            self._http.cookies.set("msToken", rotated, domain=response.url.host)
        for cookie in self._http.cookies.jar:
            console.add_secret(cookie.value)

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
                UpstreamError(f"{what}: {host} answered HTTP {status}" + (f": {detail}" if detail else "")),
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if 300 <= status < 400:
            target = urlsplit(response.headers.get("Location", "")).netloc or "elsewhere"
            raise UnexpectedStatus(
                f"{what}: {host} redirected to {target} (HTTP {status}); check the base URL",
                status=status,
                location=response.headers.get("Location", ""),
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
            if looks_like_block_page(stripped):
                raise _Transient(
                    BlockedError(
                        f"{what}: {host} answered with a captcha or block page",
                        hint="slow down with --rate, or try again later from another network",
                    )
                )
            raise _Transient(
                UnexpectedBody(f"{what}: {host} answered with an HTML page instead of JSON", kind="html")
            )
        try:
            return loads(body)
        except ValueError:
            raise UpstreamError(f"{what}: {host} answered with a body that is not JSON") from None


_BLOCK_MARKERS = (
    b"captcha",
    b"verify",
    b"challenge",
    b"please wait",
    b"access denied",
    b"cf-chl",
    b"rate limit",
)


def looks_like_block_page(html: bytes) -> bool:
    """Whether an HTML answer is an anti-bot wall rather than a proxy's error page."""
    head = html[:20_000].lower()
    return any(marker in head for marker in _BLOCK_MARKERS)


def loads(body: bytes | str) -> Any:
    """Parse JSON; fall back to the stdlib for the lone surrogates orjson refuses."""
    import orjson

    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        import json

        return json.loads(body)


def _is_json(body: bytes) -> bool:
    try:
        loads(body)
    except (ValueError, RecursionError):
        return False
    return True


def _error_detail(body: bytes) -> str:
    """The human part of an error body ({"message": …} or {"msg": …}), kept short."""
    try:
        data = loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict):
        for key in ("message", "msg", "error", "status_msg"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:200]
    return ""


def _backoff(exc: Exception) -> bool | float:
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
