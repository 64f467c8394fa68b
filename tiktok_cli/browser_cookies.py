"""tiktok.com's cookies read straight from a browser's cookie store (``--cookies-from-browser``).

The stores are read by yt-dlp's cookie module (the ``[browser]`` extra): it is released
every month, is pure Python, and reads Firefox, Safari and the Chromium family on Linux,
macOS and Windows, decrypting through the system keyring where the browser uses one. The
spec is yt-dlp's own: ``BROWSER[+KEYRING][:PROFILE][::CONTAINER]``.

Only the cookies that would be sent to the tiktok.com host in use are kept, in memory
and under the jar policy that sends them to that host alone; nothing is written (yt-dlp
reads the store through a private copy in an owner-only temporary folder, removed at once,
because a running browser locks it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urlsplit

from tiktok_cli.errors import ConfigError

# The browsers and Linux keyrings yt-dlp reads, as its --cookies-from-browser names them.
BROWSERS = ("brave", "chrome", "chromium", "edge", "firefox", "opera", "safari", "vivaldi", "whale")
KEYRINGS = ("basictext", "gnomekeyring", "kwallet", "kwallet5", "kwallet6")
OPTION = "--cookies-from-browser"
_CHROMIUM_EPOCH = 11_644_473_600  # seconds from 1601-01-01 to 1970-01-01
_CHROMIUM_TIMES = 10**14  # larger than any Unix time in seconds: a Chromium timestamp
INSTALL_HINT = "pip install 'tiktok-follows[browser]'"

_SPEC = re.compile(
    r"(?P<browser>[^+:]+)(?:\+(?P<keyring>[^:]+))?(?::(?!:)(?P<profile>.+?))?(?:::(?P<container>.+))?"
)


@dataclass(frozen=True, slots=True)
class BrowserSpec:
    """Which browser store to read: a profile name or path, and a Linux keyring or a
    Firefox container when the default is not the right one."""

    browser: str
    keyring: str | None = None
    profile: str | None = None
    container: str | None = None


def parse_spec(text: str) -> BrowserSpec:
    """``BROWSER[+KEYRING][:PROFILE][::CONTAINER]``; a ValueError says what is wrong."""
    match = _SPEC.fullmatch(text.strip())
    if match is None:
        raise ValueError("must be BROWSER[+KEYRING][:PROFILE][::CONTAINER], e.g. firefox or chrome:Default")
    browser = match["browser"].strip().lower()
    if browser not in BROWSERS:
        raise ValueError(f"names no browser this tool reads ({browser!r}); choose from {', '.join(BROWSERS)}")
    keyring = match["keyring"].strip().lower() if match["keyring"] else None
    if keyring is not None and keyring not in KEYRINGS:
        raise ValueError(f"names an unknown keyring {keyring!r}; choose from {', '.join(KEYRINGS)}")
    return BrowserSpec(browser, keyring, match["profile"], match["container"])


def load_browser_cookies(text: str, web_url: str) -> CookieJar:
    """The cookies of ``text``'s browser store that would be sent to ``web_url``'s host."""
    from tiktok_cli.cookies import kept_for

    try:
        spec = parse_spec(text)
    except ValueError as exc:
        raise ConfigError(f"{OPTION} {exc}") from None
    store = _read_store(spec)
    for cookie in store:
        if cookie.expires is not None and cookie.expires > _CHROMIUM_TIMES:
            # The Chromium family counts microseconds since 1601, and the reader hands those on.
            cookie.expires = cookie.expires // 1_000_000 - _CHROMIUM_EPOCH
    host = urlsplit(web_url).hostname or web_url
    jar = kept_for(store, web_url)
    store.clear()  # every other site's cookies go now, not when the collector gets to them
    if not len(jar):
        raise ConfigError(
            f"{spec.browser} holds no cookies for {host} (or only expired ones)",
            hint=f"log in to {host} in {spec.browser}, or name its profile: {OPTION} {spec.browser}:PROFILE",
        )
    return jar


def _read_store(spec: BrowserSpec) -> CookieJar:
    try:
        from yt_dlp.cookies import extract_cookies_from_browser
    except ImportError:
        raise ConfigError(f"{OPTION} needs the [browser] extra", hint=INSTALL_HINT) from None
    try:
        jar: CookieJar = extract_cookies_from_browser(
            spec.browser,
            spec.profile,
            _logger(spec.browser),
            keyring=spec.keyring.upper() if spec.keyring else None,
            container=spec.container,
        )
    except Exception as exc:  # noqa: BLE001 - it fails in many ways (files, keyrings, SQLite): each is this
        detail = str(exc) or type(exc).__name__
        raise ConfigError(
            f"cannot read the cookies of {spec.browser}: {detail}",
            hint=f"close {spec.browser}, or name its profile (or its path): {OPTION} {spec.browser}:PROFILE",
        ) from None
    return jar


def _logger(browser: str) -> Any:
    """yt-dlp's logger, silent but for warnings (a cookie it could not decrypt), said once."""
    from yt_dlp.cookies import YDLLogger

    from tiktok_cli import console

    said: set[str] = set()

    class Logger(YDLLogger):  # type: ignore[misc]
        def warning(self, message: str, only_once: bool = False) -> None:
            if message not in said:
                said.add(message)
                console.warn(f"cookies of {browser}: {message}")

        def error(self, message: str, *, is_error: bool = True) -> None:
            self.warning(message)

    return Logger()
