"""Settings: command-line flags > environment > config file > defaults.

The config file is TOML in the user's config dir (``$XDG_CONFIG_HOME/tiktok-cli/config.toml``
on Linux), or wherever ``TIKTOK_CONFIG`` points.
"""

from __future__ import annotations

import math
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tiktok_cli.errors import ConfigError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

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
    timeout: float = 20.0
    retries: int = 4
    rate: float | None = None

    def __repr__(self) -> str:
        # Keeps the token and cookies out of tracebacks and --debug dumps.
        shown = {
            f.name: ("***" if is_secret(f.name, getattr(self, f.name)) else getattr(self, f.name))
            for f in fields(self)
        }
        return f"Settings({shown})"


# Settings that may hold a secret: a token, or cookies. `cookies` is a secret only when it
# holds the values themselves ("name=value; …"); a cookies.txt path is not (the file is).
SECRET_SETTINGS = frozenset({"api_token", "cookies"})


def is_secret(name: str, value: Any) -> bool:
    """Whether this value of setting ``name`` must be masked and never taken as an argument."""
    if name not in SECRET_SETTINGS or not value:
        return False
    if name == "cookies":
        from tiktok_cli.cookies import is_inline

        return is_inline(str(value))
    return True


# Settings that may come from the environment, and the variable for each.
ENV_VARS: Mapping[str, str] = {
    "backend": "TIKTOK_BACKEND",
    "gateway_url": "TIKTOK_GATEWAY_URL",
    "api_url": "TIKTOK_API_URL",
    "api_token": "TIKTOK_API_TOKEN",
    "web_url": "TIKTOK_WEB_URL",
    "cookies": "TIKTOK_COOKIES",
}


MAX_RETRIES = 100


def _positive_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError("must be a finite number greater than 0")
    return number


def _retries(value: Any) -> int:
    if (
        isinstance(value, bool)
        or float(value) != int(float(value))
        or not 0 <= int(float(value)) <= MAX_RETRIES
    ):
        raise ValueError(f"must be a whole number from 0 to {MAX_RETRIES}")
    return int(float(value))


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


_PARSERS: Mapping[str, Callable[[Any], Any]] = {
    "backend": _backend,
    "gateway_url": _url,
    "api_url": _url,
    "api_token": _text,
    "web_url": _url,
    "cookies": _text,
    "timeout": _positive_float,
    "retries": _retries,
    "rate": _positive_float,
}


def config_path() -> Path:
    """Where the config file is read from (it need not exist)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False) / "config.toml"


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse the config file; a missing file is an empty config."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        table: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(table) - set(_PARSERS))
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(_PARSERS))})"
        )
    if "api_token" in table:
        warn_if_readable_by_others(path)
    return table


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
    env = os.environ if environ is None else environ
    path = config_path()
    sources: list[tuple[str, Mapping[str, Any]]] = [
        (f"config file {path}", read_config_file(path)),
        ("environment", {k: env[v] for k, v in ENV_VARS.items() if env.get(v)}),
        ("command line", {k: v for k, v in flags.items() if v is not None}),
    ]
    values: dict[str, Any] = {}
    for origin, source in sources:
        for name, raw in source.items():
            try:
                values[name] = _PARSERS[name](raw)
            except (TypeError, ValueError) as exc:
                if origin == "command line":
                    raise UsageError(f"--{name.replace('_', '-')} {exc}") from None
                where = ENV_VARS[name] if origin == "environment" else name
                raise ConfigError(f"{origin}: {where} {exc}") from None
    from tiktok_cli import console

    for name in SECRET_SETTINGS:  # redacted from here on, before anything can fail
        if is_secret(name, values.get(name)):
            console.add_secret(values[name])
            if name == "cookies":
                from tiktok_cli.cookies import inline_values

                for value in inline_values(values[name]):
                    console.add_secret(value)
    return Settings(**values)


def write_setting(name: str, value: str | None) -> Path:
    """Set (or, with None, remove) one setting in the config file; returns its path.

    The file is rewritten atomically and created owner-only (0600): it may hold a token.
    """
    import tempfile

    import tomli_w

    if name not in _PARSERS:
        raise UsageError(f"unknown setting {name!r} (known: {', '.join(sorted(_PARSERS))})")
    path = config_path()
    table = read_config_file(path)
    if value is None:
        table.pop(name, None)
    else:
        try:
            table[name] = _PARSERS[name](value)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{name} {exc}") from None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".tmp")  # mode 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(tomli_w.dumps(table).encode("utf-8"))
        Path(temp).replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror}") from None
    return path
