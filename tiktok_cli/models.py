"""The normalized records every backend produces and every writer consumes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
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
    # The oldest follow time on the page, in Unix seconds, as the backend read it from its
    # cursor (None: the API's cursor is no follow time); ``follow_time`` judges it.
    follow_time: int | None = None


# A list that ended (or was cut by TikTok) after at least this many accounts while TikTok
# reports far more is the newest part of it, a window; shorter ones end early, not at a cap.
WINDOW_MIN_ROWS = 1_000
# How far short a list may end and still be all of it, of TikTok's count (which includes
# deleted and banned accounts) or of the store's last complete snapshot: this share of it,
# or this many accounts, whichever is more.
SHORTFALL = 0.10
ALLOWANCE = 5


def far_short(listed: int, reported: int) -> bool:
    """Whether ``listed`` entries fall well short of the ``reported`` count (the store's
    plausibility gate applies the same rule)."""
    return reported - listed > max(ALLOWANCE, reported * SHORTFALL)


def is_window(listed: int, reported: int | None, *, capped: bool) -> bool:
    """Whether a list read from its first page is a window, the newest part of a longer one:
    TikTok stopped serving it (``capped``), or it ended after ``WINDOW_MIN_ROWS`` or more
    entries while TikTok reports far more."""
    if capped:
        return True
    return listed >= WINDOW_MIN_ROWS and reported is not None and far_short(listed, reported)


# Follow times before this are no follow time (TikTok's lists start in 2016; the margin is
# for accounts carried over from musical.ly): a cursor of 0, 1 or a small counter.
_FIRST_FOLLOW = datetime(2010, 1, 1, tzinfo=timezone.utc)
# A clock a little ahead of ours (or a cursor in another time zone's idea of "now").
_CLOCK_SLACK = timedelta(days=1)
# A cursor past this is in milliseconds (seconds reach it in the year 33658).
_MILLISECONDS = 10**12


def follow_time(seconds: int | None, now: datetime | None = None) -> datetime | None:
    """A cursor's follow time as an aware UTC datetime, when it is plausible for one
    (2010-01-01 to a day after ``now``); None otherwise: a time is never made up."""
    if seconds is None or type(seconds) is not int or seconds <= 0:
        return None
    value = seconds / 1000 if seconds > _MILLISECONDS else seconds
    try:
        moment = datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    latest = (now or datetime.now(timezone.utc)) + _CLOCK_SLACK
    return moment if _FIRST_FOLLOW <= moment <= latest else None
