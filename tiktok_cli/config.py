"""Settings: command-line flags > environment > config file > defaults.

The config file is TOML in the user's config dir (``$XDG_CONFIG_HOME/tiktok-cli/config.toml``
on Linux), or wherever ``TIKTOK_CONFIG`` points. The folder keeps the project's first name
(the distribution is now ``tiktok-follows``) so existing config files stay where they are.
What each setting is (its parser, variable, default) is ``settings.SETTINGS``'.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tiktok_cli import backends
from tiktok_cli.errors import ConfigError, UsageError
from tiktok_cli.settings import (
    CONFIG_ENV,
    ENV_VARS,
    SECRET_SETTINGS,
    SETTING_NAMES,
    SETTINGS,
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


# Where a value came from, as `config show` and `tiktok doctor` say it.
DEFAULT_ORIGIN = "default"
FILE_ORIGIN = "config file"


def _parse(name: str, value: Any, *, saving: bool = False) -> Any:
    """Setting ``name``'s ``value`` checked (``saving``: as `config set` takes it)."""
    about = SETTINGS[name]
    return (about.set_parse or about.parse)(value) if saving else about.parse(value)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings the config file holds; a missing file is an empty config.

    A key that is no setting (a typo, a setting of a later version) is a warning naming
    its line, not an error: an error would stop every command, `config unset` included.
    """
    table, text = _read_table(path)
    for key in sorted(set(table) - set(SETTINGS), key=lambda k: _line_of(text, k) or 0):
        if (path, text, key) not in _WARNED:
            _WARNED.add((path, text, key))
            from tiktok_cli.console import warn

            line = _line_of(text, key)
            where = f"{path}, line {line}" if line else str(path)
            advice = f"`tiktok config unset {key}` removes it"
            warn(f"{where}: unknown setting {key!r} ignored ({_known(key)}); {advice}")
    if "api_token" in table:
        warn_if_readable_by_others(path)
    return {name: value for name, value in table.items() if name in SETTINGS}


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
                values[name] = _parse(name, raw)
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
        table[name] = _parse(name, value, saving=True)
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
    if name not in SETTINGS:
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
