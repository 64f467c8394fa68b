"""Property tests: real tiktok.com bodies, mutated, through the web parsers and the CLI.

Whatever a mutation does, the outcome is one clear error (a TikTokCliError, one line
on stderr with a documented exit code) or rows whose every value the body holds.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fakeserver import Account, FakeTikTok, Fault, sec_uid_for
from helpers import CASSETTES, ROOT, invoke, jsonl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiktok_cli.backends.web import PageScripts, list_page, profile_detail, profile_user
from tiktok_cli.errors import TikTokCliError
from tiktok_cli.models import User

DATA = ROOT / "tests" / "data"
PROPERTY = settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
CLI_PROPERTY = settings(PROPERTY, max_examples=40)


def _unwrapped(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["data"]


def _cassette_bodies(part: str) -> list[Any]:
    bodies = []
    for path in sorted((CASSETTES / "web").glob("*.yaml")):
        for interaction in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]:
            body = interaction["response"]["body"]["string"]
            if part in interaction["request"]["uri"] and body.lstrip().startswith("{"):
                bodies.append(json.loads(body))
    return bodies


LIST_BODIES = [
    _unwrapped("web_api_user_list_followers__rapidapi_wrapped.json"),
    _unwrapped("web_api_user_list_followings__rapidapi_wrapped.json"),
    *_cassette_bodies("/api/user/list/"),
]
DETAIL = _unwrapped("web_api_user_detail__rapidapi_wrapped.json")
ZG = DETAIL["userInfo"]
ZG_SEC_UID = sec_uid_for("zg.520")


def _universal_detail() -> Any:
    # The real page's JSON is 350 kB; what the backend reads of it is webapp.user-detail.
    page = json.loads((DATA / "web_profile_rehydration_universal_data.json").read_text(encoding="utf-8"))
    return {"__DEFAULT_SCOPE__": {"webapp.user-detail": page["__DEFAULT_SCOPE__"]["webapp.user-detail"]}}


_next_scripts = PageScripts()
_next_scripts.feed((DATA / "web_profile_next_data_2020_userMeta.html").read_text(encoding="utf-8"))
# (script id or None for the inline form, the JSON it holds, the account it is the profile of)
PROFILE_STATES: list[tuple[str | None, Any, str]] = [
    ("__UNIVERSAL_DATA_FOR_REHYDRATION__", _universal_detail(), "khanhiattm2"),
    ("__UNIVERSAL_DATA_FOR_REHYDRATION__", {"__DEFAULT_SCOPE__": {"webapp.user-detail": DETAIL}}, "zg.520"),
    (
        "SIGI_STATE",
        {"UserModule": {"users": {"zg.520": ZG["user"]}, "stats": {"zg.520": ZG["stats"]}}},
        "zg.520",
    ),
    (None, {"UserModule": {"users": {"zg.520": ZG["user"]}}, "UserPage": {"statusCode": 0}}, "zg.520"),
    ("__NEXT_DATA__", _next_scripts.finish().json("__NEXT_DATA__", "fixture"), "tiktok"),
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.from_regex(r"\A-?[0-9]{1,21}\Z")
    | st.sampled_from(["0", "", "</script>", "zg.520", "-1"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated(draw: st.DrawFn, body: Any) -> Any:
    """``body`` with one to three nodes replaced, deleted or emptied."""
    body = copy.deepcopy(body)
    for _ in range(draw(st.integers(1, 3))):
        parent: Any = None
        key: Any = None
        node = body
        while isinstance(node, (dict, list)) and node and draw(st.integers(0, 4)) > 0:
            parent, key = (
                node,
                draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node)))),
            )
            node = node[key]
        if parent is None:
            continue
        action = draw(st.sampled_from(["replace", "delete", "empty"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[key]
        elif action == "empty":
            parent[key] = type(node)() if isinstance(node, (dict, list, str)) else None
        else:
            parent[key] = draw(json_values)
    return body


def leaves(value: Any) -> tuple[set[str], set[int]]:
    """Every string and integer a JSON value holds."""
    strings: set[str] = set()
    numbers: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            strings.update(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            strings.add(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            numbers.add(item)
    return strings, numbers


def assert_held(row: User | dict[str, Any], body: Any) -> None:
    """Every value of the row is one the body holds."""
    strings, numbers = leaves(body)
    values = row if isinstance(row, dict) else {f: getattr(row, f) for f in row.__slots__ if f != "raw"}
    for field in ("unique_id", "nickname", "sec_uid", "bio", "avatar_url"):
        assert values[field] is None or values[field] in strings, (field, values[field])
    assert values["user_id"] is None or values["user_id"] in strings or int(values["user_id"]) in numbers
    for field in ("followers", "following", "likes", "videos"):
        value = values[field]
        assert value is None or value in numbers or str(value) in strings, (field, value)


# --- the parsers -------------------------------------------------------------------------


@PROPERTY
@given(data=st.data(), first=st.booleans())
def test_list_pages_are_rows_the_body_holds_or_one_clear_error(data: st.DataObject, first: bool) -> None:
    body = data.draw(mutated(data.draw(st.sampled_from(LIST_BODIES))))
    try:
        page = list_page(body, "followers of @x", first=first)
    except TikTokCliError:
        return
    for user in page.users:
        assert user.user_id or user.unique_id
        assert_held(user, body)
    entries = body.get("userList") or []
    assert len(page.users) + page.skipped == len(entries)


def embed(script_id: str | None, state: Any, escape: bool) -> str:
    text = json.dumps(state, ensure_ascii=False)
    if escape:  # as TikTok does; unescaped, a "</script>" in a string cuts the element
        text = text.replace("<", "\\u003c")
    if script_id is None:
        return f"<html><body><script>window['SIGI_STATE']={text};</script></body></html>"
    return f'<html><body><script id="{script_id}" type="application/json">{text}</script></body></html>'


@PROPERTY
@given(data=st.data(), escape=st.booleans())
def test_profile_pages_give_the_account_asked_for_or_one_clear_error(
    data: st.DataObject, escape: bool
) -> None:
    script_id, state, name = data.draw(st.sampled_from(PROFILE_STATES))
    state = data.draw(mutated(state))
    try:
        detail = profile_detail(embed(script_id, state, escape), name)
        if detail is None:
            return
        user = profile_user(detail, name, f"profile of @{name}")
    except TikTokCliError:
        return
    assert user.unique_id is not None and user.unique_id.casefold() == name.casefold()
    assert_held(user, state)


@PROPERTY
@given(data=st.data())
def test_cut_or_spliced_profile_html_never_yields_another_value(data: st.DataObject) -> None:
    script_id, state, name = data.draw(st.sampled_from(PROFILE_STATES))
    html = embed(script_id, state, escape=True)
    at = data.draw(st.integers(0, len(html)))
    insert = data.draw(st.sampled_from(["</script>", "<script>", '"', "}", "", "<!--", "]]>"]))
    html = html[:at] + insert + html[at + data.draw(st.integers(0, 50)) :]
    try:
        detail = profile_detail(html, name)
        if detail is None:
            return
        user = profile_user(detail, name, f"profile of @{name}")
    except TikTokCliError:
        return
    assert user.unique_id is not None and user.unique_id.casefold() == name.casefold()


# --- through the CLI ------------------------------------------------------------------------


@pytest.fixture
def local_web(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    # No account of its own answers for ZG_SEC_UID: past the scripted pages, "no such user".
    with FakeTikTok(accounts=[Account("other", "1", sec_uid_for("other"), 1, 1)]) as srv:
        monkeypatch.setenv("TIKTOK_WEB_URL", srv.url)
        yield srv


def check_outcome(result: Any, body: Any) -> None:
    assert "Traceback" not in result.stderr
    assert result.exit_code in (0, 3, 4, 5, 6, 7), (result.exit_code, result.stderr)
    if result.exit_code:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("tiktok: error: "), result.stderr
    for row in jsonl(result.stdout):
        assert_held(row, body)


def test_mutated_profiles_through_the_cli(local_web: FakeTikTok) -> None:
    @CLI_PROPERTY
    @given(data=st.data(), escape=st.booleans())
    def run(data: st.DataObject, escape: bool) -> None:
        script_id, state, name = data.draw(st.sampled_from(PROFILE_STATES[1:4]))
        state = data.draw(mutated(state))
        detail = data.draw(mutated(DETAIL))
        local_web.faults = [
            Fault(f"/@{name}", body=embed(script_id, state, escape).encode()),
            Fault("/api/user/detail/", body=json.dumps(detail).encode()),
        ]
        result = invoke(
            "user-info", name, "--backend", "web", "--rate", "1000", "--retries", "0", "-f", "jsonl"
        )
        check_outcome(result, [state, detail])
        for row in jsonl(result.stdout):
            assert row["unique_id"].casefold() == name.casefold()

    run()


def test_mutated_list_pages_through_the_cli(local_web: FakeTikTok) -> None:
    @CLI_PROPERTY
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        bodies = [data.draw(mutated(data.draw(st.sampled_from(LIST_BODIES)))) for _ in range(2)]
        local_web.faults = [Fault("/api/user/list/", body=json.dumps(body).encode()) for body in bodies]
        result = invoke(
            "followers", "--sec-uid", ZG_SEC_UID, "--backend", "web", "--rate", "1000",
            "--retries", "0", "-f", "jsonl",
        )  # fmt: skip
        check_outcome(result, bodies)

    run()
