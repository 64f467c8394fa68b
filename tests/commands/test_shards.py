"""--shard K/N: N processes split one batch of accounts, disjointly and completely."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fakeserver import Account as ServerAccount
from fakeserver import FakeTikTok, sec_uid_for
from helpers import Serve, csv_rows, error_line, invoke, jsonl, spawn_cli
from hypothesis import given
from hypothesis import strategies as st

from tiktok_cli.identifiers import Account, IdKind, Target
from tiktok_cli.shards import INDEX_ENV, Shard, parse_shard, shard_of

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"]


def by_name(name: str) -> Account:
    return Account(IdKind.USERNAME, name)


def split(targets: list[Target], count: int) -> list[list[Target]]:
    return [Shard(index, count).take(targets) for index in range(count)]


# --- the split ---------------------------------------------------------------------------

# Accounts in every form the input can name them: a username, a uid, a secUid, or a row of
# this tool's output (a username with its ids).
usernames = st.from_regex(r"[A-Za-z0-9_]{2,12}", fullmatch=True)
uids = st.integers(min_value=0, max_value=2**64 - 1).map(str)
sec_uids = st.from_regex(r"[A-Za-z0-9_-]{20,40}", fullmatch=True).map(lambda s: "MS4wLjABAAAA" + s)
accounts = st.one_of(
    usernames.map(by_name),
    uids.map(lambda u: Account(IdKind.UID, u)),
    sec_uids.map(lambda s: Account(IdKind.SEC_UID, s)),
    st.tuples(usernames, uids, sec_uids).map(
        lambda t: Account(IdKind.USERNAME, t[0], ((IdKind.UID, t[1]), (IdKind.SEC_UID, t[2])))
    ),
)
inputs = st.lists(accounts, max_size=40).map(lambda found: [Target(str(a), a) for a in found])


@given(inputs, st.integers(min_value=1, max_value=12))
def test_shares_are_disjoint_and_their_union_is_the_whole_input(targets: list[Target], count: int) -> None:
    shares = split(targets, count)
    assert sum(len(share) for share in shares) == len(targets)
    assert Counter(t for share in shares for t in share) == Counter(targets)
    for share in shares:  # each share keeps the input's order
        assert share == [t for t in targets if t in share]


@given(inputs, st.integers(min_value=1, max_value=12), st.randoms(use_true_random=False))
def test_an_accounts_share_depends_on_the_account_alone(
    targets: list[Target], count: int, rng: random.Random
) -> None:
    """Shuffled, repeated, or given among other accounts: an account lands in the same share."""
    shuffled = targets * 2
    rng.shuffle(shuffled)
    where = {t: i for i, share in enumerate(split(targets, count)) for t in share}
    for index, share in enumerate(split(shuffled, count)):
        assert all(where[t] == index for t in share)


def test_a_user_id_decides_when_the_input_carries_one() -> None:
    """A row of this tool's output names the account by its user id, whatever its username."""
    row = Account(IdKind.USERNAME, "alice", ((IdKind.UID, "6754915036232582149"),))
    renamed = Account(IdKind.USERNAME, "alice_2026", ((IdKind.UID, "6754915036232582149"),))
    by_id = Account(IdKind.UID, "6754915036232582149")
    for count in (2, 3, 7, 100):
        assert shard_of(row, count) == shard_of(renamed, count) == shard_of(by_id, count)
    assert shard_of(Account(IdKind.UID, "0042"), 7) == shard_of(Account(IdKind.UID, "42"), 7)


def test_usernames_are_compared_without_case_and_a_secuid_is_the_last_resort() -> None:
    for count in (3, 7, 100):
        assert shard_of(by_name("Alice"), count) == shard_of(by_name("alice"), count)
    sec = sec_uid_for("alice")
    with_sec = Account(IdKind.USERNAME, "alice", ((IdKind.SEC_UID, sec),))
    assert [shard_of(with_sec, n) for n in range(1, 50)] == [
        shard_of(by_name("alice"), n) for n in range(1, 50)
    ]
    assert [shard_of(Account(IdKind.SEC_UID, sec), n) for n in range(1, 50)] != [
        shard_of(by_name("alice"), n) for n in range(1, 50)
    ]


# Computed once and kept: a change here moves accounts between shards on every installation
# that upgrades mid-way through a night, so it must never happen unnoticed.
FIXED_SHARDS = {
    # account: (share of 3, share of 7)
    by_name("alice"): (2, 6),
    by_name("bob"): (1, 6),
    by_name("carol"): (1, 4),
    by_name("frank"): (0, 6),
    by_name("ivan"): (2, 0),
    by_name("judy"): (0, 0),
    Account(IdKind.UID, "6754915036232582149"): (1, 1),
    Account(IdKind.UID, "7000000000000000001"): (1, 4),
    Account(IdKind.SEC_UID, "MS4wLjABAAAA" + "x" * 40): (1, 2),
}


def test_the_split_is_the_same_in_every_release_and_python_version() -> None:
    assert {a: (shard_of(a, 3), shard_of(a, 7)) for a in FIXED_SHARDS} == FIXED_SHARDS


def test_the_split_is_the_same_in_every_process() -> None:
    """Python's own hash() differs per process (PYTHONHASHSEED); the split must not."""
    code = (
        "from tiktok_cli.identifiers import Account, IdKind\n"
        "from tiktok_cli.shards import shard_of\n"
        f"print([shard_of(Account(IdKind.USERNAME, n), 7) for n in {NAMES!r}])"
    )
    seen = set()
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        seen.add(out.stdout)
    assert seen == {str([shard_of(by_name(n), 7) for n in NAMES]) + "\n"}


@pytest.mark.parametrize(
    ("text", "shard"), [("0/1", Shard(0, 1)), ("2/3", Shard(2, 3)), (" 06/10 ", Shard(6, 10))]
)
def test_k_of_n(text: str, shard: Shard) -> None:
    assert parse_shard(text, source="--shard", environ={}) == shard


@pytest.mark.parametrize(("index", "shard"), [("0", Shard(0, 4)), ("3", Shard(3, 4)), (" 2\n", Shard(2, 4))])
def test_auto_takes_k_from_the_indexed_jobs_variable(index: str, shard: Shard) -> None:
    assert parse_shard("auto/4", source="--shard", environ={INDEX_ENV: index}) == shard


# --- the command line --------------------------------------------------------------------

BAD_SHARDS = {
    "3/3": "--shard 3/3: K must be from 0 to 2",
    "-1/2": "--shard takes K/N, share K of N counted from 0",
    "a/b": "--shard takes K/N",
    "0/0": "--shard 0/0: N, the number of shares, must be 1 or more",
    "1/": "--shard takes K/N",
    "1": "--shard takes K/N",
    "1/3/5": "--shard takes K/N",
    "½/2": "--shard takes K/N",
    "auto/0": "N, the number of shares, must be 1 or more",
}


@pytest.mark.parametrize("command", ["user-info", "followings", "followers"])
@pytest.mark.parametrize("value", sorted(BAD_SHARDS))
def test_a_bad_shard_is_a_usage_error_before_any_request(serve: Serve, command: str, value: str) -> None:
    server = serve()
    line = error_line(invoke(command, "alice", "--shard", value), 2)
    assert BAD_SHARDS[value] in line
    assert server.requests == []


def test_a_bad_tiktok_shard_names_the_variable(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve()
    monkeypatch.setenv("TIKTOK_SHARD", "3/3")
    line = error_line(invoke("followers", "alice"), 2)
    assert "TIKTOK_SHARD 3/3: K must be from 0 to 2" in line
    assert server.requests == []


@pytest.mark.parametrize(
    ("index", "words"),
    [
        (
            None,
            "--shard auto/3 takes K from JOB_COMPLETION_INDEX (set in each pod of a Kubernetes "
            "Indexed Job), which is not set",
        ),
        ("", "which is not set"),
        ("3", "JOB_COMPLETION_INDEX is '3', not a share of 3 (0 to 2)"),
        ("-1", "JOB_COMPLETION_INDEX is '-1', not a share of 3"),
        ("one", "JOB_COMPLETION_INDEX is 'one', not a share of 3"),
    ],
)
def test_auto_without_a_usable_job_index_is_a_usage_error(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, index: str | None, words: str
) -> None:
    server = serve()
    if index is None:
        monkeypatch.delenv(INDEX_ENV, raising=False)
    else:
        monkeypatch.setenv(INDEX_ENV, index)
    assert words in error_line(invoke("followers", "alice", "--shard", "auto/3"), 2)
    assert server.requests == []


def nine_accounts(serve: Serve) -> FakeTikTok:
    """A server with the nine NAMES, 5 to 13 followers each."""
    accounts = [
        ServerAccount(name, str(6754915036232582149 + n), sec_uid_for(name), 5 + n, 2)
        for n, name in enumerate(NAMES)
    ]
    return serve(accounts=accounts, page_size=4)


def shares_by_name(count: int) -> list[set[str]]:
    return [{n for n in NAMES if shard_of(by_name(n), count) == k} for k in range(count)]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_auto_runs_the_share_of_the_pods_index(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, index: int
) -> None:
    nine_accounts(serve)
    (tmp_path / "accounts.txt").write_text("\n".join(NAMES) + "\n")
    monkeypatch.setenv(INDEX_ENV, str(index))
    result = invoke("user-info", "--input", "accounts.txt", "--shard", "auto/3", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    got = [row["unique_id"] for row in jsonl(result.stdout)]
    assert got == [n for n in NAMES if n in shares_by_name(3)[index]]  # in input order
    assert result.stderr == f"shard {index}/3: {len(got)} of 9 accounts\n"


def test_tiktok_shard_is_the_default_and_the_flag_wins(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    nine_accounts(serve)
    monkeypatch.setenv("TIKTOK_SHARD", "1/3")
    from_env = jsonl(invoke("user-info", *NAMES, "-f", "jsonl", "-q").stdout)
    assert {row["unique_id"] for row in from_env} == shares_by_name(3)[1]
    from_flag = jsonl(invoke("user-info", *NAMES, "--shard", "2/3", "-f", "jsonl", "-q").stdout)
    assert {row["unique_id"] for row in from_flag} == shares_by_name(3)[2]


def test_a_share_keeps_the_owner_column_even_with_one_account(serve: Serve, tmp_path: Path) -> None:
    """Every shard's file has the same header, whatever its number of accounts, so they merge."""
    nine_accounts(serve)
    (k,) = [k for k, share in enumerate(shares_by_name(7)) if share == {"erin"}]
    result = invoke("followers", *NAMES, "--shard", f"{k}/7", "-o", "erin.csv")
    assert result.exit_code == 0, result.stderr
    header, *rows = csv_rows((tmp_path / "erin.csv").read_bytes())
    assert header[0] == "owner" and len(rows) == 9
    assert {row[0] for row in rows} == {"erin"}


def test_an_empty_share_is_nothing_to_do_and_writes_no_file(serve: Serve, tmp_path: Path) -> None:
    server = nine_accounts(serve)
    (k,) = [k for k, share in enumerate(shares_by_name(7)) if not share]
    (tmp_path / "accounts.txt").write_text("\n".join(NAMES) + "\n")
    result = invoke(
        "followers", "--input", "accounts.txt", "--shard", f"{k}/7", "-o", "out.csv", "--db", "s.db"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"nothing to do: shard {k}/7 holds none of the 9 accounts given\n"
    assert result.stdout == ""
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "s.db").exists()
    assert server.requests == []


def test_rows_with_a_user_id_are_split_by_it(serve: Serve, tmp_path: Path) -> None:
    """A row of this tool's output (username and id) goes to the share of its id."""
    server = nine_accounts(serve)
    rows = [json.dumps({"unique_id": a.name, "user_id": a.uid}) for a in server.accounts.values()]
    (tmp_path / "rows.jsonl").write_text("\n".join(rows) + "\n")
    by_id = {a.name: shard_of(Account(IdKind.UID, a.uid), 3) for a in server.accounts.values()}
    assert by_id != {n: shard_of(by_name(n), 3) for n in NAMES}  # else this test could not tell
    for k in range(3):
        result = invoke("followers", "--input", "rows.jsonl", "--shard", f"{k}/3", "-f", "jsonl", "-q")
        assert result.exit_code == 0, result.stderr
        assert {row["owner"] for row in jsonl(result.stdout)} == {n for n, s in by_id.items() if s == k}


@pytest.mark.parametrize("command", ["user-info", "followings", "followers"])
def test_every_batch_command_takes_shard(command: str) -> None:
    result = invoke(command, "--help")
    assert "--shard K/N" in result.stdout and "TIKTOK_SHARD" in result.stdout


# --- N processes, one store ----------------------------------------------------------------


def list_contents(url: str) -> dict[str, object]:
    """What a store holds about each list, by owner and kind: its snapshots and members."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:

            def rows(sql: str) -> list[tuple[Any, ...]]:
                return sorted(tuple(row) for row in connection.execute(sa.text(sql)))

            members: dict[tuple[str, str], set[str]] = {}
            for owner, kind, member in rows(
                "SELECT o.user_id, l.kind, a.user_id FROM memberships m "
                "JOIN lists l ON l.id = m.list_id JOIN accounts o ON o.id = l.owner_id "
                "JOIN accounts a ON a.id = m.member_id WHERE m.ended_run IS NULL"
            ):
                members.setdefault((owner, kind), set()).add(member)
            return {
                "snapshots": rows(
                    "SELECT o.user_id, l.kind, s.owner_name, s.status, s.rows, s.reported_total "
                    "FROM snapshots s JOIN lists l ON l.id = s.list_id JOIN accounts o ON o.id = l.owner_id"
                ),
                "members": members,
                "accounts": rows("SELECT account_key, user_id, unique_id FROM accounts"),
                "observations": rows(
                    "SELECT a.user_id, o.followers, o.following FROM observations o "
                    "JOIN accounts a ON a.id = o.account_id"
                ),
            }
    finally:
        engine.dispose()


def test_three_shards_at_once_are_one_run_split_three_ways(pg_url: str, tmp_path: Path) -> None:
    """Three processes take shares 0, 1 and 2 of one input at the same time, each into its own
    file and all into one PostgreSQL store: together they are exactly one unsharded run."""
    accounts = [
        ServerAccount(name, str(6754915036232582149 + n), sec_uid_for(name), 20 + 3 * n, 2)
        for n, name in enumerate(NAMES)
    ]
    # Names and rows of this tool's output (split by user id), a duplicate and a comment.
    lines = [*NAMES[:6], *(json.dumps({"unique_id": a.name, "user_id": a.uid}) for a in accounts[6:])]
    (tmp_path / "accounts.txt").write_text("# tonight\n" + "\n".join([*lines, "alice"]) + "\n")
    with FakeTikTok(accounts=accounts, page_size=7, latency=0.002) as server:
        single = spawn_cli(
            server,
            "followers",
            "--input",
            "accounts.txt",
            "--db",
            "single.db",
            "-o",
            "single.csv",
            cwd=tmp_path,
        )
        _, err = single.communicate(timeout=120)
        assert single.returncode == 0, err
        common = ("followers", "--input", "accounts.txt", "--db", pg_url)
        shards = [
            spawn_cli(server, *common, "--shard", "0/3", "-o", "followers-0.csv", cwd=tmp_path),
            spawn_cli(server, *common, "-o", "followers-1.csv", cwd=tmp_path, TIKTOK_SHARD="1/3"),
            spawn_cli(
                server,
                *common,
                "--shard",
                "auto/3",
                "-o",
                "followers-2.csv",
                cwd=tmp_path,
                JOB_COMPLETION_INDEX="2",
            ),
        ]
        for shard in shards:
            _, err = shard.communicate(timeout=120)
            assert shard.returncode == 0, err

    header, *whole = csv_rows((tmp_path / "single.csv").read_bytes())
    assert header[0] == "owner" and {row[0] for row in whole} == set(NAMES)
    owners: list[set[str]] = []
    union: Counter[tuple[str, ...]] = Counter()
    for k in range(3):
        shard_header, *rows = csv_rows((tmp_path / f"followers-{k}.csv").read_bytes())
        assert shard_header == header
        assert rows, f"shard {k} got no account: pick other names"
        owners.append({row[0] for row in rows})
        union.update(tuple(row) for row in rows)
    assert sum(len(o) for o in owners) == len(set().union(*owners)) == 9  # disjoint, and all of them
    assert union == Counter(tuple(row) for row in whole)
    assert any("\n" in cell for row in whole for cell in row)  # bios span lines: merging must cope

    assert list_contents(pg_url) == list_contents(f"sqlite:///{tmp_path / 'single.db'}")

    # The next two nights, each account lost its oldest fan (an unfollow is confirmed by two
    # nights in a row) and gained a new one. `changes` over the shards' shared store says
    # what it says over the single machine's.
    for account in accounts:
        account.members = list(range(1, account.followers + 1))
    for _night in range(2):
        record_night(tmp_path, accounts, common)

    def changed(db: str) -> Counter[tuple[str, ...]]:
        # Since before the first night: from the first complete snapshots to the latest.
        result = invoke(
            "changes",
            "--input",
            str(tmp_path / "accounts.txt"),
            "--db",
            db,
            "--since",
            "2020-01-01",
            "-f",
            "jsonl",
        )
        assert result.exit_code == 0, result.stderr
        return Counter((r["owner"], r["list"], r["change"], r["user_id"]) for r in jsonl(result.stdout))

    expected = changed(str(tmp_path / "single.db"))
    assert sum(expected.values()) == 2 * 9  # one follow and one unfollow per account
    assert changed(pg_url) == expected


def record_night(tmp_path: Path, accounts: list[ServerAccount], common: tuple[str, ...]) -> None:
    """One night's runs: the single machine's, and the three shards' into the shared store."""
    with FakeTikTok(accounts=accounts, page_size=7) as server:
        runs = [
            spawn_cli(
                server,
                "followers",
                "--input",
                "accounts.txt",
                "--db",
                "single.db",
                "-q",
                "-f",
                "none",
                cwd=tmp_path,
            )
        ]
        runs += [
            spawn_cli(server, *common, "--shard", f"{k}/3", "-q", "-f", "none", cwd=tmp_path)
            for k in range(3)
        ]
        for run in runs:
            _, err = run.communicate(timeout=120)
            assert run.returncode == 0, err
