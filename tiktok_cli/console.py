"""Everything that is not data goes to stderr, through here."""

from __future__ import annotations

import sys
from urllib.parse import quote, quote_plus

from tiktok_cli.safetext import for_terminal

PROG = "tiktok"
_quiet = False
_secrets: list[str] = []


# Cookie jars also hold short settings ("true", "en", a data-centre name): hiding those
# would blank ordinary words in messages. Session cookies and tokens are far longer.
MIN_COOKIE_SECRET = 12


def add_secret(secret: str | None, *, min_length: int = 4) -> None:
    """Register a token or cookie value; from now on it never reaches stderr."""
    if secret and len(secret) >= min_length and secret not in _secrets:
        _secrets.append(secret)
        _secrets.sort(key=len, reverse=True)  # a secret containing another is hidden whole


def redact(text: str) -> str:
    """Replace every registered secret, raw or percent-encoded, with ***."""
    for secret in _secrets:
        for form in (secret, quote(secret, safe=""), quote_plus(secret, safe="")):
            if form in text:
                text = text.replace(form, "***")
    return text


def counted(n: int, word: str) -> str:
    """``1 row``, ``2 rows``, ``1,000 followers``: a count in a message."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def _line(text: str) -> None:
    try:
        sys.stderr.write(for_terminal(redact(text)) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed or gone: nothing left to tell
        pass


def error(message: str) -> None:
    _line(f"{PROG}: error: {message}")


def warn(message: str) -> None:
    """Something the user must know about the result (a list not compared, or compared only
    in part): --quiet never silences it."""
    _line(f"{PROG}: warning: {message}")


def info(message: str) -> None:
    """Progress and summaries; silenced by --quiet."""
    if not _quiet:
        _line(message)


def always(message: str) -> None:
    """A line that --quiet never silences (the traceback --debug asks for)."""
    _line(message)
