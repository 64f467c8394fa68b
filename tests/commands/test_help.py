"""`--help`, `--version` and usage errors: each command lists what it takes, under its group's heading,
in the tool's own words (none of Typer's internals)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import typer
from helpers import NO_REQUESTS, error_line, invoke, jsonl

from tiktok_cli import __version__
from tiktok_cli.cli import NO_ROWS_FORMAT, app, main
from tiktok_cli.errors import ExitCode
from tiktok_cli.models import FIELDS, OWNER_FIELD
from tiktok_cli.reports import CHANGE_COLUMNS, HISTORY_COLUMNS, SNAPSHOT_COLUMNS


def usage_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run the entry point (`tiktok ARGS...`) in-process; assert exit 2 and one line; return it."""
    monkeypatch.setattr(sys, "argv", ["tiktok", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    assert exited.value.code == 2, captured
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tiktok: error: "), captured.err
    assert captured.out == ""
    return lines[0]


def all_commands() -> list[list[str]]:
    """Every command line that has its own help: the root, each command, each config command."""
    root = typer.main.get_command(app)
    commands: list[list[str]] = [[]]
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        commands.append([name])
        commands += [[name, sub] for sub in getattr(command, "commands", {})]
    return commands


COMMANDS = all_commands()
REPORTS = ["changes", "history", "snapshots"]


def headings(command: str) -> dict[str, list[str]]:
    """{heading: the long names of the options listed under it} from `tiktok COMMAND --help`."""
    result = invoke(*command.split(), "--help")
    assert result.exit_code == 0, result.stderr
    sections: dict[str, list[str]] = {}
    current = None
    for line in result.stdout.splitlines():
        if re.fullmatch(r"[A-Z][A-Za-z ]+:", line):
            current = sections.setdefault(line[:-1], [])
        elif current is not None and line.startswith("  -"):
            names = re.findall(r"--[a-z-]+", line.split("  ")[1])
            current.append(names[-1] if names else line.split()[0])
    return sections


def test_every_command_has_its_own_help() -> None:
    names = {" ".join(c) for c in COMMANDS}
    assert {"", "user-info", "followers", "changes", "config get", "config unset"} <= names


@pytest.mark.parametrize("command", [" ".join(c) for c in COMMANDS])
def test_help_shows_no_typer_internals(command: str) -> None:
    text = invoke(*command.split(), "--help").stdout
    for leak in ("<list[", "<str>", "<int>", "<float>", "<path>", "<bool>", "{", "[[", "x>=", "<=x"):
        assert leak not in text, (command, leak)


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("user-info", "Usage: tiktok user-info [OPTIONS] [USER...]"),
        ("history", "Usage: tiktok history [OPTIONS] [USER]"),
        ("config set", "Usage: tiktok config set [OPTIONS] NAME [VALUE]"),
        ("config get", "Usage: tiktok config get [OPTIONS] NAME"),
    ],
)
def test_usage_names_arguments_plainly(command: str, usage: str) -> None:
    assert invoke(*command.split(), "--help").stdout.splitlines()[0] == usage


@pytest.mark.parametrize(
    ("command", "groups"),
    [
        (
            "followers",
            {
                "Options": ["--uid", "--sec-uid", "--cursor"],
                "Input and batch": ["--input", "--shard", "--errors"],
                "Output": ["--limit", "--no-resume", "--format", "--output", "--fields", "--raw"],
                "Pacing": ["--concurrency", "--sleep", "--rate"],
                "Connection": ["--backend", "--gateway-url", "--api-url", "--cookies", "--timeout"],
                "Store": ["--db"],
                "Messages": ["--quiet", "--verbose", "--debug", "--help"],
            },
        ),
        (
            "user-info",
            {
                "Input and batch": ["--input", "--shard", "--errors"],
                "Output": ["--format", "--output", "--fields", "--raw", "--excel"],
                "Pacing": ["--concurrency", "--rate"],
                "Connection": ["--backend", "--timeout", "--retries"],
                "Store": ["--db"],
            },
        ),
        ("changes", {"Options": ["--since", "--from", "--to"], "Store": ["--db"], "Messages": ["--quiet"]}),
        ("doctor", {"Connection": ["--backend", "--cookies", "--timeout"], "Store": ["--db"]}),
        ("config show", {"Connection": ["--backend", "--timeout", "--retries"], "Pacing": ["--rate"]}),
    ],
)
def test_help_shows_each_option_under_its_groups_heading(command: str, groups: dict[str, list[str]]) -> None:
    shown = headings(command)
    for heading, options in groups.items():
        assert set(options) <= set(shown.get(heading, [])), (heading, shown.get(heading))


@pytest.mark.parametrize("command", REPORTS)
def test_reports_list_only_what_they_take(command: str) -> None:
    text = " ".join(invoke(command, "--help").stdout.split())
    shown = {option for options in headings(command).values() for option in options}
    assert not shown & {"--raw", "--verbose", "--limit", "--no-resume", "--backend", "--rate"}
    assert "none" not in text.split("--format FORMAT")[1].split("--output")[0]
    assert "resumably" not in text and "HTTP" not in text and "record into" not in text
    assert "The snapshot store to read" in text


@pytest.mark.parametrize(
    ("command", "columns"),
    [
        ("changes", (OWNER_FIELD, *CHANGE_COLUMNS)),
        ("history", HISTORY_COLUMNS),
        ("snapshots", SNAPSHOT_COLUMNS),
    ],
)
def test_each_reports_fields_help_names_its_own_columns(command: str, columns: tuple[str, ...]) -> None:
    text = " ".join(invoke(command, "--help").stdout.split())
    assert f"Columns to write, in order ({', '.join(columns)})" in text
    if command != "changes":
        assert "avatar_url" not in text  # no profile fields where the rows have none


def test_the_format_that_writes_no_rows_is_the_one_reports_leave_out() -> None:
    from tiktok_cli import writers

    assert not writers.load(NO_ROWS_FORMAT).writes_rows
    assert all(writers.load(name).writes_rows for name in writers.names() if name != NO_ROWS_FORMAT)


@pytest.mark.parametrize("command", REPORTS)
def test_reports_refuse_what_they_do_not_take(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "t.db")
    line = error_line(invoke(command, "alice", "--db", db, "-f", "none"), 2)
    assert f"-f none writes no rows, and `tiktok {command}` does nothing else" in line
    for option in ("--raw", "-v"):
        line = usage_error(monkeypatch, capsys, command, "alice", "--db", db, option)
        assert f"tiktok {command} has no option {option}" in line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["followers", "cnn", "--limit", "0"], "--limit must be a whole number of 1 or more, not '0'"),
        (["followers", "cnn", "--limit", "x"], "--limit must be a whole number of 1 or more, not 'x'"),
        (["user-info", "cnn", "-j", "40"], "--concurrency must be a whole number from 1 to 32, not '40'"),
        (["followings", "cnn", "--count", "0"], "--count must be a whole number from 1 to 50, not '0'"),
        (["followers", "cnn", "--cursor", "-1"], "--cursor must be a whole number of 0 or more, not '-1'"),
        (["changes", "cnn", "--from", "0", "--to", "1"], "--from must be a whole number of 1 or more"),
        (
            ["changes", "cnn", "--from", "99999999999999999999", "--to", "2"],
            "--from must be a whole number of 1 or more, at most 9223372036854775807",
        ),
        (["user-info", "cnn", "--timeout", "soon"], "--timeout must be a number of seconds"),
        (["user-info", "cnn", "--retries", "1.5"], "--retries must be a whole number from 0 to 100"),
        (["history", "a", "b"], "unexpected argument 'b' (usage: tiktok history [OPTIONS] [USER])"),
        (["config", "show", "x"], "unexpected argument 'x' (usage: tiktok config show [OPTIONS])"),
        (["config", "set"], "tiktok config set needs NAME"),
        (["config", "get"], "tiktok config get needs NAME"),
        (["user-info", "--verbos"], "tiktok user-info has no option --verbos: did you mean --verbose"),
        (["user-info", "cnn", "-o", "."], "--output: "),
        (["user-inf", "cnn"], "tiktok has no command 'user-inf': did you mean user-info?"),
        (["nosuch"], "tiktok has no command 'nosuch'; `tiktok --help` lists its commands"),
        (["config", "gte"], "tiktok config has no command 'gte': did you mean get?"),
    ],
)
def test_usage_errors_are_one_plain_line(
    cassette, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    with cassette(NO_REQUESTS):
        line = usage_error(monkeypatch, capsys, *args)
    assert says in line
    for leak in ("Input should", "Got unexpected", "Invalid value for", "Missing argument", "No such option"):
        assert leak not in line, line


def test_raw_help_is_true_for_each_command(cassette) -> None:
    user_info = " ".join(invoke("user-info", "--help").stdout.split())
    followers = " ".join(invoke("followers", "--help").stdout.split())
    assert "--raw Write the API's own objects unchanged (-f jsonl or json; no --fields)." in user_info
    assert "(-f jsonl or json; one account, no --fields)" in followers
    with cassette("gateway/user_info_two"):
        two = invoke("user-info", "taylorswift", "cnn", "--raw", "-f", "json")
    assert two.exit_code == 0, two.stderr
    assert len(json.loads(two.stdout)) == 2  # json too, and two accounts
    with cassette(NO_REQUESTS):
        line = error_line(invoke("followers", "alice", "bob", "--raw"), 2)
    assert "one account" in line


def test_readme_says_what_raw_takes() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    [row] = [line for line in readme.splitlines() if line.startswith("| `--raw` |")]
    assert "`-f jsonl` or `json`" in row and "`user-info` takes any number of accounts" in row
    assert "`followers` and `followings` one" in row


def test_jsonl_raw_of_two_profiles(cassette) -> None:
    with cassette("gateway/user_info_two"):
        result = invoke("user-info", "taylorswift", "cnn", "--raw")
    assert result.exit_code == 0, result.stderr
    assert len(jsonl(result.stdout)) == 2


@pytest.mark.parametrize("command", [[], ["config"]])
def test_a_command_given_nothing_shows_its_help_on_stderr_as_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["tiktok", *command])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    assert exited.value.code == 2
    assert captured.out == ""
    assert captured.err.startswith(f"Usage: {' '.join(['tiktok', *command])} [OPTIONS] COMMAND [ARGS]...")
    assert "error" not in captured.err.splitlines()[0]


def test_debug_shows_the_traceback_before_the_one_error_line() -> None:
    args = ["changes", "cnn", "--since", "7d", "--from", "1", "--to", "2"]
    plain = error_line(invoke(*args), 2)
    debug = invoke(*args, "--debug")
    assert debug.exit_code == 2
    lines = debug.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert (
        lines[-1] == plain == "tiktok: error: --since and --from/--to choose the snapshots two ways: give one"
    )


# --- --version and --help --------------------------------------------------------------


def test_version():
    result = invoke("--version")
    assert (result.exit_code, result.stdout) == (0, f"tiktok {__version__} (tiktok-follows)\n")


@pytest.mark.parametrize("command", ["user-info", "followings", "followers"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_each_command_help_shows_an_example(command, flag):
    result = invoke(command, flag)
    assert result.exit_code == 0
    assert "Examples" in result.stdout
    assert f"tiktok {command} " in result.stdout


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("user-info", "followings", "followers", "config"):
        assert command in result.stdout


def test_help_names_every_format_backend_and_field_the_registries_hold():
    from tiktok_cli import backends, writers
    from tiktok_cli.models import FETCHED_AT, OWNER_FIELD

    text = " ".join(invoke("followers", "--help").stdout.split())
    formats = writers.names()
    assert f"{', '.join(formats[:-1])} or {formats[-1]} (none: no rows" in text
    extensions = ", ".join(
        "/".join(writers.load(n).extensions) for n in formats if writers.load(n).extensions
    )
    assert f"the -o file's extension ({extensions})" in text
    for name in (backends.AUTO, *backends.names()):
        assert f" {name}" in text.split("Data source:")[1].split("[env")[0], name
    assert f"in order ({', '.join((OWNER_FIELD, *FIELDS, FETCHED_AT))})" in text


def test_help_lists_every_exit_code_with_its_meaning():
    result = invoke("--help")
    assert result.exit_code == 0
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    for code in ExitCode:
        assert f"{int(code)} {code.describe()}" in lines
