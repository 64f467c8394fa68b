"""The hosted token API (seed 004): followers, paginated by the mobile ``min_time``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tiktok_cli.backends._shapes import as_list, as_object, count, cursor_value, mobile_user, parsing
from tiktok_cli.backends.base import Backend, ListQuery, Operation
from tiktok_cli.config import Settings, config_path
from tiktok_cli.errors import (
    ConfigError,
    NotFoundError,
    NotVisibleError,
    UnexpectedStatus,
    UpstreamError,
    UsageError,
)
from tiktok_cli.identifiers import Account, IdKind
from tiktok_cli.models import Cursor, Page

HIDDEN_BY_PRIVACY = 2096
NO_SUCH_USER = 2065


class TokenApiBackend(Backend):
    name = "tkapi"
    operations = frozenset({Operation.FOLLOWERS})
    priority = 20

    @classmethod
    def config_problem(cls, settings: Settings, operation: Operation) -> str | None:
        missing = [
            env
            for env, value in (
                ("TIKTOK_API_URL", settings.api_url),
                ("TIKTOK_API_TOKEN", settings.api_token),
            )
            if not value
        ]
        if not missing:
            return None
        return (
            f"{operation.value} come from the token API: set {' and '.join(missing)} "
            f"(or {' and '.join(m.removeprefix('TIKTOK_').lower() for m in missing)} in {config_path()})"
        )

    def page_fetcher(self, operation: Operation, query: ListQuery) -> Callable[[Cursor], Page]:
        if operation is not Operation.FOLLOWERS:
            raise self._unsupported(operation)
        problem = self.config_problem(self.settings, operation)
        if problem:
            raise ConfigError(problem)
        uid = self._uid(query.account)
        what = f"followers of {query.account}"
        url = f"{self.settings.api_url}/user/followers"
        token = self.settings.api_token

        def fetch(cursor: Cursor) -> Page:
            try:
                body = self.client.get_json(url, {"token": token, "uid": uid, "cursor": cursor}, what=what)
            except UnexpectedStatus as exc:
                if exc.status in (401, 403):
                    raise ConfigError(
                        f"{what}: the token API refused the token (HTTP {exc.status})",
                        hint="check TIKTOK_API_TOKEN",
                    ) from None
                raise
            data = _data(body, what)
            _check_status(data, what, query.account)
            has_more = data.get("has_more")
            if not isinstance(has_more, (bool, int)):
                raise UpstreamError(f"{what}: data.has_more is missing or not true/false")
            items = as_list(data.get("followers"), f"{what}: data.followers")
            with parsing(what):
                return Page(
                    users=[mobile_user(as_object(item, f"{what}: follower entry")) for item in items],
                    next_cursor=cursor_value(data.get("min_time"), "data.min_time"),
                    has_more=bool(has_more),
                    total=count((data, "total")),
                )

        return fetch

    def _uid(self, account: Account) -> str:
        account = account.prefer(IdKind.UID)  # an --input row may carry it: no look-up
        if account.kind is IdKind.UID:
            return account.value
        if account.kind is not IdKind.USERNAME:
            raise UsageError(
                "the token API lists followers by numeric uid: give USER or --uid "
                "(--sec-uid works with --backend web)"
            )
        user = self.context.lookup(account.value)
        if not user.user_id:
            raise ConfigError(
                f"the user-info lookup for {account} gave no numeric id",
                hint="pass --uid UID instead of the username",
            )
        return user.user_id


def _data(body: Any, what: str) -> dict[str, Any]:
    envelope = as_object(body, what)
    code = envelope.get("code")
    if code not in (200, "200"):
        message = envelope.get("msg")
        raise ConfigError(
            f"{what}: the token API rejected the request (code {code!r}"
            + (f": {message})" if isinstance(message, str) and message else ")"),
            hint="check TIKTOK_API_TOKEN and your plan",
        )
    return dict(as_object(envelope.get("data"), f"{what}: data"))


def _check_status(data: dict[str, Any], what: str, account: Account) -> None:
    status = data.get("status_code", 0)
    if status == HIDDEN_BY_PRIVACY:
        raise NotVisibleError(f"{account} hides its followers list (privacy settings)")
    if status == NO_SUCH_USER:
        raise NotFoundError(f"{account} does not exist")
    if status not in (0, None):
        raise UpstreamError(f"{what}: TikTok answered status_code {status!r}")


BACKEND = TokenApiBackend
