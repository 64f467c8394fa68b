"""`tiktok user-info`: one record per account, in the order given, from the gateway (seed 000)."""

from __future__ import annotations

import pytest
from helpers import NO_REQUESTS, csv_rows, error_line, invoke, jsonl

SEED = "gateway/user_info_seed"
TWO = "gateway/user_info_two"
# The seed's own example, as every format must carry it.
TAYLOR = {
    "unique_id": "taylorswift",
    "nickname": "Taylor Swift",
    "user_id": None,
    "sec_uid": None,
    "bio": "Singer and songwriter",
    "verified": None,
    "private": None,
    "followers": 1000000,
    "following": 20,
    "likes": 5000000,
    "videos": None,
    "avatar_url": "https://example.com/taylor.jpg",
}


@pytest.mark.parametrize(
    "user",
    [
        "taylorswift",
        "@taylorswift",
        "https://www.tiktok.com/@taylorswift?lang=en",
        " tiktok.com/@taylorswift/ ",
    ],
)
def test_accepts_name_at_name_and_profile_url(cassette, user):
    with cassette(SEED) as cas:
        result = invoke("user-info", user)
    assert result.exit_code == 0, result.stderr
    assert jsonl(result.stdout) == [TAYLOR]
    assert cas.play_count == 1


@pytest.mark.parametrize("order", [["taylorswift", "@cnn"], ["cnn", "taylorswift"]])
def test_one_record_per_account_in_the_order_given(cassette, order):
    with cassette(TWO) as cas:
        result = invoke("user-info", *order)
    assert result.exit_code == 0, result.stderr
    assert [r["unique_id"] for r in jsonl(result.stdout)] == [u.lstrip("@") for u in order]
    assert cas.play_count == 2


def test_jsonl_carries_fields_beyond_the_seed(cassette):
    with cassette(TWO):
        result = invoke("user-info", "cnn", "-f", "jsonl")
    [cnn] = jsonl(result.stdout)
    assert cnn["user_id"] == "6750512244347290630"
    assert cnn["sec_uid"].startswith("MS4wLjABAAAA")
    assert (cnn["verified"], cnn["private"], cnn["videos"]) == (True, False, 5588)


def test_csv_writes_seed_values_verbatim_and_absent_fields_empty(cassette):
    with cassette(SEED):
        result = invoke("user-info", "taylorswift", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    header, row = csv_rows(result.stdout_bytes)
    assert header == list(TAYLOR)
    assert dict(zip(header, row, strict=True)) == {k: "" if v is None else str(v) for k, v in TAYLOR.items()}


def test_table_shows_each_account(cassette):
    with cassette(TWO):
        result = invoke("user-info", "taylorswift", "cnn", "-f", "table")
    assert result.exit_code == 0, result.stderr
    for text in ("unique_id", "taylorswift", "Taylor Swift", "Singer and songwriter", "cnn", "CNN"):
        assert text in result.stdout


@pytest.mark.parametrize(
    "user",
    [
        "a&uniqueId=b",
        "bad name",
        "x",
        "a" * 25,
        "...",
        "@",
        "",
        "https://example.com/@taylorswift",
        "https://www.tiktok.com/taylorswift",
        "https://vm.tiktok.com/ZMabc1234/",
    ],
)
def test_invalid_username_is_a_usage_error_before_any_request(cassette, user):
    with cassette(NO_REQUESTS) as cas:
        result = invoke("user-info", "taylorswift", user)
    assert repr(user) in error_line(result, 2)
    assert cas.play_count == 0
    assert result.stdout == ""


def test_short_link_message_says_what_to_do_instead(cassette):
    with cassette(NO_REQUESTS):
        result = invoke("user-info", "https://vm.tiktok.com/ZMabc1234/")
    assert "short link" in error_line(result, 2)


def test_no_user_is_a_usage_error():
    result = invoke("user-info")
    assert result.exit_code == 2
