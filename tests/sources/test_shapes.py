"""Mapping TikTok's web (camelCase) and mobile (snake_case) user objects to ``User``."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT

from tiktok_cli.backends._shapes import (
    BadValue,
    as_list,
    as_object,
    cursor_value,
    mobile_user,
    parsing,
    web_user,
)
from tiktok_cli.errors import UpstreamError
from tiktok_cli.models import User

DATA = ROOT / "tests" / "data"


def seed_followers() -> list[dict]:
    return json.loads((DATA / "seed004_followers.json").read_text(encoding="utf-8"))["data"]["followers"]


def test_web_user_prefers_exact_stats_v2_strings_over_rounded_stats():
    user = web_user(
        {"uniqueId": "nasa", "id": "6750512244347290630", "secUid": "MS4w…", "privateAccount": False},
        stats={"followerCount": 80100000, "followingCount": 70, "heartCount": 500000000, "videoCount": 900},
        stats_v2={
            "followerCount": "80123456",
            "followingCount": "71",
            "heart": "512345678",
            "videoCount": "901",
        },
    )
    assert (user.followers, user.following, user.likes, user.videos) == (80123456, 71, 512345678, 901)
    assert (user.unique_id, user.user_id, user.sec_uid, user.private) == (
        "nasa",
        "6750512244347290630",
        "MS4w…",
        False,
    )


def test_web_user_falls_back_to_stats_then_the_user_object():
    assert web_user({}, stats={"followerCount": 5}, stats_v2={"followerCount": "n/a"}).followers == 5
    assert web_user({"followers": 7}, stats=None, stats_v2=None).followers == 7


def test_web_user_from_the_gateway_seed_example():
    info = json.loads((DATA / "seed000_user_info.json").read_text(encoding="utf-8"))["data"]["userInfo"]
    user = web_user(info)
    assert user == User(
        unique_id="taylorswift",
        nickname="Taylor Swift",
        bio="Singer and songwriter",
        followers=1000000,
        following=20,
        likes=5000000,
        avatar_url="https://example.com/taylor.jpg",
    )
    assert user.raw is info


def test_web_user_from_a_gateway_followings_item():
    item = json.loads((DATA / "seed000_followings.json").read_text(encoding="utf-8"))["followings"][0]
    user = web_user(item, item["stats"])
    assert (user.unique_id, user.verified, user.following, user.videos) == ("cnn", True, 8, 5588)
    assert user.avatar_url == item["avatar"]


@pytest.mark.parametrize("bad", [None, "12", -1, True, 1.5])
def test_web_user_leaves_unusable_counts_unset(bad):
    assert web_user({"followers": bad}).followers == (12 if bad == "12" else None)


def test_ids_never_pass_through_a_float():
    assert web_user({"id": 7005153156116071425}).user_id == "7005153156116071425"
    assert web_user({"id": "0"}).user_id is None


def test_mobile_user_maps_the_snake_case_names():
    obj = seed_followers()[1]
    user = mobile_user(obj)
    assert user.unique_id == "liajoseph5"
    assert user.user_id == "6977504145574577157"
    assert user.sec_uid == obj["sec_uid"]
    assert (user.followers, user.following) == (21, 255)
    assert user.avatar_url == obj["avatar_thumb"]["url_list"][0]
    assert user.raw is obj


def test_mobile_user_likes_videos_private_and_avatar():
    user = mobile_user(
        {
            "uid": "7100000000000000090",
            "total_favorited": 1234,
            "aweme_count": 56,
            "favoriting_count": 999,
            "secret": 1,
            "avatar_thumb": {"url_list": ["", "https://p16.test/a.webp", "https://p16.test/a.jpeg"]},
        }
    )
    assert (user.likes, user.videos, user.private) == (1234, 56, True)
    assert user.avatar_url == "https://p16.test/a.webp"
    assert mobile_user({"secret": 0}).private is False


def test_mobile_user_with_nothing_known():
    user = mobile_user({"unique_id": "", "avatar_thumb": {"url_list": []}})
    assert user == User()


def test_structure_checks_name_what_was_wrong():
    with pytest.raises(UpstreamError, match="data: expected a JSON object, got null"):
        as_object(None, "data")
    with pytest.raises(UpstreamError, match="followers: expected a list, got dict"):
        as_list({}, "followers")


@pytest.mark.parametrize("bad", ["٣٤", "²", str(2**63), 2**63])
def test_number_like_counts_that_are_not_ascii_64_bit_integers_are_bad_data(bad):
    with pytest.raises(BadValue):
        web_user({"followers": bad})


@pytest.mark.parametrize("bad", ["²", "١٢٣", "12a", 2**64, -5, 1.5])
def test_ids_are_ascii_digits_only(bad):
    with pytest.raises(BadValue):
        mobile_user({"uid": bad})


@pytest.mark.parametrize("bad", [1.5, "1699999000.0", " 1699999000", True, 2**63, "--5", "²", [1]])
def test_a_mistyped_cursor_is_bad_data_not_the_end_of_a_list(bad):
    with pytest.raises(BadValue):
        cursor_value(bad, "minCursor")
    assert cursor_value(None, "minCursor") is None
    assert cursor_value("-1", "minCursor") == -1


def test_bad_data_names_the_endpoint_and_the_field():
    with (
        pytest.raises(UpstreamError, match=r"followers of @a: uid is '²', not a numeric id"),
        parsing("followers of @a"),
    ):
        mobile_user({"uid": "²"})


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({}, False),
        ({"uid": "0"}, False),
        ({"stats": {}}, False),
        ({"unique_id": ""}, False),
        ({"uid": "7"}, True),
        ({"sec_uid": "MS4w"}, True),
        ({"unique_id": "x"}, True),
    ],
)
def test_is_account_tells_an_account_from_a_placeholder(entry, expected):
    from tiktok_cli.backends._shapes import is_account

    assert is_account(mobile_user(entry)) is expected
