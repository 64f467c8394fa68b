"""The HTTP client against hostile answers: every one is a parsed body or a TikTokCliError.

Most tests drive ``HttpClient`` against the fake server in tests/fakeserver.py; each class
of defect is also run through the real CLI, which must exit 7 (6 for blocks) with one line.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakeserver import TOKEN, Account, FakeTikTok, Fault, sec_uid_for
from helpers import error_line, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiktok_cli.client import (
    MAX_DEPTH,
    MAX_RETRY_AFTER,
    HttpClient,
    _beyond_64_bits,
    _too_deep,
    loads,
    loads_prefix,
    parse_retry_after,
)
from tiktok_cli.errors import TikTokCliError, UnexpectedStatus, UnreachableError, UpstreamError

DATA = Path(__file__).resolve().parents[1] / "data"
UID = "6754915036232582149"
WHAT = "probe of @alice"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    with FakeTikTok(accounts=[Account("alice", UID, sec_uid_for("alice"), 95, 43)]) as srv:
        monkeypatch.setenv("TIKTOK_GATEWAY_URL", srv.url + "/tiktok")
        monkeypatch.setenv("TIKTOK_API_URL", srv.url + "/tk")
        monkeypatch.setenv("TIKTOK_WEB_URL", srv.url)
        monkeypatch.setenv("TIKTOK_API_TOKEN", TOKEN)
        yield srv


def get_json(server: FakeTikTok, *faults: Fault, retries: int = 0) -> Any:
    server.faults = list(faults)
    with HttpClient(retries=retries) as client:
        return client.get_json(f"{server.url}/tiktok/user-info", {"uniqueId": "alice"}, what=WHAT)


def get_page(server: FakeTikTok, *faults: Fault, retries: int = 0) -> tuple[str, str]:
    server.faults = list(faults)
    with HttpClient(retries=retries) as client:
        return client.get_page(f"{server.url}/@alice", what=WHAT)


def failure(call: Callable[[], Any], kind: type[TikTokCliError] = UpstreamError) -> str:
    """The message of the error ``call`` raises: one line, naming the request."""
    with pytest.raises(kind) as info:
        call()
    message = info.value.message
    assert message.startswith(WHAT + ": ") and "\n" not in message, message
    return message


def nested(depth: int, leaf: str = "1") -> bytes:
    return ("[" * depth + leaf + "]" * depth).encode()


def user_info_body(**extra: Any) -> bytes:
    info = {"uniqueId": "alice", "secUid": sec_uid_for("alice"), "id": UID, **extra}
    return json.dumps({"status": "success", "data": {"userInfo": info}}).encode()


def profile_page() -> bytes:
    data = (DATA / "web_profile_rehydration_universal_data.json").read_text(encoding="utf-8")
    return (
        '<html><head><script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">'
        f"{data}</script></head><body>ünïcode</body></html>"
    ).encode()


# --- JSON: nesting, numbers, surrogates ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (nested(MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH} levels"),
        (nested(2000), f"nested deeper than {MAX_DEPTH} levels"),  # orjson refuses > 1024
        (nested(1100, '"\\ud800"'), f"nested deeper than {MAX_DEPTH} levels"),  # the stdlib's path
        (b'{"a": ' + b"7" * 5000 + b"}", "not JSON"),  # the stdlib refuses > 4,300 digits
        (b'{"a": NaN}', "not JSON"),
        ('{"a": "é"}'.encode("utf-16"), "not JSON"),  # RFC 8259: UTF-8
    ],
    ids=["just-too-deep", "deeper-than-orjson", "deep-with-surrogates", "huge-integer", "nan", "utf-16"],
)
def test_a_body_that_is_not_sane_json_is_a_clear_error(server: FakeTikTok, body: bytes, words: str) -> None:
    assert words in failure(lambda: get_json(server, Fault("/user-info", body=body)))


def test_json_nested_up_to_the_limit_and_lone_surrogates_still_parse(server: FakeTikTok) -> None:
    assert get_json(server, Fault("/user-info", body=nested(MAX_DEPTH))) == json.loads(nested(MAX_DEPTH))
    body = b'{"nickname": "\\ud83d broken", "deep": ' + nested(MAX_DEPTH - 1) + b"}"
    assert get_json(server, Fault("/user-info", body=body))["nickname"] == "\ud83d broken"


def test_a_deep_or_huge_error_body_is_an_http_error_not_a_crash(server: FakeTikTok) -> None:
    for body in (nested(5000), b'{"message": ' + b"1" * 5000 + b"}"):
        message = failure(lambda b=body: get_json(server, Fault("/user-info", 400, b)), UnexpectedStatus)
        assert message.endswith("answered HTTP 400")


@st.composite
def json_values(draw: st.DrawFn) -> Any:
    text = st.text(alphabet=st.sampled_from('ab"\\[]{}\n\u00e9'), max_size=6)
    leaves = st.none() | st.booleans() | st.integers() | text
    depth = draw(st.integers(0, MAX_DEPTH + 3))
    value = draw(
        st.recursive(
            leaves, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(text, kids, max_size=3)
        )
    )
    for _ in range(depth):  # a spine long enough to cross the limit
        value = draw(st.sampled_from([[value], {draw(text): value}]))
    return value


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


@given(json_values(), st.booleans(), st.sampled_from([None, 1]))
def test_the_quick_nesting_check_agrees_with_walking_the_value(value: Any, ascii: bool, indent: Any) -> None:
    # Brackets, quotes and backslashes inside strings must not fool the byte-level scan.
    body = json.dumps(value, ensure_ascii=ascii, indent=indent).encode()
    assert _too_deep(body) is (depth_of(value) > MAX_DEPTH)
    if depth_of(value) > MAX_DEPTH:
        with pytest.raises(ValueError, match="nested deeper"):
            loads(body)
    else:
        assert loads(body) == value


# The spelling the byte-class scan replaced (a regex that cost more than orjson's parse).
BEYOND_64_BITS = re.compile(rb"(?:^|[:\[,\s])(?:-\d{19}|\d{20})")


@given(st.binary(max_size=40) | st.text('0123456789-:[,\t\n\r\x0b\x0c "x', max_size=40).map(str.encode))
def test_the_big_number_scan_agrees_with_its_regex(body: bytes) -> None:
    assert _beyond_64_bits(body) is bool(BEYOND_64_BITS.search(body))


@pytest.mark.parametrize(
    "body",
    [
        b"18446744073709551616",
        b"-9223372036854775809",
        b" -9223372036854775809",
        b'{"a":18446744073709551616}',
        b'{"a": [1,\n-9223372036854775809]}',
        b'{"a":\t99999999999999999999}',
    ],
)
def test_numbers_beyond_64_bits_stay_exact(body: bytes) -> None:
    assert loads(body) == json.loads(body)
    assert "." not in repr(loads(body)) and "e" not in repr(loads(body))


def test_loads_prefix_reads_embedded_json_with_the_same_limits() -> None:
    html = '<script id="x">  {"a": [1, "</b>"]}</script><p>{"not": "this"}</p>'
    value, end = loads_prefix(html, html.index(">") + 1)
    assert (value, html[end:].startswith("</script>")) == ({"a": [1, "</b>"]}, True)
    for junk in (
        "[" * 5000,
        nested(MAX_DEPTH + 1).decode() + "</script>",
        '{"a": ' + "9" * 5000 + "}",
        "<p>",
    ):
        with pytest.raises(ValueError):
            loads_prefix("<script>" + junk, 8)


# --- transport-level faults ------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_content_encoding_that_does_not_match_the_body_is_a_clear_error(
    server: FakeTikTok, encoding: str
) -> None:
    fault = Fault("/user-info", body=user_info_body(), headers={"Content-Encoding": encoding})
    assert "Content-Encoding" in failure(lambda: get_json(server, fault))


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_really_compressed_bodies_still_work(server: FakeTikTok, encoding: str) -> None:
    body = get_json(server, Fault("/user-info", body=user_info_body(), compress=encoding))
    assert body["data"]["userInfo"]["uniqueId"] == "alice"


def test_a_body_without_content_length_is_read_to_the_end(server: FakeTikTok) -> None:
    body = get_json(server, Fault("/user-info", body=user_info_body(), content_length=False))
    assert body["data"]["userInfo"]["id"] == UID


def test_a_profile_page_redirecting_to_itself_is_a_redirect_loop(server: FakeTikTok) -> None:
    loop = [Fault("/@alice", 302, headers={"Location": f"{server.url}/@alice"}) for _ in range(30)]
    assert "redirected in a loop" in failure(lambda: get_page(server, *loop))


@pytest.mark.parametrize(
    "location", ["", "   ", "http://[bad", "javascript:alert(1)", "http://a b/", "http://xn--/"]
)
@pytest.mark.parametrize("page", [False, True], ids=["json", "page"])
def test_a_redirect_to_an_invalid_address_says_so_without_echoing_it(
    server: FakeTikTok, location: str, page: bool
) -> None:
    fault = Fault("/@alice" if page else "/user-info", 302, raw_headers=[(b"Location", location.encode())])
    with pytest.raises(UnexpectedStatus) as info:
        (get_page if page else get_json)(server, fault)
    assert (
        info.value.message
        == f"{WHAT}: {server.url[7:]} redirected to an invalid address (HTTP 302); check the base URL"
    )
    assert info.value.status == 302 and info.value.location == ""


def test_a_redirect_to_a_valid_address_names_its_host(server: FakeTikTok) -> None:
    fault = Fault("/user-info", 301, headers={"Location": "https://user:pw@Evil.Example:8443/x"})
    with pytest.raises(UnexpectedStatus) as info:
        get_json(server, fault)
    assert "redirected to evil.example:8443 (HTTP 301)" in info.value.message
    assert "pw" not in info.value.message and info.value.location.startswith("https://")


@pytest.mark.parametrize(
    ("exc", "attempts", "words"),
    [
        (httpx.TooManyRedirects("Exceeded maximum allowed redirects."), 1, "redirected in a loop"),
        (httpx.DecodingError("Error -3 while decompressing data"), 1, "Content-Encoding"),
        (httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'."), 1, "cannot request"),
        (httpx.RemoteProtocolError("illegal header line"), 3, "broke the HTTP protocol"),
        (httpx.LocalProtocolError("Illegal header value"), 3, "could not send the request"),
        (httpx.ReadError("connection reset " * 10_000), 3, "cannot reach"),
        (httpx.ProxyError("proxy said no"), 3, "cannot reach"),
        (httpx.InvalidURL("Invalid port: '99999'"), 1, "is not a valid URL"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
def test_every_httpx_failure_is_one_short_line_and_only_transient_ones_are_retried(
    exc: Exception, attempts: int, words: str
) -> None:
    calls = []

    def fail(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise exc

    client = HttpClient(retries=2, transport=httpx.MockTransport(fail))
    with client, pytest.raises(UpstreamError) as info:
        client.get_json("http://tiktok.test/x", what=WHAT)
    message = info.value.message
    assert message.startswith(WHAT + ": ") and words in message and len(message) < 300
    assert len(calls) == attempts


def test_a_url_that_httpx_cannot_parse_is_a_clear_error() -> None:
    with HttpClient(retries=0) as client:
        for url in ("http://xn--/x", "http://exa mple.com/\x00"):
            assert "not a valid URL" in failure(lambda u=url: client.get_json(u, what=WHAT))


# --- Retry-After -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 3 ", 3.0),
        ("²", None),
        ("١٢", None),  # Arabic-Indic digits
        ("-5", None),
        ("1e3", None),
        ("9" * 5000, MAX_RETRY_AFTER),
        ("86400", MAX_RETRY_AFTER),
        ("Wed, 21 Oct 99999 07:28:00 GMT", None),
        ("Wed, 21 Oct 2015 07:27:50 GMT", 0.0),  # in the past: no wait
        ("Mon, 01 Jan 2120 00:00:00 GMT", MAX_RETRY_AFTER),
    ],
)
def test_junk_retry_after_values_are_ignored_and_big_ones_capped(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, now=1445412480.0) == seconds


def test_a_429_with_a_junk_retry_after_is_retried(server: FakeTikTok) -> None:
    fault = Fault("/user-info", 429, b"{}", raw_headers=[(b"Retry-After", "²".encode())])
    assert get_json(server, fault, retries=1)["data"]["userInfo"]["uniqueId"] == "alice"


# --- pages and charsets ----------------------------------------------------------------


@pytest.mark.parametrize("charset", ["utf-16", "utf-32", "no-such-charset", "rot13", "base64", ""])
def test_a_utf8_page_with_a_wrong_charset_is_read_as_utf8(server: FakeTikTok, charset: str) -> None:
    content_type = f"text/html; charset={charset}" if charset else "text/html"
    text, _ = get_page(server, Fault("/@alice", body=profile_page(), content_type=content_type))
    assert text == profile_page().decode("utf-8")


def test_a_page_in_its_declared_charset_is_decoded_with_it(server: FakeTikTok) -> None:
    page = "<html>café</html>"
    for charset in ("latin-1", "utf-16"):
        fault = Fault("/@alice", body=page.encode(charset), content_type=f"text/html; charset={charset}")
        assert get_page(server, fault)[0] == page
    broken = b"<html>caf\xe9 \xff</html>"  # neither UTF-8 nor UTF-16
    text, _ = get_page(server, Fault("/@alice", body=broken, content_type="text/html; charset=utf-16"))
    assert text == "<html>caf\ufffd \ufffd</html>"


# --- upstream text is cut to an excerpt ------------------------------------------------


@pytest.mark.parametrize("status", [400, 503])
@pytest.mark.parametrize("key", ["message", "msg", "error", "status_msg"])
def test_a_huge_error_message_is_cut_to_one_short_line(server: FakeTikTok, status: int, key: str) -> None:
    body = json.dumps({key: "line one\nline two " + "x" * (1 << 20)}).encode()
    message = failure(lambda: get_json(server, Fault("/user-info", status, body)))
    assert f"HTTP {status}: line one line two xxx" in message and len(message) < 300


# --- unreachable hosts fail fast -------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # the network guard lets this test connect to it
        port: int = sock.getsockname()[1]
    return port


def test_a_refused_connection_fails_within_a_second_as_unreachable() -> None:
    port = closed_port()
    started = time.monotonic()
    with HttpClient(retries=4) as client, pytest.raises(UnreachableError) as info:
        client.get_json(f"http://127.0.0.1:{port}/tiktok/user-info", what=WHAT)
    assert time.monotonic() - started < 1.5
    assert info.value.host == f"127.0.0.1:{port}"
    assert info.value.message.startswith(f"{WHAT}: cannot reach 127.0.0.1:{port} (")


def test_a_host_name_that_does_not_resolve_fails_within_a_second_as_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked_up: list[str] = []

    def no_such_host(host: str, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with httpx.Client() as plain, pytest.raises(httpx.ConnectError):
        plain.get("http://nosuchhost.invalid/")  # what httpx raises, that the client relies on
    started = time.monotonic()
    with HttpClient(retries=4) as client, pytest.raises(UnreachableError) as info:
        client.get_json("http://nosuchhost.invalid/tiktok/user-info", what=WHAT)
    assert time.monotonic() - started < 1.5
    assert looked_up == ["nosuchhost.invalid"] * 3  # httpx's own, then one quick retry
    assert info.value.url == "http://nosuchhost.invalid/tiktok/user-info"
    assert "cannot reach nosuchhost.invalid" in info.value.message


# --- anything at all: parsed JSON or a TikTokCliError ----------------------------------

header_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=30)
header_bytes = st.binary(max_size=30) | header_text.map(lambda t: t.encode("utf-8", "surrogatepass"))


@st.composite
def hostile_answers(draw: st.DrawFn) -> Fault:
    headers = [
        (
            name,
            draw(
                header_bytes | st.sampled_from([b"", b"1", b"\xc2\xb2", b"gzip", b"deflate", b"http://[bad"])
            ),
        )
        for name in draw(st.sets(st.sampled_from([b"Retry-After", b"Location", b"Content-Encoding"])))
    ]
    charset = draw(st.sampled_from(["utf-8", "utf-16", "latin-1", "bogus", "rot13"]) | header_text)
    body = draw(
        st.binary(max_size=200)
        | st.sampled_from([user_info_body(), nested(2000), b"<html>captcha</html>", b'"\\ud800"'])
    )
    return Fault(
        "/user-info",
        draw(st.sampled_from([200, 301, 302, 307, 308, 304, 400, 404, 429, 500, 503])),
        body,
        raw_headers=headers,
        content_type=None
        if draw(st.booleans())
        else f"text/html; charset={charset}".encode("utf-8", "surrogatepass").decode("latin-1"),
        content_length=draw(st.booleans()),
    )


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Redirects to random hosts must not even look their names up."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", b"127.0.0.1"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fault=hostile_answers(), page=st.booleans())
def test_any_answer_is_parsed_json_or_a_tiktok_cli_error(
    server: FakeTikTok, loopback_only: None, fault: Fault, page: bool
) -> None:
    server.faults = [fault, fault]  # the first attempt and its one retry
    with HttpClient(retries=1, timeout=5) as client:
        try:
            if page:
                text, final_url = client.get_page(f"{server.url}/tiktok/user-info", what=WHAT)
                assert isinstance(text, str) and isinstance(final_url, str)
            else:
                client.get_json(f"{server.url}/tiktok/user-info", what=WHAT)
        except TikTokCliError as exc:
            assert exc.message.startswith(WHAT + ": ") and "\n" not in exc.message
            assert len(exc.message) < 400


# --- through the CLI: one line, exit 7 -------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (Fault("/user-info", body=nested(1500)), "nested deeper than"),
        (Fault("/user-info", body=b'{"data": ' + b"1" * 5000 + b"}"), "not JSON"),
        (
            Fault("/user-info", body=user_info_body(), headers={"Content-Encoding": "gzip"}),
            "Content-Encoding",
        ),
        (Fault("/user-info", 302, raw_headers=[(b"Location", b"http://[bad")]), "an invalid address"),
        (Fault("/user-info", 302, raw_headers=[(b"Location", b"javascript:alert(1)")]), "an invalid address"),
        (Fault("/user-info", 400, json.dumps({"message": "m" * (1 << 20)}).encode()), "HTTP 400: mmm"),
        (Fault("/user-info", raw_headers=[(b"Bad Header", b"x")]), "broke the HTTP protocol"),
    ],
    ids=["deep", "huge-int", "gzip", "bad-location", "javascript", "huge-message", "protocol"],
)
def test_the_cli_turns_hostile_gateway_answers_into_one_line_exit_7(
    server: FakeTikTok, fault: Fault, words: str
) -> None:
    server.faults = [fault] * 5
    result = invoke("user-info", "alice", "--gateway-url", server.url + "/tiktok", "--retries", "0")
    line = error_line(result, 7)
    assert words in line and "@alice" in line, line
    assert len(line) < 400 and result.stdout == ""


def test_the_cli_reads_a_mislabelled_profile_page(server: FakeTikTok) -> None:
    server.faults = [Fault("/@khanhiattm2", body=profile_page(), content_type="text/html; charset=utf-16")]
    result = invoke("user-info", "khanhiattm2", "--backend", "web", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["nickname"] == "Marie Music"


@pytest.mark.parametrize("location", ["{self}", ""])
def test_the_cli_stops_a_profile_redirect_loop_with_one_line(server: FakeTikTok, location: str) -> None:
    target = location.format(self=f"{server.url}/@alice").encode()
    server.faults = [Fault("/@alice", 302, raw_headers=[(b"Location", target)]) for _ in range(30)]
    result = invoke("user-info", "alice", "--backend", "web", "--retries", "0")
    line = error_line(result, 7)
    assert "profile of @alice" in line and ("redirected in a loop" in line or "an invalid address" in line)


def test_the_cli_retries_a_429_whose_retry_after_is_junk(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 429, b"{}", raw_headers=[(b"Retry-After", "²".encode())])]
    result = invoke("followers", "--uid", UID, "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 95
