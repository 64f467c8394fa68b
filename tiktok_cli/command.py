"""How a command reads, and how it fails: help and usage errors in this tool's words, not
Typer's, and the one error edge.

Typer's plain help (the one tiktok uses: Rich rendering would double start-up time) lists
every option under one heading and shows its own internals: an argument's Python type
(``USER... <list[str]>``), a required argument in braces (``{NAME}``), ranges as
``[1<=x<=32]``. ``Command`` shows each option under its heading (its ``rich_help_panel``)
and arguments by their names alone; ``whole_number`` checks a number option in plain
words; ``run`` words the usage errors Click raises itself. ``error_edge`` turns whatever
ends a command into one line on stderr and the exit code ``errors.failure`` gives it.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer

# --- the one place that reaches into Typer's copy of Click ---------------------------------
# Typer (0.26 on) carries Click as typer._click, which it says applications must not use,
# and exports public names only for Exit, Abort and BadParameter. The context and help
# formatter a command's help methods receive, and the usage errors Click raises while
# parsing, have none yet. They are imported here and nowhere else, so a Typer release that
# moves them (or names them publicly) changes these lines alone.
from typer._click import Context, HelpFormatter
from typer._click.exceptions import MissingParameter, NoArgsIsHelpError, NoSuchOption
from typer._click.exceptions import UsageError as ClickUsageError
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from tiktok_cli.errors import ExitCode, HelpShown, UsageError

# The headings of the option groups, in the order help shows them, after the command's
# own options (which have none) and before `--help`'s.
OUTPUT = "Output"
INPUT = "Input and batch"
PACING = "Pacing"
CONNECTION = "Connection"
STORE = "Store"
MESSAGES = "Messages"
PANELS = (INPUT, OUTPUT, PACING, CONNECTION, STORE, MESSAGES)
OWN = "Options"


LARGEST = 2**63 - 1


class OptionValueError(typer.BadParameter):
    """A value an option refuses, in words that follow the option's name."""


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """A parser for a whole number from ``low`` (to ``high``), refusing others in plain words."""
    wanted = (
        f"must be a whole number from {low} to {high}"
        if high is not None
        else (f"must be a whole number of {low} or more")
    )

    def parse(value: str) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise OptionValueError(f"{wanted}, not {value!r}") from None
        if number < low or (high is not None and number > high):
            raise OptionValueError(f"{wanted}, not {value!r}")
        if number > LARGEST:
            # Counts, cursors and snapshot ids are 64-bit integers in the APIs and the store.
            raise OptionValueError(f"{wanted}, at most {LARGEST}, not {value!r}")
        return number

    return parse


def _argument_name(param: TyperArgument) -> str:
    name = param.metavar or (param.name or "").upper()
    return name + "..." if param.nargs != 1 else name


class Command(TyperCommand):
    """A command whose help shows option groups under headings, in plain words."""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = _argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        arguments: list[tuple[str, str]] = []
        sections: dict[str, list[tuple[str, str]]] = {OWN: []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if isinstance(param, TyperArgument):
                # Typer appends the Python type (`USER... <list[str]>`): the name says enough.
                arguments.append((_argument_name(param), record[1]))
                continue
            panel = getattr(param, "rich_help_panel", None) or (MESSAGES if param.name == "help" else OWN)
            sections.setdefault(panel, []).append(record)
        # One column for the names under every heading, as under Click's one "Options".
        width = min(max((len(name) for rows in sections.values() for name, _ in rows), default=0), 30)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(_aligned(arguments, width))
        for heading in (OWN, *PANELS, *sorted(set(sections) - {OWN, *PANELS})):
            if sections.get(heading):
                with formatter.section(heading):
                    formatter.write_dl(_aligned(sections[heading], width))

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        ctx.allow_extra_args = True  # a word too many is refused below, in plain words
        rest = super().parse_args(ctx, args)
        if rest and not ctx.resilient_parsing:
            usage = " ".join([ctx.command_path, *self.collect_usage_pieces(ctx)])
            raise ClickUsageError(f"unexpected argument {rest[0]!r} (usage: {usage})", ctx)
        return rest


def _aligned(rows: list[tuple[str, str]], width: int) -> list[tuple[str, str]]:
    """``rows`` whose first name is padded to ``width``: Click sizes each list by its widest."""
    (name, text), *rest = rows
    return [(name.ljust(width), text), *rest]


def usage_message(exc: ClickUsageError) -> str:
    """A usage error Click raised, as one line in this tool's words."""
    param = getattr(exc, "param", None)
    command = exc.ctx.command_path if exc.ctx else "tiktok"
    if isinstance(exc, MissingParameter) and isinstance(param, TyperArgument):
        return f"{command} needs {_argument_name(param)}; `{command} --help` says more"
    if isinstance(exc, NoSuchOption) and exc.option_name.startswith("-"):
        if exc.possibilities:
            return (
                f"{command} has no option {exc.option_name}: did you mean {' or '.join(exc.possibilities)}?"
            )
        return f"{command} has no option {exc.option_name}; `{command} --help` lists its options"
    if isinstance(exc, typer.BadParameter) and not isinstance(exc, MissingParameter) and param is not None:
        opts = getattr(param, "opts", None) or [param.name or ""]
        name = max(opts, key=len) if isinstance(param, TyperOption) else _argument_name(param)
        separator = " " if isinstance(exc, OptionValueError) else ": "
        return f"{name}{separator}{exc.message}"
    group = exc.ctx.command if exc.ctx else None
    unknown = _NO_SUCH_COMMAND.match(exc.format_message())
    if unknown and isinstance(group, TyperGroup):
        name = unknown.group(1)
        close = difflib.get_close_matches(name, group.list_commands(exc.ctx), n=2)  # type: ignore[arg-type]
        if close:
            return f"{command} has no command {name!r}: did you mean {' or '.join(close)}?"
        return f"{command} has no command {name!r}; `{command} --help` lists its commands"
    return " ".join(exc.format_message().split())


# Click's own words for an unknown subcommand, whose name is all this takes from them.
_NO_SUCH_COMMAND = re.compile(r"No such command '(.*)'\.")


def run(app: typer.Typer, *, prog_name: str) -> int:
    """Run ``app`` on the command line; the usage errors Click raises are this tool's.

    ``tiktok`` alone shows the help, on stderr, as a usage error.
    """
    try:
        code = app(prog_name=prog_name, standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        raise HelpShown("no command given") from None
    except ClickUsageError as exc:
        raise UsageError(usage_message(exc)) from None
    return code if isinstance(code, int) else int(ExitCode.OK)


@contextmanager
def error_edge(
    *, debug: bool = False, quiet: bool = False, setup_hint: bool = True, output: str = "the output"
) -> Iterator[None]:
    """The one place that turns what ends a command into a line on stderr and an exit code.

    SIGTERM is raised as an exception inside it (``signals``), Ctrl-C at a prompt counts
    as Ctrl-C. With ``setup_hint``, a failure typical of a first run also points to
    `tiktok doctor`. ``debug`` adds the traceback; ``quiet`` silences notes and progress.
    """
    from tiktok_cli import console
    from tiktok_cli.errors import Interrupted, failure
    from tiktok_cli.signals import SIGNALLED, as_interrupted, sigterm_raises

    console.set_quiet(quiet)
    try:
        with sigterm_raises():
            yield
    except (*SIGNALLED, Exception) as caught:  # noqa: BLE001 - the last resort: every failure ends here
        exc = as_interrupted(KeyboardInterrupt() if isinstance(caught, typer.Abort) else caught)
        said = failure(exc, output=output)
        if isinstance(exc, BrokenPipeError):
            _silence_stdout()
        if said.message is not None:
            if debug and not isinstance(exc, Interrupted):
                _traceback()
            if not said.is_error:
                console.always(f"{console.PROG}: {said.message}")
            elif setup_hint and said.doctor_helps:
                console.error(f"{said.message}; `tiktok doctor` checks the whole setup")
            else:
                console.error(said.message)
        raise SystemExit(int(said.exit_code)) from None


def _traceback() -> None:
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
