"""The self-hosted REST gateway (seed 000): user-info and followings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tiktok_cli.backends._shapes import as_list, as_object, count, cursor_value, parsing, web_user
from tiktok_cli.backends.base import Backend, ListQuery, Operation
from tiktok_cli.errors import (
    ConfigError,
    NotFoundError,
    NotVisibleError,
    TikTokCliError,
    UnexpectedStatus,
    UpstreamError,
    UsageError,
)
from tiktok_cli.identifiers import Account, IdKind
from tiktok_cli.models import Cursor, Page, User

DEFAULT_PAGE_SIZE = 50


class GatewayBackend(Backend):
    name = "gateway"
    operations = frozenset({Operation.USER_INFO, Operation.FOLLOWINGS})
    priority = 10

    def user_info(self, username: str) -> User:
        what = f"user-info for @{username}"
        body = self._get("/user-info", {"uniqueId": username}, what, f"@{username}")
        data = as_object(body.get("data"), f"{what}: data")
        info = as_object(data.get("userInfo"), f"{what}: data.userInfo")
        with parsing(what):
            return web_user(info, info.get("stats"), info.get("statsV2"))

    def page_fetcher(self, operation: Operation, query: ListQuery) -> Callable[[Cursor], Page]:
        if operation is not Operation.FOLLOWINGS:
            raise self._unsupported(operation)
        sec_uid = self._sec_uid(query.account)
        what = f"followings of {query.account}"
        page_size = query.page_size or DEFAULT_PAGE_SIZE
        max_cursor = query.max_cursor or 0

        def fetch(cursor: Cursor) -> Page:
            params = {
                "secUid": sec_uid,
                "count": page_size,
                "minCursor": cursor,
                "maxCursor": max_cursor,
            }
            body = self._get("/user-followings", params, what, str(query.account))
            meta = as_object(body.get("metadata"), f"{what}: metadata")
            items = as_list(body.get("followings"), f"{what}: followings")
            has_more = meta.get("hasMore")
            if not isinstance(has_more, bool):
                raise UpstreamError(f"{what}: metadata.hasMore is missing or not true/false")
            with parsing(what):
                return Page(
                    users=[web_user(item, item.get("stats")) for item in _objects(items, what)],
                    next_cursor=cursor_value(meta.get("minCursor"), "metadata.minCursor"),
                    has_more=has_more,
                    total=count((meta, "totalFollowings")),
                )

        return fetch

    def _sec_uid(self, account: Account) -> str:
        account = account.prefer(IdKind.SEC_UID)  # an --input row may carry it: no look-up
        if account.kind is IdKind.SEC_UID:
            return account.value
        if account.kind is not IdKind.USERNAME:
            raise UsageError("the gateway lists followings by secUid: give USER or --sec-uid")
        user = self.context.lookup(account.value)
        if not user.sec_uid:
            raise ConfigError(
                f"the gateway's user-info for {account} has no secUid",
                hint="pass --sec-uid SECUID instead of the username",
            )
        return user.sec_uid

    def _get(self, path: str, params: dict[str, Any], what: str, account: str) -> dict[str, Any]:
        try:
            body = self.client.get_json(self.settings.gateway_url + path, params, what=what)
        except UnexpectedStatus as exc:
            raise _translate(exc, account) from None
        obj = dict(as_object(body, what))
        status = obj.get("status")
        if status is not None and status != "success":
            message = obj.get("message")
            raise UpstreamError(
                f"{what}: the gateway answered status {status!r}"
                + (f": {message}" if isinstance(message, str) and message else "")
            )
        return obj


def _objects(items: list[Any], what: str) -> list[dict[str, Any]]:
    return [dict(as_object(item, f"{what}: list entry")) for item in items]


def _translate(exc: UnexpectedStatus, account: str) -> TikTokCliError:
    if exc.status == 404:
        return NotFoundError(f"{account} does not exist (the gateway answered 404)")
    if exc.status == 403:
        return NotVisibleError(f"{account} is private or its list is hidden (the gateway answered 403)")
    if exc.status == 401:
        return ConfigError(exc.message, hint="the gateway wants credentials; check TIKTOK_GATEWAY_URL")
    return exc


BACKEND = GatewayBackend
