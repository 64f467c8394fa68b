"""The hosted token API (seed 004): followers, paginated by the mobile ``min_time``.

Every body is checked against the documented shape in one place (``_envelope`` and
``_followers_page``): anything else is one clear bad-data error naming the field. The
seed documents no vendor error codes, so a ``code`` other than 200 fails the account at
hand (the batch goes on), unless it says the token itself was refused: an HTTP 401/403,
a code 401/403, or a message that names the token ("token invalid", "token无效").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from tiktok_cli.backends._shapes import (
    as_list,
    as_object,
    count,
    cursor_value,
    is_account,
    kind_of,
    mobile_user,
    parsing,
)
from tiktok_cli.backends.base import Backend, ListQuery, Operation
from tiktok_cli.errors import (
    ConfigError,
    NotFoundError,
    NotVisibleError,
    RefusedError,
    TikTokCliError,
    UpstreamError,
    excerpt,
)
from tiktok_cli.identifiers import Account, IdKind
from tiktok_cli.models import Cursor, Page
from tiktok_cli.settings import SETTINGS, Settings, config_path

HIDDEN_BY_PRIVACY = 2096
NO_SUCH_USER = 2065
OK = 200
TOKEN_VARIABLE = SETTINGS["api_token"].env  # where users set the token the messages are about
# Envelope codes that, like the HTTP statuses of the same numbers, refuse the credential.
TOKEN_REJECTED = frozenset({401, 403})


class TokenApiBackend(Backend):
    name = "tkapi"
    operations = frozenset({Operation.FOLLOWERS})
    priority = 20
    configured_by = ("api_url", "api_token")
    label = "token API"
    service = "the token API"
    url_setting = "api_url"
    alternative = "use --backend web"
    unreachable_advice = "check the address the vendor gave you and this machine's connection to it"
    credentials_hint = f"check {TOKEN_VARIABLE}"
    # Its error bodies carry msg "成功" ("success") whatever failed: never quote it.
    quote_detail = False
    status_errors: ClassVar[Mapping[int, type[TikTokCliError]]] = {401: ConfigError, 403: ConfigError}

    @classmethod
    def config_problem(cls, settings: Settings, operation: Operation) -> str | None:
        missing = [name for name in cls.configured_by if not getattr(settings, name)]
        if not missing:
            return None
        variables = [SETTINGS[name].env or name for name in missing]
        return (
            f"{operation.value} come from the token API: set {' and '.join(variables)} "
            f"(or {' and '.join(missing)} in {config_path()})"
        )

    def page_fetcher(self, operation: Operation, query: ListQuery) -> Callable[[Cursor], Page]:
        if operation is not Operation.FOLLOWERS:
            raise self._unsupported(operation)
        problem = self.config_problem(self.settings, operation)
        if problem:
            raise ConfigError(problem)
        uid = self.resolve(
            query.account,
            IdKind.UID,
            usage="the token API lists followers by numeric uid: give USER or --uid "
            "(--sec-uid works with --backend web)",
        )
        what = f"followers of {query.account}"
        url = f"{self.settings.api_url}/user/followers"
        token = self.settings.api_token or ""

        def fetch(cursor: Cursor) -> Page:
            params: dict[str, str | int] = {"token": token, "uid": uid, "cursor": cursor}
            body = self.request(url, params, what=what, account=str(query.account))
            return _followers_page(_envelope(body, what), what, query.account)

        return fetch


# --- the documented shapes ---------------------------------------------------------------


def _envelope(body: Any, what: str) -> Mapping[str, Any]:
    """``{code: 200, msg, data: {…}}``: the vendor's envelope around TikTok's payload."""
    envelope = as_object(body, what)
    code = envelope.get("code")
    if code is None:
        raise UpstreamError(f"{what}: the token API's answer has no code")
    if code != OK and code != str(OK):
        if type(code) is not int or type(code) is bool:
            raise UpstreamError(f"{what}: code is {kind_of(code)}, not a number")
        message = envelope.get("msg")
        if code in TOKEN_REJECTED or (type(message) is str and "token" in message.lower()):
            # About the token, not the account: every account would get it, so it stops a batch.
            raise ConfigError(
                f"the token API rejected the token: it answered code {code}"
                + (f" ({excerpt(message, 60)})" if type(message) is str and message.strip() else ""),
                hint=f"check {TOKEN_VARIABLE}",
            )
        raise RefusedError(
            f"{what}: the token API answered code {code}"
            + (f" ({excerpt(message, 60)})" if type(message) is str and message.strip() else ""),
            hint=f"if every account fails like this, check {TOKEN_VARIABLE} and your plan",
        )
    return as_object(envelope.get("data"), f"{what}: data")


def _followers_page(data: Mapping[str, Any], what: str, account: Account) -> Page:
    """TikTok's mobile ``{status_code, has_more, min_time, total, followers: [user…]}``."""
    status = data.get("status_code", 0)
    if status == HIDDEN_BY_PRIVACY:
        raise NotVisibleError(f"{account} hides its followers list (privacy settings)")
    if status == NO_SUCH_USER:
        raise NotFoundError(f"{account} does not exist")
    if status not in (0, None):
        shown = status if type(status) is int else kind_of(status)
        raise UpstreamError(f"{what}: TikTok answered status_code {shown}")
    has_more = data.get("has_more")
    if type(has_more) is not bool and has_more not in (0, 1):
        raise UpstreamError(f"{what}: data.has_more is {kind_of(has_more)}, not true/false")
    items = as_list(data.get("followers"), f"{what}: data.followers")
    users = []
    with parsing(what):
        for item in items:  # per row: no message is built unless an entry is bad
            user = mobile_user(
                item if isinstance(item, Mapping) else as_object(item, f"{what}: follower entry")
            )
            if is_account(user):
                users.append(user)
        cursor = cursor_value(data.get("min_time"), "data.min_time")
        return Page(
            users=users,
            next_cursor=cursor,
            follow_time=cursor,  # min_time: the oldest follow time on the page
            has_more=bool(has_more),
            total=count((data, "total")),
            skipped=len(items) - len(users),
        )


BACKEND = TokenApiBackend
