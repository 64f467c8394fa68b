"""The normalized records every backend produces and every writer consumes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# Cursors are opaque to everything but the backend that made them; they only need to
# survive a JSON round trip (checkpoints) and a query string.
Cursor = int


@dataclass(slots=True)  # not frozen: frozen dataclasses are ~3x slower to build, per row
class User:
    """One TikTok account. Field order is the CSV column order; None means "not given"."""

    unique_id: str | None = None
    nickname: str | None = None
    user_id: str | None = None
    sec_uid: str | None = None
    bio: str | None = None
    verified: bool | None = None
    private: bool | None = None
    followers: int | None = None
    following: int | None = None
    likes: int | None = None
    videos: int | None = None
    avatar_url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def account_key(self) -> str | None:
        """Which account this is, by the first id the API gave (``id:``, ``sec:``, ``name:``):
        the export de-duplicates by it and the store keys accounts by it."""
        if self.user_id:  # nearly every account: the strongest key, without building the list
            return "id:" + self.user_id
        keys = account_keys(None, self.sec_uid, self.unique_id)
        return keys[0] if keys else None


def account_keys(user_id: str | None, sec_uid: str | None, unique_id: str | None) -> list[str]:
    """Every key an account with these ids may have been stored under, strongest first
    (a username may change, so it counts last, and without case)."""
    keys = []
    if user_id:
        keys.append("id:" + user_id)
    if sec_uid:
        keys.append("sec:" + sec_uid)
    if unique_id:
        keys.append("name:" + unique_id.lower())
    return keys


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(User) if f.name != "raw")
# `owner` names the account a list row belongs to; it exists only on list rows.
OWNER_FIELD = "owner"
# When the row's page (or profile) was fetched, ISO 8601 UTC; only when --fields asks.
FETCHED_AT = "fetched_at"


def utc_stamp(at: datetime | None = None) -> str:
    """``at`` (default: now), as ``fetched_at`` spells it: ``2026-12-05T17:08:46Z``."""
    if at is None:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Page:
    """One page as a backend returns it: its accounts, the cursor to ask for the next one,
    and what the API claims (the paginator yields ``paginate.FreshPage``s from these)."""

    users: list[User]
    next_cursor: Cursor | None
    has_more: bool
    total: int | None = None
    # List entries that are no account (placeholders, `{}`, entries with neither id nor name).
    skipped: int = 0
