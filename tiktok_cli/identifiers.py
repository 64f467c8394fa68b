"""Parse and validate what users type where an account is expected.

Validation happens before any request, so a typo costs no network round trip and a
hostile value never reaches a query string.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

from tiktok_cli.errors import UsageError

# TikTok usernames: letters, digits, underscore and period, 2 to 24 characters.
_USERNAME = re.compile(r"[A-Za-z0-9_.]{2,24}")
# secUids are base64url protobuf blobs that all start with the same header.
_SEC_UID = re.compile(r"MS4wLjABAAAA[A-Za-z0-9_-]{20,200}")
# Numeric user ids are unsigned 64-bit integers.
_UID = re.compile(r"[0-9]{1,20}")
_PROFILE_HOSTS = {"tiktok.com", "www.tiktok.com", "m.tiktok.com", "us.tiktok.com"}
_SHORT_LINK_HOSTS = {"vm.tiktok.com", "vt.tiktok.com"}


class IdKind(str, Enum):
    USERNAME = "username"
    SEC_UID = "secUid"
    UID = "uid"


@dataclass(frozen=True, slots=True)
class Account:
    """An account as the user named it: one of a username, a secUid or a numeric uid."""

    kind: IdKind
    value: str

    def __str__(self) -> str:
        return "@" + self.value if self.kind is IdKind.USERNAME else f"{self.kind.value} {self.value}"


def parse_username(text: str) -> str:
    """Return the bare username from ``name``, ``@name`` or a profile URL."""
    raw = text.strip()
    if "/" in raw:  # usernames never hold a slash: this is a URL, maybe without its scheme
        raw = _username_from_url(raw, original=text)
    elif raw.startswith("@"):
        raw = raw[1:]
    if not _USERNAME.fullmatch(raw) or raw.strip(".") == "":
        raise UsageError(
            f"{_shown(text)} is not a valid TikTok username "
            "(2-24 letters, digits, '_' or '.'; '@name' and profile URLs are accepted)"
        )
    return raw


def _username_from_url(url: str, *, original: str) -> str:
    parts = urlsplit(url if "://" in url else "https://" + url)
    host = (parts.hostname or "").lower()
    if host in _SHORT_LINK_HOSTS:
        raise UsageError(
            f"{_shown(original)} is a short link; open it in a browser and pass the "
            "profile URL or the @username instead"
        )
    segment = parts.path.strip("/").split("/", 1)[0]
    if host not in _PROFILE_HOSTS or not segment.startswith("@"):
        raise UsageError(
            f"{_shown(original)} is not a TikTok profile URL (expected https://www.tiktok.com/@username)"
        )
    return segment[1:]


def parse_sec_uid(text: str) -> str:
    value = text.strip()
    if not _SEC_UID.fullmatch(value):
        raise UsageError(f"{_shown(text)} is not a valid secUid (it starts with MS4wLjABAAAA)")
    return value


def parse_uid(text: str) -> str:
    value = text.strip()
    if not _UID.fullmatch(value) or int(value) >= 2**64:
        raise UsageError(f"{_shown(text)} is not a valid numeric user id (digits only)")
    return value


@dataclass(frozen=True, slots=True)
class Target:
    """One account to process, with the text the user gave (for --errors files)."""

    text: str
    account: Account

    @property
    def owner(self) -> str:
        """The value of the `owner` column for rows of this account's list."""
        return self.account.value

    @property
    def key(self) -> str:
        return f"{self.account.kind.value}:{self.account.value}"


def read_targets(
    users: Sequence[str],
    input_path: str | None,
    *,
    sec_uid: str | None = None,
    uid: str | None = None,
    unique: bool = False,
    id_options: Sequence[str] = (),
) -> list[Target]:
    """Every account named by positional USERs, an --input file (``-`` = stdin) and id options.

    Input files hold one USER per line; blank lines and ``#`` comments are ignored. Any
    invalid entry is a usage error naming where it came from, before any request.
    """
    targets = [Target(u, Account(IdKind.USERNAME, parse_username(u))) for u in users]
    if input_path is not None:
        from_file = _read_input(input_path)
        if not from_file and not users:
            name = "stdin" if input_path == "-" else input_path
            raise UsageError(f"--input {name} holds no accounts (only blank lines and # comments)")
        targets += from_file
    if sec_uid is not None:
        targets.append(Target(sec_uid, Account(IdKind.SEC_UID, parse_sec_uid(sec_uid))))
    if uid is not None:
        targets.append(Target(uid, Account(IdKind.UID, parse_uid(uid))))
    if not targets:
        options = "".join(f", {option}" for option in id_options)
        raise UsageError(f"name an account: give USER, --input FILE{options}")
    if unique:
        # The same list twice would only be written twice: keep the first mention.
        first: dict[str, Target] = {}
        for target in targets:
            first.setdefault(target.key.lower(), target)
        targets = list(first.values())
    return targets


def _read_input(path: str) -> list[Target]:
    import sys

    name = "stdin" if path == "-" else path
    try:
        if path == "-":
            lines = sys.stdin.read().splitlines()
        else:
            with Path(path).open(encoding="utf-8-sig") as handle:  # tolerate a BOM from Windows editors
                lines = handle.read().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read --input {name}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--input {name} is not UTF-8 text") from None
    targets = []
    for number, line in enumerate(lines, start=1):
        text = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not text or text.startswith("#"):
            continue
        try:
            targets.append(Target(text, Account(IdKind.USERNAME, parse_username(text))))
        except UsageError as exc:
            raise UsageError(f"{name} line {number}: {exc.message}") from None
    return targets


def _shown(text: str) -> str:
    """Quote user input for an error message; repr() escapes control characters."""
    return repr(text[:80] + ("…" if len(text) > 80 else ""))
