"""`tiktok followers`: the token API's follower list (seed 004), by uid or by username."""

from __future__ import annotations

import pytest
from helpers import CNN_ID, NO_REQUESTS, SEED_UID, cassette_bodies, csv_rows, error_line, invoke, jsonl
from sent import record_sent

THREE_PAGES = "tkapi/followers_three_pages"


def served_followers(name: str = THREE_PAGES) -> list[dict]:
    """Every follower object a cassette serves, repeats included."""
    return [item for body in cassette_bodies(name) for item in body["data"]["followers"]]


def followers(*args: str):
    return invoke("followers", "--uid", SEED_UID, *args)


def test_a_repeat_across_pages_is_written_once(cassette):
    with cassette(THREE_PAGES) as cas:
        result = followers()
    assert result.exit_code == 0, result.stderr
    served = [f["uid"] for f in served_followers()]
    assert len(served) == 13
    ids = [r["user_id"] for r in jsonl(result.stdout)]
    assert ids == list(dict.fromkeys(served))
    assert len(ids) == 12
    assert cas.play_count == 3


def test_19_digit_ids_stay_exact_strings(cassette):
    with cassette(THREE_PAGES):
        result = followers("-f", "jsonl")
    first = jsonl(result.stdout)[0]
    assert first["user_id"] == "7005153156116071425"
    assert '"user_id":"7005153156116071425"' in result.stdout.splitlines()[0]
    with cassette(THREE_PAGES):
        header, *rows = csv_rows(followers("-f", "csv").stdout_bytes)
    assert [dict(zip(header, r, strict=True))["user_id"] for r in rows] == [
        r["user_id"] for r in jsonl(result.stdout)
    ]


def test_seed_follower_fields(cassette):
    with cassette(THREE_PAGES):
        rows = jsonl(followers().stdout)
    first = rows[0]
    assert first["unique_id"] == first["nickname"] == "mqyeq"
    assert first["sec_uid"] == "MS4wLjABAAAAhjvKRC2R-0dLFbp-ycs9Pkr_ICiXbUVf2qTWQ9Qi4UsD-mJZl1Z1rWohOylie18T"
    assert (first["followers"], first["following"], first["likes"], first["videos"]) == (0, 3, 0, 0)
    assert first["avatar_url"] == served_followers()[0]["avatar_thumb"]["url_list"][0]
    private = {r["unique_id"]: r["private"] for r in rows}
    assert private["t.aylor298"] is True
    assert [name for name, value in private.items() if value] == ["t.aylor298"]


def test_by_username_resolves_uid_through_gateway_user_info(cassette, monkeypatch):
    sent_urls = record_sent(monkeypatch)
    with cassette("tkapi/followers_by_name") as cas:
        result = invoke("followers", "https://www.tiktok.com/@cnn")
    assert result.exit_code == 0, result.stderr
    assert len(jsonl(result.stdout)) == 5
    assert cas.play_count == 2
    # What was sent, not what the cassette stored.
    assert [url.params.get("uid") for url in sent_urls] == [None, CNN_ID]
    assert sent_urls[1].path.endswith("/user/followers")


def test_a_username_whose_profile_has_no_id_points_to_the_option(cassette):
    with cassette("gateway/followings_name_without_secuid") as cas:
        result = invoke("followers", "taylorswift")
    assert "--uid" in error_line(result, 7)
    assert cas.play_count == 1


def test_cursor_continues_from_a_later_page(cassette):
    with cassette(THREE_PAGES) as cas:
        result = followers("--cursor", "1631063752")
    assert result.exit_code == 0, result.stderr
    assert len(jsonl(result.stdout)) == 7
    assert cas.play_count == 2


@pytest.mark.parametrize("uid", ["abc", "-1", "12a", "18446744073709551616"])
def test_a_uid_that_is_not_a_user_id_is_a_usage_error(cassette, uid):
    with cassette(NO_REQUESTS) as cas:
        result = invoke("followers", "--uid", uid)
    assert "numeric user id" in error_line(result, 2)
    assert cas.play_count == 0


def test_a_start_cursor_with_two_accounts_is_a_usage_error(cassette):
    with cassette(NO_REQUESTS) as cas:
        result = invoke("followers", "cnn", "--uid", SEED_UID, "--cursor", "5")
    assert "cursor" in error_line(result, 2)
    assert cas.play_count == 0


@pytest.mark.parametrize("missing", ["TIKTOK_API_URL", "TIKTOK_API_TOKEN"])
def test_missing_token_api_settings_exit_5_naming_the_variable(cassette, monkeypatch, missing):
    monkeypatch.delenv(missing)
    with cassette(NO_REQUESTS) as cas:
        result = followers()
    line = error_line(result, 5)
    assert missing in line
    other = ({"TIKTOK_API_URL", "TIKTOK_API_TOKEN"} - {missing}).pop()
    assert other not in line
    assert cas.play_count == 0


def test_raw_jsonl_is_the_apis_own_objects(cassette):
    with cassette(THREE_PAGES):
        result = followers("--raw", "--limit", "5")
    assert result.exit_code == 0, result.stderr
    assert jsonl(result.stdout) == served_followers()[:5]
