"""The ``Settings`` a run uses, and which of them are secrets.

Imports nothing of ``tiktok_cli``: the backends and the run depend on this, while loading
and merging the sources (``config``) depends on the backends, so keeping the two apart
keeps the imports one-way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

APP_NAME = "tiktok-cli"
CONFIG_ENV = "TIKTOK_CONFIG"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run needs to know besides its arguments."""

    backend: str = "auto"
    gateway_url: str = "http://localhost:3000/tiktok"
    api_url: str | None = None
    api_token: str | None = None
    web_url: str = "https://www.tiktok.com"
    cookies: str | None = None
    cookies_from_browser: str | None = None  # BROWSER[+KEYRING][:PROFILE][::CONTAINER], as yt-dlp reads it
    signer_url: str | None = None  # an HTTP service that signs tiktok.com API URLs
    timeout: float = 20.0
    retries: int = 4
    rate: float | None = None
    db: str | None = None  # the snapshot store: a SQLite file path or a postgresql:// URL
    # Not a setting: the names of those a flag, the environment or the config file gave
    # (the rest are defaults). `--backend auto` reads tiktok.com itself when no service is.
    given: frozenset[str] = field(default=frozenset(), compare=False)

    def __repr__(self) -> str:
        # Keeps the token and cookies out of tracebacks and --debug dumps.
        shown = {
            f.name: ("***" if is_secret(f.name, getattr(self, f.name)) else getattr(self, f.name))
            for f in fields(self)
        }
        return f"Settings({shown})"


# Settings that may hold a secret: a token, cookies, or a database password. `cookies` is
# a secret only when it holds the values themselves ("name=value; …"); a cookies.txt path
# is not (the file is). `db` is one only when its URL carries a password.
SECRET_SETTINGS = frozenset({"api_token", "cookies", "db"})


def is_secret(name: str, value: Any) -> bool:
    """Whether this value of setting ``name`` must be masked and never taken as an argument."""
    if name not in SECRET_SETTINGS or not value:
        return False
    if name == "cookies":
        return is_inline(str(value))
    if name == "db":
        return url_password(str(value)) is not None
    return True


# The URL schemes a store target may have; anything without "://" is a SQLite file path.
STORE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")


def url_password(target: str) -> str | None:
    """The password in a database URL (``postgresql://user:PASSWORD@host/db``, or libpq's
    ``?password=PASSWORD``), if any."""
    if "://" not in target:
        return None
    try:
        parts = urlsplit(target)
        in_query = parse_qs(parts.query).get("password")
        password = unquote(parts.password) if parts.password else None
        return password or (in_query[-1] if in_query else None) or None
    except ValueError:
        return None


def masked_url(target: str) -> str:
    """A database URL as it may be shown: its password replaced by ***."""
    if url_password(target) is None:
        return target
    parts = urlsplit(target)
    if parts.password:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def is_inline(value: str) -> bool:
    """Whether ``value`` is ``name=value; …`` pairs (itself a secret) rather than a cookies.txt path."""
    if "=" not in value:
        return False
    try:
        return not Path(value).expanduser().is_file()
    except (OSError, ValueError):  # too long a name, a NUL byte: not a file
        return True


# Settings that may come from the environment, and the variable for each.
ENV_VARS: Mapping[str, str] = {
    "backend": "TIKTOK_BACKEND",
    "gateway_url": "TIKTOK_GATEWAY_URL",
    "api_url": "TIKTOK_API_URL",
    "api_token": "TIKTOK_API_TOKEN",
    "web_url": "TIKTOK_WEB_URL",
    "cookies": "TIKTOK_COOKIES",
    "cookies_from_browser": "TIKTOK_COOKIES_FROM_BROWSER",
    "signer_url": "TIKTOK_SIGNER_URL",
    "db": "TIKTOK_DB",
}


def config_path() -> Path:
    """Where the config file is read from (it need not exist)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False) / "config.toml"
