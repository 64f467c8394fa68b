"""Option groups: a command takes groups, Typer sees their options, the command gets the groups."""

# No `from __future__ import annotations`: the toy commands' annotations are read as written.
from collections.abc import Callable
from typing import Annotated, NamedTuple

import pytest
import typer
from helpers import invoke
from typer.testing import CliRunner

from tiktok_cli.cli import ConnectionOptions, SourceOptions, with_groups


class Inner(NamedTuple):
    colour: Annotated[str, typer.Option("--colour", help="A colour.")] = "red"


class Outer(NamedTuple):
    inner: Inner = Inner()
    size: Annotated[int, typer.Option("--size", "-s", metavar="N", help="A size.")] = 1


class Clash(NamedTuple):
    size: Annotated[int, typer.Option("--other-size")] = 2


def toy_app(command: Callable[..., None]) -> typer.Typer:
    app = typer.Typer(rich_markup_mode=None, add_completion=False)  # plain help, as tiktok's
    app.command()(command)
    return app


def test_a_command_gets_its_groups_built_from_the_options_given() -> None:
    seen: list[object] = []

    @with_groups
    def toy(name: Annotated[str, typer.Argument()], *, outer: Outer, loud: bool = False) -> None:
        seen.append((name, outer, loud))

    result = CliRunner().invoke(toy_app(toy), ["bob", "-s", "3", "--colour", "blue", "--loud"])
    assert result.exit_code == 0, result.output
    assert seen == [("bob", Outer(Inner("blue"), 3), True)]

    CliRunner().invoke(toy_app(toy), ["amy"])
    assert seen[-1] == ("amy", Outer(), False)  # the groups' own defaults


def test_help_shows_every_option_of_every_group_in_place() -> None:
    @with_groups
    def toy(*, first: bool = False, outer: Outer, last: bool = False) -> None:
        """A toy."""

    result = CliRunner().invoke(toy_app(toy), ["--help"], env={"COLUMNS": "100"})
    flags = [line.split()[0] for line in result.output.splitlines() if line.startswith("  -")]
    assert flags == ["--first", "--colour", "-s,", "--last", "--help"]
    assert "-s, --size N A size. [default: 1]" in " ".join(result.output.split())


def test_two_options_of_one_name_are_refused_when_the_command_is_declared() -> None:
    def toy(*, outer: Outer, clash: Clash) -> None:
        """Two groups with a `size` each."""

    with pytest.raises(TypeError, match="size"):
        with_groups(toy)


def test_connection_flags_are_the_settings_given_by_name() -> None:
    options = ConnectionOptions(SourceOptions(backend="web", cookies="c.txt"), timeout=3.0)
    assert options.flags() == {
        "backend": "web",
        "gateway_url": None,
        "api_url": None,
        "cookies": "c.txt",
        "cookies_from_browser": None,
        "timeout": 3.0,
        "retries": None,
        "rate": None,
    }


@pytest.mark.parametrize(
    ("command", "options"),
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
def test_each_command_takes_the_options_of_its_groups(command: str, options: list[str]) -> None:
    result = invoke(*command.split(), "--help")
    assert result.exit_code == 0
    for option in options:
        assert option in result.stdout, option


def test_a_command_words_a_groups_option_its_own_way() -> None:
    @with_groups(words={"colour": "The toy's own colour."})
    def toy(*, outer: Outer) -> None:
        """A toy."""

    @with_groups
    def other(*, outer: Outer) -> None:
        """Another toy."""

    worded = " ".join(CliRunner().invoke(toy_app(toy), ["--help"], env={"COLUMNS": "100"}).output.split())
    assert "The toy's own colour. [default: red]" in worded
    assert "A colour." not in worded
    plain = CliRunner().invoke(toy_app(other), ["--help"], env={"COLUMNS": "100"}).output
    assert "A colour." in plain  # the group keeps its own words for every other command


def test_wording_an_option_the_command_lacks_is_refused() -> None:
    def toy(*, outer: Outer) -> None:
        """A toy."""

    with pytest.raises(TypeError, match="nosuch"):
        with_groups(words={"nosuch": "?"})(toy)
