"""Registry of data sources: every public module in this package is one backend.

A backend module defines ``BACKEND``, a ``Backend`` subclass. Adding a backend means
adding one module; nothing else changes. `--backend auto` picks, for each operation,
the automatic backend with the lowest ``priority`` whose settings are present (and the
first of them otherwise, so its configuration error is the one shown). When no service
is configured anywhere (flags, environment, config file), auto reads tiktok.com itself:
a first run works with nothing to set up, while a configured service that fails still
fails (a cron job must not switch its data source unseen).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tiktok_cli.errors import UsageError
from tiktok_cli.registry import Registry

if TYPE_CHECKING:  # only annotations: listing names (as `tiktok --help` does) stays cheap
    from tiktok_cli.backends.base import Backend, Operation
    from tiktok_cli.settings import Settings

AUTO = "auto"
# What `--backend auto` uses when no service is configured: tiktok.com, which needs none.
FALLBACK = "web"


_registry: Registry[type[Backend]] = Registry(__name__, __path__, "BACKEND", "backend", also=(AUTO,))


def names() -> tuple[str, ...]:
    """Every installed backend's name, without importing any of them."""
    return _registry.names()


def load(name: str) -> type[Backend]:
    return _registry.load(name)


def choose(operation: Operation, preferred: str, settings: Settings) -> type[Backend]:
    """The backend class that serves ``operation`` under the ``--backend`` choice."""
    if preferred == AUTO and unconfigured(settings) and operation in load(FALLBACK).operations:
        return load(FALLBACK)
    if preferred != AUTO:
        backend = load(preferred)
        if operation not in backend.operations:
            others = [n for n in names() if operation in load(n).operations]
            raise UsageError(
                f"the {preferred} backend does not provide {operation.value}"
                + (f" (use --backend {' or '.join(others)})" if others else "")
            )
        return backend
    candidates = sorted(
        (b for b in map(load, names()) if b.automatic and operation in b.operations),
        key=lambda b: b.priority,
    )
    if not candidates:
        raise UsageError(f"no backend provides {operation.value}")
    for backend in candidates:
        if backend.config_problem(settings, operation) is None:
            return backend
    return candidates[0]


def lookup_choice(settings: Settings) -> str:
    """The --backend choice that username look-ups go through: the run's, unless its
    backend has no profiles (tkapi), when names resolve through auto."""
    from tiktok_cli.backends.base import Operation

    choice = settings.backend
    if choice != AUTO and Operation.USER_INFO not in load(choice).operations:
        return AUTO
    return choice


def unconfigured(settings: Settings) -> bool:
    """Whether no automatic backend's service is configured by a flag, the environment or
    the config file (defaults do not count: nobody chose them)."""
    return not any(name in settings.given for backend in map(load, names()) for name in backend.configured_by)


def falls_back(settings: Settings) -> bool:
    """Whether this run's `--backend auto` reads tiktok.com because nothing is configured."""
    return settings.backend == AUTO and unconfigured(settings)


def client_backend(settings: Settings) -> type[Backend]:
    """The backend whose client options (rate, cookies, identity) the run's client takes."""
    if settings.backend != AUTO:
        return load(settings.backend)
    if unconfigured(settings):
        return load(FALLBACK)
    from tiktok_cli.backends.base import Backend

    return Backend
