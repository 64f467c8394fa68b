"""The contract every data source implements.

A backend is one small class per API. It turns the API's answers into ``User`` and
``Page`` and its error codes into the package's exceptions; the client, paginator,
writers and CLI do the rest.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

from tiktok_cli.client import HttpClient
from tiktok_cli.config import Settings
from tiktok_cli.errors import UsageError
from tiktok_cli.identifiers import Account
from tiktok_cli.models import Cursor, Page, User


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


class Backend(ABC):
    """One data source. Subclasses set the class attributes and override what they serve."""

    name: ClassVar[str]
    operations: ClassVar[frozenset[Operation]]
    # Order in which `--backend auto` tries backends (lower first); manual ones never.
    priority: ClassVar[int] = 100
    automatic: ClassVar[bool] = True

    def __init__(self, context: BackendContext) -> None:
        self.context = context
        self.settings = context.settings
        self.client = context.client

    @classmethod
    def client_options(cls, settings: Settings) -> dict[str, Any]:
        """Extra HttpClient arguments this backend needs (cookies, transport, a polite rate)."""
        return {}

    @classmethod
    def config_problem(cls, settings: Settings, operation: Operation) -> str | None:
        """What is missing for ``operation`` (a message naming what to set), or None."""
        return None

    def user_info(self, username: str) -> User:
        raise self._unsupported(Operation.USER_INFO)

    def page_fetcher(self, operation: Operation, query: ListQuery) -> Callable[[Cursor], Page]:
        """Resolve ``query.account`` now and return a function that fetches one page.

        Resolution happens here, before any output is opened, so a missing account fails
        fast; the shared paginator drives the returned function.
        """
        raise self._unsupported(operation)

    def start_cursor(self, query: ListQuery) -> Cursor:
        return query.cursor if query.cursor is not None else 0

    def _unsupported(self, operation: Operation) -> UsageError:
        return UsageError(f"the {self.name} backend does not provide {operation.value}")
