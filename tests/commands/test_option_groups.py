"""Options that several commands share: each command that takes one lists it under the same
heading with the same words, and it does the same thing there."""

from __future__ import annotations

import re

import pytest
from helpers import invoke

LIST_COMMANDS = ["followers", "followings"]
REPORTS = ["changes", "history", "snapshots"]
SETTING_OPTIONS = {
    "--backend": ("backend", "web"),
    "--gateway-url": ("gateway_url", "http://gateway.test/tiktok"),
    "--api-url": ("api_url", "http://tkapi.test/tk"),
    "--cookies": ("cookies", "cookies.txt"),
    "--cookies-from-browser": ("cookies_from_browser", "firefox"),
    "--timeout": ("timeout", "3.0"),
    "--retries": ("retries", "2"),
    "--rate": ("rate", "5.0"),
    "--db": ("db", "tiktok.db"),
}


def options(command: str) -> dict[str, str]:
    """{long name: its heading and help, whitespace folded} from `tiktok COMMAND --help`."""
    result = invoke(*command.split(), "--help")
    assert result.exit_code == 0, result.stderr
    entries: dict[str, str] = {}
    heading, name = "", None
    for line in result.stdout.splitlines():
        if re.fullmatch(r"[A-Z][A-Za-z ]+:", line):
            heading, name = line[:-1], None
        elif line.startswith("  -"):
            name = re.findall(r"--[a-z-]+", line.split("  ")[1])[-1]
            entries[name] = f"{heading}: {' '.join(line.split())}"
        elif not line.strip():
            name = None  # an entry ends at a blank line
        elif name is not None and line.startswith("   "):
            entries[name] += " " + " ".join(line.split())
    return entries


def shared(*commands: str) -> dict[str, dict[str, str]]:
    """{option: {command: its entry}} of the options every one of ``commands`` takes."""
    each = {command: options(command) for command in commands}
    common = set.intersection(*(set(entries) for entries in each.values()))
    return {option: {command: each[command][option] for command in commands} for option in common}


def test_the_list_commands_take_the_same_options_but_their_own_few() -> None:
    followers, followings = options("followers"), options("followings")
    assert set(followers) - set(followings) == {"--uid", "--cursor"}
    assert set(followings) - set(followers) == {"--count", "--min-cursor", "--max-cursor"}
    for option, entries in shared(*LIST_COMMANDS).items():
        if option != "--sec-uid":  # each says which backends take it
            assert entries["followers"] == entries["followings"], option


def test_user_info_takes_the_list_commands_options_but_the_lists_own() -> None:
    user_info, followers = options("user-info"), options("followers")
    assert set(followers) - set(user_info) == {
        "--uid", "--sec-uid", "--cursor", "--limit", "--no-resume", "--sleep", "--new-only", "--full-every",
    }  # fmt: skip
    assert set(user_info) <= set(followers)
    for option in set(user_info) - {"--raw"}:
        assert user_info[option] == followers[option], option
    assert "one account" in followers["--raw"] and "one account" not in user_info["--raw"]


def test_the_reports_take_the_same_options_in_the_same_words() -> None:
    entries = shared(*REPORTS)
    assert {"--uid", "--sec-uid", "--format", "--output", "--excel", "--db", "--quiet", "--debug"} <= set(
        entries
    )
    for option, by_command in entries.items():
        if option != "--fields":  # each report names its own columns
            assert len(set(by_command.values())) == 1, (option, by_command)


def test_a_setting_option_reads_the_same_in_every_command_that_takes_it() -> None:
    entries = shared("user-info", *LIST_COMMANDS, "config show", "config get")
    assert set(SETTING_OPTIONS) <= set(entries)
    for option in SETTING_OPTIONS:
        assert len(set(entries[option].values())) == 1, (option, entries[option])
    doctor = options("doctor")
    for option in set(SETTING_OPTIONS) - {"--timeout", "--retries", "--rate"}:
        assert doctor[option] == entries[option]["user-info"], option


@pytest.mark.parametrize("option", sorted(SETTING_OPTIONS))
def test_a_setting_option_sets_the_setting_of_its_name(option: str) -> None:
    name, value = SETTING_OPTIONS[option]
    result = invoke("config", "get", name, option, value)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{value}\n"


@pytest.mark.parametrize(
    ("command", "taken"),
    [
        ("user-info", ["--input", "--format", "--backend", "--rate", "--quiet", "--debug"]),
        ("followings", ["--sec-uid", "--concurrency", "--limit", "--sleep", "--excel", "--verbose"]),
        ("followers", ["--uid", "--errors", "--no-resume", "--raw", "--cookies", "--retries"]),
        (
            "doctor",
            ["--backend", "--gateway-url", "--api-url", "--cookies", "--cookies-from-browser", "--debug"],
        ),
        ("config show", ["--backend", "--timeout", "--retries", "--rate", "--debug"]),
    ],
)
def test_each_command_takes_the_options_of_its_groups(command: str, taken: list[str]) -> None:
    assert set(taken) <= set(options(command))
