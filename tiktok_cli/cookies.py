"""Session cookies for tiktok.com, from a browser's cookies.txt or a Cookie header.

``--cookies FILE`` / ``TIKTOK_COOKIES`` take a Netscape ``cookies.txt`` (what browser
extensions export and yt-dlp reads) or, for quick use, a ``name=value; name2=value2``
string. Values are secrets: nothing here ever puts one in a message.
"""

from __future__ import annotations

import time
from http.cookiejar import Cookie, CookieJar, LoadError, MozillaCookieJar
from pathlib import Path

from tiktok_cli.errors import ConfigError

TIKTOK_DOMAIN = ".tiktok.com"


def load_cookies(value: str) -> CookieJar:
    """A cookie jar from a cookies.txt path or a ``name=value; …`` string."""
    path = Path(value).expanduser()
    if path.is_file():
        return _load_file(path)
    if "=" in value:  # cookie values (base64) may hold "/": never echo this string
        return _from_header(value)
    raise ConfigError(
        f"cookies file {path} does not exist", hint="export cookies.txt from a logged-in browser"
    )


def _load_file(path: Path) -> CookieJar:
    jar = MozillaCookieJar()
    try:
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
    if not any(c.domain.endswith("tiktok.com") for c in jar):
        raise ConfigError(
            f"{path} holds no tiktok.com cookies", hint="export them while logged in to tiktok.com"
        )
    return jar


def _from_header(header: str) -> CookieJar:
    jar = CookieJar()
    expires = int(time.time()) + 86_400
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if not sep or not name:
            raise ConfigError("TIKTOK_COOKIES is neither a cookies.txt path nor 'name=value; …' pairs")
        jar.set_cookie(
            Cookie(
                version=0, name=name, value=value, port=None, port_specified=False,
                domain=TIKTOK_DOMAIN, domain_specified=True, domain_initial_dot=True,
                path="/", path_specified=True, secure=True, expires=expires, discard=True,
                comment=None, comment_url=None, rest={}, rfc2109=False,
            )
        )  # fmt: skip
    return jar
