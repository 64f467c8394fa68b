"""The self-hosted REST gateway (seed 000): user-info and followings.

Every body is checked against the documented shape in one place (``_envelope``,
``_profile``, ``_followings_page``): anything else is one clear bad-data error naming
the endpoint and the field, never a guess and never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tiktok_cli.backends._shapes import (
    as_list,
    as_object,
    count,
    cursor_value,
    is_account,
    kind_of,
    parsing,
    web_user,
)
from tiktok_cli.backends.base import Backend, ListQuery, Operation
from tiktok_cli.errors import UpstreamError, excerpt
from tiktok_cli.identifiers import IdKind
from tiktok_cli.models import Cursor, Page, User
from tiktok_cli.settings import SETTINGS

DEFAULT_PAGE_SIZE = 50


class GatewayBackend(Backend):
    name = "gateway"
    operations = frozenset({Operation.USER_INFO, Operation.FOLLOWINGS})
    priority = 10
    configured_by = ("gateway_url",)
    label = "gateway"
    service = "the REST gateway"
    url_setting = "gateway_url"
    alternative = "use --backend web"
    credentials_hint = f"the gateway wants credentials; check {SETTINGS['gateway_url'].env}"

    def user_info(self, username: str) -> User:
        what = f"user-info for @{username}"
        body = self._get("/user-info", {"uniqueId": username}, what, f"@{username}")
        user = _profile(body, what)
        if user.unique_id is not None and user.unique_id.lower() != username.lower():
            # Another account's profile would send its lists, under this name, into the export.
            raise UpstreamError(
                f"{what}: the gateway answered with the profile of @{excerpt(user.unique_id, 40)}"
            )
        return user

    def page_fetcher(self, operation: Operation, query: ListQuery) -> Callable[[Cursor], Page]:
        if operation is not Operation.FOLLOWINGS:
            raise self._unsupported(operation)
        sec_uid = self.resolve(
            query.account,
            IdKind.SEC_UID,
            usage="the gateway lists followings by secUid: give USER or --sec-uid",
        )
        what = f"followings of {query.account}"
        page_size = query.page_size or DEFAULT_PAGE_SIZE
        max_cursor = query.max_cursor or 0

        def fetch(cursor: Cursor) -> Page:
            params: dict[str, str | int] = {
                "secUid": sec_uid,
                "count": page_size,
                "minCursor": cursor,
                "maxCursor": max_cursor,
            }
            return _followings_page(self._get("/user-followings", params, what, str(query.account)), what)

        return fetch

    def _get(self, path: str, params: Mapping[str, str | int], what: str, account: str) -> JsonBody:
        body = self.request(self.settings.gateway_url + path, params, what=what, account=account)
        return _envelope(body, what)


JsonBody = Mapping[str, Any]


# --- the documented shapes ---------------------------------------------------------------


def _envelope(body: Any, what: str) -> JsonBody:
    """The gateway's answer: an object whose optional ``status`` is "success"."""
    obj = as_object(body, what)
    status = obj.get("status")
    if status is None or status == "success":
        return obj
    if type(status) is not str:
        raise UpstreamError(f"{what}: status is {kind_of(status)}, not a status string")
    message = obj.get("message")
    raise UpstreamError(
        f"{what}: the gateway answered status {excerpt(status, 60)!r}"
        + (f": {excerpt(message)}" if type(message) is str and message.strip() else "")
    )


def _profile(body: JsonBody, what: str) -> User:
    """``{data: {userInfo: {…, stats, statsV2}}}`` holding one account."""
    data = as_object(body.get("data"), f"{what}: data")
    info = as_object(data.get("userInfo"), f"{what}: data.userInfo")
    with parsing(what):
        user = web_user(info, info.get("stats"), info.get("statsV2"))
    if not is_account(user):
        raise UpstreamError(f"{what}: data.userInfo holds no account (no id and no username)")
    return user


def _followings_page(body: JsonBody, what: str) -> Page:
    """``{metadata: {hasMore, minCursor, totalFollowings}, followings: [account…]}``."""
    meta = as_object(body.get("metadata"), f"{what}: metadata")
    items = as_list(body.get("followings"), f"{what}: followings")
    has_more = meta.get("hasMore")
    if type(has_more) is not bool:
        raise UpstreamError(f"{what}: metadata.hasMore is {kind_of(has_more)}, not true/false")
    users = []
    with parsing(what):
        for item in items:  # per row: no message is built unless an entry is bad
            entry = item if isinstance(item, Mapping) else as_object(item, f"{what}: followings entry")
            user = web_user(entry, entry.get("stats"))
            if is_account(user):
                users.append(user)
        cursor = cursor_value(meta.get("minCursor"), "metadata.minCursor")
        return Page(
            users=users,
            next_cursor=cursor,
            # TikTok's web list under the gateway: minCursor is the page's oldest follow time.
            follow_time=cursor,
            has_more=has_more,
            total=count((meta, "totalFollowings")),
            skipped=len(items) - len(users),
        )


BACKEND = GatewayBackend
