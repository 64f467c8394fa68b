"""The `tiktok` command: parse arguments, build settings, call the one function that does
the work (``export.export_lists``, ``user_info.look_up``, …); nothing else.

Options come in groups (output, store, connection, batch, list, verbosity), each declared once
as an immutable record; a command takes the groups it needs, and ``with_groups`` shows
their fields to Typer as the command's own options.

Heavy modules (httpx, rich tables, orjson, the backends) are imported inside the
commands, so `tiktok --help` and `--version` start as fast as Typer itself.
"""

import copy
import functools
import inspect
import os
import sys
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple, TypeGuard

import typer

from tiktok_cli import __version__, backends, writers  # the registries: names only, no module loaded
from tiktok_cli.command import CONNECTION, INPUT, MESSAGES, OUTPUT, PACING, STORE, Command, whole_number
from tiktok_cli.errors import ConfigError, ExitCode, TikTokCliError, UnreachableError, UsageError
from tiktok_cli.models import FETCHED_AT, FIELDS, OWNER_FIELD  # standard library only
from tiktok_cli.reports import CHANGE_COLUMNS, HISTORY_COLUMNS, SNAPSHOT_COLUMNS

if TYPE_CHECKING:
    from tiktok_cli.batch import Batch
    from tiktok_cli.errors import Interrupted
    from tiktok_cli.identifiers import Target
    from tiktok_cli.output import OutputSpec
    from tiktok_cli.paginate import Pacing
    from tiktok_cli.settings import Settings
    from tiktok_cli.shards import Shard

# The name this project is installed under (`tiktok-cli` on PyPI is someone else's project).
DISTRIBUTION = "tiktok-follows"


def _one_of(names: Sequence[str]) -> str:
    """``a, b or c``."""
    *others, last = names
    return f"{', '.join(others)} or {last}" if others else last


BACKEND_CHOICES = (backends.AUTO, *backends.names())
# What a few backends are, where their name alone does not say it.
_BACKEND_NOTES = {
    backends.AUTO: "the gateway and token API where configured, else tiktok.com",
    "web": "tiktok.com itself",
}

# The settings' names, in the order of tiktok_cli.config.SETTING_NAMES, and their
# defaults as settings.Settings has them (tests check both): importing those modules
# here would cost every start-up, --help included.
SETTING_HELP = (
    ("backend", _one_of(BACKEND_CHOICES)),
    ("gateway_url", "base URL of the REST gateway (default http://localhost:3000/tiktok)"),
    ("api_url", "base URL of the token API, e.g. http://HOST/tk"),
    ("api_token", "the token API's token (a secret: asked for, never an argument)"),
    ("web_url", "tiktok.com's address (default https://www.tiktok.com)"),
    ("cookies", "path of a cookies.txt for --backend web"),
    ("cookies_from_browser", "BROWSER[:PROFILE] whose tiktok.com cookies --backend web reads"),
    ("signer_url", "URL of a signing service for tiktok.com API calls, e.g. http://HOST:8080/signature"),
    ("timeout", "seconds per request (default 20)"),
    ("retries", "retries of a failed request, 0 to 100 (default 4)"),
    ("rate", "requests per second at most (default unlimited; 1 for web)"),
    ("db", "snapshot store for --db: a SQLite file, or a postgresql:// URL without password"),
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
    from tiktok_cli.models import FETCHED_AT, FIELDS, OWNER_FIELD

    done, _, last = incomplete.rpartition(",")
    prefix = done + "," if done else ""
    return [prefix + f for f in (OWNER_FIELD, *FIELDS, FETCHED_AT) if f.startswith(last)]


# --- option groups -----------------------------------------------------------------------
# A group is a NamedTuple whose fields carry their Typer declarations (a NamedTuple rather
# than a frozen dataclass: it is as immutable and builds ~5x faster, and every start-up
# builds them all). A command takes groups (and its own few options), and `with_groups`
# gives Typer their fields. Adding an option to every command that takes a group is one field.


def _is_group(annotation: object) -> TypeGuard[type[NamedTuple]]:
    return isinstance(annotation, type) and issubclass(annotation, tuple) and hasattr(annotation, "_fields")


@functools.cache
def _fields(group: type[NamedTuple]) -> tuple[tuple[str, object, object], ...]:
    """(name, annotation, default) of each field of ``group``; a nested group is one field."""
    hints = inspect.get_annotations(group, eval_str=True)
    defaults = group._field_defaults
    return tuple((name, hints[name], defaults.get(name, inspect.Parameter.empty)) for name in group._fields)


def _options(group: type[NamedTuple]) -> Iterator[inspect.Parameter]:
    """The options of ``group`` in order, a nested group's in its place, as Typer should see them."""
    for name, annotation, default in _fields(group):
        if _is_group(annotation):
            yield from _options(annotation)
        else:
            yield inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )


def _build(group: type[NamedTuple], values: dict[str, object]) -> NamedTuple:
    """``group`` rebuilt from the parsed options in ``values`` (which loses them)."""
    return group._make(
        _build(annotation, values) if _is_group(annotation) else values.pop(name)
        for name, annotation, _ in _fields(group)
    )


def _flags(group: NamedTuple) -> dict[str, object]:
    """A group's options by name, a nested group's included (None: not given)."""
    flags: dict[str, object] = {}
    for name, value in group._asdict().items():
        if _is_group(type(value)):
            flags.update(_flags(value))
        else:
            flags[name] = value
    return flags


def _worded(parameter: inspect.Parameter, help: str) -> inspect.Parameter:
    """``parameter`` with its option's help replaced by ``help``."""
    kind, info = typing.get_args(parameter.annotation)[:2]
    reworded = copy.copy(info)
    reworded.help = help
    return parameter.replace(annotation=Annotated[kind, reworded])


@typing.overload
def with_groups(command: Callable[..., None], /) -> Callable[..., None]: ...
@typing.overload
def with_groups(*, words: Mapping[str, str]) -> Callable[[Callable[..., None]], Callable[..., None]]: ...
def with_groups(
    command: Callable[..., None] | None = None, /, *, words: Mapping[str, str] | None = None
) -> Callable[..., None] | Callable[[Callable[..., None]], Callable[..., None]]:
    """Show Typer the options of the groups ``command`` takes, each in its group's place.

    Typer reads a command's options from ``inspect.signature``: in the one it gets here,
    a parameter annotated with a group is replaced by the group's fields, and a call
    rebuilds the group from them. Every option name must be unique across the command.
    ``words`` (``@with_groups(words={"raw": ...})``) gives a group's option this command's
    own help, where what the option does here differs from the group's general words.
    """
    if command is None:
        return functools.partial(_with_groups, words=words or {})
    return _with_groups(command, words=words or {})


def _with_groups(command: Callable[..., None], *, words: Mapping[str, str]) -> Callable[..., None]:
    groups: dict[str, type[NamedTuple]] = {}
    flat: list[inspect.Parameter] = []
    for parameter in inspect.signature(command, eval_str=True).parameters.values():
        if _is_group(parameter.annotation):
            groups[parameter.name] = parameter.annotation
            flat += (
                _worded(option, words[option.name]) if option.name in words else option
                for option in _options(parameter.annotation)
            )
        else:  # keyword-only, like the groups' options, so the two can mix in any order
            flat.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))
    unknown = sorted(set(words) - {parameter.name for parameter in flat})
    if unknown:
        raise TypeError(f"{command.__name__}: no option named {', '.join(unknown)} to word")
    names = [parameter.name for parameter in flat] + list(groups)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise TypeError(f"{command.__name__}: more than one option or group named {', '.join(repeated)}")

    @functools.wraps(command)
    def call(**values: object) -> None:
        for name, group in groups.items():
            values[name] = _build(group, values)
        command(**values)

    call.__signature__ = inspect.Signature(flat)  # type: ignore[attr-defined]
    # The signature's annotations are evaluated already: left here, Typer would only take
    # them through typing.get_type_hints again, on every start-up.
    call.__annotations__ = {}
    return call


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


class OutputOptions(NamedTuple):
    """Where rows go and how they are written."""

    format: Annotated[
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
    ] = None
    path: Annotated[
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
    ] = None
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields",
            metavar="A,B,...",
            autocompletion=_complete_fields,
            help=f"Columns to write, in order ({', '.join((OWNER_FIELD, *FIELDS, FETCHED_AT))}).",
            rich_help_panel=OUTPUT,
        ),
    ] = None
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            # Each command words it (with_groups' words=): what it allows differs.
            help="Write the API's own objects unchanged (-f jsonl or json; no --fields).",
            rich_help_panel=OUTPUT,
        ),
    ] = False
    no_formula_guard: NoFormulaGuardOpt = False
    excel: ExcelOpt = False

    def spec(self, *, resume: bool = True) -> "OutputSpec":
        """The output as asked; an unknown format or an empty --fields is a usage error now."""
        return _output_spec(
            self.format,
            self.path,
            self.fields,
            raw=self.raw,
            formula_guard=not self.no_formula_guard,
            excel=self.excel,
            resume=resume,
        )


def _output_spec(
    format: str | None,
    path: Path | None,
    fields: str | None,
    *,
    raw: bool,
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


# The format that writes no rows (writers/none.py; a test checks): the store's reports,
# which only write rows, do not offer it.
NO_ROWS_FORMAT = "none"
_REPORT_FORMATS = [name for name in writers.names() if name != NO_ROWS_FORMAT]


class ReportOutputOptions(NamedTuple):
    """Where the rows of a report read from the store go (changes, history, snapshots).

    Each report names its own columns: its --fields is its own option.
    """

    format: Annotated[
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
    ] = None
    path: Annotated[
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
    ] = None
    no_formula_guard: NoFormulaGuardOpt = False
    excel: ExcelOpt = False

    def spec(self, fields: str | None, *, command: str) -> "OutputSpec":
        """The output as asked; -f none is refused: a report has nothing to do but write rows."""
        if self.format is not None and not writers.load(self.format).writes_rows:
            raise UsageError(
                f"-f {self.format} writes no rows, and `tiktok {command}` does nothing else: "
                f"choose {_one_of(_REPORT_FORMATS)}"
            )
        return _output_spec(
            self.format,
            self.path,
            fields,
            raw=False,
            formula_guard=not self.no_formula_guard,
            excel=self.excel,
            resume=False,
        )


class SourceOptions(NamedTuple):
    """Which data source answers, and where. Each option sets the setting of its name."""

    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            metavar="NAME",
            autocompletion=_complete_backends,
            help="Data source: "
            + _one_of([f"{n} ({_BACKEND_NOTES[n]})" if n in _BACKEND_NOTES else n for n in BACKEND_CHOICES])
            + ". [env: TIKTOK_BACKEND]",
            rich_help_panel=CONNECTION,
        ),
    ] = None
    gateway_url: Annotated[
        str | None,
        typer.Option(
            "--gateway-url",
            metavar="URL",
            help="Base URL of the REST gateway. [env: TIKTOK_GATEWAY_URL; default: "
            "http://localhost:3000/tiktok]",
            rich_help_panel=CONNECTION,
        ),
    ] = None
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            metavar="URL",
            help="Base URL of the token API, e.g. http://HOST/tk. The token itself comes from "
            "TIKTOK_API_TOKEN or the config file, never the command line. [env: TIKTOK_API_URL]",
            rich_help_panel=CONNECTION,
        ),
    ] = None
    cookies: Annotated[
        str | None,
        typer.Option(
            "--cookies",
            metavar="FILE",
            help="--backend web: a Netscape cookies.txt from a logged-in browser (a file: values "
            "typed here would be visible to other local users). [env: TIKTOK_COOKIES]",
            rich_help_panel=CONNECTION,
        ),
    ] = None
    cookies_from_browser: Annotated[
        str | None,
        typer.Option(
            "--cookies-from-browser",
            metavar="BROWSER[:PROFILE]",
            help="tiktok.com: read the session from a browser logged in to it (firefox, chrome, "
            "chromium, edge, brave, opera, vivaldi, safari), as yt-dlp does; only its tiktok.com "
            "cookies are kept, in memory. Needs the [browser] extra. [env: TIKTOK_COOKIES_FROM_BROWSER]",
            rich_help_panel=CONNECTION,
        ),
    ] = None


class ConnectionOptions(NamedTuple):
    """The data source, and how requests to it behave."""

    source: SourceOptions = SourceOptions()  # a nested group: its options come first
    # Strings: the settings' own parsers check them, in the same words as the config file's.
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Per-request timeout. [default: 20]",
            rich_help_panel=CONNECTION,
        ),
    ] = None
    retries: Annotated[
        str | None,
        typer.Option(
            "--retries",
            metavar="N",
            help="Retries for timeouts, 429 and 5xx answers, with backoff, 0 to 100. [default: 4]",
            rich_help_panel=CONNECTION,
        ),
    ] = None
    rate: Annotated[
        str | None,
        typer.Option(
            "--rate",
            metavar="N",
            help="At most N requests per second. [default: unlimited; 1 with --backend web]",
            rich_help_panel=PACING,
        ),
    ] = None

    def flags(self) -> dict[str, object]:
        """The settings given as options, by setting name (None: not given)."""
        return _flags(self)

    def settings(self, store: "StoreOptions | None" = None) -> "Settings":
        """These options (and ``store``'s) over the environment, the config file and the defaults."""
        from tiktok_cli.config import load_settings

        return load_settings({**self.flags(), **(store.flags() if store else {})})


class StoreOptions(NamedTuple):
    """The snapshot store that records runs (and that `changes` and `history` read)."""

    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="TARGET",
            help="The snapshot store: a SQLite file (a recording run creates it) or a "
            "postgresql://USER@HOST/DB URL (password from ~/.pgpass or PGPASSWORD). [env: TIKTOK_DB]",
            rich_help_panel=STORE,
        ),
    ] = None

    def flags(self) -> dict[str, object]:
        """The settings given as options, by setting name (None: not given)."""
        return _flags(self)

    def target(self) -> str:
        """The store to read: --db, else TIKTOK_DB, else the config file's db; none is a usage error."""
        from tiktok_cli.config import load_settings

        db = load_settings(self.flags()).db
        if not db:
            raise UsageError(
                "name the snapshot store: give --db TARGET or set TIKTOK_DB (or `tiktok config set db PATH`)"
            )
        return db


class AccountIdOptions(NamedTuple):
    """An account of the store named by one of its ids instead of USER."""

    uid: Annotated[
        str | None,
        typer.Option("--uid", metavar="UID", help="The account's numeric user id instead of USER."),
    ] = None
    sec_uid: Annotated[
        str | None,
        typer.Option("--sec-uid", metavar="SECUID", help="The account's secUid instead of USER."),
    ] = None

    def targets(self, users: list[str] | None, accounts: "InputOptions | None" = None) -> "list[Target]":
        """USERs, --input's accounts and these ids, each once."""
        return (accounts or InputOptions()).targets(
            users, uid=self.uid, sec_uid=self.sec_uid, unique=True, id_options=("--uid", "--sec-uid")
        )

    def target(self, user: str | None) -> "Target":
        """The one account USER or an id names (no --input, no --shard: one account)."""
        from tiktok_cli.identifiers import read_targets

        given = [user] if user is not None else []
        if len(given) + (self.uid is not None) + (self.sec_uid is not None) != 1:
            raise UsageError("name one account: USER, --uid or --sec-uid")
        (target,) = read_targets(given, None, uid=self.uid, sec_uid=self.sec_uid)
        return target


class ListKindOptions(NamedTuple):
    """Which of an account's recorded lists to read."""

    followers: Annotated[bool, typer.Option("--followers", help="Only the account's followers.")] = False
    followings: Annotated[bool, typer.Option("--followings", help="Only the accounts it follows.")] = False

    def kinds(self) -> tuple[str, ...] | None:
        """The kinds asked for; None: every kind recorded."""
        asked = tuple(
            kind for kind, given in (("followers", self.followers), ("followings", self.followings)) if given
        )
        return asked or None


class CheckOptions(NamedTuple):
    """`tiktok doctor`: the data source, checked with a short timeout and no retries."""

    source: SourceOptions = SourceOptions()
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Per-request timeout of the checks. [default: the timeout setting, at most 10]",
            rich_help_panel=CONNECTION,
        ),
    ] = None

    def flags(self) -> dict[str, object]:
        """The settings given as options, by setting name (None: not given)."""
        return _flags(self)


class ShardOptions(NamedTuple):
    """Which share of the accounts this process takes when N processes split one batch."""

    shard: Annotated[
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
    ] = None

    def given(self) -> tuple[str, str] | None:
        """The shard asked for and where it came from (--shard, else TIKTOK_SHARD); None: all."""
        if self.shard is not None:
            return self.shard, "--shard"
        value = os.environ.get("TIKTOK_SHARD")  # shards.SHARD_ENV: loaded only when one is given
        return (value, "TIKTOK_SHARD") if value else None

    def parsed(self) -> "Shard | None":
        """The shard asked for, checked (a bad value is a usage error now); None: every account."""
        given = self.given()
        if given is None:
            return None
        from tiktok_cli.shards import parse_shard

        return parse_shard(given[0], source=given[1], environ=os.environ)


class InputOptions(NamedTuple):
    """The accounts an --input file names, and (with --shard) this process's share of them."""

    input_file: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            metavar="FILE",
            help="Read accounts from FILE (- for stdin): one USER per line (blank lines and # "
            "comments skipped), or this tool's own jsonl or csv output.",
            rich_help_panel=INPUT,
        ),
    ] = None
    sharding: ShardOptions = ShardOptions()  # a nested group: --shard follows --input

    def targets(
        self,
        users: list[str] | None,
        *,
        sec_uid: str | None = None,
        uid: str | None = None,
        unique: bool = False,
        id_options: tuple[str, ...] = (),
    ) -> "list[Target]":
        """The accounts to process (with --shard, this process's share of them); an --input
        with none, or a share with none, is nothing to do (a note, exit 0)."""
        from tiktok_cli import console
        from tiktok_cli.identifiers import nothing_to_do, read_targets

        shard = self.sharding.parsed()  # a bad --shard fails before the input is read
        targets = read_targets(
            users or [],
            self.input_file,
            sec_uid=sec_uid,
            uid=uid,
            unique=unique,
            id_options=id_options,
            allow_empty=True,
        )
        if not targets and self.input_file is not None:
            console.info(nothing_to_do(self.input_file))
        if shard is not None and targets:
            targets = shard.take(targets)
        return targets

    def listed(self) -> bool:
        """Whether the accounts come from a list (--input or --shard): its rows carry the owner
        column however many accounts it holds (output.owner_column)."""
        return self.input_file is not None or self.sharding.given() is not None


class BatchOptions(NamedTuple):
    """The accounts an --input file names, how many run at once, and where failures go."""

    accounts: InputOptions = InputOptions()
    concurrency: Annotated[
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
    ] = 4
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors",
            metavar="FILE",
            dir_okay=False,
            help="Write each account that failed to FILE, one per line, ready for --input.",
            rich_help_panel=INPUT,
        ),
    ] = None

    def targets(
        self,
        users: list[str] | None,
        *,
        sec_uid: str | None = None,
        uid: str | None = None,
        unique: bool = False,
        id_options: tuple[str, ...] = (),
    ) -> "list[Target]":
        """The accounts to process (see ``InputOptions.targets``)."""
        return self.accounts.targets(users, sec_uid=sec_uid, uid=uid, unique=unique, id_options=id_options)

    def batch(self) -> "Batch":
        from tiktok_cli.batch import Batch

        return Batch(self.concurrency, self.errors, listed=self.accounts.listed())


class ListOptions(NamedTuple):
    """How much of a list to export, whether to resume, and the pause between pages."""

    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            parser=whole_number(1),
            metavar="N",
            help="Stop after exactly N accounts; no request is made beyond what N needs.",
            rich_help_panel=OUTPUT,
        ),
    ] = None
    no_resume: Annotated[
        bool,
        typer.Option(
            "--no-resume",
            help="With -o: start over instead of resuming an unfinished export of the same command.",
            rich_help_panel=OUTPUT,
        ),
    ] = False
    sleep: Annotated[
        str | None,
        typer.Option(
            "--sleep",
            metavar="MIN[-MAX]",
            help="Pause between pages, a random time between MIN and MAX seconds.",
            rich_help_panel=PACING,
        ),
    ] = None

    def pacing(self) -> "Pacing":
        """--sleep MIN[-MAX] checked (``Pacing.parse``)."""
        from tiktok_cli.paginate import Pacing

        return Pacing.parse(self.sleep)


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


class VerbosityOptions(NamedTuple):
    """What goes to stderr besides errors."""

    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress or summary.", rich_help_panel=MESSAGES)
    ] = False
    verbose: VerboseOpt = False
    debug: DebugOpt = False

    def error_edge(self) -> AbstractContextManager[None]:
        """The one error edge (see ``_error_edge``), quiet and verbose as asked."""
        return _error_edge(debug=self.debug, quiet=self.quiet)


class ReportVerbosity(NamedTuple):
    """What a report read from the store says on stderr besides errors (it makes no request)."""

    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No notes on stderr, only the rows and errors.", rich_help_panel=MESSAGES
        ),
    ] = False
    debug: DebugOpt = False

    def error_edge(self) -> AbstractContextManager[None]:
        """The one error edge (see ``_error_edge``), quiet as asked."""
        return _error_edge(debug=self.debug, quiet=self.quiet)


def _columns_help(columns: Sequence[str]) -> str:
    return f"Columns to write, in order ({', '.join(columns)})."


ChangeFieldsOpt = Annotated[
    str | None,
    typer.Option(
        "--fields",
        metavar="A,B,...",
        help=_columns_help((OWNER_FIELD, *CHANGE_COLUMNS))
        + " owner only with several accounts, --input or --shard.",
        rich_help_panel=OUTPUT,
    ),
]
HistoryFieldsOpt = Annotated[
    str | None,
    typer.Option("--fields", metavar="A,B,...", help=_columns_help(HISTORY_COLUMNS), rich_help_panel=OUTPUT),
]
SnapshotFieldsOpt = Annotated[
    str | None,
    typer.Option("--fields", metavar="A,B,...", help=_columns_help(SNAPSHOT_COLUMNS), rich_help_panel=OUTPUT),
]


# Options of a group whose words differ in some commands (with_groups' words=).
LIST_WORDS = {
    # Raw objects have no owner column: a batch's rows could not be told apart.
    "raw": "Write the API's own objects unchanged (-f jsonl or json; one account, no --fields).",
}
REPORT_WORDS = {
    "db": "The snapshot store to read: a SQLite file or a postgresql://USER@HOST/DB URL (password "
    "from ~/.pgpass or PGPASSWORD). [env: TIKTOK_DB]",
}


class ListExportOptions(NamedTuple):
    """What `followings` and `followers` share: every group of options but their own few."""

    batch: BatchOptions = BatchOptions()
    listing: ListOptions = ListOptions()
    output: OutputOptions = OutputOptions()
    store: StoreOptions = StoreOptions()
    connection: ConnectionOptions = ConnectionOptions()
    verbosity: VerbosityOptions = VerbosityOptions()


def _say(line: str) -> None:
    """Print a line that is not a row (the version, doctor's checks, settings) to stdout.

    Click's echo drops text silently when stdout is closed (`>&-`); a script reading us must
    learn that nothing was printed, as it does for rows.
    """
    if sys.stdout is None:
        from tiktok_cli.errors import OutputError

        raise OutputError("standard output is closed, so there is nowhere to print to")
    typer.echo(line)


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


UsersArg = Annotated[
    list[str] | None,
    typer.Argument(metavar="USER", help="Usernames, @names or profile URLs.", show_default=False),
]


@app.command(
    "user-info",
    cls=Command,
    epilog="Examples:\n\n\b\n"
    "  tiktok user-info taylorswift\n"
    "  tiktok user-info @cnn https://www.tiktok.com/@nasa -f csv -o accounts.csv\n"
    "  tiktok user-info --input accounts.txt --errors failed.txt -o accounts.jsonl",
)
@with_groups
def user_info(
    users: UsersArg = None,
    *,
    batch: BatchOptions,
    output: OutputOptions,
    store: StoreOptions,
    connection: ConnectionOptions,
    verbosity: VerbosityOptions,
) -> None:
    """Show one record per account, in the order given."""
    with verbosity.error_edge():
        from tiktok_cli.user_info import look_up

        spec = output.spec()
        targets = batch.targets(users)
        if not targets:
            return
        settings = connection.settings(store)
        look_up(targets, settings, spec, batch=batch.batch(), trace=verbosity.verbose)


@app.command(
    cls=Command,
    epilog="Examples:\n\n\b\n"
    "  tiktok followings cnn --limit 100\n"
    "  tiktok followings --sec-uid MS4wLjABAAAA... -f csv -o followings.csv\n"
    "  tiktok followings --input accounts.txt -o followings.csv   # one CSV, with an owner column",
)
@with_groups(words=LIST_WORDS)
def followings(
    users: UsersArg = None,
    *,
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
    export: ListExportOptions,
) -> None:
    """Export every account USER follows."""
    _export_lists(
        "followings",
        users,
        export,
        sec_uid=sec_uid,
        id_options=("--sec-uid",),
        cursor=min_cursor,
        page_size=count,
        max_cursor=max_cursor,
    )


@app.command(
    cls=Command,
    epilog="Examples:\n\n\b\n"
    "  TIKTOK_API_URL=http://HOST/tk TIKTOK_API_TOKEN=... tiktok followers cnn -o followers.csv\n"
    "  tiktok followers --uid 6754915036232582149 --limit 500 | jq -r .unique_id\n"
    "  tiktok followers --input accounts.txt --errors failed.txt -o followers.csv\n"
    "  tiktok followers --input accounts.txt --shard 0/3 -o followers-0.csv   # worker 0 of 3",
)
@with_groups(words=LIST_WORDS)
def followers(
    users: UsersArg = None,
    *,
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
    export: ListExportOptions,
) -> None:
    """Export every account that follows USER."""
    _export_lists(
        "followers", users, export, uid=uid, sec_uid=sec_uid, id_options=("--uid", "--sec-uid"), cursor=cursor
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
@with_groups
def doctor(
    *, source: CheckOptions, store: StoreOptions, verbose: VerboseOpt = False, debug: DebugOpt = False
) -> None:
    """Run the checks, one line each on stdout; exit with the first failing command's code."""
    code = ExitCode.OK
    with _error_edge(debug=debug, quiet=False, setup_hint=False):
        from tiktok_cli.doctor import exit_code, run_checks

        checks = []
        for check in run_checks({**source.flags(), **store.flags()}, trace=verbose):
            _say(check.line())
            checks.append(check)
        code = exit_code(checks)
    raise typer.Exit(int(code))


UserArg = Annotated[
    str | None,
    typer.Argument(
        metavar="USER", help="A username (current or past), @name or profile URL.", show_default=False
    ),
]


@app.command(
    cls=Command,
    short_help="Who followed, unfollowed or renamed, from the store.",
    epilog="Examples:\n\n\b\n"
    "  tiktok changes cnn --db tiktok.db\n"
    "  tiktok changes cnn --db tiktok.db --followers --since 7d -f csv -o week.csv\n"
    "  tiktok changes cnn --db tiktok.db --from 12 --to 40   # ids as `tiktok snapshots` lists them\n"
    "  tiktok changes --input accounts.txt --db postgresql://me@db.example/tiktok",
)
@with_groups(words=REPORT_WORDS)
def changes(
    users: UsersArg = None,
    *,
    ids: AccountIdOptions,
    accounts: InputOptions,
    lists: ListKindOptions,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="From the last complete snapshot at or before WHEN: a date or time in UTC "
            "(2026-12-01, 2026-12-01T08:00) or an age (24h, 7d, 2w).",
        ),
    ] = None,
    from_run: Annotated[
        int | None,
        typer.Option(
            "--from",
            parser=whole_number(1),
            metavar="RUN",
            help="Compare from this complete snapshot (with --to).",
        ),
    ] = None,
    to_run: Annotated[
        int | None,
        typer.Option(
            "--to",
            parser=whole_number(1),
            metavar="RUN",
            help="Compare to this complete snapshot (with --from).",
        ),
    ] = None,
    output: ReportOutputOptions,
    fields: ChangeFieldsOpt = None,
    store: StoreOptions,
    verbosity: ReportVerbosity,
) -> None:
    """Show who followed, unfollowed or renamed between two complete snapshots of a list.

    By default between the last two complete snapshots of each list recorded for USER
    (with --db on followers or followings). A run that did not complete never counts as
    an unfollow. Columns: owner (several accounts, --input or --shard), list, change (followed,
    unfollowed or renamed), old_unique_id, since and until (the UTC window in which it
    happened), then the member's fields; --fields picks among them.
    """
    with verbosity.error_edge():
        from tiktok_cli.tracking import show_changes

        if since is not None and (from_run is not None or to_run is not None):
            raise UsageError("--since and --from/--to choose the snapshots two ways: give one")
        if (from_run is None) != (to_run is None):
            raise UsageError("--from and --to go together: the two snapshots to compare")
        spec = output.spec(fields, command="changes")
        targets = ids.targets(users, accounts)
        db = store.target()
        if not targets:
            return
        span = (from_run, to_run) if from_run is not None and to_run is not None else None
        show_changes(targets, db, spec, kinds=lists.kinds(), since=since, span=span, listed=accounts.listed())


@app.command(
    cls=Command,
    short_help="An account's counts over time, from the store.",
    epilog="Examples:\n\n\b\n"
    "  tiktok history cnn --db tiktok.db\n"
    "  tiktok history cnn --db tiktok.db --plot cnn.png -f csv -o cnn-counts.csv",
)
@with_groups(words=REPORT_WORDS)
def history(
    user: UserArg = None,
    *,
    ids: AccountIdOptions,
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
    output: ReportOutputOptions,
    fields: HistoryFieldsOpt = None,
    store: StoreOptions,
    verbosity: ReportVerbosity,
) -> None:
    """Show an account's counts over time, one row per observation, with each change.

    Observations are recorded by user-info with --db. Columns: observed_at (UTC), backend,
    followers, following, likes, videos, and followers_change, following_change,
    likes_change, videos_change since the observation before by the same backend. On a
    terminal a trend line of the followers follows the table.
    """
    with verbosity.error_edge():
        from tiktok_cli.tracking import show_history

        spec = output.spec(fields, command="history")
        target = ids.target(user)
        show_history(target, store.target(), spec, plot=plot)


@app.command(
    cls=Command,
    short_help="The runs the store recorded of an account's lists.",
    epilog="Examples:\n\n\b\n"
    "  tiktok snapshots cnn --db tiktok.db\n"
    "  tiktok snapshots cnn --db tiktok.db --followers -f csv",
)
@with_groups(words=REPORT_WORDS)
def snapshots(
    user: UserArg = None,
    *,
    ids: AccountIdOptions,
    lists: ListKindOptions,
    output: ReportOutputOptions,
    fields: SnapshotFieldsOpt = None,
    store: StoreOptions,
    verbosity: ReportVerbosity,
) -> None:
    """List the runs recorded of an account's lists: id, list, times, status and counts.

    status is complete (the whole list was seen), incomplete (note says why: interrupted,
    --limit, TikTok's cap, a list well short of its count), running (still running, or
    killed and not resumed) or abandoned (killed, and a later run of the list finished).
    """
    with verbosity.error_edge():
        from tiktok_cli.tracking import show_snapshots

        spec = output.spec(fields, command="snapshots")
        target = ids.target(user)
        show_snapshots(target, store.target(), spec, kinds=lists.kinds())


@config_app.command("path", cls=Command)
def config_path_command() -> None:
    """Print where the config file is read from (it need not exist)."""
    from tiktok_cli.settings import config_path

    _say(str(config_path()))


@config_app.command("show", cls=Command)
@with_groups
def config_show(*, connection: ConnectionOptions, store: StoreOptions, debug: DebugOpt = False) -> None:
    """Print the settings in effect as TOML, each with where it comes from.

    A value comes from a flag given here, an environment variable (named), the config
    file, or the default, in that order of precedence; the rate is the one the backend
    would use. Unset settings and secrets (masked) are comment lines, so the text can be
    pasted into the config file as it is.
    """
    with _error_edge(debug=debug, quiet=False, setup_hint=False):
        from tiktok_cli.config import effective_settings, settings_toml
        from tiktok_cli.safetext import for_terminal
        from tiktok_cli.settings import config_path

        settings, origins = effective_settings({**connection.flags(), **store.flags()})
        path = config_path()
        _say(f"# config file: {path}" + ("" if path.is_file() else " (does not exist)"))
        for line in settings_toml(settings, origins):
            _say(for_terminal(line))


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


@config_app.command("get", cls=Command, epilog=_SETTINGS_EPILOG)
@with_groups
def config_get(
    name: SettingArg,
    *,
    show_secret: Annotated[
        bool,
        typer.Option(
            "--show-secret",
            help="Print the value even when it is a secret (the token, cookie values, a database password).",
        ),
    ] = False,
    connection: ConnectionOptions,
    store: StoreOptions,
    debug: DebugOpt = False,
) -> None:
    """Print the value one setting has in effect, alone on a line, for scripts.

    Nothing is printed for a setting that is not set (a note goes to stderr). A secret is
    refused unless --show-secret asks for it.
    """
    with _error_edge(debug=debug, quiet=False, setup_hint=False):
        from tiktok_cli import console
        from tiktok_cli.config import effective_settings, setting_value

        settings, _ = effective_settings({**connection.flags(), **store.flags()})
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
    with _error_edge(debug=debug, quiet=False, setup_hint=False):
        from tiktok_cli import console
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


@config_app.command("unset", cls=Command, epilog=_SETTINGS_EPILOG)
def config_unset(name: SettingArg, debug: DebugOpt = False) -> None:
    """Remove one setting from the config file.

    A setting the file does not hold is said so on stderr, and the exit status is still 0:
    afterwards it is not set in the file either way.
    """
    with _error_edge(debug=debug, quiet=False, setup_hint=False):
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


def _export_lists(
    operation: str,
    users: list[str] | None,
    export: ListExportOptions,
    *,
    sec_uid: str | None = None,
    uid: str | None = None,
    id_options: tuple[str, ...],
    cursor: int | None,
    page_size: int | None = None,
    max_cursor: int | None = None,
) -> None:
    """One list command: the ``operation`` list of each account named, exported as asked."""
    with export.verbosity.error_edge():
        from tiktok_cli.backends.base import ListQuery, Operation
        from tiktok_cli.export import export_lists

        spec = export.output.spec(resume=not export.listing.no_resume)
        targets = export.batch.targets(users, sec_uid=sec_uid, uid=uid, unique=True, id_options=id_options)
        settings = export.connection.settings(export.store)
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
            limit=export.listing.limit,
            pacing=export.listing.pacing(),
            batch=export.batch.batch(),
            trace=export.verbosity.verbose,
        )


@contextmanager
def _error_edge(*, debug: bool, quiet: bool, setup_hint: bool = True) -> Iterator[None]:
    """The one place that turns failures into a message on stderr and an exit code.

    With ``setup_hint``, a missing or rejected setting or an unreachable server (typical
    of a first run) also points to `tiktok doctor`; an unusable config file or variable
    is named in the message already.
    """
    from tiktok_cli import console
    from tiktok_cli.errors import Interrupted
    from tiktok_cli.signals import SIGNALLED, interrupted, sigterm_raises

    console.set_quiet(quiet)
    try:
        with sigterm_raises():
            yield
    except SIGNALLED as exc:  # a signal outside an export (an export says how far it got)
        error = interrupted(exc)
        _stopped(error)
        raise typer.Exit(int(error.exit_code)) from None
    except Interrupted as exc:
        _stopped(exc)
        raise typer.Exit(int(exc.exit_code)) from None
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


def _stopped(error: "Interrupted") -> None:
    """A signal's line: SIGTERM (a scheduler's stop) as an error, a user's Ctrl-C as what it is."""
    from tiktok_cli import console

    if error.is_error:
        console.error(str(error))
    else:
        console.always(f"{console.PROG}: {error}")


def _traceback(debug: bool) -> None:
    if debug:
        import traceback  # costs start-up time; only --debug needs it

        from tiktok_cli import console

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

    from tiktok_cli.command import usage_message

    if sys.stderr is None:
        # Started with `2>&-`: messages have nowhere to go, but the exit code must still be right.
        sys.stderr = Path(os.devnull).open("w", encoding="utf-8")  # noqa: SIM115 - lives as long as we do
    try:
        code = app(prog_name="tiktok", standalone_mode=False)
    except BrokenPipeError:  # `tiktok --help | head -1`
        _silence_stdout()
        raise SystemExit(int(ExitCode.BROKEN_PIPE)) from None
    except OSError as exc:  # only help and usage text is written outside a command's error edge
        from tiktok_cli import console

        console.error(f"cannot write standard output: {exc.strerror or exc}")
        raise SystemExit(int(ExitCode.OUTPUT)) from None
    except TikTokCliError as exc:  # --version and `config path`, which need no error edge
        from tiktok_cli import console

        console.error(str(exc))
        raise SystemExit(int(exc.exit_code)) from None
    except NoArgsIsHelpError as exc:  # `tiktok` alone: the help, as Click shows it
        exc.show()
        raise SystemExit(int(ExitCode.USAGE)) from None
    except ClickUsageError as exc:
        from tiktok_cli import console

        console.error(usage_message(exc))
        raise SystemExit(int(ExitCode.USAGE)) from None
    except Abort:  # Ctrl-C at a prompt
        from tiktok_cli.signals import interrupted

        _stopped(interrupted(KeyboardInterrupt()))
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    raise SystemExit(code if isinstance(code, int) else int(ExitCode.OK))
