"""The `tiktok` command: parse arguments, build settings, call ``run``; nothing else.

Heavy modules (httpx, rich tables, orjson, the backends) are imported inside the
commands, so `tiktok --help` and `--version` start as fast as Typer itself.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tiktok_cli import __version__, console
from tiktok_cli.errors import ConfigError, ExitCode, TikTokCliError, UnreachableError, UsageError

if TYPE_CHECKING:
    from tiktok_cli.export import Pacing
    from tiktok_cli.identifiers import Target
    from tiktok_cli.output import OutputSpec
    from tiktok_cli.settings import Settings

# The name this project is installed under (`tiktok-cli` on PyPI is someone else's project).
DISTRIBUTION = "tiktok-follows"
# Kept in step with tiktok_cli.config.SETTING_NAMES (a test checks): importing config
# here would cost every start-up, --help included.
SETTING_HELP = (
    ("backend", "auto, gateway, tkapi or web"),
    ("gateway_url", "base URL of the REST gateway (default http://localhost:3000/tiktok)"),
    ("api_url", "base URL of the token API, e.g. http://HOST/tk"),
    ("api_token", "the token API's token (a secret: asked for, never an argument)"),
    ("web_url", "tiktok.com's address (default https://www.tiktok.com)"),
    ("cookies", "path of a cookies.txt for --backend web"),
    ("timeout", "seconds per request (default 20)"),
    ("retries", "retries of a failed request, 0 to 100 (default 4)"),
    ("rate", "requests per second at most (default unlimited; 1 for web)"),
)

app = typer.Typer(
    name="tiktok",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: Rich rendering would double start-up time
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Show, set and locate settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _complete_formats(incomplete: str) -> list[str]:
    from tiktok_cli import writers

    return [n for n in writers.names() if n.startswith(incomplete)]


def _complete_backends(incomplete: str) -> list[str]:
    from tiktok_cli import backends

    return [n for n in ("auto", *backends.names()) if n.startswith(incomplete)]


def _complete_fields(incomplete: str) -> list[str]:
    from tiktok_cli.models import FIELDS, OWNER_FIELD

    done, _, last = incomplete.rpartition(",")
    prefix = done + "," if done else ""
    return [prefix + f for f in (OWNER_FIELD, *FIELDS) if f.startswith(last)]


# Options shared by every command, declared once.
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        autocompletion=_complete_formats,
        help="table, jsonl, json or csv. Default: the -o file's extension (.txt, .jsonl/.ndjson, .json, "
        ".csv), else table on a terminal, else jsonl.",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        dir_okay=False,
        help="Write to FILE (atomically, resumably; its folder is created) instead of standard output. "
        "- is standard output; a FIFO, device or /dev/fd/N is written directly.",
    ),
]
FieldsOpt = Annotated[
    str | None,
    typer.Option(
        "--fields",
        metavar="A,B,...",
        autocompletion=_complete_fields,
        help="Columns to write, in order (owner, unique_id, nickname, user_id, sec_uid, bio, verified, "
        "private, followers, following, likes, videos, avatar_url).",
    ),
]
RawOpt = Annotated[
    bool,
    typer.Option("--raw", help="Write the API's own objects unchanged (jsonl only)."),
]
NoFormulaGuardOpt = Annotated[
    bool,
    typer.Option(
        "--no-formula-guard",
        help="-f csv: write cells starting with = + - @ exactly as given (for programs, not spreadsheets).",
    ),
]
ExcelOpt = Annotated[
    bool,
    typer.Option(
        "--excel",
        help="-f csv for Excel: UTF-8 byte-order mark, 19-digit ids kept as text.",
    ),
]
NoResumeOpt = Annotated[
    bool,
    typer.Option(
        "--no-resume",
        help="With -o: start over instead of resuming an unfinished export of the same command.",
    ),
]
LimitOpt = Annotated[
    int | None,
    typer.Option(
        "--limit",
        min=1,
        metavar="N",
        help="Stop after exactly N accounts; no request is made beyond what N needs.",
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        metavar="NAME",
        autocompletion=_complete_backends,
        help="Data source: auto (the gateway and token API), gateway, tkapi, or web (tiktok.com itself). "
        "[env: TIKTOK_BACKEND]",
    ),
]
GatewayUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--gateway-url",
        metavar="URL",
        help="Base URL of the REST gateway. [env: TIKTOK_GATEWAY_URL; default: http://localhost:3000/tiktok]",
    ),
]
ApiUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        metavar="URL",
        help="Base URL of the token API, e.g. http://HOST/tk. The token itself comes from "
        "TIKTOK_API_TOKEN or the config file, never the command line. [env: TIKTOK_API_URL]",
    ),
]
CookiesOpt = Annotated[
    str | None,
    typer.Option(
        "--cookies",
        metavar="FILE",
        help="--backend web: a Netscape cookies.txt from a logged-in browser (a file: values typed "
        "here would be visible to other local users). [env: TIKTOK_COOKIES]",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="Per-request timeout. [default: 20]",
    ),
]
RetriesOpt = Annotated[
    int | None,
    typer.Option(
        "--retries",
        metavar="N",
        help="Retries for timeouts, 429 and 5xx answers, with backoff. [default: 4]",
    ),
]
RateOpt = Annotated[
    float | None,
    typer.Option(
        "--rate",
        metavar="N",
        help="At most N requests per second. [default: unlimited]",
    ),
]
SleepOpt = Annotated[
    str | None,
    typer.Option(
        "--sleep",
        metavar="MIN[-MAX]",
        help="Pause between pages, a random time between MIN and MAX seconds.",
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Trace every HTTP request on stderr (secrets redacted).",
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the traceback of a failure.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tiktok {__version__} ({DISTRIBUTION})")
        raise typer.Exit()


_ROOT_HELP = """Look up TikTok accounts and export who they follow and who follows them.

First run? `tiktok doctor` checks the gateway, the token API and the cookies, and
says what to set; `tiktok config` shows and sets settings.

Data goes to stdout (or -o FILE); progress, warnings and errors go to stderr.

Exit codes:

\b
""" + "\n".join(f"  {int(code):<4} {code.describe()}" for code in ExitCode)


@app.callback(help=_ROOT_HELP)
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """The options before any command; the help is _ROOT_HELP."""


UsersArg = Annotated[
    list[str] | None,
    typer.Argument(metavar="USER...", help="Usernames, @names or profile URLs.", show_default=False),
]
InputOpt = Annotated[
    str | None,
    typer.Option(
        "--input",
        "-i",
        metavar="FILE",
        help="Read accounts from FILE (- for stdin): one USER per line (blank lines and # comments "
        "skipped), or this tool's own jsonl or csv output.",
    ),
]
ConcurrencyOpt = Annotated[
    int,
    typer.Option(
        "--concurrency",
        "-j",
        min=1,
        max=32,
        metavar="N",
        help="Accounts fetched at once (each list's pages stay in order).",
    ),
]
ErrorsOpt = Annotated[
    Path | None,
    typer.Option(
        "--errors",
        metavar="FILE",
        dir_okay=False,
        help="Write each account that failed to FILE, one per line, ready for --input.",
    ),
]


@app.command(
    "user-info",
    epilog="Examples:\n\n\b\n"
    "  tiktok user-info taylorswift\n"
    "  tiktok user-info @cnn https://www.tiktok.com/@nasa -f csv -o accounts.csv\n"
    "  tiktok user-info --input accounts.txt --errors failed.txt -o accounts.jsonl",
)
def user_info(
    users: UsersArg = None,
    input_file: InputOpt = None,
    concurrency: ConcurrencyOpt = 4,
    errors: ErrorsOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fields: FieldsOpt = None,
    raw: RawOpt = False,
    no_formula_guard: NoFormulaGuardOpt = False,
    excel: ExcelOpt = False,
    backend: BackendOpt = None,
    gateway_url: GatewayUrlOpt = None,
    api_url: ApiUrlOpt = None,
    cookies: CookiesOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    rate: RateOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Show one record per account, in the order given."""
    with _error_edge(debug=debug, quiet=quiet):
        from tiktok_cli.batch import Batch
        from tiktok_cli.user_info import look_up

        spec = _output_spec(fmt, output, fields, raw, no_formula_guard, excel)
        targets = _targets(users, input_file)
        if not targets:
            return
        settings = _settings(backend, gateway_url, api_url, cookies, timeout, retries, rate)
        look_up(targets, settings, spec, batch=Batch(concurrency, errors), trace=verbose)


@app.command(
    epilog="Examples:\n\n\b\n"
    "  tiktok followings cnn --limit 100\n"
    "  tiktok followings --sec-uid MS4wLjABAAAA... -f csv -o followings.csv\n"
    "  tiktok followings --input accounts.txt -o followings.csv   # one CSV, with an owner column",
)
def followings(
    users: UsersArg = None,
    sec_uid: Annotated[
        str | None,
        typer.Option("--sec-uid", metavar="SECUID", help="An account's secUid instead of USER (no look-up)."),
    ] = None,
    input_file: InputOpt = None,
    count: Annotated[
        int,
        typer.Option("--count", min=1, max=50, metavar="N", help="Page size asked of the API."),
    ] = 50,
    min_cursor: Annotated[
        int | None,
        typer.Option(
            "--min-cursor",
            min=0,
            metavar="CURSOR",
            help="Start from this cursor (as printed by an interrupted run).",
        ),
    ] = None,
    max_cursor: Annotated[
        int | None,
        typer.Option(
            "--max-cursor",
            min=0,
            metavar="CURSOR",
            help="The gateway's maxCursor. [default: 0]",
        ),
    ] = None,
    limit: LimitOpt = None,
    no_resume: NoResumeOpt = False,
    concurrency: ConcurrencyOpt = 4,
    errors: ErrorsOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fields: FieldsOpt = None,
    raw: RawOpt = False,
    no_formula_guard: NoFormulaGuardOpt = False,
    excel: ExcelOpt = False,
    backend: BackendOpt = None,
    gateway_url: GatewayUrlOpt = None,
    api_url: ApiUrlOpt = None,
    cookies: CookiesOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    rate: RateOpt = None,
    sleep: SleepOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Export every account USER follows."""
    with _error_edge(debug=debug, quiet=quiet):
        spec = _output_spec(fmt, output, fields, raw, no_formula_guard, excel, resume=not no_resume)
        _run_lists(
            "followings",
            _targets(users, input_file, sec_uid=sec_uid, unique=True, id_options=("--sec-uid",)),
            cursor=min_cursor,
            page_size=count,
            max_cursor=max_cursor,
            limit=limit,
            sleep=sleep,
            concurrency=concurrency,
            errors=errors,
            trace=verbose,
            settings=_settings(backend, gateway_url, api_url, cookies, timeout, retries, rate),
            spec=spec,
        )


@app.command(
    epilog="Examples:\n\n\b\n"
    "  TIKTOK_API_URL=http://HOST/tk TIKTOK_API_TOKEN=... tiktok followers cnn -o followers.csv\n"
    "  tiktok followers --uid 6754915036232582149 --limit 500 | jq -r .unique_id\n"
    "  tiktok followers --input accounts.txt --errors failed.txt -o followers.csv",
)
def followers(
    users: UsersArg = None,
    uid: Annotated[
        str | None,
        typer.Option(
            "--uid", metavar="UID", help="An account's numeric user id instead of USER (no look-up)."
        ),
    ] = None,
    sec_uid: Annotated[
        str | None,
        typer.Option(
            "--sec-uid", metavar="SECUID", help="--backend web: an account's secUid instead of USER."
        ),
    ] = None,
    input_file: InputOpt = None,
    cursor: Annotated[
        int | None,
        typer.Option(
            "--cursor",
            min=0,
            metavar="CURSOR",
            help="Start from this cursor (as printed by an interrupted run).",
        ),
    ] = None,
    limit: LimitOpt = None,
    no_resume: NoResumeOpt = False,
    concurrency: ConcurrencyOpt = 4,
    errors: ErrorsOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fields: FieldsOpt = None,
    raw: RawOpt = False,
    no_formula_guard: NoFormulaGuardOpt = False,
    excel: ExcelOpt = False,
    backend: BackendOpt = None,
    gateway_url: GatewayUrlOpt = None,
    api_url: ApiUrlOpt = None,
    cookies: CookiesOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    rate: RateOpt = None,
    sleep: SleepOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Export every account that follows USER."""
    with _error_edge(debug=debug, quiet=quiet):
        spec = _output_spec(fmt, output, fields, raw, no_formula_guard, excel, resume=not no_resume)
        _run_lists(
            "followers",
            _targets(
                users,
                input_file,
                uid=uid,
                sec_uid=sec_uid,
                unique=True,
                id_options=("--uid", "--sec-uid"),
            ),
            cursor=cursor,
            page_size=None,
            max_cursor=None,
            limit=limit,
            sleep=sleep,
            concurrency=concurrency,
            errors=errors,
            trace=verbose,
            settings=_settings(backend, gateway_url, api_url, cookies, timeout, retries, rate),
            spec=spec,
        )


DoctorTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="Per-request timeout of the checks. [default: the timeout setting, at most 10]",
    ),
]


@app.command(
    help="Check that the data sources each command would use work.\n\n"
    "One line per check: ok, FAIL or skip, with what to do. One request per data source, with a "
    f"short timeout and no retries. Exit {ExitCode.OK:d} when every command would work; otherwise the "
    f"exit code the first failing command would give ({ExitCode.CONFIG:d} settings or token, "
    f"{ExitCode.BLOCKED:d} blocked, {ExitCode.UPSTREAM:d} unreachable).",
    epilog="Examples:\n\n\b\n"
    "  tiktok doctor\n"
    "  tiktok doctor --backend web --cookies cookies.txt\n"
    "  TIKTOK_API_URL=http://HOST/tk tiktok doctor --gateway-url http://localhost:3000/tiktok",
)
def doctor(
    backend: BackendOpt = None,
    gateway_url: GatewayUrlOpt = None,
    api_url: ApiUrlOpt = None,
    cookies: CookiesOpt = None,
    timeout: DoctorTimeoutOpt = None,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Run the checks, one line each on stdout; exit with the first failing command's code."""
    code = ExitCode.OK
    with _error_edge(debug=debug, quiet=False, setup_hint=False):
        from tiktok_cli.doctor import exit_code, run_checks

        flags = {"backend": backend, "gateway_url": gateway_url, "api_url": api_url, "cookies": cookies}
        checks = []
        for check in run_checks({**flags, "timeout": timeout}, trace=verbose):
            typer.echo(check.line())
            checks.append(check)
        code = exit_code(checks)
    raise typer.Exit(int(code))


@config_app.command("path")
def config_path_command() -> None:
    """Print where the config file is read from (it need not exist)."""
    from tiktok_cli.settings import config_path

    typer.echo(str(config_path()))


@config_app.command("show")
def config_show(
    backend: BackendOpt = None,
    gateway_url: GatewayUrlOpt = None,
    api_url: ApiUrlOpt = None,
    cookies: CookiesOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    rate: RateOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Print the settings in effect (secrets masked), each with where it comes from.

    A value comes from a flag given here, an environment variable (named), the config
    file, or the default, in that order of precedence.
    """
    with _error_edge(debug=debug, quiet=False, setup_hint=False):
        from dataclasses import fields

        from tiktok_cli.config import load_settings_with_origins
        from tiktok_cli.safetext import for_terminal
        from tiktok_cli.settings import config_path, is_secret

        flags = {"backend": backend, "gateway_url": gateway_url, "api_url": api_url, "cookies": cookies}
        settings, origins = load_settings_with_origins(
            {**flags, "timeout": timeout, "retries": retries, "rate": rate}
        )
        path = config_path()
        typer.echo(f"# config file: {path}" + ("" if path.is_file() else " (does not exist)"))
        lines = []
        for field in fields(settings):
            value = getattr(settings, field.name)
            shown = "***" if is_secret(field.name, value) else value
            lines.append((f"{field.name} = {'(not set)' if shown is None else shown}", origins[field.name]))
        width = max(len(text) for text, _ in lines)
        for text, origin in lines:
            typer.echo(for_terminal(f"{text:<{width}}  # {origin}"))


_SETTINGS_EPILOG = "Settings:\n\n\b\n" + "\n".join(f"  {n:<12} {h}" for n, h in SETTING_HELP)


def _complete_settings(incomplete: str) -> list[str]:
    return [name for name, _ in SETTING_HELP if name.startswith(incomplete)]


SettingArg = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        autocompletion=_complete_settings,
        help="Setting name: " + ", ".join(n for n, _ in SETTING_HELP) + ".",
    ),
]


@config_app.command("set", epilog=_SETTINGS_EPILOG)
def config_set(
    name: SettingArg,
    value: Annotated[
        str | None,
        typer.Argument(
            metavar="[VALUE]", help="New value; api_token is read from a prompt or stdin instead."
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Set one setting in the config file (created owner-only, mode 0600).

    api_token is never taken from the command line, where other local users and shell
    history can see it: type it at the prompt or pipe it in. cookies takes the path of
    a cookies.txt file (stored as an absolute path), never the cookie values themselves.
    """
    with _error_edge(debug=debug, quiet=False, setup_hint=False):
        from tiktok_cli.config import PROMPTED_SETTINGS, write_setting

        if name in PROMPTED_SETTINGS:
            if value is not None:
                raise UsageError(f"{name} is a secret: omit VALUE and type it at the prompt or pipe it in")
            value = _read_secret(name)
        elif value is None:
            raise UsageError(f"give a VALUE for {name} (or use `tiktok config unset {name}`)")
        path = write_setting(name, value)
        console.info(f"{name} saved in {path}")
        cookies_file = Path(value).expanduser().absolute()
        if name == "cookies" and not cookies_file.is_file():
            console.warn(f"{cookies_file} does not exist yet: export a cookies.txt there")


@config_app.command("unset", epilog=_SETTINGS_EPILOG)
def config_unset(name: SettingArg, debug: DebugOpt = False) -> None:
    """Remove one setting from the config file.

    A setting the file does not hold is said so on stderr, and the exit status is still 0:
    afterwards it is not set in the file either way.
    """
    with _error_edge(debug=debug, quiet=False, setup_hint=False):
        from tiktok_cli.config import remove_setting
        from tiktok_cli.settings import ENV_VARS

        path, removed = remove_setting(name)
        if removed:
            console.info(f"{name} removed from {path}")
            return
        note = f"{name} is not set in {path}; nothing to remove"
        variable = ENV_VARS.get(name)
        if variable and os.environ.get(variable):
            note += f" (its value comes from the environment variable {variable})"
        console.info(note)


def _read_secret(name: str) -> str:
    if sys.stdin.isatty():
        secret: str = typer.prompt(name, hide_input=True, err=True)
    else:
        secret = sys.stdin.readline().strip()
    if not secret:
        raise UsageError(f"no value for {name} was given")
    return secret


def _targets(
    users: list[str] | None,
    input_file: str | None,
    *,
    sec_uid: str | None = None,
    uid: str | None = None,
    unique: bool = False,
    id_options: tuple[str, ...] = (),
) -> "list[Target]":
    """The accounts to process; an --input with none is nothing to do (a note, exit 0)."""
    from tiktok_cli.identifiers import nothing_to_do, read_targets

    targets = read_targets(
        users or [],
        input_file,
        sec_uid=sec_uid,
        uid=uid,
        unique=unique,
        id_options=id_options,
        allow_empty=True,
    )
    if not targets and input_file is not None:
        console.info(nothing_to_do(input_file))
    return targets


def _run_lists(
    operation: str,
    targets: "list[Target]",
    *,
    cursor: int | None,
    page_size: int | None,
    max_cursor: int | None,
    limit: int | None,
    sleep: str | None,
    concurrency: int,
    errors: Path | None,
    trace: bool,
    settings: "Settings",
    spec: "OutputSpec",
) -> None:
    from tiktok_cli.backends.base import ListQuery, Operation
    from tiktok_cli.batch import Batch
    from tiktok_cli.export import export_lists

    if not targets:
        return
    if cursor is not None and len(targets) > 1:
        raise UsageError("a start cursor belongs to one list: give one account with it")
    template = ListQuery(targets[0].account, cursor=cursor, page_size=page_size, max_cursor=max_cursor)
    export_lists(
        Operation(operation),
        targets,
        template,
        settings,
        spec,
        limit=limit,
        pacing=_pacing(sleep),
        batch=Batch(concurrency, errors),
        trace=trace,
    )


def _settings(
    backend: str | None,
    gateway_url: str | None,
    api_url: str | None,
    cookies: str | None,
    timeout: float | None,
    retries: int | None,
    rate: float | None,
) -> "Settings":
    """Settings from the connection options every command shares (None: not given)."""
    from tiktok_cli.config import load_settings

    flags = {"backend": backend, "gateway_url": gateway_url, "api_url": api_url, "cookies": cookies}
    return load_settings({**flags, "timeout": timeout, "retries": retries, "rate": rate})


def _output_spec(
    fmt: str | None,
    output: Path | None,
    fields: str | None,
    raw: bool,
    no_formula_guard: bool,
    excel: bool,
    *,
    resume: bool = True,
) -> "OutputSpec":
    from tiktok_cli import writers
    from tiktok_cli.output import OutputSpec

    if fmt is not None:
        writers.load(fmt)  # unknown format: usage error now, before any request
    columns = tuple(f.strip() for f in fields.split(",") if f.strip()) if fields is not None else None
    if fields is not None and not columns:
        raise UsageError("--fields needs at least one field name")
    return OutputSpec(
        format=fmt,
        path=None if output is not None and str(output) == "-" else output,  # -o -: standard output
        fields=columns,
        raw=raw,
        formula_guard=not no_formula_guard,
        excel=excel,
        resume=resume,
    )


def _pacing(sleep: str | None) -> "Pacing":
    from tiktok_cli.export import Pacing

    if sleep is None:
        return Pacing()
    low_text, _, high_text = sleep.partition("-")
    try:
        low = float(low_text)
        high = float(high_text) if high_text else low
    except ValueError:
        raise UsageError(f"--sleep takes SECONDS or MIN-MAX (like 1-3), not {sleep!r}") from None
    if not (0 <= low <= high <= 3600):  # also false for nan
        raise UsageError(f"--sleep {sleep!r}: need 0 <= MIN <= MAX <= 3600 seconds")
    return Pacing(low, high)


@contextmanager
def _error_edge(*, debug: bool, quiet: bool, setup_hint: bool = True) -> Iterator[None]:
    """The one place that turns failures into a message on stderr and an exit code.

    With ``setup_hint``, a missing or rejected setting or an unreachable server (typical
    of a first run) also points to `tiktok doctor`; an unusable config file or variable
    is named in the message already.
    """
    from tiktok_cli.signals import SIGNALLED, interrupted, sigterm_raises

    console.set_quiet(quiet)
    try:
        with sigterm_raises():
            yield
    except SIGNALLED as exc:  # a signal outside an export (an export says how far it got)
        error = interrupted(exc)
        console.error(str(error))
        raise typer.Exit(int(error.exit_code)) from None
    except TikTokCliError as exc:
        _traceback(debug)
        from tiktok_cli.config import SettingsError  # only now: --help and --version never load it

        hint = (
            setup_hint
            and isinstance(exc, (ConfigError, UnreachableError))
            and not isinstance(exc, SettingsError)
        )
        console.error(str(exc) + ("; `tiktok doctor` checks the whole setup" if hint else ""))
        raise typer.Exit(int(exc.exit_code)) from None
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(int(ExitCode.BROKEN_PIPE)) from None
    except OSError as exc:
        # Reading input and config is checked where it happens: what is left is writing
        # the output (a full disk, an I/O error). A file export keeps its part file.
        _traceback(debug)
        where = f" {exc.filename}" if exc.filename else ""
        console.error(f"cannot write the output{where}: {exc.strerror or exc}")
        raise typer.Exit(int(ExitCode.OUTPUT)) from None
    except Exception as exc:  # noqa: BLE001 - the last resort: no traceback unless --debug
        _traceback(debug)
        console.error(
            f"unexpected {type(exc).__name__}: {exc} (a bug: please report it; --debug shows where)"
        )
        raise typer.Exit(int(ExitCode.INTERNAL)) from None


def _traceback(debug: bool) -> None:
    if debug:
        import traceback  # costs start-up time; only --debug needs it

        for line in traceback.format_exc().rstrip().splitlines():
            console.always(line)


def _silence_stdout() -> None:
    """The reader went away (`| head`): drop what is still buffered, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


def main() -> None:
    """Console-script entry point: usage errors, like every failure, are one line on stderr."""
    # Typer 0.29 carries its own copy of Click; its usage error is what a bad option raises.
    from typer import Abort
    from typer._click.exceptions import NoArgsIsHelpError
    from typer._click.exceptions import UsageError as ClickUsageError

    try:
        code = app(prog_name="tiktok", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # `tiktok` alone: the help, as Click shows it
        exc.show()
        raise SystemExit(int(ExitCode.USAGE)) from None
    except ClickUsageError as exc:
        console.error(" ".join(exc.format_message().split()))
        raise SystemExit(int(ExitCode.USAGE)) from None
    except Abort:  # Ctrl-C at a prompt
        console.error("interrupted")
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    raise SystemExit(code if isinstance(code, int) else int(ExitCode.OK))
