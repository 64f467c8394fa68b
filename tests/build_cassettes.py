"""Write the vcrpy cassettes in ../cassettes from the seed APIs' documented responses.

    python tests/build_cassettes.py

The first page of every list is the seed document's own example, byte for byte (see
tests/data/README.md); later pages and error answers are built here in the same shape.
Cassettes recorded from a real server (TIKTOK_RECORD_MODE, see README) replace these.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CASSETTES = ROOT / "cassettes"

GATEWAY = "http://localhost:3000/tiktok"
TKAPI = "http://tkapi.test/tk"

SEED_SEC_UID = "MS4wLjABAAAATtFKZYaOb-9nF_w7QRi4y64d45mvuWuwf5ACEd3c6f-GTlfW9rJJlKfV2vWhg0aw"
SEED_UID = "6754915036232582149"
SEED_MIN_TIME = 1631063752


def _read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def _interaction(uri: str, status: int, body: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    content_type = (
        "text/html; charset=utf-8" if body.lstrip().startswith("<") else "application/json; charset=utf-8"
    )
    response_headers = {"Content-Type": [content_type]}
    for key, value in (headers or {}).items():
        response_headers[key] = [value]
    return {
        "request": {"body": None, "headers": {}, "method": "GET", "uri": uri},
        "response": {
            "status": {"code": status, "message": _REASONS.get(status, "")},
            "headers": response_headers,
            "body": {"string": body},
        },
    }


_REASONS = {
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


# --- gateway (seed 000) -------------------------------------------------------------


def gateway_user_info(name: str) -> str:
    return f"{GATEWAY}/user-info?uniqueId={name}"


def gateway_followings(sec_uid: str, min_cursor: int, count: int = 50) -> str:
    return f"{GATEWAY}/user-followings?secUid={sec_uid}&count={count}&minCursor={min_cursor}&maxCursor=0"


CNN_SEC_UID = "MS4wLjABAAAAKLCQBcvlVE2Yhw0fDg42yOuUR6G4c9cNcNnFYDh6vsXRMiEA2V6z-dDr4hKbUCd8"
CNN_ID = "6750512244347290630"
CNN_INFO = {
    "status": "success",
    "data": {
        "userInfo": {
            "uniqueId": "cnn",
            "nickname": "CNN",
            "bio": "This is CNN...",
            "followers": 6900000,
            "following": 8,
            "likes": 204600000,
            "profilePictureUrl": "https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/99d43f49d3f1749ffa85f5954ca10a8c~c5_100x100.jpeg",
            # Fields a real deployment passes through beyond the seed's example.
            "secUid": CNN_SEC_UID,
            "id": CNN_ID,
            "verified": True,
            "privateAccount": False,
            "videos": 5588,
        }
    },
}


def followings_page(index: int, size: int, *, min_cursor: int, has_more: bool) -> dict[str, Any]:
    base = json.loads(_read("seed000_followings.json"))
    template = base["followings"][1]
    accounts = []
    for n in range(size):
        account = copy.deepcopy(template)
        number = index * 100 + n
        account.update(
            username=f"follow.{number:04d}",
            nickname=f"Followed account {number}",
            verified=n % 4 == 0,
            bio=f"Bio of account {number}\nsecond line",
        )
        account["stats"] = {
            "followers": 1000 + number,
            "followings": n,
            "likes": 10 * number,
            "videos": n % 7,
        }
        accounts.append(account)
    return {
        "requestDetails": {"secUid": SEED_SEC_UID, "count": "50", "minCursor": 0, "maxCursor": 0},
        "metadata": {
            "totalFollowings": 76,
            "hasMore": has_more,
            "maxCursor": 0,
            "minCursor": min_cursor,
            "logId": f"2025011115593{index}E455EDD1CB08AC3FE50F",
        },
        "followings": accounts,
    }


def gateway_cassettes() -> dict[str, list[dict[str, Any]]]:
    seed_followings = _read("seed000_followings.json")
    seed_info = json.loads(_read("seed000_user_info.json"))
    seed_cursor = 1656812667
    three_pages = [
        _interaction(gateway_followings(SEED_SEC_UID, 0), 200, seed_followings),
        _interaction(
            gateway_followings(SEED_SEC_UID, seed_cursor),
            200,
            _dump(followings_page(2, 8, min_cursor=1656000000, has_more=True)),
        ),
        _interaction(
            gateway_followings(SEED_SEC_UID, 1656000000),
            200,
            _dump(followings_page(3, 4, min_cursor=1655000000, has_more=False)),
        ),
    ]
    cnn_info = _interaction(gateway_user_info("cnn"), 200, _dump(CNN_INFO))
    cnn_first_page = copy.deepcopy(json.loads(seed_followings))
    cnn_first_page["requestDetails"]["secUid"] = CNN_SEC_UID
    cnn_first_page["metadata"]["hasMore"] = False
    return {
        "gateway/user_info_seed": [
            _interaction(gateway_user_info("taylorswift"), 200, _read("seed000_user_info.json"))
        ],
        "gateway/user_info_two": [
            _interaction(gateway_user_info("taylorswift"), 200, _read("seed000_user_info.json")),
            cnn_info,
        ],
        "gateway/user_info_not_found": [
            _interaction(
                gateway_user_info("nosuchuser_x"),
                404,
                _dump({"status": "error", "message": "User not found"}),
            )
        ],
        "gateway/user_info_forbidden": [
            _interaction(
                gateway_user_info("hidden.one"),
                403,
                _dump({"status": "error", "message": "This account is private"}),
            )
        ],
        "gateway/user_info_server_error": [
            _interaction(
                gateway_user_info("taylorswift"),
                500,
                _dump({"status": "error", "message": "upstream timeout"}),
            )
        ],
        "gateway/user_info_rate_limited": [
            _interaction(
                gateway_user_info("taylorswift"),
                429,
                _dump({"status": "error", "message": "Too many requests"}),
                {"Retry-After": "1"},
            )
        ],
        "gateway/user_info_retry_then_ok": [
            _interaction(
                gateway_user_info("taylorswift"),
                502,
                _dump({"status": "error", "message": "upstream hiccup"}),
            ),
            _interaction(gateway_user_info("taylorswift"), 200, _read("seed000_user_info.json")),
        ],
        "gateway/user_info_html": [
            _interaction(
                gateway_user_info("taylorswift"),
                200,
                "<html><body><h1>502 Bad Gateway</h1></body></html>\n",
            )
        ],
        "gateway/user_info_status_error": [
            _interaction(
                gateway_user_info("taylorswift"),
                200,
                _dump({"status": "error", "message": "scraper session expired"}),
            )
        ],
        "gateway/user_info_no_userinfo": [
            _interaction(
                gateway_user_info("taylorswift"),
                200,
                _dump({"status": "success", "data": {"userInfo": None}}),
            )
        ],
        "gateway/followings_three_pages": three_pages,
        "gateway/followings_by_name": [
            cnn_info,
            _interaction(gateway_followings(CNN_SEC_UID, 0), 200, _dump(cnn_first_page)),
        ],
        "gateway/followings_name_without_secuid": [
            _interaction(gateway_user_info("taylorswift"), 200, _dump(seed_info))
        ],
        "gateway/followings_not_visible": [
            _interaction(
                gateway_followings(SEED_SEC_UID, 0),
                403,
                _dump({"status": "error", "message": "Forbidden"}),
            )
        ],
        "gateway/followings_missing_list": [
            _interaction(
                gateway_followings(SEED_SEC_UID, 0),
                200,
                _dump({"metadata": {"hasMore": False, "minCursor": 0}, "followings": None}),
            )
        ],
    }


# --- token API (seed 004) -----------------------------------------------------------


def tkapi_followers(uid: str, cursor: int) -> str:
    # The token is stripped from recorded requests (tests/conftest.py filters it).
    return f"{TKAPI}/user/followers?uid={uid}&cursor={cursor}"


def followers_page(uids: list[str], *, min_time: int, has_more: bool, total: int = 8229668) -> dict[str, Any]:
    seed = json.loads(_read("seed004_followers.json"))
    template = seed["data"]["followers"][1]
    followers = []
    for n, uid in enumerate(uids):
        account = copy.deepcopy(template)
        account.update(
            uid=uid,
            unique_id=f"fan_{uid[-6:]}",
            nickname=f"Fan {uid[-6:]}",
            sec_uid=f"MS4wLjABAAAA{uid}fanSecUidPaddingXYZ",
            follower_count=n * 3,
            following_count=100 + n,
            total_favorited=n * 1000,
            aweme_count=n,
            secret=0,
        )
        followers.append(account)
    data = copy.deepcopy(seed["data"])
    data.update(max_time=min_time, min_time=min_time, has_more=has_more, total=total, followers=followers)
    return {"code": 200, "msg": "成功", "data": data}


def tkapi_cassettes() -> dict[str, list[dict[str, Any]]]:
    seed_page = _read("seed004_followers.json")
    page2_uids = [f"71000000000000000{n:02d}" for n in range(5)]
    # Page 3 repeats the last account of page 2, as TikTok does across pages.
    page3_uids = [page2_uids[-1], "7100000000000000090", "7100000000000000091"]
    three_pages = [
        _interaction(tkapi_followers(SEED_UID, 0), 200, seed_page),
        _interaction(
            tkapi_followers(SEED_UID, SEED_MIN_TIME),
            200,
            _dump(followers_page(page2_uids, min_time=1631000000, has_more=True)),
        ),
        _interaction(
            tkapi_followers(SEED_UID, 1631000000),
            200,
            _dump(followers_page(page3_uids, min_time=1630000000, has_more=False)),
        ),
    ]
    envelope_error = {"code": 10001, "msg": "token无效", "data": None}
    return {
        "tkapi/followers_three_pages": three_pages,
        "tkapi/followers_by_name": [
            _interaction(gateway_user_info("cnn"), 200, _dump(CNN_INFO)),
            _interaction(
                tkapi_followers(CNN_ID, 0),
                200,
                _dump(followers_page(page2_uids, min_time=1631000000, has_more=False, total=5)),
            ),
        ],
        "tkapi/followers_hidden": [
            _interaction(
                tkapi_followers(SEED_UID, 0),
                200,
                _dump(
                    {
                        "code": 200,
                        "msg": "成功",
                        "data": {"status_code": 2096, "has_more": False, "followers": []},
                    }
                ),
            )
        ],
        "tkapi/followers_no_such_user": [
            _interaction(
                tkapi_followers(SEED_UID, 0),
                200,
                _dump(
                    {
                        "code": 200,
                        "msg": "成功",
                        "data": {"status_code": 2065, "has_more": False, "followers": None},
                    }
                ),
            )
        ],
        "tkapi/followers_bad_token": [_interaction(tkapi_followers(SEED_UID, 0), 200, _dump(envelope_error))],
        "tkapi/followers_http_401": [
            _interaction(tkapi_followers(SEED_UID, 0), 401, _dump({"code": 401, "msg": "unauthorized"}))
        ],
        "tkapi/followers_not_json": [
            _interaction(tkapi_followers(SEED_UID, 0), 200, "token ok; service paused\n")
        ],
        "tkapi/followers_null_list": [
            _interaction(
                tkapi_followers(SEED_UID, 0),
                200,
                _dump(
                    {
                        "code": 200,
                        "msg": "成功",
                        "data": {
                            "status_code": 0,
                            "has_more": True,
                            "min_time": 5,
                            "followers": None,
                        },
                    }
                ),
            )
        ],
    }


def other_cassettes() -> dict[str, list[dict[str, Any]]]:
    # Replayed by tests that must fail before any request: any request at all fails them.
    return {"no_requests": []}


# --- tiktok.com (web backend) ---------------------------------------------------------

WEB = "https://www.tiktok.com"
ZG_FOLLOWERS_CURSOR = 1760897938


def _web_list_uri(sec_uid: str, scene: int, cursor: int, count: int = 30) -> str:
    from urllib.parse import urlencode

    from tiktok_cli.backends.web import WEB_PARAMS

    query = {
        **WEB_PARAMS,
        "secUid": sec_uid,
        "count": count,
        "maxCursor": 0,
        "minCursor": cursor,
        "scene": scene,
    }
    return f"{WEB}/api/user/list/?{urlencode(query)}"


def _web_detail_uri(name: str) -> str:
    from urllib.parse import urlencode

    from tiktok_cli.backends.web import WEB_PARAMS

    return f"{WEB}/api/user/detail/?{urlencode({**WEB_PARAMS, 'uniqueId': name})}"


def shell_html(title: str) -> str:
    """A client-side shell: the page renders the profile from script, with no profile JSON."""
    app_context = json.dumps(
        {"__DEFAULT_SCOPE__": {"webapp.app-context": {"language": "en", "region": "US"}}}
    )
    return profile_html("__UNIVERSAL_DATA_FOR_REHYDRATION__", app_context, title)


def profile_html(script_id: str, payload: str, title: str) -> str:
    """A profile page shaped like tiktok.com's: the JSON sits in a typed script element."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/>'
        f"<title>{title} | TikTok</title>"
        '<link rel="preconnect" href="https://www.tiktok.com"/></head><body>'
        '<div id="app"><div class="css-1fnz8sw-DivBodyContainer">Loading…</div></div>'
        f'<script id="{script_id}" type="application/json">{payload}</script>'
        '<script src="https://lf16-tiktok-web.tiktokcdn-us.com/obj/tiktok-web-tx/webapp-desktop/index.js"></script>'
        "</body></html>\n"
    )


def _unwrapped(name: str) -> dict[str, Any]:
    """The RapidAPI-wrapped fixtures hold TikTok's own payload under "data"."""
    data: dict[str, Any] = json.loads(_read(name))["data"]
    return data


def _universal(detail: dict[str, Any]) -> str:
    return json.dumps({"__DEFAULT_SCOPE__": {"webapp.user-detail": detail}}, ensure_ascii=False)


def web_cassettes() -> dict[str, list[dict[str, Any]]]:
    detail = _unwrapped("web_api_user_detail__rapidapi_wrapped.json")
    zg = detail["userInfo"]
    zg_sec_uid = zg["user"]["secUid"]
    sigi = {
        "UserModule": {"users": {"zg.520": zg["user"]}, "stats": {"zg.520": zg["stats"]}},
        "UserPage": {"statusCode": 0, "uniqueId": "zg.520"},
    }
    zg_page = _interaction(
        f"{WEB}/@zg.520",
        200,
        profile_html("SIGI_STATE", json.dumps(sigi, ensure_ascii=False), "zg.520 (@zg.520)"),
    )
    followers1 = _unwrapped("web_api_user_list_followers__rapidapi_wrapped.json")
    template = followers1["userList"][0]
    page2_entries = []
    for n in range(3):
        entry = copy.deepcopy(template)
        entry["user"].update(
            id=f"74200000000000000{n:02d}",
            uniqueId=f"web_fan_{n}",
            nickname=f"Web fan {n}",
            secUid=f"MS4wLjABAAAAwebfan{n:02d}SecUidPaddingPaddingPadding",
        )
        page2_entries.append(entry)
    placeholder = copy.deepcopy(template)
    placeholder["user"].update(id="0", uniqueId="", nickname="", secUid="")
    page2_entries.insert(1, placeholder)
    followers2 = {**followers1, "userList": page2_entries, "minCursor": 1760800000, "hasMore": True}
    # Page 3 repeats an account of page 2, as TikTok does.
    followers3 = {
        **followers1,
        "userList": [page2_entries[-1], copy.deepcopy(followers1["userList"][1])],
        "minCursor": 1760700000,
        "hasMore": False,
    }
    followings1 = _unwrapped("web_api_user_list_followings__rapidapi_wrapped.json")
    followings2 = {**followings1, "userList": [], "hasMore": False, "minCursor": 1745000000}

    def list_answer(body: object, cursor: int = 0, scene: int = 21) -> dict[str, Any]:
        text = body if isinstance(body, str) else _dump(body)
        return _interaction(_web_list_uri(zg_sec_uid, scene, cursor), 200, text)

    universal = _read("web_profile_rehydration_universal_data.json")
    # Bot-looking clients get an empty 200 from the JSON profile API too.
    detail_blocked = _interaction(_web_detail_uri("zg.520"), 200, "")
    inline_sigi = (
        '<!DOCTYPE html><html><head><title>zg.520 | TikTok</title></head><body><div id="main"></div>'
        f"<script>window['SIGI_STATE']={json.dumps(sigi, ensure_ascii=False)};"
        "window['SIGI_RETRY']={\"UserModule\":1}</script></body></html>\n"
    )
    return {
        "web/user_info_universal": [
            _interaction(
                f"{WEB}/@khanhiattm2",
                200,
                profile_html("__UNIVERSAL_DATA_FOR_REHYDRATION__", universal, "Marie Music (@khanhiattm2)"),
            )
        ],
        "web/user_info_sigi": [zg_page],
        "web/user_info_sigi_inline": [_interaction(f"{WEB}/@zg.520", 200, inline_sigi)],
        "web/user_info_shell": [
            _interaction(f"{WEB}/@zg.520", 200, shell_html("TikTok")),
            _interaction(_web_detail_uri("zg.520"), 200, _dump(detail)),
        ],
        "web/user_info_next_data": [
            _interaction(f"{WEB}/@tiktok", 200, _read("web_profile_next_data_2020_userMeta.html"))
        ],
        "web/user_info_not_found": [
            _interaction(
                f"{WEB}/@gone.user",
                200,
                profile_html(
                    "__UNIVERSAL_DATA_FOR_REHYDRATION__",
                    _universal({"userInfo": {}, "statusCode": 10221, "statusMsg": "user banned"}),
                    "TikTok",
                ),
            )
        ],
        "web/user_info_challenge": [
            _interaction(
                f"{WEB}/@zg.520",
                200,
                (
                    "<!DOCTYPE html><html><head><title>Please wait...</title></head><body>"
                    '<div id="challenge">Checking your browser before accessing tiktok.com</div>'
                    "</body></html>\n"
                ),
            ),
            detail_blocked,
        ],
        "web/user_info_empty": [_interaction(f"{WEB}/@zg.520", 200, ""), detail_blocked],
        "web/user_info_login_redirect": [
            _interaction(f"{WEB}/@zg.520", 302, "", {"Location": f"{WEB}/login?redirect_url=%2F%40zg.520"}),
            _interaction(
                f"{WEB}/login?redirect_url=%2F%40zg.520",
                200,
                "<!DOCTYPE html><html><head><title>Log in | TikTok</title></head><body></body></html>\n",
            ),
        ],
        "web/followers_three_pages": [
            zg_page,
            list_answer(followers1, 0, 67),
            list_answer(followers2, ZG_FOLLOWERS_CURSOR, 67),
            list_answer(followers3, 1760800000, 67),
        ],
        "web/followings_two_pages": [list_answer(followings1), list_answer(followings2, 1745042188)],
        "web/list_hidden": [list_answer({"hasMore": False, "minCursor": -1, "statusCode": 0})],
        "web/list_captcha": [list_answer({"statusCode": 10000, "status_code": 10000, "type": "verify"})],
        "web/list_invalid_params": [list_answer({"statusCode": 10201, "statusMsg": "invalid parameters"})],
        "web/list_ip_blocked": [list_answer({"statusCode": 10204, "statusMsg": ""})],
        "web/list_empty_body": [list_answer("")],
        "web/list_private": [list_answer({"statusCode": 10222, "statusMsg": "private account"})],
        "web/list_not_found": [list_answer({"statusCode": 10202, "statusMsg": "user not exist"})],
        "web/list_login_required": [list_answer({"statusCode": 10101, "statusMsg": "login required"})],
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line bodies as literal blocks, so a cassette reads like the response it holds."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def main() -> None:
    for name, interactions in {
        **gateway_cassettes(),
        **tkapi_cassettes(),
        **other_cassettes(),
        **web_cassettes(),
    }.items():
        path = CASSETTES / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.dump(
            {"interactions": interactions, "version": 1},
            Dumper=_Dumper,
            allow_unicode=True,
            sort_keys=False,
            width=200,
        )
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
