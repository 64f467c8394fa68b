"""The table format at the widths people use: usernames whole, the width kept, a card for one account."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from fakeserver import TOKEN, Account, FakeTikTok, Fault, mobile_follower, sec_uid_for
from helpers import SEED_SEC_UID, cassette_bodies, invoke
from rich.cells import cell_len

from tiktok_cli.reports import CHANGE_COLUMNS
from tiktok_cli.writers.base import WriterOptions
from tiktok_cli.writers.table import TableWriter

WIDTHS = [60, 80, 120]
FOLLOWINGS = "gateway/followings_three_pages"
UID = "6754915036232582149"
# The longest username TikTok allows, and one with every kind of allowed character.
LONG_NAMES = ["a" * 23 + "z", "the.longest_name.2024__x", "x.y"]


def lines_of(result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


def assert_fits(lines: list[str], width: int) -> None:
    widest = max(cell_len(line) for line in lines)
    assert widest <= width, (widest, width)


@pytest.fixture
def long_names(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    """The token API serving one page of followers with the longest usernames."""
    followers = []
    for index, name in enumerate(LONG_NAMES):
        account = mobile_follower(index)
        account.update(unique_id=name, nickname="A nickname that is rather long " * 2)
        followers.append(account)
    data = {"status_code": 0, "has_more": False, "min_time": 1, "total": 3, "followers": followers}
    body = json.dumps({"code": 200, "msg": "ok", "data": data}).encode()
    with FakeTikTok(faults=[Fault("/user/followers", body=body)]) as server:
        monkeypatch.setenv("TIKTOK_API_URL", server.url + "/tk")
        monkeypatch.setenv("TIKTOK_API_TOKEN", TOKEN)
        yield server


@pytest.mark.parametrize("width", WIDTHS)
def test_every_username_whole_and_the_table_within_the_width(cassette, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    with cassette(FOLLOWINGS):
        lines = lines_of(invoke("followings", "--sec-uid", SEED_SEC_UID, "-f", "table"))
    names = [item["username"] for body in cassette_bodies(FOLLOWINGS) for item in body["followings"]]
    first_words = [line.split()[0] for line in lines[2:] if line.strip()]
    assert first_words == names  # one line per account, its username whole in the first column
    assert_fits(lines, width)
    assert lines[0].split()[:2] == ["unique_id", "nickname"]


@pytest.mark.parametrize("width", WIDTHS)
def test_longest_usernames_are_never_cut(long_names, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    lines = lines_of(invoke("followers", "--uid", UID, "-f", "table"))
    assert [line.split()[0] for line in lines[2:]] == LONG_NAMES
    assert_fits(lines, width)


@pytest.mark.parametrize(
    ("width", "shown", "hidden"),
    [
        (60, ["unique_id", "nickname", "followers", "following", "likes"], ["videos", "private", "bio"]),
        (80, ["unique_id", "nickname", "videos", "private"], ["verified", "bio"]),
        (120, ["unique_id", "nickname", "videos", "verified", "private", "bio"], []),
    ],
)
def test_narrow_widths_drop_bio_then_flags_then_counts(cassette, monkeypatch, width, shown, hidden):
    monkeypatch.setenv("COLUMNS", str(width))
    with cassette(FOLLOWINGS):
        header = lines_of(invoke("followings", "--sec-uid", SEED_SEC_UID, "-f", "table"))[0].split()
    assert all(column in header for column in shown), header
    assert not any(column in header for column in hidden), header


@pytest.mark.parametrize("width", WIDTHS)
def test_a_batch_keeps_owner_and_username_whole(cassette, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    with cassette("gateway/user_info_two"):
        lines = lines_of(invoke("user-info", "taylorswift", "cnn", "-f", "table"))
    assert [line.split()[0] for line in lines[2:]] == ["taylorswift", "cnn"]
    assert_fits(lines, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_one_account_is_a_card_with_every_field(cassette, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    with cassette("gateway/user_info_two"):
        record = json.loads(invoke("user-info", "cnn", "-f", "jsonl").stdout)
    with cassette("gateway/user_info_two"):
        lines = lines_of(invoke("user-info", "cnn", "-f", "table"))
    assert_fits(lines, width)
    card = {}
    key = ""
    for line in lines:
        if not line.startswith(" "):
            key, _, value = line.partition(" ")
            card[key] = value.strip()
        else:  # a long value wrapped onto the next line, under its start
            card[key] += line.strip()
    assert list(card) == list(record)  # every field, in the record's order
    assert card["unique_id"] == "cnn"
    assert card["user_id"] == record["user_id"]
    assert card["sec_uid"] == record["sec_uid"]  # long ids wrap, never cut
    assert card["avatar_url"] == record["avatar_url"]
    assert card["followers"] == f"{record['followers']:,}"  # the exact figure, not 6.9M
    assert card["verified"] == "yes" and card["private"] == "no"


def test_fields_keep_the_table_for_one_account(cassette):
    with cassette("gateway/user_info_seed"):
        lines = lines_of(invoke("user-info", "taylorswift", "--fields", "unique_id,followers", "-f", "table"))
    assert lines[0].split() == ["unique_id", "followers"]
    assert lines[2].split() == ["taylorswift", "1M"]


def render(rows: list[dict], *, header: bool = True, flush_each: bool = False) -> list[str]:
    """What the writer prints, chunk after chunk, for ``rows`` of every field."""
    out = io.BytesIO()
    writer = TableWriter(out, ("unique_id", "nickname", "user_id", "sec_uid", "bio", "verified", "private",
                               "followers", "following", "likes", "videos", "avatar_url"),
                         WriterOptions(header=header))  # fmt: skip
    for row in rows:
        writer.write(row)
        if flush_each:
            writer.flush()
    writer.close()
    return out.getvalue().decode().splitlines()


def user(name: str, followers: int = 1234) -> dict:
    return {"unique_id": name, "nickname": name.title(), "followers": followers, "bio": "hi"}


def test_a_list_streams_from_its_second_row():
    out = io.BytesIO()
    writer = TableWriter(out, ("unique_id", "followers"), WriterOptions())
    writer.write(user("first"))
    writer.write(user("second"))
    writer.flush()
    assert "first" in out.getvalue().decode() and "second" in out.getvalue().decode()
    writer.write(user("third"))
    writer.flush()
    assert "third" in out.getvalue().decode()  # page by page, before close()
    writer.close()


def test_only_the_first_row_waits_and_chunks_line_up():
    lines = render([user("a.b"), user("longer_name_here", 12_345_678), user("c")], flush_each=True)
    assert lines[0].split()[:2] == ["unique_id", "nickname"]  # one header, no card
    assert [line.split()[0] for line in lines[2:]] == ["a.b", "longer_name_here", "c"]
    # every chunk uses the same geometry: the counts end in the same column
    ends = {line.index("1,234") + 5 for line in lines[2:] if "1,234" in line}
    ends |= {line.index("12.3M") + 5 for line in lines[2:] if "12.3M" in line}
    assert len(ends) == 1


def test_a_resumed_table_with_one_new_row_stays_a_table():
    lines = render([user("solo")], header=False)
    assert len(lines) == 1 and lines[0].split()[:2] == ["solo", "Solo"]


def test_nothing_written_prints_nothing():
    assert render([]) == []


# --- name columns as wide as the names (COLUMNS 60, 80, 100) ------------------------------

NAME_WIDTHS = [60, 80, 100]


@pytest.mark.parametrize("width", NAME_WIDTHS)
def test_short_usernames_leave_room_for_whole_nicknames(cassette, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    with cassette("gateway/user_info_two"):
        lines = lines_of(invoke("user-info", "taylorswift", "cnn", "-f", "table"))
    assert lines[0].split()[:3] == ["unique_id", "nickname", "followers"]
    assert lines[2].split()[:3] == ["taylorswift", "Taylor", "Swift"]  # not "Taylor …"
    assert_fits(lines, width)


@pytest.mark.parametrize("width", NAME_WIDTHS)
def test_a_batch_table_keeps_nicknames_beside_owner_and_username(serve, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    owners = [Account(name, str(6754915036232582149 + i), sec_uid_for(name), 3, 0)
              for i, name in enumerate(("alice", "bob.b"))]  # fmt: skip
    serve(accounts=owners)
    lines = lines_of(invoke("followers", "alice", "bob.b", "-f", "table"))
    assert lines[0].split()[:3] == ["owner", "unique_id", "nickname"]
    assert [line.split()[:2] for line in lines[2:]] == [
        [owner, f"fan_{index:06d}"] for owner in ("alice", "bob.b") for index in range(3)
    ]
    assert_fits(lines, width)


def changes_table(rows: list[dict]) -> list[str]:
    out = io.BytesIO()
    writer = TableWriter(out, CHANGE_COLUMNS, WriterOptions())
    for row in rows:
        writer.write(row)
    writer.close()
    return out.getvalue().decode().splitlines()


@pytest.mark.parametrize("width", NAME_WIDTHS)
def test_a_renamed_row_always_shows_the_old_name(monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    window = {"since": "2026-03-01T03:02:00Z", "until": "2026-03-01T03:05:00Z"}
    lines = changes_table([
        {"list": "followers", "change": "followed", **window, "unique_id": "dave", "nickname": "Dave"},
        {"list": "followers", "change": "renamed", "old_unique_id": "carol", **window,
         "unique_id": "carol_2026", "nickname": "Carol"},
    ])  # fmt: skip
    assert "old_unique_id" in lines[0].split()
    renamed = lines[3].split()
    assert "renamed" in renamed and "carol" in renamed and "carol_2026" in renamed
    assert_fits(lines, width)


def test_a_longer_name_on_a_later_page_wraps_whole():
    out = io.BytesIO()
    writer = TableWriter(out, ("unique_id", "followers"), WriterOptions())
    for name in ("ab", "cd"):
        writer.write(user(name))
    writer.flush()  # the geometry is fixed here, for names of 2 characters (the header: 9)
    writer.write(user("a_name_of_twenty_chars"))
    writer.close()
    lines = out.getvalue().decode().splitlines()
    assert "".join(line.split()[0] for line in lines[4:]) == "a_name_of_twenty_chars"


def test_the_accounts_of_a_batch_size_the_owner_column_before_their_rows_come():
    out = io.BytesIO()
    writer = TableWriter(out, ("owner", "unique_id"), WriterOptions(names=("a", "the_second_owner")))
    writer.write({"owner": "a", "unique_id": "fan"})
    writer.write({"owner": "a", "unique_id": "fan2"})
    writer.flush()
    writer.write({"owner": "the_second_owner", "unique_id": "fan"})
    writer.close()
    assert out.getvalue().decode().splitlines()[-1].split() == ["the_second_owner", "fan"]  # one line
