"""The contract every data source implements.

A backend is one small class per API. It turns the API's answers into ``User`` and
``Page`` and its error codes into the package's exceptions; the client, paginator,
writers and CLI do the rest. What every backend does alike lives here: resolving an
account to the id its API needs, and turning HTTP failures into errors through the
backend's own table and URL setting.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

from tiktok_cli.client import ClientOptions, HttpClient
from tiktok_cli.errors import (
    BlockedError,
    ConfigError,
    NotFoundError,
    NotVisibleError,
    ServerError,
    TikTokCliError,
    UnexpectedStatus,
    UnreachableError,
    UpstreamError,
    UsageError,
    excerpt,
)
from tiktok_cli.identifiers import Account, IdKind, parse_sec_uid, parse_uid
from tiktok_cli.models import Cursor, Page, User
from tiktok_cli.safetext import shown
from tiktok_cli.settings import SETTINGS, Setting, Settings


class Operation(str, Enum):
    USER_INFO = "user-info"
    FOLLOWINGS = "followings"
    FOLLOWERS = "followers"


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Which list to read and where to start; a backend ignores what its API lacks."""

    account: Account
    cursor: Cursor | None = None
    page_size: int | None = None
    max_cursor: Cursor | None = None


@dataclass(frozen=True, slots=True)
class BackendContext:
    """What a backend gets from the run: settings, the shared client, and a way to
    look an account up through whichever backend serves user-info."""

    settings: Settings
    client: HttpClient
    lookup: Callable[[str], User]


# The User field holding each id kind, and the rule an id must pass before it is sent on.
_ID_FIELDS: Mapping[IdKind, tuple[str, Callable[[str], str], str]] = {
    IdKind.SEC_UID: ("sec_uid", parse_sec_uid, "--sec-uid SECUID"),
    IdKind.UID: ("user_id", parse_uid, "--uid UID"),
}


class Backend(ABC):
    """One data source. Subclasses set the class attributes and override what they serve."""

    name: ClassVar[str]
    label: ClassVar[str] = ""  # how `tiktok doctor` names it ("token API"); its name when empty
    operations: ClassVar[frozenset[Operation]]
    # Order in which `--backend auto` tries backends (lower first); manual ones never.
    priority: ClassVar[int] = 100
    automatic: ClassVar[bool] = True
    # The settings that, given anywhere, say this service is in use (see backends.unconfigured).
    configured_by: ClassVar[tuple[str, ...]] = ()
    # How messages call the service ("the REST gateway"), the setting that holds its base
    # URL (a Settings field: its variable and option come from settings.SETTINGS), and
    # what to use instead when it is not there.
    service: ClassVar[str] = "the server"
    url_setting: ClassVar[str | None] = None
    alternative: ClassVar[str] = ""
    # What the user can do about a service that does not answer: start their own, or check
    # the address of a hosted one (None: nothing; the client's own words stand).
    unreachable_advice: ClassVar[str | None] = "start it"
    credentials_hint: ClassVar[str | None] = None
    # Requests per second when the rate setting is unset (None: as fast as answers come).
    default_rate: ClassVar[float | None] = None
    # Operations it serves only to a logged-in session (session cookies in --cookies).
    needs_session: ClassVar[frozenset[Operation]] = frozenset()
    # HTTP status -> error class for statuses this API gives a meaning (after the
    # shared rule that a non-JSON 404/405 means a wrong base URL).
    # Whether the API's error text says what failed (the token API's "msg" says "success").
    quote_detail: ClassVar[bool] = True
    status_errors: ClassVar[Mapping[int, type[TikTokCliError]]] = {
        404: NotFoundError,
        403: NotVisibleError,
        401: ConfigError,
    }

    def __init__(self, context: BackendContext) -> None:
        self.context = context
        self.settings = context.settings
        self.client = context.client

    @classmethod
    def client_options(cls, settings: Settings) -> ClientOptions:
        """What this backend needs of the shared client (cookies, transport, a polite rate)."""
        return ClientOptions(rate=settings.rate or cls.default_rate, check_html=block_page_error)

    @classmethod
    def config_problem(cls, settings: Settings, operation: Operation) -> str | None:
        """What is missing for ``operation`` (a message naming what to set), or None."""
        return None

    def close(self) -> None:  # noqa: B027 - most backends hold nothing of their own
        """Release what the backend holds besides the shared client (the run is over)."""

    def user_info(self, username: str) -> User:
        raise self._unsupported(Operation.USER_INFO)

    def page_fetcher(self, operation: Operation, query: ListQuery) -> Callable[[Cursor], Page]:
        """Resolve ``query.account`` now and return a function that fetches one page.

        Resolution happens here, before any row is written, so a missing account fails
        fast; the shared paginator drives the returned function.
        """
        raise self._unsupported(operation)

    def start_cursor(self, query: ListQuery) -> Cursor:
        return query.cursor if query.cursor is not None else 0

    def _unsupported(self, operation: Operation) -> UsageError:
        return UsageError(f"the {self.name} backend does not provide {operation.value}")

    # --- shared rules -----------------------------------------------------------------

    def resolve(self, account: Account, kind: IdKind, *, usage: str) -> str:
        """The ``kind`` id of ``account``, looking a username up when needed.

        A lookup that finds no usable id fails for that account alone (not found, or bad
        data naming the option to pass instead), never as a configuration error.
        ``usage`` is the message for an account given as another id kind.
        """
        account = account.prefer(kind)  # an --input row may carry the id: no look-up
        if account.kind is kind:
            return account.value
        if account.kind is not IdKind.USERNAME:
            raise UsageError(usage)
        field, parse, option = _ID_FIELDS[kind]
        try:
            user = self.context.lookup(account.value)
        except UnreachableError as exc:
            error = UnreachableError(
                f"{self.service} needs a profile look-up to turn {account} into a {kind.value}, "
                f"and it failed: {exc.message}",
                url=exc.url,
                host=exc.host,
            )
            error.hint = f"or pass {option}" + (f"; {exc.hint}" if exc.hint else "")
            raise error from None
        value = getattr(user, field)
        if not value:
            raise UpstreamError(f"the profile of {account} carries no {kind.value}", hint=f"pass {option}")
        try:
            return parse(value)
        except UsageError:
            raise UpstreamError(
                f"the profile of {account} carries an unusable {kind.value} {shown(value)}",
                hint=f"pass {option}",
            ) from None

    def request(
        self,
        url: str,
        params: Mapping[str, str | int] | None,
        *,
        what: str,
        account: str,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET ``url``'s JSON through the shared client, with this backend's error rules."""
        try:
            return self.client.get_json(url, params, what=what, headers=headers)
        except UnreachableError as exc:
            raise self.unreachable(exc) from None
        except UnexpectedStatus as exc:
            raise self.status_error(exc, what=what, account=account) from None
        except ServerError as exc:
            # The client quotes the body's message, which some APIs fill with "success"
            # whatever failed.
            if self.quote_detail or not exc.detail:
                raise
            raise UpstreamError(exc.unquoted, hint=exc.hint) from None

    def unreachable(self, exc: UnreachableError) -> UnreachableError:
        """A dead URL, said with where it was set and what to do instead."""
        if self.url_setting is None or self.unreachable_advice is None:
            return exc
        setting = SETTINGS[self.url_setting]
        base = getattr(self.settings, setting.name) or exc.url
        default = " (the default)" if setting.default is not None and base == setting.default else ""
        alternative = f", or {self.alternative}" if self.alternative else ""
        return UnreachableError(
            f"no {self.service.removeprefix('the ')} at {base}{default} (cannot reach {exc.host}): "
            f"{self.unreachable_advice}, set {_where_set(setting)}{alternative}",
            url=exc.url,
            host=exc.host,
        )

    def status_error(self, exc: UnexpectedStatus, *, what: str, account: str) -> TikTokCliError:
        """The error an HTTP failure means for this API (the one per-backend table)."""
        status = exc.status
        if status in (404, 405) and not exc.json_body and self.url_setting is not None:
            # The API answers its own "not found" in JSON; a bare web server's 404 means
            # the base URL is wrong, which is wrong for every account.
            setting = SETTINGS[self.url_setting]
            base = getattr(self.settings, setting.name)
            return ConfigError(
                f"{what}: {base} answered HTTP {status} with no API error: is it {self.service}?",
                hint=f"check {_where_set(setting)}",
            )
        error = self.status_errors.get(status)
        if error is NotFoundError:
            return NotFoundError(f"{account} does not exist ({self.service} answered {status})")
        if error is NotVisibleError:
            return NotVisibleError(
                f"{account} is private or its list is hidden ({self.service} answered {status})"
            )
        detail = f": {excerpt(exc.detail)}" if exc.detail and self.quote_detail else ""
        if error is ConfigError:
            return ConfigError(
                f"{what}: {self.service} refused the request (HTTP {status}){detail}",
                hint=self.credentials_hint,
            )
        if exc.detail:  # the client quotes the body's message whole: cut it, or drop it
            return UnexpectedStatus(
                f"{what}: {self.service} answered HTTP {status}{detail}",
                status=status,
                detail=exc.detail,
                json_body=exc.json_body,
            )
        return exc


def _where_set(setting: Setting) -> str:
    """``TIKTOK_GATEWAY_URL / --gateway-url``: where the user sets ``setting``."""
    return " / ".join(way for way in (setting.env, setting.option) if way)


# Words of anti-bot walls (TikTok's captcha, Cloudflare's challenge) that a proxy's own
# error page does not use. Every backend's upstream is TikTok, so every backend checks.
_BLOCK_MARKERS = (
    b"captcha",
    b"verify",
    b"challenge",
    b"please wait",
    b"access denied",
    b"cf-chl",
    b"rate limit",
)


def looks_like_block_page(html: bytes) -> bool:
    """Whether an HTML answer is an anti-bot wall rather than a proxy's error page."""
    head = html[:20_000].lower()
    return any(marker in head for marker in _BLOCK_MARKERS)


def block_page_error(html: bytes, what: str, host: str) -> BlockedError | None:
    """The client's ``check_html`` hook: a captcha or block page is a (retried) block."""
    if not looks_like_block_page(html):
        return None
    return BlockedError(
        f"{what}: {host} answered with a captcha or block page",
        hint="slow down with --rate, or try again later from another network",
    )
