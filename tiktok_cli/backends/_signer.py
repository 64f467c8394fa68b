"""Request signing for tiktok.com's API through a signing service (the ``signer_url`` setting).

Speaks the interface of the signing servers scraper deployments run (tiktok-signature's
``POST /signature``): the body is the URL to sign, as text; the answer is
``{"status": "ok", "data": {"signed_url": …, "x-bogus": …, "navigator": {"user_agent": …}}}``.
The signed URL is sent as it is, with the signer's user agent (the signature covers it).

Only the URL goes to the signer (its query holds no session cookie); a signer that cannot
be reached, fails or answers anything else is a configuration error naming the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from tiktok_cli.client import loads
from tiktok_cli.errors import ConfigError, excerpt
from tiktok_cli.settings import SETTINGS

SETTING = f"signer_url ({SETTINGS['signer_url'].env})"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A URL to send as it is, and the headers the signature was made for."""

    url: str
    headers: Mapping[str, str]


class Signer:
    """One signing service; a client of its own, so no tiktok.com cookie can reach it."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def sign(self, url: str) -> SignedRequest:
        """``url`` signed; a ConfigError naming the setting when the signer fails."""
        try:
            response = self._http.post(self.url, content=url.encode(), headers={"Content-Type": "text/plain"})
        except httpx.HTTPError as exc:
            raise self._error(f"cannot be reached ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise self._error(f"answered HTTP {response.status_code}{_detail(response.content)}")
        try:
            body = loads(response.content)
        except ValueError:
            raise self._error(f'answered "{excerpt(response.text, 60)}", not JSON') from None
        return self._signed(body, url)

    def _signed(self, body: Any, url: str) -> SignedRequest:
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping) or body.get("status", "ok") != "ok":
            raise self._error(f"answered without a signature{_detail_of(body)}")
        signed = data.get("signed_url")
        if not isinstance(signed, str) or not signed:
            raise self._error("answered without a signed_url")
        # The signed URL must be the one asked for, signed: never another host or path.
        asked, got = urlsplit(url), urlsplit(signed)
        if (got.scheme, got.netloc, got.path) != (asked.scheme, asked.netloc, asked.path):
            raise self._error(f"answered a signed_url for another address ({got.netloc}{got.path})")
        headers: dict[str, str] = {}
        navigator = data.get("navigator")
        agent = navigator.get("user_agent") if isinstance(navigator, Mapping) else None
        if isinstance(agent, str) and agent.strip():
            headers["User-Agent"] = agent.strip()
        return SignedRequest(signed, headers)

    def _error(self, problem: str) -> ConfigError:
        return ConfigError(
            f"the signer at {self.url} {problem}",
            hint=f"check that it runs and that {SETTING} is its POST endpoint (e.g. http://HOST:8080/signature)",
        )


def _detail(content: bytes) -> str:
    try:
        return _detail_of(loads(content))
    except ValueError:
        return ""


def _detail_of(body: Any) -> str:
    """The signer's own error message (tiktok-signature: ``{"error": {"message": …}}``), if any."""
    error = body.get("error") if isinstance(body, Mapping) else None
    message = error.get("message") if isinstance(error, Mapping) else error
    return f": {excerpt(message, 80)}" if isinstance(message, str) and message else ""
