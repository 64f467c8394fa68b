"""The Python API: what the ``tiktok`` command does, for programs.

    from tiktok_cli import api

    print(api.user_info("cnn").followers)
    for fan in api.followers("cnn", limit=100):
        print(fan.unique_id)
    for change in api.changes("tiktok.db", "cnn"):
        print(change.change, change.user.unique_id)

The same pipeline as the command: settings resolved alike (keyword arguments, then the
environment's ``TIKTOK_*``, then the config file, then the defaults), the same backends,
the one paginator with its duplicate and stall guards, the same store queries. Every
failure is a ``TikTokCliError`` whose ``exit_code`` is the one the command exits with,
and whose text never holds a token, cookie or password.

Lists are lazy: a page is fetched when the loop reaches it, and nothing beyond what the
caller took (``limit``, or a ``break``). Arguments are checked at the call; the network
and the store are first touched by the first item asked for. Closing a list's iterator
(``close()``, the end of a ``for`` loop, garbage collection) closes its HTTP client or
store. A ``Client`` shares one HTTP client, and its rate limit, between several calls.
Nothing is printed on standard output; the warnings the command would print (nothing to
compare yet; what a comparison could not see) go to the ``tiktok_cli`` logger, and what a
comparison could not see also to ``changes``' ``notes`` callback, as ``ComparisonNote``s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypedDict

from tiktok_cli.backends.base import ListQuery, Operation
from tiktok_cli.config import load_settings
from tiktok_cli.console import redact
from tiktok_cli.errors import ExitCode, TikTokCliError, UsageError
from tiktok_cli.identifiers import Target, parse_username, read_targets
from tiktok_cli.models import User
from tiktok_cli.paginate import paginate
from tiktok_cli.session import Session
from tiktok_cli.settings import Settings
from tiktok_cli.store import open_store

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from tiktok_cli.store.read import Change, Comparison, ComparisonNote, Observation, Snapshot, StoreReader

__all__ = [
    "Change",
    "Client",
    "ComparisonNote",
    "ExitCode",
    "Observation",
    "Overrides",
    "Snapshot",
    "TikTokCliError",
    "User",
    "changes",
    "followers",
    "followings",
    "history",
    "snapshots",
    "user_info",
]

_log = logging.getLogger("tiktok_cli")

# The store's records are loaded with the store (and SQLAlchemy) when first named: a
# program that only fetches, and `tiktok user-info` were it to call this module, never pay.
_STORE_RECORDS = frozenset({"Change", "ComparisonNote", "Observation", "Snapshot"})


# Type checkers read the imports above instead: a __getattr__ they could see would let
# every misspelt name of this module pass.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name in _STORE_RECORDS:
            from tiktok_cli.store import read

            return getattr(read, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Overrides(TypedDict, total=False):
    """Settings given to a call, by their config-file names (`tiktok config set --help`):
    each wins over the environment, the config file and the defaults; None means not given.
    The snapshot store (``db``) is no override: only ``changes``, ``history`` and
    ``snapshots`` read it, and they name it."""

    backend: str | None
    gateway_url: str | None
    api_url: str | None
    api_token: str | None
    web_url: str | None
    cookies: str | None
    cookies_from_browser: str | None
    signer_url: str | None
    timeout: float | None
    retries: int | None
    rate: float | None


# --- fetching ------------------------------------------------------------------------------


class Client:
    """One HTTP client, its settings and rate limit, shared by the calls made through it
    (safe to share between threads). Use it in a ``with`` block, or ``close()`` it."""

    def __init__(self, **overrides: Unpack[Overrides]) -> None:
        self._open(_settings(overrides))

    @classmethod
    def from_settings(cls, settings: Settings, *, trace: bool = False, concurrency: int = 1) -> Client:
        """A client on ``settings`` as resolved already (the command's own flags); ``trace``
        writes every request on stderr; ``concurrency`` is how many threads will share it."""
        client = cls.__new__(cls)
        client._open(settings, trace=trace, concurrency=concurrency)
        return client

    def _open(self, settings: Settings, *, trace: bool = False, concurrency: int = 1) -> None:
        with _public_errors():
            self._session = Session(settings, trace=trace, concurrency=concurrency)

    @property
    def settings(self) -> Settings:
        """The settings in effect (secrets masked in its repr)."""
        return self._session.settings

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client; lists still being read from it fail from then on."""
        self._session.__exit__(None, None, None)

    def source(self, operation: str) -> str:
        """The backend serving ``operation`` (``user-info``, ``followers``, ``followings``)
        under these settings, as the store names it: ``gateway``, ``tkapi`` or ``web``."""
        with _public_errors():
            return self._session.backend(_operation(operation)).name

    def user_info(self, account: str) -> User:
        """The profile of ``account``: a username, ``@name`` or profile URL."""
        username = parse_username(account)
        with _public_errors():
            return self._session.backend(Operation.USER_INFO).user_info(username)

    def followers(
        self,
        account: str | None = None,
        *,
        uid: str | None = None,
        sec_uid: str | None = None,
        limit: int | None = None,
    ) -> Generator[User, None, None]:
        """Every account that follows ``account`` (or the one ``uid`` or ``sec_uid`` names),
        newest first, each once; at most ``limit``. Pages are fetched as the loop needs them."""
        target, most = _target(account, uid=uid, sec_uid=sec_uid), _limit(limit)
        return _list_users(self._session, Operation.FOLLOWERS, target, most)

    def followings(
        self,
        account: str | None = None,
        *,
        uid: str | None = None,
        sec_uid: str | None = None,
        limit: int | None = None,
    ) -> Generator[User, None, None]:
        """Every account that ``account`` follows, as ``followers`` reads its list."""
        target, most = _target(account, uid=uid, sec_uid=sec_uid), _limit(limit)
        return _list_users(self._session, Operation.FOLLOWINGS, target, most)


def user_info(account: str, **overrides: Unpack[Overrides]) -> User:
    """The profile of ``account`` (a username, ``@name`` or profile URL), as
    `tiktok user-info` gives it."""
    username = parse_username(account)
    with Client(**overrides) as client:
        return client.user_info(username)


def followers(
    account: str | None = None,
    *,
    uid: str | None = None,
    sec_uid: str | None = None,
    limit: int | None = None,
    **overrides: Unpack[Overrides],
) -> Generator[User, None, None]:
    """The accounts that follow ``account``, as `tiktok followers` lists them: lazily, each
    once, at most ``limit``. Its own HTTP client lives as long as the iterator."""
    target, most, settings = _target(account, uid=uid, sec_uid=sec_uid), _limit(limit), _settings(overrides)
    return _own_client(settings, Operation.FOLLOWERS, target, most)


def followings(
    account: str | None = None,
    *,
    uid: str | None = None,
    sec_uid: str | None = None,
    limit: int | None = None,
    **overrides: Unpack[Overrides],
) -> Generator[User, None, None]:
    """The accounts ``account`` follows, as `tiktok followings` lists them (see ``followers``)."""
    target, most, settings = _target(account, uid=uid, sec_uid=sec_uid), _limit(limit), _settings(overrides)
    return _own_client(settings, Operation.FOLLOWINGS, target, most)


def _own_client(
    settings: Settings, operation: Operation, target: Target, limit: int | None
) -> Generator[User, None, None]:
    with _public_errors(), Session(settings) as session:
        yield from _list_users(session, operation, target, limit)


def _list_users(
    session: Session, operation: Operation, target: Target, limit: int | None
) -> Generator[User, None, None]:
    """The one paginator over the backend's pages, as the export reads them."""
    with _public_errors():
        backend = session.backend(operation)
        query = ListQuery(target.account)
        fetch = backend.page_fetcher(operation, query)  # resolves the account: its errors come first
        for page in paginate(fetch, backend.start_cursor(query), limit=limit):
            yield from page.users


# --- the snapshot store ----------------------------------------------------------------------


def changes(
    store: str | None,
    account: str | None = None,
    *,
    uid: str | None = None,
    sec_uid: str | None = None,
    lists: str | Sequence[str] | None = None,
    since: datetime | timedelta | None = None,
    span: tuple[int, int] | None = None,
    notes: Callable[[ComparisonNote], None] | None = None,
) -> Generator[Change, None, None]:
    """Who followed, unfollowed or renamed in ``account``'s recorded lists, as `tiktok
    changes` finds them: between each list's last two usable snapshots (complete or
    window); with ``since`` (a moment, naive meaning UTC, or an age), from the last usable
    one started at or before it; with ``span``, between those two snapshot ids. ``store``
    is a SQLite path or a postgresql:// URL (None: ``TIKTOK_DB`` or the config file's
    ``db``); ``lists`` picks ``followers`` or ``followings`` (default: every list recorded).
    ``notes`` is called with what each comparison could not see (a window, a broken order,
    windows that did not overlap), before that list's changes; without it, they are logged
    as warnings to the ``tiktok_cli`` logger."""
    target, list_names = _target(account, uid=uid, sec_uid=sec_uid), _lists(lists)
    if since is not None and span is not None:
        raise UsageError("since and span choose the snapshots two ways: give one")
    if notes is not None and not callable(notes):
        raise UsageError(f"notes must be a function taking a ComparisonNote, not {notes!r}")
    when = _when(since)
    if span is not None:
        span = _span(span)
    return _changes(_store(store), target, list_names, when, span, notes or _log_note)


def _log_note(note: ComparisonNote) -> None:
    _log.warning("%s", note.text)


def _changes(
    db: str,
    target: Target,
    list_names: Sequence[str] | None,
    when: datetime | None,
    span: tuple[int, int] | None,
    notes: Callable[[ComparisonNote], None],
) -> Generator[Change, None, None]:
    from tiktok_cli.store.read import chosen_comparison, latest_comparisons

    with _reading(db) as reader:
        owners = [(target, reader.find(target.account))]
        comparisons: Iterable[Comparison]
        if span is not None:
            comparisons = [chosen_comparison(reader, owners, list_names, span)]
        else:
            comparisons = latest_comparisons(reader, owners, list_names, when, note=_log.warning)
        for comparison in comparisons:
            for note in reader.notes(comparison.older, comparison.newer):
                notes(note)
            yield from reader.changes(comparison.older, comparison.newer)


def history(
    store: str | None, account: str | None = None, *, uid: str | None = None, sec_uid: str | None = None
) -> Generator[Observation, None, None]:
    """Every observation of ``account``'s counts in the store, oldest first, as `tiktok
    history` lists them (without the changes it works out between them)."""
    target, db = _target(account, uid=uid, sec_uid=sec_uid), _store(store)

    def observations() -> Generator[Observation, None, None]:
        with _reading(db) as reader:
            yield from reader.observations(reader.find(target.account))

    return observations()


def snapshots(
    store: str | None,
    account: str | None = None,
    *,
    uid: str | None = None,
    sec_uid: str | None = None,
    lists: str | Sequence[str] | None = None,
) -> Generator[Snapshot, None, None]:
    """Every run the store recorded of ``account``'s lists, oldest first, as `tiktok
    snapshots` lists them; ``lists`` as for ``changes``."""
    target, list_names, db = _target(account, uid=uid, sec_uid=sec_uid), _lists(lists), _store(store)

    def recorded() -> Generator[Snapshot, None, None]:
        with _reading(db) as reader:
            yield from reader.snapshots(reader.find(target.account), list_names or _list_names())

    return recorded()


# --- arguments, settings and errors, as the command checks them ------------------------------


def _settings(overrides: Mapping[str, object]) -> Settings:
    """The settings in effect: ``overrides`` over the environment, the config file, the defaults."""
    unknown = sorted(set(overrides) - Overrides.__optional_keys__)
    if unknown:  # what Python says of an unknown keyword, for a caller without a type checker
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
    with _public_errors():
        return load_settings(overrides)


def _target(account: str | None, *, uid: str | None, sec_uid: str | None) -> Target:
    """The one account named: a username, @name or profile URL, or one of its ids."""
    given = [account] if account is not None else []
    if len(given) + (uid is not None) + (sec_uid is not None) != 1:
        raise UsageError("name one account: a username, uid= or sec_uid=")
    (target,) = read_targets(given, None, uid=uid, sec_uid=sec_uid)
    return target


def _limit(limit: int | None) -> int | None:
    if limit is not None and (type(limit) is not int or limit < 1):
        raise UsageError(f"limit must be a whole number of 1 or more, not {limit!r}")
    return limit


def _operation(name: str) -> Operation:
    try:
        return Operation(name)
    except ValueError:
        known = ", ".join(o.value for o in Operation)
        raise UsageError(f"{name!r} is no operation (one of {known})") from None


def _lists(lists: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """The lists asked for, checked; None: every list recorded."""
    if lists is None:
        return None
    asked = (lists,) if isinstance(lists, str) else tuple(lists)
    for list_name in asked:
        if list_name not in _list_names():
            raise UsageError(f"lists: {list_name!r} is no list (followers or followings)")
    return asked or None


def _list_names() -> tuple[str, ...]:
    from tiktok_cli.store.schema import LIST_NAMES

    return LIST_NAMES


def _when(since: datetime | timedelta | None) -> datetime | None:
    """``since`` as an aware UTC time: a naive time is UTC, an age counts back from now."""
    if since is None:
        return None
    if isinstance(since, timedelta):
        try:
            return datetime.now(timezone.utc) - since
        except OverflowError:
            raise UsageError("since reaches back before the year 1: give a shorter age or a date") from None
    if since.tzinfo is None:
        return since.replace(tzinfo=timezone.utc)
    try:
        return since.astimezone(timezone.utc)
    except OverflowError:
        raise UsageError(f"since {since.isoformat()} is beyond the calendar in UTC") from None


def _span(span: tuple[int, int]) -> tuple[int, int]:
    runs = tuple(span)
    if len(runs) != 2 or any(type(run) is not int or run < 1 for run in runs):
        raise UsageError(f"span must be two snapshot ids of 1 or more, not {span!r}")
    return runs[0], runs[1]


def _store(store: str | None) -> str:
    """The store to read: ``store``, else TIKTOK_DB, else the config file's db."""
    with _public_errors():
        db = load_settings({"db": store}).db
    if not db:
        raise UsageError(
            "name the snapshot store: give it, or set TIKTOK_DB (or `tiktok config set db PATH`)"
        )
    return db


@contextmanager
def _reading(db: str) -> Iterator[StoreReader]:
    """A reader over the store ``db`` names, closed with the block; database failures
    as the package's errors; no signal handlers of ours while the caller iterates."""
    from tiktok_cli.store.read import StoreReader, reading

    with _public_errors(), open_store(db, create=False) as store, reading(store, signals=False):
        yield StoreReader(store)


@contextmanager
def _public_errors() -> Iterator[None]:
    """The package's errors with every registered secret (token, cookies, a store's
    password) taken out of their text, as the command's error line has it."""
    try:
        yield
    except TikTokCliError as exc:
        exc.message = redact(exc.message)
        exc.hint = None if exc.hint is None else redact(exc.hint)
        exc.args = (exc.message, *exc.args[1:])
        raise
