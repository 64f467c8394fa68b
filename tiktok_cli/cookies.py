"""Session cookies for tiktok.com, from a browser's cookies.txt or a Cookie header.

``--cookies FILE`` / ``TIKTOK_COOKIES`` take a Netscape ``cookies.txt`` (what browser
extensions export and yt-dlp reads) or, for quick use, a ``name=value; name2=value2``
string. Values are secrets: nothing here ever puts one in a message. A path is not a
secret (the file is) and is named in messages.

Only cookies for the host of the tiktok.com base URL in effect (``TIKTOK_WEB_URL``) are
kept, and the jar's policy sends them to that host alone.
"""

from __future__ import annotations

import time
import urllib.request
import warnings
from collections.abc import Iterable
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy, LoadError, MozillaCookieJar
from pathlib import Path
from urllib.parse import urlsplit

from tiktok_cli.errors import ConfigError
from tiktok_cli.settings import is_inline


def inline_values(value: str) -> list[str]:
    """The cookie values of an inline ``name=value; …`` string, to keep out of messages."""
    return [part.partition("=")[2].strip() for part in value.split(";") if "=" in part]


def load_cookies(value: str, web_url: str) -> CookieJar:
    """A cookie jar for ``web_url``'s host, from a cookies.txt path or a ``name=value; …`` string."""
    if is_inline(value):  # cookie values (base64) may hold "/": never echo this string
        return _from_header(value, web_url)
    path = Path(value).expanduser()
    if not _is_file(path):
        raise ConfigError(
            f"cookies file {path} does not exist", hint="export cookies.txt from a logged-in browser"
        )
    return _load_file(path, web_url)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _policy() -> DefaultCookiePolicy:
    # Strict about host-only cookies: http.cookiejar otherwise sends a "tiktok.com"
    # host cookie to any host whose name ends in "tiktok.com".
    return DefaultCookiePolicy(strict_ns_domain=DefaultCookiePolicy.DomainStrictNonDomain)


def _load_file(path: Path, web_url: str) -> CookieJar:
    jar = MozillaCookieJar(policy=_policy())
    try:
        with warnings.catch_warnings():  # http.cookiejar warns with a traceback on odd lines
            warnings.simplefilter("ignore")
            jar.load(str(path), ignore_discard=True, ignore_expires=True)
    except LoadError:
        raise ConfigError(
            f"{path} is not a Netscape cookies.txt file",
            hint="it must start with '# Netscape HTTP Cookie File'; "
            "export it with a cookies.txt browser extension",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read cookies file {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    host = urlsplit(web_url).hostname or web_url
    kept = kept_for(jar, web_url)
    jar.clear()
    if not len(kept):
        raise ConfigError(
            f"{path} holds no cookies for {host} (or only expired ones)",
            hint=f"export them from a browser logged in to {host}",
        )
    return kept


def kept_for(cookies: Iterable[Cookie], web_url: str) -> CookieJar:
    """A new jar holding only the cookies that would be sent to ``web_url`` (its host, not
    expired), under the policy that sends them to that host alone; their values are
    registered as secrets, never to be shown."""
    from tiktok_cli import console

    jar = CookieJar(policy=_policy())
    for cookie in cookies:
        if _sent_to(cookie, web_url):
            jar.set_cookie(cookie)
            console.add_secret(cookie.value, min_length=console.MIN_COOKIE_SECRET)
    return jar


def _sent_to(cookie: Cookie, url: str) -> bool:
    """Whether the jar's policy would send ``cookie`` to ``url`` (domain, path, secure, expiry)."""
    probe = CookieJar(policy=_policy())
    probe.set_cookie(cookie)
    request = urllib.request.Request(url + "/")  # noqa: S310 - only shown to the jar, never opened
    probe.add_cookie_header(request)
    return request.has_header("Cookie")


def _from_header(header: str, web_url: str) -> CookieJar:
    jar = CookieJar(policy=_policy())
    parts = urlsplit(web_url)
    host = parts.hostname or ""
    expires = int(time.time()) + 86_400
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if not sep or not name.strip():
            raise ConfigError("cookies: neither a cookies.txt path nor 'name=value; …' pairs")
        jar.set_cookie(
            Cookie(
                version=0, name=name.strip(), value=value.strip(), port=None, port_specified=False,
                domain=host, domain_specified=False, domain_initial_dot=False,
                path="/", path_specified=True, secure=parts.scheme == "https", expires=expires,
                discard=True, comment=None, comment_url=None, rest={}, rfc2109=False,
            )
        )  # fmt: skip
    return jar
