"""Parse and validate what users type where an account is expected.

Validation happens before any request, so a typo costs no network round trip and a
hostile value never reaches a query string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
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
    if "://" in raw or raw.lower().startswith(("tiktok.com/", "www.tiktok.com/", "m.tiktok.com/")):
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


def account_from_args(user: str | None, *, sec_uid: str | None = None, uid: str | None = None) -> Account:
    """Build the one account a list command targets from its mutually exclusive options."""
    given = sum(v is not None for v in (user, sec_uid, uid))
    if given == 0:
        raise UsageError("name the account: give USER, --sec-uid or --uid")
    if given > 1:
        raise UsageError("give only one of USER, --sec-uid and --uid")
    if sec_uid is not None:
        return Account(IdKind.SEC_UID, parse_sec_uid(sec_uid))
    if uid is not None:
        return Account(IdKind.UID, parse_uid(uid))
    assert user is not None
    return Account(IdKind.USERNAME, parse_username(user))


def _shown(text: str) -> str:
    """Quote user input for an error message; repr() escapes control characters."""
    return repr(text[:80] + ("…" if len(text) > 80 else ""))
