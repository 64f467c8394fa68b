"""The settings: each described once, in ``Settings``' fields, and what derives from them.

A field of ``Settings`` says everything about its setting: its type and default, the
parser that checks a value from a flag, the environment or the config file, its
environment variable, its command-line option, its help, and whether it is a secret.
``SETTINGS`` reads them back; the loader (``config``), the `config` commands and the
options' help in ``cli`` take what they need from there.

Imports nothing of ``tiktok_cli`` at import time (and only the standard library): the
CLI imports this at start-up, and the backends and the run depend on it, while loading
and merging the sources (``config``) depends on the backends, so keeping the two apart
keeps the imports one-way. Parsers that need more import it when they run.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

APP_NAME = "tiktok-cli"
CONFIG_ENV = "TIKTOK_CONFIG"
MAX_RETRIES = 100
# The URL schemes a store target may have; anything without "://" is a SQLite file path.
STORE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")

Parser = Callable[[Any], Any]


# --- parsers: a value from a flag, the environment or the config file, checked ----------
# Each raises ValueError in plain words ("must be …"), which the loader prefixes with
# where the value came from.


# An age or a period, as --since and --full-every take it: a whole number and a unit.
_DURATION = re.compile(r"(?P<amount>[0-9]{1,6})\s*(?P<unit>[smhdw])")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def duration(text: str) -> timedelta | None:
    """``30m``, ``24h``, ``7d``, ``2w`` (any case, spaces around) as a timedelta; None when
    ``text`` is no duration."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        return None
    return timedelta(**{_DURATION_UNITS[found["unit"]]: int(found["amount"])})


def _number(value: Any, wanted: str) -> float:
    """``value`` (a TOML number or the text of a flag or variable) as a float; anything
    else, ``true`` included, is refused with ``wanted``."""
    if isinstance(value, bool):
        raise ValueError(wanted)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(wanted) from None


def _positive_number(unit: str) -> Parser:
    """A parser for a number of ``unit`` above 0, refusing anything else in plain words."""

    def parse(value: Any) -> float:
        wanted = f"must be a number of {unit}"
        number = _number(value, wanted)
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number of {unit}")
        if number <= 0:
            raise ValueError(f"{wanted}, greater than 0")
        return number

    return parse


def _retries(value: Any) -> int:
    wanted = f"must be a whole number from 0 to {MAX_RETRIES}"
    number = _number(value, wanted)
    if not math.isfinite(number) or number != int(number) or not 0 <= number <= MAX_RETRIES:
        raise ValueError(wanted)
    return int(number)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


def _url(value: Any) -> str:
    text = _text(value).rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    if any(c.isspace() or not c.isprintable() for c in text):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if not parts.hostname:
        raise ValueError("has no host name")
    return text


def _backend(value: Any) -> str:
    from tiktok_cli import backends

    name = _text(value)
    if name not in (backends.AUTO, *backends.names()):
        raise ValueError(f"must be one of {', '.join((backends.AUTO, *backends.names()))}")
    return name


def _backend_choices() -> str:
    """``auto (…), gateway, tkapi or web (…)``: the registry's names, and what a few are."""
    from tiktok_cli import backends

    notes = {
        backends.AUTO: "the gateway and token API where configured, else tiktok.com",
        backends.FALLBACK: "tiktok.com itself",
    }
    *others, last = [f"{n} ({notes[n]})" if n in notes else n for n in (backends.AUTO, *backends.names())]
    return f"{', '.join(others)} or {last}" if others else last


def _browser(value: Any) -> str:
    """``BROWSER[+KEYRING][:PROFILE][::CONTAINER]``, with a browser the cookie reader knows."""
    from tiktok_cli.browser_cookies import parse_spec

    text = _text(value)
    parse_spec(text)  # ValueError in plain words
    return text


def _db(value: Any) -> str:
    """A store: a database URL as given, or a SQLite file path (``~`` expanded)."""
    text = _text(value)
    if "://" in text:
        scheme = text.partition("://")[0].lower()
        if scheme not in STORE_SCHEMES:
            raise ValueError(f"must be a SQLite file path or a postgresql:// URL, not a {scheme}:// URL")
        try:
            urlsplit(text).port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            raise ValueError("is not a valid URL") from None
        return text
    return str(Path(text).expanduser())


def _db_set(value: Any) -> str:
    """`config set db`: a path stored absolute (cron runs elsewhere); a URL without a password."""
    text = _db(value)
    if url_password(text) is not None:
        # Never echo it: a command line is visible to other users and kept in shell history.
        raise ValueError(
            "must not carry a password (a command line is visible to other users, and the config "
            "file is not meant for it): put it in ~/.pgpass or PGPASSWORD"
        )
    if text.lower().startswith("sqlite:///"):  # SQLAlchemy's form: the file, saved as a path
        text = text[len("sqlite:///") :]
    return text if "://" in text else str(Path(text).expanduser().absolute())


def _cookies_file(value: Any) -> str:
    """`config set cookies PATH`: a cookies.txt path, stored absolute (cron runs elsewhere)."""
    path = Path(_text(value)).expanduser()
    if "=" in str(value) and not path.is_file():
        # Never echo it: this is cookie values, and they are secrets.
        raise ValueError(
            "takes the path of a cookies.txt file, not cookie values (a command line is visible "
            "to other users): save them in a cookies.txt file, or set TIKTOK_COOKIES"
        )
    return str(path.absolute())


# --- the table ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setting:
    """Everything said about one setting; ``Settings``' field of the same name holds it."""

    name: str
    default: Any
    parse: Parser  # a value from a flag, the environment or the config file
    help: str  # what it is, in a few words: `config`'s list, and the start of the option's help
    env: str | None = None  # the environment variable that sets it
    option: str | None = None  # the command-line option that sets it ("--gateway-url")
    metavar: str | None = None
    more: str = ""  # what the option's help adds, in sentences
    default_text: str | None = None  # the default in words, where its value does not say it
    choices: Callable[[], str] | None = None  # the values, listed after the help (read when shown)
    secret: bool = False  # may hold a secret: masked, and never taken as a `config set` argument
    prompted: bool = False  # `config set` reads it from a prompt or stdin, never its arguments
    set_parse: Parser | None = None  # what `config set` accepts, where it differs from ``parse``

    @property
    def described(self) -> str:
        """The help in a few words, with the values it takes."""
        return f"{self.help}: {self.choices()}" if self.choices else self.help

    @property
    def shown_default(self) -> str | None:
        """The default as help text says it (None: not said)."""
        if self.default_text is not None:
            return self.default_text
        if self.default is None:
            return None
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)


def _setting(default: Any, parse: Parser, help: str, **about: Any) -> Any:
    """A ``Settings`` field: ``default``, with everything else said about it (see ``Setting``)."""
    return field(default=default, metadata={_ABOUT: Setting("", default, parse, help, **about)})


_ABOUT = "setting"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run needs to know besides its arguments: each field is one setting."""

    backend: str = _setting(
        "auto",
        _backend,
        "data source",
        env="TIKTOK_BACKEND",
        option="--backend",
        metavar="NAME",
        choices=_backend_choices,
        default_text="",  # the choices say it
    )
    gateway_url: str = _setting(
        "http://localhost:3000/tiktok",
        _url,
        "base URL of the REST gateway",
        env="TIKTOK_GATEWAY_URL",
        option="--gateway-url",
        metavar="URL",
    )
    api_url: str | None = _setting(
        None,
        _url,
        "base URL of the token API, e.g. http://HOST/tk",
        env="TIKTOK_API_URL",
        option="--api-url",
        metavar="URL",
        more="The token itself comes from TIKTOK_API_TOKEN or the config file, never the command line.",
    )
    api_token: str | None = _setting(
        None,
        _text,
        "the token API's token (a secret: asked for, never an argument)",
        env="TIKTOK_API_TOKEN",
        secret=True,
        prompted=True,
    )
    web_url: str = _setting("https://www.tiktok.com", _url, "tiktok.com's address", env="TIKTOK_WEB_URL")
    # Inline cookie values ("name=value; …") are a secret, a cookies.txt path is not (see is_secret).
    cookies: str | None = _setting(
        None,
        _text,
        "path of a cookies.txt for --backend web",
        env="TIKTOK_COOKIES",
        option="--cookies",
        metavar="FILE",
        secret=True,
        set_parse=_cookies_file,
        more="Export it from a logged-in browser (Netscape format); a file, as values typed here "
        "would be visible to other local users.",
    )
    # BROWSER[+KEYRING][:PROFILE][::CONTAINER], as yt-dlp reads it.
    cookies_from_browser: str | None = _setting(
        None,
        _browser,
        "BROWSER[:PROFILE] whose tiktok.com cookies --backend web reads",
        env="TIKTOK_COOKIES_FROM_BROWSER",
        option="--cookies-from-browser",
        metavar="BROWSER[:PROFILE]",
        more="A browser logged in to tiktok.com (firefox, chrome, chromium, edge, brave, opera, "
        "vivaldi, safari), read as yt-dlp does; only its tiktok.com cookies are kept, in memory. "
        "Needs the [browser] extra.",
    )
    signer_url: str | None = _setting(
        None,
        _url,
        "URL of a signing service for tiktok.com API calls, e.g. http://HOST:8080/signature",
        env="TIKTOK_SIGNER_URL",
    )
    timeout: float = _setting(
        20.0, _positive_number("seconds"), "seconds per request", option="--timeout", metavar="SECONDS"
    )
    retries: int = _setting(
        4,
        _retries,
        f"retries of a failed request (timeouts, 429 and 5xx answers, with backoff), 0 to {MAX_RETRIES}",
        option="--retries",
        metavar="N",
    )
    rate: float | None = _setting(
        None,
        _positive_number("requests per second"),
        "requests per second at most",
        option="--rate",
        metavar="N",
        default_text="unlimited; 1 with --backend web",
    )
    # A password in the URL is a secret; the rest names the store in messages.
    db: str | None = _setting(
        None,
        _db,
        "the snapshot store: a SQLite file or a postgresql:// URL without password",
        env="TIKTOK_DB",
        option="--db",
        metavar="TARGET",
        secret=True,
        set_parse=_db_set,
        more="A recording run creates the file; a postgresql://USER@HOST/DB URL takes its password "
        "from ~/.pgpass or PGPASSWORD.",
    )
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


# Every setting by name, in the order `config` lists them.
SETTINGS: Mapping[str, Setting] = {
    f.name: replace(f.metadata[_ABOUT], name=f.name) for f in fields(Settings) if _ABOUT in f.metadata
}
SETTING_NAMES: tuple[str, ...] = tuple(SETTINGS)
# Settings that may come from the environment, and the variable for each.
ENV_VARS: Mapping[str, str] = {s.name: s.env for s in SETTINGS.values() if s.env}
# Settings that may hold a secret: a token, cookies, or a database password.
SECRET_SETTINGS = frozenset(s.name for s in SETTINGS.values() if s.secret)
# Settings `tiktok config set` reads from a prompt or stdin, never from its arguments.
PROMPTED_SETTINGS = frozenset(s.name for s in SETTINGS.values() if s.prompted)


def setting_help(name: str) -> str:
    """One setting in a few words, with its default: `config`'s list of settings."""
    setting = SETTINGS[name]
    default = setting.shown_default
    return setting.described + (f" (default {default})" if default else "")


def option_help(name: str) -> str:
    """The help of the option that sets ``name``: what it is, more, its variable and default."""
    setting = SETTINGS[name]
    text = setting.described
    sentences = [f"{text[0].upper()}{text[1:]}.", setting.more]
    facts = [f"env: {setting.env}"] if setting.env else []
    if setting.shown_default:
        facts.append(f"default: {setting.shown_default}")
    return " ".join(s for s in sentences if s) + (f" [{'; '.join(facts)}]" if facts else "")


def is_secret(name: str, value: Any) -> bool:
    """Whether this value of setting ``name`` must be masked and never taken as an argument."""
    if name not in SECRET_SETTINGS or not value:
        return False
    if name == "cookies":
        return is_inline(str(value))
    if name == "db":
        return url_password(str(value)) is not None
    return True


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


def config_path() -> Path:
    """Where the config file is read from (it need not exist)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False) / "config.toml"
