"""One run's shared state: settings, the one HTTP client, and the backends in use."""

from __future__ import annotations

from tiktok_cli import backends, console
from tiktok_cli.backends.base import Backend, BackendContext, Operation
from tiktok_cli.client import HttpClient
from tiktok_cli.models import User
from tiktok_cli.settings import Settings

FALLBACK_NOTICE = "no gateway or token API configured: reading tiktok.com directly; see tiktok doctor"


class Session:
    """Creates backends on demand and shares the client (and its rate limit) between them.

    Safe to use from several worker threads: the client is, and a duplicated look-up
    in a race costs one request, not correctness.
    """

    def __init__(self, settings: Settings, *, trace: bool = False, concurrency: int = 1) -> None:
        self.settings = settings
        if backends.falls_back(settings):
            console.warn(FALLBACK_NOTICE)
        options = backends.client_backend(settings).client_options(settings)
        self.client = HttpClient(
            timeout=settings.timeout,
            retries=settings.retries,
            secrets=(settings.api_token,),
            trace=trace,
            max_connections=max(4, concurrency * 2),
            rate=options.rate,
            headers=options.headers,
            transport=options.transport,
            cookies=options.cookies,
            on_response=options.on_response,
            check_html=options.check_html,
        )
        self._backends: dict[str, Backend] = {}
        self._lookups: dict[str, User] = {}

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        for backend in self._backends.values():
            backend.close()
        self.client.close()

    def backend(self, operation: Operation, choice: str | None = None) -> Backend:
        """The backend instance serving ``operation`` under the --backend choice."""
        backend_class = backends.choose(operation, choice or self.settings.backend, self.settings)
        if backend_class.name not in self._backends:
            context = BackendContext(self.settings, self.client, self.lookup)
            self._backends[backend_class.name] = backend_class(context)
        return self._backends[backend_class.name]

    def lookup(self, username: str) -> User:
        """Profile of ``username`` through whichever backend serves user-info (cached)."""
        key = username.lower()
        if key not in self._lookups:
            self._lookups[key] = self.lookup_backend().user_info(username)
        return self._lookups[key]

    def lookup_backend(self) -> Backend:
        """The backend ``lookup`` asks, which the store names as the source of what it saw."""
        return self.backend(Operation.USER_INFO, backends.lookup_choice(self.settings))
