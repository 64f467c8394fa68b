"""The Python API (tiktok_cli.api): the command's pipeline for programs. What it returns is
what the command writes for the same data; lists are lazy; failures carry the command's exit
codes, and never a secret. Lists come from the local server; the store is recorded by the
real command (``--db``) on SQLite and PostgreSQL (``db_target``), then read both ways."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fakeserver import TOKEN, Account, FakeTikTok, Fault, mobile_follower, sec_uid_for
from helpers import ROOT, SEED_SEC_UID, SEED_UID, Serve, invoke, jsonl

from tiktok_cli import api, session
from tiktok_cli.config import SETTING_NAMES
from tiktok_cli.models import FIELDS, User
from tiktok_cli.store.read import iso
from tiktok_cli.tracking import iso_ms

UID = "6754915036232582149"
FOLLOWERS_PATH = "/tk/user/followers"
PAGE = 20


def fields(user: User) -> dict[str, Any]:
    return {name: getattr(user, name) for name in FIELDS}


def cli_rows(*args: str) -> list[dict[str, Any]]:
    result = invoke(*args, "-f", "jsonl")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return jsonl(result.stdout)


# --- what it returns is what the command writes ------------------------------------------------


def test_user_info_is_the_record_user_info_writes(server: FakeTikTok) -> None:
    assert [fields(api.user_info("@alice"))] == cli_rows("user-info", "alice")
    assert api.user_info("https://www.tiktok.com/@alice?lang=en") == api.user_info("alice")


@pytest.mark.parametrize("backend", ["auto", "web"])
@pytest.mark.parametrize("command", ["followers", "followings"])
def test_lists_are_the_rows_the_list_commands_write(server: FakeTikTok, command: str, backend: str) -> None:
    read = api.followers if command == "followers" else api.followings
    users = [fields(u) for u in read("alice", backend=backend, rate=1000)]
    assert users == cli_rows(command, "alice", "--backend", backend, "--rate", "1000")
    assert len(users) == (95 if command == "followers" else 43)


@pytest.mark.parametrize(
    ("name", "call", "args"),
    [
        ("gateway/user_info_seed", lambda: [api.user_info("taylorswift")], ("user-info", "taylorswift")),
        (
            "tkapi/followers_three_pages",
            lambda: list(api.followers(uid=SEED_UID)),
            ("followers", "--uid", SEED_UID),
        ),
        (
            "gateway/followings_three_pages",
            lambda: list(api.followings(sec_uid=SEED_SEC_UID)),
            ("followings", "--sec-uid", SEED_SEC_UID),
        ),
    ],
)
def test_documented_answers_give_what_the_command_writes(
    cassette: Callable[[str], AbstractContextManager[Any]],
    name: str,
    call: Callable[[], list[User]],
    args: tuple[str, ...],
) -> None:
    with cassette(name):
        users = [fields(user) for user in call()]
    with cassette(name):
        assert users == cli_rows(*args)
    assert users


def test_an_account_can_be_named_by_its_ids(server: FakeTikTok) -> None:
    by_uid = [u.unique_id for u in api.followers(uid=UID, limit=5)]
    assert by_uid == [u.unique_id for u in api.followers("alice", limit=5)]
    by_sec_uid = [u.unique_id for u in api.followings(sec_uid=sec_uid_for("alice"), limit=5)]
    assert by_sec_uid == [u.unique_id for u in api.followings("@alice", limit=5)]
    assert server.count("/user-info") == 2  # the two names were looked up; the ids were not


def test_loading_it_costs_what_is_used() -> None:
    # `import tiktok_cli` and `tiktok --help` pay nothing for it (it is not re-exported from the
    # package: tiktok_cli.user_info is the command's module once the CLI has loaded it), and
    # a program that only fetches never loads the store's SQLAlchemy.
    code = (
        "import sys, tiktok_cli; print('tiktok_cli.api' in sys.modules); "
        "from tiktok_cli import api; print('sqlalchemy' in sys.modules); "
        "api.Change; print('sqlalchemy' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["False", "False", "True"]
    assert all(hasattr(api, name) for name in api.__all__)
    with pytest.raises(AttributeError):
        api.nothing_of_that_name  # type: ignore[attr-defined]  # noqa: B018


def test_every_setting_but_the_store_can_be_given_to_a_call() -> None:
    assert set(api.Overrides.__optional_keys__) == set(SETTING_NAMES) - {"db"}
    with pytest.raises(TypeError, match="'timout'"):
        api.user_info("alice", timout=3)  # type: ignore[call-arg]


def test_settings_come_from_the_call_then_the_environment_then_the_config_file(
    server: FakeTikTok, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = Path(os.environ["TIKTOK_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'gateway_url = "{server.url}/tiktok"\nretries = 0\n', encoding="utf-8")
    monkeypatch.delenv("TIKTOK_GATEWAY_URL")
    assert api.user_info("alice").unique_id == "alice"  # the config file's gateway
    monkeypatch.setenv("TIKTOK_GATEWAY_URL", "http://127.0.0.1:9/tiktok")  # the environment wins
    with pytest.raises(api.TikTokCliError) as failed:
        api.user_info("alice")
    assert failed.value.exit_code == 7
    assert api.user_info("alice", gateway_url=server.url + "/tiktok").unique_id == "alice"  # the call wins
    with api.Client(retries=2) as client:
        assert client.settings.retries == 2
        assert client.settings.gateway_url == "http://127.0.0.1:9/tiktok"


# --- lazy lists ----------------------------------------------------------------------------------


def test_pages_are_fetched_as_the_caller_iterates(server: FakeTikTok) -> None:
    fans = api.followers("alice")
    assert server.requests == []  # nothing until the first account is asked for
    first = next(fans)
    assert first.unique_id == "fan_000000"
    assert server.count(FOLLOWERS_PATH) == 1
    for _ in range(PAGE - 1):
        next(fans)
    assert server.count(FOLLOWERS_PATH) == 1  # the first page holds them all
    next(fans)
    assert server.count(FOLLOWERS_PATH) == 2
    fans.close()


@pytest.mark.parametrize(("limit", "pages"), [(1, 1), (PAGE, 1), (PAGE + 1, 2), (94, 5), (500, 5)])
def test_limit_asks_only_for_the_pages_it_needs(server: FakeTikTok, limit: int, pages: int) -> None:
    assert len(list(api.followers("alice", limit=limit))) == min(limit, 95)
    assert server.count(FOLLOWERS_PATH) == pages


def test_closing_a_list_closes_its_http_client(server: FakeTikTok, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[session.Session] = []
    closed: list[session.Session] = []
    real_enter, real_exit = session.Session.__enter__, session.Session.__exit__

    def enter(self: session.Session) -> session.Session:
        opened.append(self)
        return real_enter(self)

    def leave(self: session.Session, *exc: object) -> None:
        closed.append(self)
        real_exit(self, *exc)

    monkeypatch.setattr(session.Session, "__enter__", enter)
    monkeypatch.setattr(session.Session, "__exit__", leave)
    fans = api.followers("alice")
    assert opened == []  # a list never iterated opens nothing
    next(fans)
    assert len(opened) == 1 and closed == []
    fans.close()
    assert closed == opened
    assert len(list(api.followings("alice"))) == 43
    assert closed == opened and len(closed) == 2  # read to the end: closed too


def test_a_client_shares_one_http_client_and_its_look_ups(server: FakeTikTok) -> None:
    with api.Client() as client:
        assert client.source("followers") == "tkapi"
        assert client.source("followings") == "gateway"
        assert len(list(client.followers("alice", limit=3))) == 3
        assert len(list(client.followings("alice", limit=3))) == 3
        assert client.user_info("alice").followers == 95
    assert server.count("/user-info") == 2  # the lists' owner looked up once; user_info asks anew


def tkapi_page(indexes: range, *, cursor: int, more: bool = True) -> bytes:
    data = {
        "status_code": 0,
        "has_more": more,
        "min_time": cursor,
        "max_time": cursor,
        "total": 100,
        "followers": [mobile_follower(i) for i in indexes],
    }
    return json.dumps({"code": 200, "msg": "ok", "data": data}).encode()


def test_an_account_repeated_across_pages_comes_once(server: FakeTikTok) -> None:
    server.faults = [
        Fault(FOLLOWERS_PATH, body=tkapi_page(range(8), cursor=100)),
        Fault(FOLLOWERS_PATH, body=tkapi_page(range(5, 13), cursor=90)),
        Fault(FOLLOWERS_PATH, body=tkapi_page(range(10, 16), cursor=80, more=False)),
    ]
    names = [u.unique_id for u in api.followers(uid=UID)]
    assert names == [f"fan_{i:06d}" for i in range(16)]


def test_a_stalled_list_fails_with_exit_7_after_what_it_gave(server: FakeTikTok) -> None:
    stuck = tkapi_page(range(8, 16), cursor=100)
    server.faults = [Fault(FOLLOWERS_PATH, body=tkapi_page(range(8), cursor=100))] + [
        Fault(FOLLOWERS_PATH, body=stuck) for _ in range(5)
    ]
    got: list[str | None] = []
    with pytest.raises(api.TikTokCliError, match="stalled") as failed:
        for user in api.followers(uid=UID):
            got.append(user.unique_id)
    assert failed.value.exit_code == 7 == invoke_code(server, "followers", "--uid", UID, stuck=stuck)
    assert len(got) == 16  # each account once, then the error


def invoke_code(server: FakeTikTok, *args: str, stuck: bytes) -> int:
    server.faults = [Fault(FOLLOWERS_PATH, body=tkapi_page(range(8), cursor=100))] + [
        Fault(FOLLOWERS_PATH, body=stuck) for _ in range(5)
    ]
    return invoke(*args, "-f", "jsonl").exit_code


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "args", "code"),
    [
        (lambda: api.user_info("not a name!"), ("user-info", "not a name!"), 2),
        (lambda: api.followers("alice", limit=0), ("followers", "alice", "--limit", "0"), 2),
        (lambda: api.user_info("nobody_here"), ("user-info", "nobody_here"), 3),
        (lambda: next(api.followings("nobody_here")), ("followings", "nobody_here"), 3),
        (lambda: api.user_info("alice", timeout=-1), ("user-info", "alice", "--timeout", "-1"), 2),
        (lambda: api.user_info("alice", backend="nope"), ("user-info", "alice", "--backend", "nope"), 2),
    ],
)
def test_errors_carry_the_exit_code_of_the_command(
    server: FakeTikTok, call: Any, args: tuple[str, ...], code: int
) -> None:
    with pytest.raises(api.TikTokCliError) as failed:
        call()
    assert failed.value.exit_code == code == invoke(*args).exit_code


def test_a_missing_setting_is_a_config_error_as_in_the_command(
    server: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIKTOK_API_URL")
    with pytest.raises(api.TikTokCliError, match="TIKTOK_API_URL") as failed:
        next(api.followers("alice"))
    assert failed.value.exit_code == 5 == invoke("followers", "alice").exit_code


def test_the_token_is_never_in_an_errors_text(server: FakeTikTok) -> None:
    # A gateway whose error quotes the token back: the command's error line masks it, and so
    # does the exception (its text is what a program logs).
    echo = json.dumps({"status": "error", "message": f"upstream refused token {TOKEN}"}).encode()
    server.faults = [Fault("/user-info", status=502, body=echo)]
    with pytest.raises(api.TikTokCliError) as failed:
        api.user_info("alice", api_token=TOKEN, retries=0)
    assert failed.value.exit_code == 7
    assert TOKEN not in str(failed.value) and TOKEN not in repr(failed.value.args)
    assert "refused token ***" in str(failed.value)


def test_a_store_password_is_never_in_an_errors_text(server: FakeTikTok) -> None:
    with pytest.raises(api.TikTokCliError) as failed:
        list(api.changes("postgresql://me:hunter2secret@127.0.0.1:9/tiktok", "alice"))
    assert failed.value.exit_code == 7
    assert "hunter2secret" not in str(failed.value)


def test_without_a_store_it_says_to_name_one() -> None:
    with pytest.raises(api.TikTokCliError, match="TIKTOK_DB") as failed:
        api.changes(None, "alice")
    assert failed.value.exit_code == 2 == invoke("changes", "alice").exit_code


# --- the store ---------------------------------------------------------------------------------------


@pytest.fixture
def recorded(serve: Serve, db_target: str) -> Iterator[tuple[FakeTikTok, str]]:
    """Four runs of alice's followers recorded by the command, each complete: 0-9, then
    10 follows and 5 leaves, then 5 misses it again (an unfollow takes two), then 11 comes
    and 0 is renamed fan_zero; and two looks at her profile. (5 leaves from inside a page of
    4: a member missing at a page's edge may be a tie the cursor skipped, never unfollowed.)"""
    alice = Account("alice", UID, sec_uid_for("alice"), followers=10, members=list(range(10)))
    srv = serve(accounts=[alice], page_size=4)
    for members in (
        [*range(10)],
        [10, 0, 1, 2, 3, 4, 6, 7, 8, 9],
        [10, 0, 1, 2, 3, 4, 6, 7, 8, 9],
        [11, 10, 0, 1, 2, 3, 4, 6, 7, 8, 9],
    ):
        alice.members = members
        alice.names = {0: "fan_zero"} if 11 in members else {}
        result = invoke("followers", "alice", "--db", db_target, "-f", "none")
        assert result.exit_code == 0, result.stderr
    for count in (10, 11):
        alice.followers = count
        assert invoke("user-info", "alice", "--db", db_target, "-f", "none").exit_code == 0
    yield srv, db_target


def change_row(change: api.Change) -> dict[str, Any]:
    return {
        "list": change.list_name,
        "change": change.change,
        "old_unique_id": change.old_unique_id,
        "since": iso(change.since),
        "until": iso(change.until, round_up=True),
        **fields(change.user),
    }


@pytest.mark.parametrize(
    ("choice", "flags"),
    [
        ({}, ()),
        ({"span": (1, 3)}, ("--from", "1", "--to", "3")),
        ({"span": (1, 4)}, ("--from", "1", "--to", "4")),
        ({"lists": "followers"}, ("--followers",)),
        ({"lists": ["followings"]}, ("--followings",)),
        ({"since": datetime(2000, 1, 1)}, ("--since", "2000-01-01")),
        ({"since": timedelta(0)}, ("--since", "0s")),
    ],
)
def test_changes_are_the_rows_changes_writes(
    recorded: tuple[FakeTikTok, str], choice: dict[str, Any], flags: tuple[str, ...]
) -> None:
    _, db = recorded
    got = [change_row(c) for c in api.changes(db, "alice", **choice)]
    assert got == cli_rows("changes", "alice", "--db", db, *flags)


def test_changes_over_the_whole_record_show_the_follows_and_the_unfollow(
    recorded: tuple[FakeTikTok, str],
) -> None:
    _, db = recorded
    seen = [(c.change, c.user.unique_id) for c in api.changes(db, uid=UID, span=(1, 4))]
    assert seen == [
        ("followed", "fan_000010"),
        ("followed", "fan_000011"),
        ("unfollowed", "fan_000005"),
        ("renamed", "fan_zero"),
    ]
    (renamed,) = [c for c in api.changes(db, "alice") if c.change == "renamed"]
    assert (renamed.old_unique_id, renamed.user.unique_id, renamed.list_name) == (
        "fan_000000",
        "fan_zero",
        "followers",
    )
    assert all(
        c.since.tzinfo is timezone.utc and c.since <= c.until for c in api.changes(db, "alice", span=(1, 4))
    )


def test_snapshots_and_history_are_the_rows_those_commands_write(recorded: tuple[FakeTikTok, str]) -> None:
    _, db = recorded
    runs = [
        {**dataclasses.asdict(s), "started_at": iso_ms(s.started_at), "finished_at": iso_ms(s.finished_at)}
        for s in api.snapshots(db, "alice")
        if s.finished_at is not None
    ]
    shown = cli_rows("snapshots", "alice", "--db", db)
    assert len(runs) == len(shown) == 4
    # `list` is the API's list_name; `kind` and `coverage` are the report's words for fields it has.
    derived = {"list", "kind", "coverage"}
    for run, row in zip(runs, shown, strict=True):
        same = [k for k in row if k not in derived]
        assert {k: run[k] for k in same} == {k: row[k] for k in same}
        assert run["list_name"] == row["list"]
        assert row["kind"].startswith(run["status"])
    observed = [o.followers for o in api.history(db, "alice")]
    assert observed == [row["followers"] for row in cli_rows("history", "alice", "--db", db)]
    assert observed[-2:] == [10, 11]


def test_store_errors_carry_the_exit_code_of_the_command(recorded: tuple[FakeTikTok, str]) -> None:
    _, db = recorded
    cases: list[tuple[Callable[[], object], tuple[str, ...] | None, int]] = [
        (lambda: list(api.changes(db, "nobody_here")), ("changes", "nobody_here"), 3),
        (
            lambda: list(api.changes(db, "alice", span=(4, 1))),
            ("changes", "alice", "--from", "4", "--to", "1"),
            2,
        ),
        (lambda: api.changes(db, "alice", lists="likes"), None, 2),
        (lambda: api.changes(db, "alice", since=timedelta(1), span=(1, 2)), None, 2),
        (lambda: list(api.history(db, "nobody_here")), ("history", "nobody_here"), 3),
    ]
    for call, args, code in cases:
        with pytest.raises(api.TikTokCliError) as failed:
            call()
        assert failed.value.exit_code == code
        if args is not None:
            assert invoke(*args, "--db", db).exit_code == code


def test_reading_the_store_leaves_the_programs_signal_handlers_alone(
    recorded: tuple[FakeTikTok, str],
) -> None:
    import signal

    _, db = recorded
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    changes = api.changes(db, "alice", span=(1, 4))
    next(changes)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    changes.close()


def test_leaving_a_loop_early_closes_what_it_read(recorded: tuple[FakeTikTok, str]) -> None:
    # On PostgreSQL rows stream through a server-side cursor: left open, psycopg would warn
    # (an error under this suite's warning filter) and the server would hold it.
    _, db = recorded
    for rows in (api.changes(db, "alice", span=(1, 4)), api.snapshots(db, "alice"), api.history(db, "alice")):
        for _ in rows:
            break
        rows.close()
    assert [c.change for c in api.changes(db, "alice", span=(1, 4))] == [
        "followed",
        "followed",
        "unfollowed",
        "renamed",
    ]


# --- the example ---------------------------------------------------------------------------------------


def test_the_example_prints_the_followers_new_since_its_last_run(serve: Serve, tmp_path: Path) -> None:
    alice = Account("alice", UID, sec_uid_for("alice"), followers=5, members=[0, 1, 2, 3, 4])
    srv = serve(accounts=[alice], page_size=2)
    script = ROOT / "examples" / "python" / "new_followers.py"
    state = tmp_path / "seen.txt"
    env = {**os.environ}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), "alice", str(state)], capture_output=True, text=True, env=env
        )

    first = run()
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "unique_id,user_id,nickname",
        *(f"fan_{i:06d},{7_000_000_000_000_000_000 + i},Fan number {i}" for i in range(5)),
    ]
    alice.members = [7, 6, 0, 1, 2, 4]
    second = run()
    assert second.returncode == 0, second.stderr
    assert [line.split(",")[0] for line in second.stdout.splitlines()] == [
        "unique_id",
        "fan_000007",
        "fan_000006",
    ]
    assert srv.count(FOLLOWERS_PATH) == 3 + 3  # pages of 2: 5 members, then 6
    env["TIKTOK_API_TOKEN"] = "wrong-token-1234"
    failed = run()
    assert failed.returncode == 5
    assert failed.stderr.startswith("new_followers: error: ") and "wrong-token-1234" not in failed.stderr
