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
from tiktok_cli.errors import ExitCode, TikTokCliError, UsageError

if TYPE_CHECKING:
    from tiktok_cli.config import Settings
    from tiktok_cli.identifiers import Target
    from tiktok_cli.output import OutputSpec
    from tiktok_cli.run import Pacing

app = typer.Typer(
    name="tiktok",
    help="Look up TikTok accounts and export who they follow and who follows them.",
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
        typer.echo(f"tiktok-cli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Look up TikTok accounts and export who they follow and who follows them.

    Data goes to stdout (or -o FILE); progress, warnings and errors go to stderr.
    Exit codes: 0 ok, 1 some accounts of a batch failed, 2 usage, 3 no such account,
    4 not visible, 5 auth/config, 6 rate-limited/blocked, 7 upstream/network,
    8 every account of a batch failed, 70 internal error, 130/143 interrupted,
    141 the reader of stdout went away.
    """


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
        help="Read accounts from FILE (- for stdin): one USER per line; blank lines and # comments skipped.",
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
        from tiktok_cli import run
        from tiktok_cli.identifiers import read_targets

        spec = _output_spec(fmt, output, fields, raw, no_formula_guard, excel)
        targets = read_targets(users or [], input_file)
        settings = _settings(backend, gateway_url, api_url, cookies, timeout, retries, rate)
        run.run_user_info(targets, settings, spec, batch=run.Batch(concurrency, errors), trace=verbose)


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
        from tiktok_cli.identifiers import read_targets

        spec = _output_spec(fmt, output, fields, raw, no_formula_guard, excel, resume=not no_resume)
        _run_lists(
            "followings",
            read_targets(users or [], input_file, sec_uid=sec_uid, unique=True, id_options=("--sec-uid",)),
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
        from tiktok_cli.identifiers import read_targets

        spec = _output_spec(fmt, output, fields, raw, no_formula_guard, excel, resume=not no_resume)
        _run_lists(
            "followers",
            read_targets(
                users or [],
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


@config_app.command("path")
def config_path_command() -> None:
    """Print where the config file is read from (it need not exist)."""
    from tiktok_cli.config import config_path

    typer.echo(str(config_path()))


@config_app.command("show")
def config_show(debug: DebugOpt = False) -> None:
    """Print the settings in effect (secrets masked) and the config file's path."""
    with _error_edge(debug=debug, quiet=False):
        from dataclasses import fields

        from tiktok_cli.config import SECRET_SETTINGS, config_path, load_settings

        settings = load_settings({})
        typer.echo(f"# {config_path()}")
        for field in fields(settings):
            value = getattr(settings, field.name)
            shown = "***" if field.name in SECRET_SETTINGS and value else value
            typer.echo(f"{field.name} = {'(not set)' if shown is None else shown}")


@config_app.command("set")
def config_set(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Setting name, as in the config file.")],
    value: Annotated[
        str | None,
        typer.Argument(metavar="[VALUE]", help="New value. Secrets are read from a prompt or stdin instead."),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Set one setting in the config file (created owner-only, mode 0600).

    Secrets (api_token) are never taken from the command line, where other local users
    and shell history can see them: type them at the prompt or pipe them in.
    """
    with _error_edge(debug=debug, quiet=False):
        from tiktok_cli.config import SECRET_SETTINGS, write_setting

        if name in SECRET_SETTINGS:
            if value is not None:
                raise UsageError(f"{name} is a secret: omit VALUE and type it at the prompt or pipe it in")
            value = _read_secret(name)
        elif value is None:
            raise UsageError(f"give a VALUE for {name} (or use `tiktok config unset {name}`)")
        typer.echo(f"{name} saved in {write_setting(name, value)}", err=True)


@config_app.command("unset")
def config_unset(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Setting name, as in the config file.")],
    debug: DebugOpt = False,
) -> None:
    """Remove one setting from the config file."""
    with _error_edge(debug=debug, quiet=False):
        from tiktok_cli.config import write_setting

        typer.echo(f"{name} removed from {write_setting(name, None)}", err=True)


def _read_secret(name: str) -> str:
    if sys.stdin.isatty():
        secret: str = typer.prompt(name, hide_input=True, err=True)
    else:
        secret = sys.stdin.readline().strip()
    if not secret:
        raise UsageError(f"no value for {name} was given")
    return secret


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
    from tiktok_cli import run
    from tiktok_cli.backends.base import ListQuery, Operation

    if cursor is not None and len(targets) > 1:
        raise UsageError("a start cursor belongs to one list: give one account with it")
    template = ListQuery(targets[0].account, cursor=cursor, page_size=page_size, max_cursor=max_cursor)
    run.run_lists(
        Operation(operation),
        targets,
        template,
        settings,
        spec,
        limit=limit,
        pacing=_pacing(sleep),
        batch=run.Batch(concurrency, errors),
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
    from tiktok_cli.run import Pacing

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
def _error_edge(*, debug: bool, quiet: bool) -> Iterator[None]:
    """The one place that turns failures into a message on stderr and an exit code."""
    console.set_quiet(quiet)
    try:
        yield
    except TikTokCliError as exc:
        _traceback(debug)
        console.error(str(exc))
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        console.error("interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(int(ExitCode.BROKEN_PIPE)) from None
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
            console.debug(line)


def _silence_stdout() -> None:
    """The reader went away (`| head`): drop what is still buffered, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


def main() -> None:
    """Console-script entry point."""
    app(prog_name="tiktok")
