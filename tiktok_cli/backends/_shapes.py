"""Map TikTok's two user shapes (web camelCase, mobile snake_case) to ``User``.

TikTok changes often, so every field is optional: a value that is missing or of the
wrong type becomes None ("not given") rather than a guess. Structural problems (no
list where a list must be) are the backends' to report.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tiktok_cli.errors import UpstreamError, excerpt
from tiktok_cli.models import User

JsonObject = Mapping[str, Any]


def as_object(value: Any, what: str) -> JsonObject:
    """``value`` if it is a JSON object, else a clear bad-data error."""
    if not isinstance(value, Mapping):
        raise UpstreamError(f"{what}: expected a JSON object, got {_kind(value)}")
    return value


def as_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise UpstreamError(f"{what}: expected a list, got {_kind(value)}")
    return value


def kind_of(value: Any) -> str:
    """What a JSON value is, for messages: "null", "list", "str"…, never the value itself."""
    return "null" if value is None else type(value).__name__


_kind = kind_of


def is_account(user: User) -> bool:
    """Whether a parsed entry names an account at all (an id, a secUid or a username).

    ``{}``, ``{"uid": "0"}`` or a bare ``{"stats": {}}`` would otherwise become a row
    of empty cells: lists skip such entries and count them in ``Page.skipped``.
    """
    return bool(user.user_id or user.sec_uid or user.unique_id)  # User.account_key, without building it


def text(obj: JsonObject, *keys: str) -> str | None:
    """The first key holding a string."""
    for key in keys:
        value = obj.get(key)
        if type(value) is str:
            return value
    return None


MAX_INT64 = 2**63 - 1
MAX_UINT64 = 2**64 - 1


class BadValue(ValueError):
    """A field holding something other than what the API documents (bad data, not "not given")."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        super().__init__(field)
        self.field = field
        self.value = value
        self.expected = expected


@contextmanager
def parsing(what: str) -> Iterator[None]:
    """Turn a ``BadValue`` met while reading one answer into a clear error naming the endpoint."""
    try:
        yield
    except BadValue as exc:
        shown = excerpt(repr(exc.value), 60)
        raise UpstreamError(f"{what}: {exc.field} is {shown}, not {exc.expected}") from None


def _ascii_int(value: str, *, signed: bool = False) -> int | None:
    """An integer spelled in ASCII digits only ("٣٤" and "²" are digits to ``str.isdigit``)."""
    digits = value[1:] if signed and value[:1] == "-" else value
    if not (0 < len(digits) <= 20 and digits.isascii() and digits.isdigit()):
        return None
    return int(value)


def ident(obj: JsonObject, *keys: str) -> str | None:
    """A numeric id as a string, so 19-digit ids never pass through a float."""
    for key in keys:
        value = _ident(obj.get(key), key)
        if value is not None:
            return value
    return None


def _ident(value: Any, field: str) -> str | None:
    # "0" and 0 are TikTok's placeholders: not an id, and not bad data either.
    if value is None:
        return None
    if type(value) is str:
        # _ascii_int's test, inline: this runs for every account of every page.
        if 0 < len(value) <= 20 and value.isascii() and value.isdigit():
            number = int(value)
            if number <= MAX_UINT64:
                return value if number else None
    elif type(value) is int and 0 <= value <= MAX_UINT64:
        return str(value) if value else None
    raise BadValue(field, value, "a numeric id")


def count(*candidates: tuple[JsonObject | None, str]) -> int | None:
    """The first non-negative integer among (object, key) pairs; numeric strings count."""
    for obj, key in candidates:
        if obj:
            value = _count(obj.get(key), key)
            if value is not None:
                return value
    return None


def _count(value: Any, field: str) -> int | None:
    """Absent, or not a number at all (text, a float, true): not given. Number-like but
    unusable (non-ASCII digits, past 64 bits): bad data, never a guess."""
    # type() rather than isinstance(): a bool is an int, and this runs for every field.
    kind = type(value)
    if kind is int:
        if 0 <= value <= MAX_INT64:
            return value  # type: ignore[no-any-return]
        if -MAX_INT64 <= value < 0:
            return None  # TikTok's "hidden" (-1)
    elif kind is str:
        if not value.isdigit():
            return None
        number = _ascii_int(value)
        if number is not None and number <= MAX_INT64:
            return number
    else:
        return None
    raise BadValue(field, value, "a count")


def cursor_value(value: Any, field: str) -> int | None:
    """A pagination cursor as the API sent it (an integer or digit string, maybe negative).

    None when absent; anything else that is not a 64-bit integer is bad data, never
    mistaken for the end of a list.
    """
    if value is None:
        return None
    if type(value) is int:
        number: int | None = value
    elif type(value) is str:
        number = _ascii_int(value, signed=True)
    else:
        number = None
    if number is None or not -MAX_INT64 <= number <= MAX_INT64:
        raise BadValue(field, value, "an integer cursor")
    return number


def flag(obj: JsonObject, *keys: str) -> bool | None:
    for key in keys:
        value = _flag(obj.get(key))
        if value is not None:
            return value
    return None


def _flag(value: Any) -> bool | None:
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return value == 1
    return None


def _text(value: Any) -> str | None:
    return value if type(value) is str else None


def first_url(value: Any) -> str | None:
    """An avatar: a URL string, or the first of a mobile ``{url_list: [...]}``."""
    if type(value) is str:
        return value or None
    # type() first: a dict (what JSON gives) skips the Mapping ABC's slower check.
    if type(value) is dict or isinstance(value, Mapping):
        urls = value.get("url_list")
        if type(urls) is list:
            for url in urls:
                if type(url) is str and url:
                    return url
    return None


def web_user(
    user: JsonObject,
    stats: JsonObject | None = None,
    stats_v2: JsonObject | None = None,
    *,
    raw: JsonObject | None = None,
) -> User:
    """A web-shaped account (tiktok.com, and the gateway that wraps it).

    ``statsV2`` carries exact figures as strings where ``stats`` may be rounded, so it wins.
    """
    stats = stats if isinstance(stats, Mapping) else None
    stats_v2 = stats_v2 if isinstance(stats_v2, Mapping) else None
    avatar = next(
        (
            url
            for key in (
                "profilePictureUrl",
                "avatar",
                "avatarThumb",
                "avatarMedium",
                "avatarLarger",
            )
            if (url := first_url(user.get(key)))
        ),
        None,
    )
    return User(
        unique_id=text(user, "uniqueId", "username", "unique_id"),
        nickname=text(user, "nickname"),
        user_id=ident(user, "id", "uid", "userId"),
        sec_uid=text(user, "secUid", "sec_uid") or None,
        bio=text(user, "bio", "signature"),
        verified=flag(user, "verified"),
        private=flag(user, "privateAccount", "private", "secret"),
        followers=count(
            (stats_v2, "followerCount"),
            (stats, "followerCount"),
            (stats, "followers"),
            (user, "followers"),
            (user, "followerCount"),
        ),
        following=count(
            (stats_v2, "followingCount"),
            (stats, "followingCount"),
            (stats, "followings"),
            (stats, "following"),
            (user, "following"),
            (user, "followingCount"),
        ),
        likes=count(
            (stats_v2, "heartCount"),
            (stats_v2, "heart"),
            (stats, "heartCount"),
            (stats, "heart"),
            (stats, "likes"),
            (user, "likes"),
            (user, "heartCount"),
        ),
        videos=count(
            (stats_v2, "videoCount"),
            (stats, "videoCount"),
            (stats, "videos"),
            (user, "videos"),
            (user, "videoCount"),
        ),
        avatar_url=avatar,
        raw=raw if raw is not None else user,
    )


def mobile_user(obj: JsonObject) -> User:
    """A mobile-app (aweme) account object, as the token API passes it through.

    Written out field by field: it runs once per exported account.
    """
    get = obj.get
    verified = _flag(get("is_verified"))
    if verified is None:
        custom, enterprise = _text(get("custom_verify")), _text(get("enterprise_verify_reason"))
        if custom is not None or enterprise is not None:
            verified = bool(custom or enterprise)
    return User(
        unique_id=_text(get("unique_id")) or None,
        nickname=_text(get("nickname")),
        user_id=_ident(get("uid"), "uid"),
        sec_uid=_text(get("sec_uid")) or None,
        bio=_text(get("signature")),
        verified=verified,
        private=_flag(get("secret")),
        followers=_count(get("follower_count"), "follower_count"),
        following=_count(get("following_count"), "following_count"),
        likes=_count(get("total_favorited"), "total_favorited"),
        videos=_count(get("aweme_count"), "aweme_count"),
        avatar_url=first_url(get("avatar_thumb")),
        raw=obj,
    )
