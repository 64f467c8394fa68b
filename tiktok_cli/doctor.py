"""`tiktok doctor`: check what each command would use, one line per check.

Every check goes through the real code: the settings loader, the backends registry
(``backends.choose``, ``Backend.config_problem``) and one small request per data source
through a ``Session`` and its shared client, with a short timeout and no retries. So a
check fails exactly when a command would, and says what to do about it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tiktok_cli import backends
from tiktok_cli.backends.base import Backend, ListQuery, Operation
from tiktok_cli.config import load_settings_with_origins
from tiktok_cli.console import redact
from tiktok_cli.errors import (
    BlockedError,
    ConfigError,
    ExitCode,
    NotFoundError,
    NotVisibleError,
    RefusedError,
    TikTokCliError,
    UnexpectedBody,
    UnexpectedStatus,
    UnreachableError,
    UsageError,
    first_failure_code,
)
from tiktok_cli.identifiers import Account, IdKind
from tiktok_cli.safetext import for_terminal
from tiktok_cli.session import Session
from tiktok_cli.settings import SETTINGS, Settings, config_path

PROBE_USERNAME = "tiktok"  # TikTok's own account: it exists as long as TikTok does
PROBE_UID = "6754915036232582149"  # the token API's documented example account
MAX_TIMEOUT = 10.0  # seconds per request unless --timeout says otherwise: a check should be quick

OK, FAIL, SKIP, WARN = "ok", "FAIL", "skip", "warn"  # a warning never fails the doctor

SESSION_COOKIES = frozenset({"sessionid", "sessionid_ss"})
# A session cookie expiring within this many days is said ahead, before a cron job fails.
EXPIRY_WARNING_DAYS = 14
COOKIE_OPTIONS = "--cookies-from-browser BROWSER (or --cookies FILE)"
# The option that names an account by id, so its list needs no username look-up.
ID_OPTIONS: Mapping[Operation, str] = {Operation.FOLLOWERS: "--uid", Operation.FOLLOWINGS: "--sec-uid"}


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report. ``verdict`` marks lines that decide the exit status."""

    status: str
    subject: str
    detail: str
    # What a command would fail with (a FAIL's); the exit status is its code.
    error: TikTokCliError | None = None
    verdict: bool = False

    def line(self) -> str:
        """The check as printed: secrets replaced, control characters escaped."""
        return for_terminal(redact(f"{self.status:<5} {self.subject:<11} {self.detail}"))


def exit_code(checks: list[Check]) -> ExitCode:
    """0 when nothing failed; else the code of the first command that would fail, else (a
    failed check no command in use depends on, such as broken cookies) that check's code."""
    failed = [c for c in checks if c.status == FAIL]
    verdicts = [c for c in failed if c.verdict]
    # Every FAIL carries its error; one without would still be a failure, never exit 0.
    return first_failure_code([c.error or ConfigError(c.detail) for c in verdicts or failed])


def label(backend: type[Backend]) -> str:
    return backend.label or backend.name


def called(subject: str) -> str:
    """A data source's name inside a sentence: "the gateway", but "tiktok.com"."""
    return subject if "." in subject else f"the {subject}"


@dataclass(frozen=True, slots=True)
class _Route:
    """What one command would use: its backend, and the one resolving usernames."""

    operation: Operation
    backend: type[Backend] | None
    lookup: type[Backend] | None = None
    unavailable: str = ""


def run_checks(flags: Mapping[str, Any], *, trace: bool = False) -> Iterator[Check]:
    """The checks, in order, each yielded as soon as it is done (network checks take a moment)."""
    path = config_path()
    try:
        settings, origins = load_settings_with_origins(flags)
    except ConfigError as exc:
        yield Check(FAIL, "settings", str(exc), exc, verdict=True)
        return
    found = "found" if path.is_file() else "does not exist: defaults and environment apply"
    fallback = (
        "; no gateway or token API is configured (flags, environment, config file): auto reads tiktok.com"
        if backends.falls_back(settings)
        else ""
    )
    yield Check(
        OK, "settings", f"{path} ({found}); backend {settings.backend} ({origins['backend']}){fallback}"
    )

    routes = [_route(op, settings) for op in Operation]
    used = {b.name for r in routes for b in (r.backend, r.lookup) if b is not None}

    cookies = _check_cookies(settings, origins, web_used="web" in used)
    session = cookies.status in (OK, WARN) and _has_session(settings)
    results: dict[str, Check] = {}
    for name in backends.names():
        backend = backends.load(name)
        if name not in used:
            yield Check(SKIP, label(backend), _unused(backend, settings))
            continue
        broken = cookies.status == FAIL
        results[name] = _check_backend(backend, settings, origins, cookies_broken=broken, trace=trace)
        yield results[name]
    yield cookies
    yield _check_signer(settings, origins, web_used="web" in used)

    for route in routes:
        yield _verdict(route, results, cookies, settings, origins, session=session)
    yield _check_store(settings, origins)


def _check_store(settings: Settings, origins: Mapping[str, str]) -> Check:
    """The snapshot store runs record into (--db): it opens, and is this tool's."""
    target = settings.db
    if target is None:
        return Check(SKIP, "store", f"no --db or {SETTINGS['db'].env}: runs record nothing")
    if "://" not in target and not Path(target).expanduser().exists():
        # The first run creates it: its nearest existing folder must let it.
        folder = Path(target).expanduser().absolute().parent
        while not folder.exists():
            folder = folder.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            problem = "is not a folder" if not folder.is_dir() else "is not writable"
            detail = f"{target} cannot be created: {folder} {problem}"
            return Check(FAIL, "store", detail, ConfigError(detail), verdict=True)
        return Check(OK, "store", f"{target} does not exist yet: the first run with --db creates it")
    from sqlalchemy import func, select

    from tiktok_cli.store import open_store
    from tiktok_cli.store.schema import lists, snapshots

    try:
        with open_store(target, create=False) as store:
            counted = select(func.count()).select_from(snapshots)
            runs = store.connection.execute(counted).scalar_one()
            listed = store.connection.execute(select(func.count()).select_from(lists)).scalar_one()
            label = store.label
    except (TikTokCliError, UsageError) as exc:
        return Check(FAIL, "store", str(exc), exc, verdict=True)
    where = _origin_words(origins["db"])
    return Check(OK, "store", f"{label} ({where}): {runs:,} snapshots of {listed:,} lists", verdict=True)


def _route(operation: Operation, settings: Settings) -> _Route:
    try:
        backend = backends.choose(operation, settings.backend, settings)
    except UsageError as exc:
        return _Route(operation, None, unavailable=exc.message)
    if operation is Operation.USER_INFO:
        return _Route(operation, backend)
    try:
        lookup = backends.choose(Operation.USER_INFO, backends.lookup_choice(settings), settings)
    except UsageError:
        lookup = None
    return _Route(operation, backend, lookup)


def _unused(backend: type[Backend], settings: Settings) -> str:
    if settings.backend == backends.AUTO:
        return f"not used: only with --backend {backend.name}"
    return f"not used with --backend {settings.backend}"


def _check_backend(
    backend: type[Backend],
    settings: Settings,
    origins: Mapping[str, str],
    *,
    cookies_broken: bool,
    trace: bool,
) -> Check:
    name = label(backend)
    for operation in Operation:
        if operation in backend.operations:
            problem = backend.config_problem(settings, operation)
            if problem:
                return Check(FAIL, name, problem, ConfigError(problem))
    url_setting = backend.url_setting
    url = getattr(settings, url_setting) if url_setting else None
    probe_settings = replace(
        settings,
        backend=backend.name,
        timeout=settings.timeout
        if origins["timeout"].startswith("flag")
        else min(settings.timeout, MAX_TIMEOUT),
        retries=0,
        # The cookies line reports broken cookies; this one still says whether the host answers.
        cookies=None if cookies_broken else settings.cookies,
        cookies_from_browser=None if cookies_broken else settings.cookies_from_browser,
    )
    try:
        with Session(probe_settings, trace=trace) as session:
            answered = _probe(session, backend)
    except UsageError as exc:
        return Check(SKIP, name, f"cannot be checked: {exc.message}")
    except TikTokCliError as exc:
        return _failure(name, exc, url, url_setting, origins, advised=backend.unreachable_advice is not None)
    return Check(OK, name, f"{url}: {answered}" if url else answered)


def _probe(session: Session, backend: type[Backend]) -> str:
    """One small request through the backend itself; returns what it answered."""
    try:
        if Operation.USER_INFO in backend.operations:
            user = session.backend(Operation.USER_INFO, backend.name).user_info(PROBE_USERNAME)
            return f"answers (user-info for @{user.unique_id or PROBE_USERNAME})"
        operation = next(op for op in (Operation.FOLLOWERS, Operation.FOLLOWINGS) if op in backend.operations)
        query = ListQuery(Account(IdKind.UID, PROBE_UID))
        instance = session.backend(operation, backend.name)
        instance.page_fetcher(operation, query)(instance.start_cursor(query))
        what = f"{operation.value} of uid {PROBE_UID}"
    except RefusedError as exc:
        # The probe is the API's own documented example account: a refusal is about the token.
        raise ConfigError(
            f"{exc.message}: the token was rejected for the API's own example account",
            hint=f"check {SETTINGS['api_token'].env} and your plan with the vendor",
        ) from exc
    except (NotFoundError, NotVisibleError) as exc:
        status = _http_status(exc)
        if status is not None and not status.json_body:
            raise status from None  # a web server's own 404 page: not the API at all
        return f"answers in its own terms ({exc.message})"
    return f"answers ({what}), credentials accepted"


def _http_status(exc: BaseException) -> UnexpectedStatus | None:
    """The HTTP error a backend translated into ``exc``, if any (kept as its context)."""
    return _in_chain(exc, UnexpectedStatus)


E = TypeVar("E", bound=BaseException)


def _in_chain(exc: BaseException, kind: type[E]) -> E | None:
    """``exc`` or the error it was raised from or while handling, if one is a ``kind``."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _wrong_url(exc: TikTokCliError) -> bool:
    """Something answered, but not the API: a web page, or a web server's own 404."""
    if isinstance(exc, BlockedError):
        return False  # tiktok.com answers bots with pages too: that is a block, with its own advice
    if _in_chain(exc, UnexpectedBody) is not None:
        return True
    status = _http_status(exc)
    if status is None or status.json_body:
        return False
    return status is exc or status.status == 404  # a translated 401/403 is about credentials


def _failure(
    name: str,
    exc: TikTokCliError,
    url: str | None,
    url_setting: str | None,
    origins: Mapping[str, str],
    *,
    advised: bool,
) -> Check:
    """``exc`` as the check's line; ``advised``: the backend's unreachable message says
    already where the URL was set and how to change it (else the service is not the user's
    to start, as tiktok.com is not)."""
    if url_setting is None:
        return Check(FAIL, name, str(exc), exc)
    setting = SETTINGS[url_setting]
    where = f"{url_setting} (now {_origin_words(origins[url_setting])})"
    ways = [setting.option, setting.env, f"`tiktok config set {url_setting} URL`"]
    how = ", ".join(w for w in ways if w)
    if _in_chain(exc, UnreachableError) is not None:
        if advised:
            detail = str(exc)  # said once: the backend's words already say where to start or set it
        else:
            # Nobody starts tiktok.com: the network (or a proxy) is what to check.
            detail = f"{exc.message}; check this machine's connection to {url} (or set {where}: {how})"
    elif _wrong_url(exc):
        # Something answers, but not the API: the URL is wrong, a setting to fix.
        detail = f"{exc.message}: {url} is not {called(name)}'s API; set {where} to its base URL: {how}"
        return Check(FAIL, name, detail, ConfigError(detail))
    else:
        detail = str(exc)
    return Check(FAIL, name, detail, exc)


def _origin_words(origin: str) -> str:
    return "the default" if origin == "default" else f"from the {origin}"


def _check_cookies(settings: Settings, origins: Mapping[str, str], *, web_used: bool) -> Check:
    if not settings.cookies and not settings.cookies_from_browser:
        if web_used:
            return Check(
                SKIP,
                "cookies",
                f"not set: lists are asked without; if tiktok.com wants a login, {COOKIE_OPTIONS}",
            )
        return Check(SKIP, "cookies", "not set (only --backend web uses them)")
    from tiktok_cli.backends.web import session_cookies

    try:
        jar = session_cookies(settings)
    except ConfigError as exc:
        return Check(FAIL, "cookies", str(exc), exc)
    assert jar is not None
    if settings.cookies_from_browser:
        source = f"{settings.cookies_from_browser} ({_origin_words(origins['cookies_from_browser'])})"
    else:
        path = Path(settings.cookies or "").expanduser()
        # Never print the setting itself unless it is a file's path: it may be the cookie values.
        source = str(path) if path.is_file() else f"cookie values from {origins['cookies']}"
    cookies = list(jar)  # only those for the tiktok.com host in use: the loaders keep no others
    host = urlsplit(settings.web_url).hostname
    status, session = _session_words([c for c in cookies if c.name in SESSION_COOKIES])
    names = {c.name for c in cookies}
    return Check(status, "cookies", f"{source}: {len(names)} cookies for {host}, {session}")


def _check_signer(settings: Settings, origins: Mapping[str, str], *, web_used: bool) -> Check:
    """The signing service (signer_url) signs a list URL as a command would have it signed."""
    if not settings.signer_url:
        return Check(SKIP, "signer", "not set: tiktok.com API calls go out unsigned")
    from tiktok_cli.backends._signer import Signer

    signer = Signer(settings.signer_url, timeout=min(settings.timeout, MAX_TIMEOUT))
    try:
        signer.sign(f"{settings.web_url}/api/user/list/?aid=1988&count=30&scene=21")
    except ConfigError as exc:
        return Check(FAIL, "signer", str(exc), exc, verdict=web_used)
    finally:
        signer.close()
    used = "" if web_used else "; only --backend web uses it"
    where = _origin_words(origins["signer_url"])
    return Check(OK, "signer", f"{settings.signer_url} ({where}) signs tiktok.com API calls{used}")


def _session_words(session: list[Cookie]) -> tuple[str, str]:
    """Whether the cookies carry a logged-in session, and until when (warned ahead of expiry)."""
    if not session:
        return OK, "but no sessionid: log in to tiktok.com in the browser (and export the cookies again)"
    expiries = [c.expires for c in session if c.expires]
    if not expiries:
        return OK, "with a logged-in session that ends when the browser closes"
    expires = min(expiries)
    when = datetime.fromtimestamp(expires, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    days = (expires - time.time()) / 86_400
    if days < EXPIRY_WARNING_DAYS:
        return WARN, (
            f"with a logged-in session that expires {when} (in {max(days, 0):.0f} days): "
            "log in again in the browser before then, or scheduled runs will fail"
        )
    return OK, f"with a logged-in session until {when}"


def _has_session(settings: Settings) -> bool:
    """Whether the cookies (known to load) hold a logged-in session for the tiktok.com in use."""
    from tiktok_cli.backends.web import session_cookies

    return any(c.name in SESSION_COOKIES for c in session_cookies(settings) or ())


def _uses_cookies(backend: type[Backend], settings: Settings) -> bool:
    """Whether the backend loads the (broken) cookies: building its client options fails."""
    try:
        backend.client_options(settings)
    except ConfigError:
        return True
    return False


def _why(backend: type[Backend], settings: Settings, origins: Mapping[str, str]) -> str:
    """Why ``backend`` serves a command: the --backend choice, or what auto went by."""
    if settings.backend != backends.AUTO:
        return f"backend {settings.backend} {_origin_words(origins['backend'])}"
    if backends.falls_back(settings):
        return "auto: no gateway or token API is configured"
    given = [
        f"{name} {_origin_words(origins[name])}" for name in backend.configured_by if getattr(settings, name)
    ]
    return "auto: " + (", ".join(given) if given else "the first that serves it")


def _verdict(
    route: _Route,
    results: Mapping[str, Check],
    cookies: Check,
    settings: Settings,
    origins: Mapping[str, str],
    *,
    session: bool,
) -> Check:
    subject = route.operation.value
    if route.backend is None:
        return Check(SKIP, subject, route.unavailable)
    main = results[route.backend.name]
    if main.status == FAIL:
        detail = f"{called(main.subject)} does not work (see above)"
        return Check(FAIL, subject, detail, main.error, verdict=True)
    if cookies.status == FAIL and _uses_cookies(route.backend, settings):
        return Check(FAIL, subject, "the cookies do not load (see above)", cookies.error, verdict=True)
    served = f"served by {called(main.subject)} ({_why(route.backend, settings, origins)})"
    if main.status == SKIP:
        served += " (not checked)"
    if route.operation in route.backend.needs_session and not session:
        # Asked without cookies first: TikTok may answer, or say it wants a login.
        detail = f"{served}, asked without a session; if it wants a login: {COOKIE_OPTIONS}"
        return Check(WARN, subject, detail, verdict=True)
    if route.lookup is None or route.lookup is route.backend:
        return Check(OK, subject, served, verdict=True)
    lookup = results[route.lookup.name]
    if lookup.status == FAIL:
        return Check(
            FAIL,
            subject,
            f"{served}, but usernames are looked up through {called(lookup.subject)}, which does not "
            f"work (see above); {ID_OPTIONS.get(route.operation, 'an id')} needs no look-up",
            lookup.error,
            verdict=True,
        )
    return Check(OK, subject, f"{served}; usernames looked up through {called(lookup.subject)}", verdict=True)
