"""The `tiktok` command: it only declares. Each command takes its options, builds plain
values from them (the accounts, the settings, the output asked for) and calls the one
function that does the work (``export.export_lists``, ``user_info.look_up``, …) inside the
one error edge (``command.error_edge``).

Read top to bottom: the app, the options the commands share (each an ``Annotated`` alias,
declared once with its help heading, as sqlite-utils declares its output options once),
the few builders of values from options (``_output_spec``, ``_report_spec``), then each command
in the order `tiktok --help` lists it. A command lists the aliases it takes, in the order
its help shows them; where a shared option means something narrower in a few commands
(``--raw`` for a list, ``--db`` for a report), those commands take an alias of their own.

One function is kept between a command and the work: ``_export_lists``, the body that
``followings`` and ``followers`` share. Both build the same values the same way (the
accounts with their shard, the settings, the first list's query, the batch) and check
that a start cursor names one list; written into each command, that would be twenty
lines twice, and a fix made to one would be missed in the other.

Heavy modules (httpx, rich tables, orjson, the backends) are imported inside the
commands, so `tiktok --help` and `--version` start as fast as Typer itself.
"""

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tiktok_cli import __version__, backends, writers  # the registries: names only, no module loaded
from tiktok_cli.command import (
    CONNECTION,
    INPUT,
    MESSAGES,
    OUTPUT,
    PACING,
    STORE,
    Command,
    error_edge,
    run,
    whole_number,
)
from tiktok_cli.errors import ExitCode, UsageError
from tiktok_cli.models import FETCHED_AT, FIELDS, OWNER_FIELD  # standard library only
from tiktok_cli.reports import CHANGE_COLUMNS, HISTORY_COLUMNS, SNAPSHOT_COLUMNS
from tiktok_cli.settings import PROMPTED_SETTINGS, SETTING_NAMES, SETTINGS, option_help, setting_help

if TYPE_CHECKING:
    from tiktok_cli.output import OutputSpec

# The name this project is installed under (`tiktok-cli` on PyPI is someone else's project).
DISTRIBUTION = "tiktok-follows"


def _one_of(names: Sequence[str]) -> str:
    """``a, b or c``."""
    *others, last = names
    return f"{', '.join(others)} or {last}" if others else last


BACKEND_CHOICES = (backends.AUTO, *backends.names())


def _setting_option(name: str, panel: str, **more: Any) -> Any:
    """The option that sets setting ``name``, as settings.SETTINGS describes it (help included)."""
    setting = SETTINGS[name]
    return typer.Option(
        setting.option, metavar=setting.metavar, help=option_help(name), rich_help_panel=panel, **more
    )


app = typer.Typer(
    name="tiktok",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: Rich rendering would double start-up time
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Show, read, set and locate settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _complete_formats(incomplete: str) -> list[str]:
    return [n for n in writers.names() if n.startswith(incomplete)]


def _complete_backends(incomplete: str) -> list[str]:
    return [n for n in BACKEND_CHOICES if n.startswith(incomplete)]


def _complete_fields(incomplete: str) -> list[str]:
    done, _, last = incomplete.rpartition(",")
    prefix = done + "," if done else ""
    return [prefix + f for f in (OWNER_FIELD, *FIELDS, FETCHED_AT) if f.startswith(last)]


# --- the options the commands share ------------------------------------------------------
# Each is declared once, with the heading help lists it under; a command takes it by
# naming the alias. The settings' options are named after their setting (`--gateway-url`
# sets gateway_url) and keep the setting's own words.

# Output
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        autocompletion=_complete_formats,
        # The extensions are the writers' own (a test checks): reading them loads every writer.
        help=f"{_one_of(writers.names())} (none: no rows, for runs that only record into "
        "--db). Default: the -o file's extension (.csv, .json, .jsonl/.ndjson, .txt), else "
        "table on a terminal, else jsonl.",
        rich_help_panel=OUTPUT,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        dir_okay=False,
        help="Write to FILE (atomically, resumably; its folder is created) instead of standard "
        "output. - is standard output; a FIFO, device or /dev/fd/N is written directly.",
        rich_help_panel=OUTPUT,
    ),
]
FieldsOpt = Annotated[
    str | None,
    typer.Option(
        "--fields",
        metavar="A,B,...",
        autocompletion=_complete_fields,
        help=f"Columns to write, in order ({', '.join((OWNER_FIELD, *FIELDS, FETCHED_AT))}).",
        rich_help_panel=OUTPUT,
    ),
]
RawOpt = Annotated[
    bool,
    typer.Option(
        "--raw",
        help="Write the API's own objects unchanged (-f jsonl or json; no --fields).",
        rich_help_panel=OUTPUT,
    ),
]
# The list commands' --raw: raw objects have no owner column, so a batch's rows could not
# be told apart.
ListRawOpt = Annotated[
    bool,
    typer.Option(
        "--raw",
        help="Write the API's own objects unchanged (-f jsonl or json; one account, no --fields).",
        rich_help_panel=OUTPUT,
    ),
]
NoFormulaGuardOpt = Annotated[
    bool,
    typer.Option(
        "--no-formula-guard",
        help="-f csv: write cells starting with = + - @ exactly as given (for programs, not spreadsheets).",
        rich_help_panel=OUTPUT,
    ),
]
ExcelOpt = Annotated[
    bool,
    typer.Option(
        "--excel",
        help="-f csv for Excel: UTF-8 byte-order mark, 19-digit ids kept as text.",
        rich_help_panel=OUTPUT,
    ),
]
LimitOpt = Annotated[
    int | None,
    typer.Option(
        "--limit",
        parser=whole_number(1),
        metavar="N",
        help="Stop after exactly N accounts; no request is made beyond what N needs.",
        rich_help_panel=OUTPUT,
    ),
]
NoResumeOpt = Annotated[
    bool,
    typer.Option(
        "--no-resume",
        help="With -o: start over instead of resuming an unfinished export of the same command.",
        rich_help_panel=OUTPUT,
    ),
]

# Input and batch
InputOpt = Annotated[
    str | None,
    typer.Option(
        "--input",
        "-i",
        metavar="FILE",
        help="Read accounts from FILE (- for stdin): one USER per line (blank lines and # "
        "comments skipped), or this tool's own jsonl or csv output.",
        rich_help_panel=INPUT,
    ),
]
ShardOpt = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="K/N",
        help="Take share K of N (K from 0 to N-1) of the accounts given, split by a stable hash "
        "of each account (its user id when the input carries it, else its username): N "
        "processes with K = 0..N-1 take every account once. auto/N takes K from "
        "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job). [env: TIKTOK_SHARD]",
        rich_help_panel=INPUT,
    ),
]
ConcurrencyOpt = Annotated[
    int,
    typer.Option(
        "--concurrency",
        "-j",
        parser=whole_number(1, 32),
        metavar="N",
        help="Accounts fetched at once, 1 to 32 (each list's pages stay in order). [default: 4]",
        show_default=False,
        rich_help_panel=PACING,
    ),
]
ErrorsOpt = Annotated[
    Path | None,
    typer.Option(
        "--errors",
        metavar="FILE",
        dir_okay=False,
        help="Write each account that failed to FILE, one per line, ready for --input.",
        rich_help_panel=INPUT,
    ),
]

# Pacing
SleepOpt = Annotated[
    str | None,
    typer.Option(
        "--sleep",
        metavar="MIN[-MAX]",
        help="Pause between pages, a random time between MIN and MAX seconds.",
        rich_help_panel=PACING,
    ),
]

# Connection: which data source answers, and where. Each option sets the setting of its name.
BackendOpt = Annotated[str | None, _setting_option("backend", CONNECTION, autocompletion=_complete_backends)]
GatewayUrlOpt = Annotated[str | None, _setting_option("gateway_url", CONNECTION)]
ApiUrlOpt = Annotated[str | None, _setting_option("api_url", CONNECTION)]
CookiesOpt = Annotated[str | None, _setting_option("cookies", CONNECTION)]
CookiesFromBrowserOpt = Annotated[str | None, _setting_option("cookies_from_browser", CONNECTION)]
# How requests behave. Strings: the settings' own parsers check them, in the same words as
# the config file's.
TimeoutOpt = Annotated[str | None, _setting_option("timeout", CONNECTION)]
RetriesOpt = Annotated[str | None, _setting_option("retries", CONNECTION)]
RateOpt = Annotated[str | None, _setting_option("rate", PACING)]

# Store: the snapshot store that records runs (and that `changes` and `history` read).
DbOpt = Annotated[str | None, _setting_option("db", STORE)]
# Incremental list runs: they read the store to know where the news ends.
NewOnlyOpt = Annotated[
    bool,
    typer.Option(
        "--new-only",
        help="With --db: read each list from the top only until a page's worth of accounts in a "
        "row are ones the store already holds, then stop (a nightly run fetches a page or two, "
        "not the whole list). No --limit or start cursor.",
        rich_help_panel=STORE,
    ),
]
FullEveryOpt = Annotated[
    str | None,
    typer.Option(
        "--full-every",
        metavar="DURATION",
        help="With --new-only: read a list whole instead when its last full run is older than "
        "DURATION (12h, 7d, 2w), so unfollows deeper in the list are still found.",
        rich_help_panel=STORE,
    ),
]

# Messages: what goes to stderr besides errors.
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress or summary.", rich_help_panel=MESSAGES)
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Trace every HTTP request on stderr (secrets redacted).",
        rich_help_panel=MESSAGES,
    ),
]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="Show the traceback of a failure.", rich_help_panel=MESSAGES)
]

UsersArg = Annotated[
    list[str] | None,
    typer.Argument(metavar="USER", help="Usernames, @names or profile URLs.", show_default=False),
]


# --- values built from the options -------------------------------------------------------


def _output_spec(
    format: str | None,
    path: Path | None,
    fields: str | None,
    *,
    raw: bool = False,
    formula_guard: bool,
    excel: bool,
    resume: bool,
) -> "OutputSpec":
    """An output as the options ask it; an unknown format or an empty --fields is a usage error now."""
    from tiktok_cli.output import OutputSpec

    if format is not None:
        writers.load(format)  # unknown format: usage error now, before any request
    columns = tuple(f.strip() for f in fields.split(",") if f.strip()) if fields is not None else None
    if fields is not None and not columns:
        raise UsageError("--fields needs at least one field name")
    return OutputSpec(
        format=format,
        path=None if path is not None and str(path) == "-" else path,  # -o -: stdout
        fields=columns,
        raw=raw,
        formula_guard=formula_guard,
        excel=excel,
        resume=resume,
    )


def _say(line: str) -> None:
    """Print a line that is not a row (the version, doctor's checks, settings) to stdout.

    Click's echo drops text silently when stdout is closed (`>&-`); a script reading us must
    learn that nothing was printed, as it does for rows.
    """
    if sys.stdout is None:
        from tiktok_cli.errors import OutputError

        raise OutputError("standard output is closed, so there is nowhere to print to")
    typer.echo(line)


# --- the commands --------------------------------------------------------------------------


def _version(value: bool) -> None:
    if value:
        _say(f"tiktok {__version__} ({DISTRIBUTION})")
        raise typer.Exit()


_ROOT_HELP = """Look up TikTok accounts and export who they follow and who follows them.

First run? With nothing configured, the commands read tiktok.com directly.
`tiktok doctor` says which source each command uses and why, checks it, and says
what to set; `tiktok config` shows and sets settings.

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


@app.command(
    "user-info",
    cls=Command,
    epilog="Examples:\n\n\b\n"
    "  tiktok user-info taylorswift\n"
    "  tiktok user-info @cnn https://www.tiktok.com/@nasa -f csv -o accounts.csv\n"
    "  tiktok user-info --input accounts.txt --errors failed.txt -o accounts.jsonl",
)
def user_info(
    users: UsersArg = None,
    input_file: InputOpt = None,
    shard: ShardOpt = None,
    concurrency: ConcurrencyOpt = 4,
    errors: ErrorsOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    fields: FieldsOpt = None,
    raw: RawOpt = False,
    no_formula_guard: NoFormulaGuardOpt = False,
    excel: ExcelOpt = False,
    db: DbOpt = None,
    backend: BackendOpt = None,
    gateway_url: GatewayUrlOpt = None,
    api_url: ApiUrlOpt = None,
    cookies: CookiesOpt = None,
    cookies_from_browser: CookiesFromBrowserOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    rate: RateOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Show one record per account, in the order given."""
    with error_edge(debug=debug, quiet=quiet):
        from tiktok_cli import identifiers, shards
        from tiktok_cli.batch import Batch
        from tiktok_cli.config import load_settings
        from tiktok_cli.user_info import look_up

        spec = _output_spec(
            format, output, fields, raw=raw, formula_guard=not no_formula_guard, excel=excel, resume=True
        )
        share = shards.asked(shard)
        targets = identifiers.accounts(users, input_file, shard=share)
        if not targets:
            return
        settings = load_settings(
            {
                "backend": backend,
                "gateway_url": gateway_url,
                "api_url": api_url,
                "cookies": cookies,
                "cookies_from_browser": cookies_from_browser,
                "timeout": timeout,
                "retries": retries,
                "rate": rate,
                "db": db,
            }
        )
        look_up(
            targets,
            settings,
            spec,
            batch=Batch(concurrency, errors, listed=input_file is not None or share is not None),
            trace=verbose,
        )


@app.command(
    cls=Command,
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
    count: Annotated[
        int,
        typer.Option(
            "--count",
            parser=whole_number(1, 50),
            metavar="N",
            help="Page size asked of the API, 1 to 50. [default: 50]",
            show_default=False,
        ),
    ] = 50,
    min_cursor: Annotated[
        int | None,
        typer.Option(
            "--min-cursor",
            parser=whole_number(0),
            metavar="CURSOR",
            help="Start from this cursor (as printed by an interrupted run).",
        ),
    ] = None,
    max_cursor: Annotated[
        int | None,
        typer.Option(
            "--max-cursor",
            parser=whole_number(0),
            metavar="CURSOR",
            help="The gateway's maxCursor. [default: 0]",
        ),
    ] = None,
    input_file: InputOpt = None,
    shard: ShardOpt = None,
    concurrency: ConcurrencyOpt = 4,
    errors: ErrorsOpt = None,
    limit: LimitOpt = None,
    no_resume: NoResumeOpt = False,
    sleep: SleepOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    fields: FieldsOpt = None,
    raw: ListRawOpt = False,
    no_formula_guard: NoFormulaGuardOpt = False,
    excel: ExcelOpt = False,
    db: DbOpt = None,
    new_only: NewOnlyOpt = False,
    full_every: FullEveryOpt = None,
    backend: BackendOpt = None,
    gateway_url: GatewayUrlOpt = None,
    api_url: ApiUrlOpt = None,
    cookies: CookiesOpt = None,
    cookies_from_browser: CookiesFromBrowserOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    rate: RateOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Export every account USER follows."""
    with error_edge(debug=debug, quiet=quiet):
        _export_lists(
            "followings",
            users,
            input_file=input_file,
            shard=shard,
            sec_uid=sec_uid,
            id_options=("--sec-uid",),
            cursor=min_cursor,
            page_size=count,
            max_cursor=max_cursor,
            spec=_output_spec(
                format,
                output,
                fields,
                raw=raw,
                formula_guard=not no_formula_guard,
                excel=excel,
                resume=not no_resume,
            ),
            flags={
                "backend": backend,
                "gateway_url": gateway_url,
                "api_url": api_url,
                "cookies": cookies,
                "cookies_from_browser": cookies_from_browser,
                "timeout": timeout,
                "retries": retries,
                "rate": rate,
                "db": db,
            },
            limit=limit,
            sleep=sleep,
            concurrency=concurrency,
            errors=errors,
            verbose=verbose,
            new_only=new_only,
            full_every=full_every,
        )


@app.command(
    cls=Command,
    epilog="Examples:\n\n\b\n"
    "  TIKTOK_API_URL=http://HOST/tk TIKTOK_API_TOKEN=... tiktok followers cnn -o followers.csv\n"
    "  tiktok followers --uid 6754915036232582149 --limit 500 | jq -r .unique_id\n"
    "  tiktok followers --input accounts.txt --errors failed.txt -o followers.csv\n"
    "  tiktok followers --input accounts.txt --shard 0/3 -o followers-0.csv   # worker 0 of 3\n"
    "  tiktok followers --input accounts.txt --db tiktok.db --new-only --full-every 7d -f none   # nightly",
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
    cursor: Annotated[
        int | None,
        typer.Option(
            "--cursor",
            parser=whole_number(0),
            metavar="CURSOR",
            help="Start from this cursor (as printed by an interrupted run).",
        ),
    ] = None,
    input_file: InputOpt = None,
    shard: ShardOpt = None,
    concurrency: ConcurrencyOpt = 4,
    errors: ErrorsOpt = None,
    limit: LimitOpt = None,
    no_resume: NoResumeOpt = False,
    sleep: SleepOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    fields: FieldsOpt = None,
    raw: ListRawOpt = False,
    no_formula_guard: NoFormulaGuardOpt = False,
    excel: ExcelOpt = False,
    db: DbOpt = None,
    new_only: NewOnlyOpt = False,
    full_every: FullEveryOpt = None,
    backend: BackendOpt = None,
    gateway_url: GatewayUrlOpt = None,
    api_url: ApiUrlOpt = None,
    cookies: CookiesOpt = None,
    cookies_from_browser: CookiesFromBrowserOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    rate: RateOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Export every account that follows USER."""
    with error_edge(debug=debug, quiet=quiet):
        _export_lists(
            "followers",
            users,
            input_file=input_file,
            shard=shard,
            uid=uid,
            sec_uid=sec_uid,
            id_options=("--uid", "--sec-uid"),
            cursor=cursor,
            spec=_output_spec(
                format,
                output,
                fields,
                raw=raw,
                formula_guard=not no_formula_guard,
                excel=excel,
                resume=not no_resume,
            ),
            flags={
                "backend": backend,
                "gateway_url": gateway_url,
                "api_url": api_url,
                "cookies": cookies,
                "cookies_from_browser": cookies_from_browser,
                "timeout": timeout,
                "retries": retries,
                "rate": rate,
                "db": db,
            },
            limit=limit,
            sleep=sleep,
            concurrency=concurrency,
            errors=errors,
            verbose=verbose,
            new_only=new_only,
            full_every=full_every,
        )


def _export_lists(
    operation: str,
    users: list[str] | None,
    *,
    input_file: str | None,
    shard: str | None,
    uid: str | None = None,
    sec_uid: str | None = None,
    id_options: tuple[str, ...],
    cursor: int | None,
    page_size: int | None = None,
    max_cursor: int | None = None,
    spec: "OutputSpec",
    flags: dict[str, object],
    limit: int | None,
    sleep: str | None,
    concurrency: int,
    errors: Path | None,
    verbose: bool,
    new_only: bool = False,
    full_every: str | None = None,
) -> None:
    """One list command: the ``operation`` list of each account named, exported as asked."""
    from tiktok_cli import identifiers, shards
    from tiktok_cli.backends.base import ListQuery, Operation
    from tiktok_cli.batch import Batch
    from tiktok_cli.config import load_settings
    from tiktok_cli.export import export_lists
    from tiktok_cli.paginate import Pacing
    from tiktok_cli.store.list_recording import NewOnly

    incremental = NewOnly.parse(new_only, full_every)
    if incremental is not None:
        start = "--min-cursor/--max-cursor" if operation == "followings" else "--cursor"
        if cursor is not None or max_cursor:
            raise UsageError(f"--new-only reads each list from its first page: it takes no {start}")
        if limit is not None:
            raise UsageError(
                "--new-only stops each list by itself, at the accounts already stored: drop --limit"
            )
    share = shards.asked(shard)  # a bad --shard fails before the input is read
    targets = identifiers.accounts(
        users, input_file, shard=share, sec_uid=sec_uid, uid=uid, unique=True, id_options=id_options
    )
    settings = load_settings(flags)
    if incremental is not None and settings.db is None:
        raise UsageError(
            "--new-only tells new accounts from those a store holds: give --db (or set TIKTOK_DB)"
        )
    if not targets:
        return
    if cursor is not None and len(targets) > 1:
        raise UsageError("a start cursor belongs to one list: give one account with it")
    first_query = ListQuery(targets[0].account, cursor=cursor, page_size=page_size, max_cursor=max_cursor)
    export_lists(
        Operation(operation),
        targets,
        first_query,
        settings,
        spec,
        limit=limit,
        pacing=Pacing.parse(sleep),
        batch=Batch(concurrency, errors, listed=input_file is not None or share is not None),
        trace=verbose,
        new_only=incremental,
    )


@app.command(
    cls=Command,
    help="Check that the data sources each command would use work.\n\n"
    "One line per check: ok, FAIL or skip, with what to do. One request per data source, with a "
    f"short timeout and no retries. Exit {ExitCode.OK:d} when no check failed; otherwise the "
    f"exit code the first failing command would give ({ExitCode.NOT_VISIBLE:d} lists that need a "
    f"logged-in session, {ExitCode.CONFIG:d} settings or token, {ExitCode.BLOCKED:d} blocked, "
    f"{ExitCode.UPSTREAM:d} unreachable), else the first failed check's.",
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
    cookies_from_browser: CookiesFromBrowserOpt = None,
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Per-request timeout of the checks. [default: the timeout setting, at most 10]",
            rich_help_panel=CONNECTION,
        ),
    ] = None,
    db: DbOpt = None,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Run the checks, one line each on stdout; exit with the first failing command's code."""
    with error_edge(debug=debug, setup_hint=False):
        from tiktok_cli.doctor import exit_code, run_checks

        flags = {
            "backend": backend,
            "gateway_url": gateway_url,
            "api_url": api_url,
            "cookies": cookies,
            "cookies_from_browser": cookies_from_browser,
            "timeout": timeout,
            "db": db,
        }
        checks = []
        for check in run_checks(flags, trace=verbose):
            _say(check.line())
            checks.append(check)
        code = exit_code(checks)
    raise typer.Exit(int(code))


# --- the store's reports: changes, history, snapshots ---------------------------------------
# They read the store and make no request: their --format has no `none` (a report does
# nothing but write rows), their --db reads, and each names its own columns.

# The format that writes no rows (writers/none.py; a test checks).
NO_ROWS_FORMAT = "none"
_REPORT_FORMATS = [name for name in writers.names() if name != NO_ROWS_FORMAT]

ReportFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        autocompletion=_complete_formats,
        help=f"{_one_of(_REPORT_FORMATS)}. Default: the -o file's extension (.csv, .json, "
        ".jsonl/.ndjson, .txt), else table on a terminal, else jsonl.",
        rich_help_panel=OUTPUT,
    ),
]
ReportOutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        dir_okay=False,
        help="Write to FILE (atomically; its folder is created) instead of standard output. - is "
        "standard output; a FIFO, device or /dev/fd/N is written directly.",
        rich_help_panel=OUTPUT,
    ),
]
ReportDbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="TARGET",
        help="The snapshot store to read: a SQLite file or a postgresql://USER@HOST/DB URL (password "
        "from ~/.pgpass or PGPASSWORD). [env: TIKTOK_DB]",
        rich_help_panel=STORE,
    ),
]
ReportQuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="No notes on stderr, only the rows, warnings and errors.",
        rich_help_panel=MESSAGES,
    ),
]
# An account of the store named by one of its ids instead of USER.
StoreUidOpt = Annotated[
    str | None,
    typer.Option("--uid", metavar="UID", help="The account's numeric user id instead of USER."),
]
StoreSecUidOpt = Annotated[
    str | None,
    typer.Option("--sec-uid", metavar="SECUID", help="The account's secUid instead of USER."),
]
# Which of an account's recorded lists to read (neither: every list recorded).
FollowersOnlyOpt = Annotated[bool, typer.Option("--followers", help="Only the account's followers.")]
FollowingsOnlyOpt = Annotated[bool, typer.Option("--followings", help="Only the accounts it follows.")]

UserArg = Annotated[
    str | None,
    typer.Argument(
        metavar="USER", help="A username (current or past), @name or profile URL.", show_default=False
    ),
]


def _columns_help(columns: Sequence[str]) -> str:
    return f"Columns to write, in order ({', '.join(columns)})."


def _report_spec(
    format: str | None,
    path: Path | None,
    fields: str | None,
    *,
    no_formula_guard: bool,
    excel: bool,
    command: str,
) -> "OutputSpec":
    """A report's output as asked; -f none is refused: a report has nothing to do but write rows."""
    if format is not None and not writers.load(format).writes_rows:
        raise UsageError(
            f"-f {format} writes no rows, and `tiktok {command}` does nothing else: "
            f"choose {_one_of(_REPORT_FORMATS)}"
        )
    return _output_spec(format, path, fields, formula_guard=not no_formula_guard, excel=excel, resume=False)


def _list_names(followers: bool, followings: bool) -> tuple[str, ...] | None:
    """The lists --followers and --followings ask for; None: every list recorded."""
    asked = tuple(name for name, given in (("followers", followers), ("followings", followings)) if given)
    return asked or None


@app.command(
    cls=Command,
    short_help="Who followed, unfollowed or renamed, from the store.",
    epilog="Examples:\n\n\b\n"
    "  tiktok changes cnn --db tiktok.db\n"
    "  tiktok changes cnn --db tiktok.db --followers --since 7d -f csv -o week.csv\n"
    "  tiktok changes cnn --db tiktok.db --from 12 --to 40   # ids as `tiktok snapshots` lists them\n"
    "  tiktok changes --input accounts.txt --db postgresql://me@db.example/tiktok",
)
def changes(
    users: UsersArg = None,
    uid: StoreUidOpt = None,
    sec_uid: StoreSecUidOpt = None,
    input_file: InputOpt = None,
    shard: ShardOpt = None,
    followers: FollowersOnlyOpt = False,
    followings: FollowingsOnlyOpt = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="From the last complete or window snapshot at or before WHEN: a date or time in UTC "
            "(2026-12-01, 2026-12-01T08:00) or an age (24h, 7d, 2w).",
        ),
    ] = None,
    from_run: Annotated[
        int | None,
        typer.Option(
            "--from",
            parser=whole_number(1),
            metavar="RUN",
            help="Compare from this complete or window snapshot (with --to).",
        ),
    ] = None,
    to_run: Annotated[
        int | None,
        typer.Option(
            "--to",
            parser=whole_number(1),
            metavar="RUN",
            help="Compare to this complete or window snapshot (with --from).",
        ),
    ] = None,
    format: ReportFormatOpt = None,
    output: ReportOutputOpt = None,
    no_formula_guard: NoFormulaGuardOpt = False,
    excel: ExcelOpt = False,
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields",
            metavar="A,B,...",
            help=_columns_help((OWNER_FIELD, *CHANGE_COLUMNS))
            + " owner only with several accounts, --input or --shard.",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    db: ReportDbOpt = None,
    quiet: ReportQuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Show who followed, unfollowed or renamed between two snapshots of a list.

    By default between the last two usable snapshots (complete, or a window: the newest
    part TikTok serves) of each list recorded for USER (with --db on followers or
    followings). A run cut short never counts as an unfollow; what a comparison could not
    see (a window, a broken order, windows that did not overlap) is a warning -q never hides.
    Columns: owner (several accounts, --input or --shard), list, change (followed,
    unfollowed or renamed), old_unique_id, since and until (the UTC window in which it
    happened), then the member's fields; --fields picks among them.
    """
    with error_edge(debug=debug, quiet=quiet):
        from tiktok_cli import identifiers, shards
        from tiktok_cli.config import store_target
        from tiktok_cli.tracking import show_changes

        if since is not None and (from_run is not None or to_run is not None):
            raise UsageError("--since and --from/--to choose the snapshots two ways: give one")
        if (from_run is None) != (to_run is None):
            raise UsageError("--from and --to go together: the two snapshots to compare")
        spec = _report_spec(
            format, output, fields, no_formula_guard=no_formula_guard, excel=excel, command="changes"
        )
        share = shards.asked(shard)
        targets = identifiers.accounts(
            users,
            input_file,
            shard=share,
            uid=uid,
            sec_uid=sec_uid,
            unique=True,
            id_options=("--uid", "--sec-uid"),
        )
        store = store_target({"db": db})
        if not targets:
            return
        span = (from_run, to_run) if from_run is not None and to_run is not None else None
        show_changes(
            targets,
            store,
            spec,
            list_names=_list_names(followers, followings),
            since=since,
            span=span,
            listed=input_file is not None or share is not None,
        )


@app.command(
    cls=Command,
    short_help="An account's counts over time, from the store.",
    epilog="Examples:\n\n\b\n"
    "  tiktok history cnn --db tiktok.db\n"
    "  tiktok history cnn --db tiktok.db --plot cnn.png -f csv -o cnn-counts.csv",
)
def history(
    user: UserArg = None,
    uid: StoreUidOpt = None,
    sec_uid: StoreSecUidOpt = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            metavar="FILE",
            dir_okay=False,
            help="Also draw the follower, following and likes curves into FILE (.png or .svg; "
            "needs the plot extra: pip install 'tiktok-follows[plot]').",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    format: ReportFormatOpt = None,
    output: ReportOutputOpt = None,
    no_formula_guard: NoFormulaGuardOpt = False,
    excel: ExcelOpt = False,
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields", metavar="A,B,...", help=_columns_help(HISTORY_COLUMNS), rich_help_panel=OUTPUT
        ),
    ] = None,
    db: ReportDbOpt = None,
    quiet: ReportQuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Show an account's counts over time, one row per observation, with each change.

    Observations are recorded by user-info with --db. Columns: observed_at (UTC), backend,
    followers, following, likes, videos, and followers_change, following_change,
    likes_change, videos_change since the observation before by the same backend. On a
    terminal a trend line of the followers follows the table.
    """
    with error_edge(debug=debug, quiet=quiet):
        from tiktok_cli.config import store_target
        from tiktok_cli.identifiers import one_account
        from tiktok_cli.tracking import show_history

        spec = _report_spec(
            format, output, fields, no_formula_guard=no_formula_guard, excel=excel, command="history"
        )
        target = one_account(user, uid=uid, sec_uid=sec_uid)
        show_history(target, store_target({"db": db}), spec, plot=plot)


@app.command(
    cls=Command,
    short_help="The runs the store recorded of an account's lists.",
    epilog="Examples:\n\n\b\n"
    "  tiktok snapshots cnn --db tiktok.db\n"
    "  tiktok snapshots cnn --db tiktok.db --followers -f csv",
)
def snapshots(
    user: UserArg = None,
    uid: StoreUidOpt = None,
    sec_uid: StoreSecUidOpt = None,
    followers: FollowersOnlyOpt = False,
    followings: FollowingsOnlyOpt = False,
    format: ReportFormatOpt = None,
    output: ReportOutputOpt = None,
    no_formula_guard: NoFormulaGuardOpt = False,
    excel: ExcelOpt = False,
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields", metavar="A,B,...", help=_columns_help(SNAPSHOT_COLUMNS), rich_help_panel=OUTPUT
        ),
    ] = None,
    db: ReportDbOpt = None,
    quiet: ReportQuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """List the runs recorded of an account's lists: id, list, times, status and counts.

    status is complete (the whole list was seen), window (its newest part, down to TikTok's
    cap or, with --new-only, to known members), incomplete (note says why: interrupted,
    --limit, a list well short of its count), running (still running, or killed and not
    resumed) or abandoned (killed, and a later run of the list finished); kind adds what
    limits it (new only, no overlap, order broken); coverage is rows of TikTok's count.
    """
    with error_edge(debug=debug, quiet=quiet):
        from tiktok_cli.config import store_target
        from tiktok_cli.identifiers import one_account
        from tiktok_cli.tracking import show_snapshots

        spec = _report_spec(
            format, output, fields, no_formula_guard=no_formula_guard, excel=excel, command="snapshots"
        )
        target = one_account(user, uid=uid, sec_uid=sec_uid)
        show_snapshots(target, store_target({"db": db}), spec, list_names=_list_names(followers, followings))


@config_app.command("path", cls=Command)
def config_path_command() -> None:
    """Print where the config file is read from (it need not exist)."""
    from tiktok_cli.settings import config_path

    _say(str(config_path()))


@config_app.command("show", cls=Command)
def config_show(
    backend: BackendOpt = None,
    gateway_url: GatewayUrlOpt = None,
    api_url: ApiUrlOpt = None,
    cookies: CookiesOpt = None,
    cookies_from_browser: CookiesFromBrowserOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    rate: RateOpt = None,
    db: DbOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Print the settings in effect as TOML, each with where it comes from.

    A value comes from a flag given here, an environment variable (named), the config
    file, or the default, in that order of precedence; the rate is the one the backend
    would use. Unset settings and secrets (masked) are comment lines, so the text can be
    pasted into the config file as it is.
    """
    with error_edge(debug=debug, setup_hint=False):
        from tiktok_cli.config import effective_settings, settings_toml
        from tiktok_cli.safetext import for_terminal
        from tiktok_cli.settings import config_path

        settings, origins = effective_settings(
            {
                "backend": backend,
                "gateway_url": gateway_url,
                "api_url": api_url,
                "cookies": cookies,
                "cookies_from_browser": cookies_from_browser,
                "timeout": timeout,
                "retries": retries,
                "rate": rate,
                "db": db,
            }
        )
        path = config_path()
        _say(f"# config file: {path}" + ("" if path.is_file() else " (does not exist)"))
        for line in settings_toml(settings, origins):
            _say(for_terminal(line))


_SETTINGS_EPILOG = "Settings:\n\n\b\n" + "\n".join(f"  {n:<12} {setting_help(n)}" for n in SETTING_NAMES)


def _complete_settings(incomplete: str) -> list[str]:
    return [name for name in SETTING_NAMES if name.startswith(incomplete)]


SettingArg = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        autocompletion=_complete_settings,
        help="Setting name: " + ", ".join(SETTING_NAMES) + ".",
    ),
]


@config_app.command("get", cls=Command, epilog=_SETTINGS_EPILOG)
def config_get(
    name: SettingArg,
    show_secret: Annotated[
        bool,
        typer.Option(
            "--show-secret",
            help="Print the value even when it is a secret (the token, cookie values, a database password).",
        ),
    ] = False,
    backend: BackendOpt = None,
    gateway_url: GatewayUrlOpt = None,
    api_url: ApiUrlOpt = None,
    cookies: CookiesOpt = None,
    cookies_from_browser: CookiesFromBrowserOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    rate: RateOpt = None,
    db: DbOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Print the value one setting has in effect, alone on a line, for scripts.

    Nothing is printed for a setting that is not set (a note goes to stderr). A secret is
    refused unless --show-secret asks for it.
    """
    with error_edge(debug=debug, setup_hint=False):
        from tiktok_cli import console
        from tiktok_cli.config import effective_settings, setting_value

        settings, _ = effective_settings(
            {
                "backend": backend,
                "gateway_url": gateway_url,
                "api_url": api_url,
                "cookies": cookies,
                "cookies_from_browser": cookies_from_browser,
                "timeout": timeout,
                "retries": retries,
                "rate": rate,
                "db": db,
            }
        )
        value = setting_value(settings, name, reveal=show_secret)
        if value is None:
            console.info(f"{name} is not set")
        else:
            _say(value)


@config_app.command("set", cls=Command, epilog=_SETTINGS_EPILOG)
def config_set(
    name: SettingArg,
    value: Annotated[
        str | None,
        typer.Argument(metavar="VALUE", help="New value; api_token is read from a prompt or stdin instead."),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Set one setting in the config file (created owner-only, mode 0600).

    api_token is never taken from the command line, where other local users and shell
    history can see it: type it at the prompt or pipe it in. cookies takes the path of
    a cookies.txt file (stored as an absolute path), never the cookie values themselves.
    """
    with error_edge(debug=debug, setup_hint=False):
        from tiktok_cli import console
        from tiktok_cli.config import write_setting

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


@config_app.command("unset", cls=Command, epilog=_SETTINGS_EPILOG)
def config_unset(name: SettingArg, debug: DebugOpt = False) -> None:
    """Remove one setting from the config file.

    A setting the file does not hold is said so on stderr, and the exit status is still 0:
    afterwards it is not set in the file either way.
    """
    with error_edge(debug=debug, setup_hint=False):
        from tiktok_cli import console
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


def main() -> None:
    """Console-script entry point: usage errors, like every failure, are one line on stderr."""
    if sys.stderr is None:
        # Started with `2>&-`: messages have nowhere to go, but the exit code must still be right.
        sys.stderr = Path(os.devnull).open("w", encoding="utf-8")  # noqa: SIM115 - lives as long as we do
    # Outside a command, only help, usage and --version text is written: to standard output.
    with error_edge(setup_hint=False, output="standard output"):
        code = run(app, prog_name="tiktok")
    raise SystemExit(code)
