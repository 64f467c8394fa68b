"""Settings: command-line flags > environment > config file > defaults.

The config file is TOML in the user's config dir (``$XDG_CONFIG_HOME/tiktok-cli/config.toml``
on Linux), or wherever ``TIKTOK_CONFIG`` points. The folder keeps the project's first name
(the distribution is now ``tiktok-follows``) so existing config files stay where they are.
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tiktok_cli import backends
from tiktok_cli.errors import ConfigError, UsageError
from tiktok_cli.settings import (
    CONFIG_ENV,
    ENV_VARS,
    SECRET_SETTINGS,
    STORE_SCHEMES,
    Settings,
    config_path,
    is_secret,
    masked_url,
    url_password,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class SettingsError(ConfigError):
    """A settings source itself is unusable (the config file, an environment variable).

    The message names the file or variable to fix; nothing else needs checking first.
    """

    names_its_source = True  # errors.failure: no pointer to `tiktok doctor`


# Settings `tiktok config set` reads from a prompt or stdin, never from its arguments.
PROMPTED_SETTINGS = frozenset({"api_token"})

# Where a value came from, as `config show` and `tiktok doctor` say it.
DEFAULT_ORIGIN = "default"
FILE_ORIGIN = "config file"

MAX_RETRIES = 100


def _positive_number(unit: str) -> Callable[[Any], float]:
    """A parser for a number of ``unit`` above 0, refusing anything else in plain words."""

    def parse(value: Any) -> float:
        wanted = f"must be a number of {unit}"
        if isinstance(value, bool):
            raise ValueError(wanted)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(wanted) from None
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number of {unit}")
        if number <= 0:
            raise ValueError(f"{wanted}, greater than 0")
        return number

    return parse


def _retries(value: Any) -> int:
    wanted = f"must be a whole number from 0 to {MAX_RETRIES}"
    if isinstance(value, bool):
        raise ValueError(wanted)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(wanted) from None
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
    name = _text(value)
    if name not in (backends.AUTO, *backends.names()):
        raise ValueError(f"must be one of {', '.join((backends.AUTO, *backends.names()))}")
    return name


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


_PARSERS: Mapping[str, Callable[[Any], Any]] = {
    "backend": _backend,
    "gateway_url": _url,
    "api_url": _url,
    "api_token": _text,
    "web_url": _url,
    "cookies": _text,
    "cookies_from_browser": _browser,
    "signer_url": _url,
    "timeout": _positive_number("seconds"),
    "retries": _retries,
    "rate": _positive_number("requests per second"),
    "db": _db,
}

SETTING_NAMES: tuple[str, ...] = tuple(_PARSERS)


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


# What `config set` accepts where it differs from what the file and environment accept.
_SET_PARSERS: Mapping[str, Callable[[Any], Any]] = {**_PARSERS, "cookies": _cookies_file, "db": _db_set}


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings the config file holds; a missing file is an empty config.

    A key that is no setting (a typo, a setting of a later version) is a warning naming
    its line, not an error: an error would stop every command, `config unset` included.
    """
    table, text = _read_table(path)
    for key in sorted(set(table) - set(_PARSERS), key=lambda k: _line_of(text, k) or 0):
        if (path, text, key) not in _WARNED:
            _WARNED.add((path, text, key))
            from tiktok_cli.console import warn

            line = _line_of(text, key)
            where = f"{path}, line {line}" if line else str(path)
            advice = f"`tiktok config unset {key}` removes it"
            warn(f"{where}: unknown setting {key!r} ignored ({_known(key)}); {advice}")
    if "api_token" in table:
        warn_if_readable_by_others(path)
    return {name: value for name, value in table.items() if name in _PARSERS}


# The unknown keys warned about already, with the file text they were in: a command reads
# the file more than once, and says each once.
_WARNED: set[tuple[Path, str, str]] = set()


def _known(name: str) -> str:
    """The setting ``name`` probably means, else every setting's name."""
    import difflib

    close = difflib.get_close_matches(name, SETTING_NAMES, n=1)
    return f"did you mean {close[0]}?" if close else f"known: {', '.join(SETTING_NAMES)}"


def _line_of(text: str, key: str) -> int | None:
    """The line (from 1) where top-level ``key`` is set or its table opens, if it can be told."""
    import re

    name = re.escape(key)
    quoted = rf"""(?:{name}|"{name}"|'{name}')"""
    pattern = re.compile(rf"^\s*(?:{quoted}\s*[=.]|\[\[?\s*{quoted}\s*[\].])")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _read_table(path: Path) -> tuple[dict[str, Any], str]:
    """The config file's whole table, unknown keys included, and its text."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, ""
    except IsADirectoryError:
        raise SettingsError(
            f"config file {path} is a folder, not a file",
            hint=f"point {CONFIG_ENV} at a file inside it, such as {path / 'config.toml'}",
        ) from None
    except PermissionError:
        raise SettingsError(
            f"cannot read config file {path}: permission denied",
            hint=f"make it readable by you (chmod 600 {path}) or point {CONFIG_ENV} elsewhere",
        ) from None
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
        table: dict[str, Any] = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    return table, text


def warn_if_readable_by_others(path: Path) -> None:
    """A token in a file other local users can read is a leaked token."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        from tiktok_cli.console import warn

        warn(f"{path} holds an API token and is readable by other users; run: chmod 600 {path}")


def load_settings(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Merge the four sources; ``flags`` holds only options the user actually gave."""
    return load_settings_with_origins(flags, environ)[0]


def load_settings_with_origins(
    flags: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[Settings, dict[str, str]]:
    """The merged settings, and where each came from: ``flag --x``, ``environment
    TIKTOK_X``, ``config file`` or ``default``."""
    env = os.environ if environ is None else environ
    path = config_path()
    sources: list[tuple[str, Mapping[str, Any]]] = [
        (f"config file {path}", read_config_file(path)),
        ("environment", {k: env[v] for k, v in ENV_VARS.items() if env.get(v)}),
        ("command line", {k: v for k, v in flags.items() if v is not None}),
    ]
    values: dict[str, Any] = {}
    origins = dict.fromkeys(SETTING_NAMES, DEFAULT_ORIGIN)
    for origin, source in sources:
        for name, raw in source.items():
            try:
                values[name] = _PARSERS[name](raw)
            except (TypeError, ValueError) as exc:
                if origin == "command line":
                    raise UsageError(f"--{name.replace('_', '-')} {exc}") from None
                where = ENV_VARS[name] if origin == "environment" else name
                raise SettingsError(f"{origin}: {where} {exc}") from None
            origins[name] = _origin(origin, name)
    values["given"] = frozenset(name for name, origin in origins.items() if origin != DEFAULT_ORIGIN)
    from tiktok_cli import console

    for name in SECRET_SETTINGS:  # redacted from here on, before anything can fail
        if is_secret(name, values.get(name)):
            if name == "db":  # only the password is secret: the rest names the store in messages
                console.add_secret(url_password(values[name]) or "")
                continue
            console.add_secret(values[name])
            if name == "cookies":
                from tiktok_cli.cookies import inline_values

                for value in inline_values(values[name]):
                    console.add_secret(value, min_length=console.MIN_COOKIE_SECRET)
    return Settings(**values), origins


def _origin(source: str, name: str) -> str:
    if source == "command line":
        return f"flag --{name.replace('_', '-')}"
    if source == "environment":
        return f"environment {ENV_VARS[name]}"
    return FILE_ORIGIN


def write_setting(name: str, value: str) -> Path:
    """Set one setting in the config file; returns its path.

    The file is rewritten atomically and created owner-only (0600): it may hold a token.
    """
    _check_name(name)
    path = config_path()
    read_config_file(path)  # its warnings: an unknown key is kept, as the user wrote it
    table, _ = _read_table(path)
    try:
        table[name] = _SET_PARSERS[name](value)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{name} {exc}") from None
    _write_table(path, table)
    return path


def remove_setting(name: str) -> tuple[Path, bool]:
    """Remove one setting from the config file; returns its path and whether it was there.

    When it was not, the file is left alone (not even created). Any key the file holds
    can be removed, a misspelt one included; a name that is neither there nor a setting
    is a usage error.
    """
    path = config_path()
    table, _ = _read_table(path)
    if name not in table:
        _check_name(name)
        return path, False
    del table[name]
    _write_table(path, table)
    return path, True


def _check_name(name: str) -> None:
    if name not in _PARSERS:
        raise UsageError(f"unknown setting {name!r} ({_known(name)})")


def _write_table(path: Path, table: Mapping[str, Any]) -> None:
    import tempfile

    import tomli_w

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".tmp")  # mode 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(tomli_w.dumps(table).encode("utf-8"))
        Path(temp).replace(path)
    except OSError as exc:
        raise SettingsError(f"cannot write config file {path}: {exc.strerror}") from None


def effective_settings(flags: Mapping[str, Any]) -> tuple[Settings, dict[str, str]]:
    """The settings a run would use, with their origins; an unset rate is the one the chosen
    backend picks itself (``--backend web``: 1 per second)."""
    settings, origins = load_settings_with_origins(flags)
    chosen = backends.client_backend(settings)
    if settings.rate is None and chosen.default_rate is not None:
        settings = dataclasses.replace(settings, rate=chosen.default_rate)
        origins["rate"] = f"default of backend {chosen.name}"
    return settings, origins


def settings_toml(settings: Settings, origins: Mapping[str, str]) -> list[str]:
    """``config show``'s lines: valid TOML that can be pasted into the config file.

    Each value's origin is a comment; an unset value, a secret (shown masked) or a
    default is a comment line too, so pasting the text back never sets a placeholder, and
    never pins a default (a pasted default gateway_url would count as a configured gateway).
    """
    lines: list[tuple[str, str]] = []
    for name in SETTING_NAMES:
        value = getattr(settings, name)
        origin = origins[name]
        if value is None:
            note = " (unlimited)" if name == "rate" else ""
            lines.append((f"# {name} is not set{note}", origin))
        elif is_secret(name, value):
            shown = masked_url(value) if name == "db" else "***"
            lines.append((f"# {_toml(name, shown)}", f"{origin}; a secret, masked"))
        elif origin.startswith("default"):
            lines.append((f"# {_toml(name, value)}", origin))
        else:
            lines.append((_toml(name, value), origin))
    width = max(len(text) for text, _ in lines)
    return [f"{text:<{width}}  # {origin}" for text, origin in lines]


def _toml(name: str, value: Any) -> str:
    """``name = value`` as TOML writes it (strings quoted and escaped)."""
    import tomli_w

    return tomli_w.dumps({name: value}).strip()


def setting_value(settings: Settings, name: str, *, reveal: bool = False) -> str | None:
    """``config get``: one setting's value as a script wants it (None: not set).

    A secret is printed only when asked for by name with ``reveal``: shown by accident on
    a terminal or in a log, it would be leaked.
    """
    _check_name(name)
    value = getattr(settings, name)
    if value is None:
        return None
    if is_secret(name, value) and not reveal:
        raise UsageError(
            f"{name} holds a secret and is not printed unasked: "
            f"`tiktok config get {name} --show-secret` prints it"
        )
    return str(value)


def store_target(flags: Mapping[str, Any]) -> str:
    """The snapshot store to read: --db, else TIKTOK_DB, else the config file's db; none is a usage error."""
    db = load_settings(flags).db
    if not db:
        raise UsageError(
            "name the snapshot store: give --db TARGET or set TIKTOK_DB (or `tiktok config set db PATH`)"
        )
    return db
