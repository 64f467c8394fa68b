"""`tiktok followings`: the gateway's cursor list (seed 000), by secUid or by username."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import (
    CNN_SEC_UID,
    NO_REQUESTS,
    SEED_SEC_UID,
    cassette_bodies,
    csv_rows,
    error_line,
    invoke,
    jsonl,
)
from sent import record_sent

THREE_PAGES = "gateway/followings_three_pages"
CSV_HEADER = (
    "unique_id,nickname,user_id,sec_uid,bio,verified,private,followers,following,likes,videos,avatar_url"
)


def expected_accounts(name: str = THREE_PAGES) -> list[dict]:
    """The followed accounts a cassette serves, page after page."""
    return [item for body in cassette_bodies(name) for item in body["followings"]]


def followings(*args: str):
    return invoke("followings", "--sec-uid", SEED_SEC_UID, *args)


def test_every_account_once_in_order(cassette):
    with cassette(THREE_PAGES) as cas:
        result = followings()
    assert result.exit_code == 0, result.stderr
    rows = jsonl(result.stdout)
    assert [r["unique_id"] for r in rows] == [a["username"] for a in expected_accounts()]
    assert len(rows) == 20
    assert cas.play_count == 3
    assert "20 followings" in result.stderr


def test_jsonl_maps_the_seed_example(cassette):
    with cassette(THREE_PAGES):
        result = followings()
    cnn = jsonl(result.stdout)[0]
    assert cnn == {
        "unique_id": "cnn",
        "nickname": "CNN",
        "user_id": None,
        "sec_uid": None,
        "bio": "This is CNN...",
        "verified": True,
        "private": None,
        "followers": 6900000,
        "following": 8,
        "likes": 204600000,
        "videos": 5588,
        "avatar_url": expected_accounts()[0]["avatar"],
    }


def test_csv_round_trips_bios_and_odd_characters_exactly(cassette):
    with cassette(THREE_PAGES):
        result = followings("-f", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(CSV_HEADER.encode() + b"\r\n")
    header, *rows = csv_rows(result.stdout_bytes)
    records = [dict(zip(header, row, strict=True)) for row in rows]
    accounts = expected_accounts()
    assert len(records) == len(accounts) == 20
    for record, account in zip(records, accounts, strict=True):
        assert record["unique_id"] == account["username"]
        assert record["nickname"] == account["nickname"]
        assert record["bio"] == account["bio"]
        assert record["followers"] == str(account["stats"]["followers"])
        assert record["verified"] == ("true" if account["verified"] else "false")
    clear_cut = records[1]
    assert clear_cut["bio"].count("\n") == 3
    assert "\uf8ffüíé Jewelry" in clear_cut["bio"]


def test_csv_file_matches_stdout(cassette):
    with cassette(THREE_PAGES):
        to_stdout = followings("-f", "csv").stdout_bytes
    with cassette(THREE_PAGES):
        result = followings("-o", "out.csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert Path("out.csv").read_bytes() == to_stdout


def test_by_username_resolves_sec_uid_through_user_info(cassette, monkeypatch):
    sent_urls = record_sent(monkeypatch)
    with cassette("gateway/followings_by_name") as cas:
        result = invoke("followings", "@cnn")
    assert result.exit_code == 0, result.stderr
    _, page = cassette_bodies("gateway/followings_by_name")
    assert [r["unique_id"] for r in jsonl(result.stdout)] == [a["username"] for a in page["followings"]]
    assert cas.play_count == 2
    # What was sent, not what the cassette stored.
    assert [url.params.get("secUid") for url in sent_urls] == [None, CNN_SEC_UID]
    assert sent_urls[1].path.endswith("/user-followings")


def test_min_cursor_continues_from_a_later_page(cassette):
    with cassette(THREE_PAGES) as cas:
        result = followings("--min-cursor", "1656812667")
    assert result.exit_code == 0, result.stderr
    assert [r["unique_id"] for r in jsonl(result.stdout)] == [a["username"] for a in expected_accounts()[8:]]
    assert cas.play_count == 2


def test_username_without_sec_uid_points_to_the_option(cassette):
    with cassette("gateway/followings_name_without_secuid") as cas:
        result = invoke("followings", "taylorswift")
    assert "--sec-uid" in error_line(result, 7)
    assert cas.play_count == 1
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--sec-uid", "not-a-sec-uid"],
        ["--sec-uid", SEED_SEC_UID, "--count", "0"],
        ["--sec-uid", SEED_SEC_UID, "--count", "51"],
        ["--sec-uid", SEED_SEC_UID, "--limit", "0"],
        ["--sec-uid", SEED_SEC_UID, "-f", "xml"],
    ],
)
def test_bad_arguments_are_usage_errors_before_any_request(cassette, args):
    with cassette(NO_REQUESTS) as cas:
        result = invoke("followings", *args)
    assert result.exit_code == 2, result.stderr
    assert cas.play_count == 0


def test_followings_of_a_hidden_list_exit_4(cassette):
    with cassette("gateway/followings_not_visible"):
        result = followings("--retries", "0")
    assert "private" in error_line(result, 4)


def test_a_null_list_is_an_upstream_error(cassette):
    with cassette("gateway/followings_missing_list"):
        result = followings("--retries", "0")
    assert "followings" in error_line(result, 7)


def test_raw_jsonl_is_the_gateways_own_objects(cassette):
    with cassette(THREE_PAGES):
        result = followings("--raw")
    assert result.exit_code == 0, result.stderr
    assert jsonl(result.stdout) == expected_accounts()
    # Key order survives too: the line is the object as the API sent it.
    assert list(json.loads(result.stdout.splitlines()[0])) == list(expected_accounts()[0])
