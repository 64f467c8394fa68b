"""What every command shares: formats, --fields, --raw, exit codes.

--limit has its own module, tests/commands/test_limit.py; --help and --version are in
tests/commands/test_help.py, the token's secrecy in tests/output/test_security.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import (
    NO_REQUESTS,
    SEED_SEC_UID,
    SEED_UID,
    cassette_bodies,
    csv_rows,
    error_line,
    invoke,
    jsonl,
)

from tiktok_cli.models import FIELDS

FOLLOWINGS = ("followings", "--sec-uid", SEED_SEC_UID)
FOLLOWERS = ("followers", "--uid", SEED_UID)
FOLLOWINGS_CASSETTE = "gateway/followings_three_pages"
FOLLOWERS_CASSETTE = "tkapi/followers_three_pages"


def records(result, fmt: str) -> list[dict]:
    """The rows of jsonl or csv output, as dicts of text or JSON values."""
    if fmt == "jsonl":
        return jsonl(result.stdout)
    header, *rows = csv_rows(result.stdout_bytes)
    return [dict(zip(header, row, strict=True)) for row in rows]


def table_header(text: str) -> list[str]:
    return text.splitlines()[0].split()


# --- choosing the format (-f, -o) ------------------------------------------------------


def test_default_output_off_a_terminal_is_jsonl(cassette):
    with cassette("gateway/user_info_seed"):
        result = invoke("user-info", "taylorswift")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["unique_id"] for line in result.stdout.splitlines()] == ["taylorswift"]


@pytest.mark.parametrize(
    ("args", "file", "kind"),
    [
        (["-o", "out.csv"], "out.csv", "csv"),
        (["-o", "out.jsonl"], "out.jsonl", "jsonl"),
        (["-o", "OUT.CSV"], "OUT.CSV", "csv"),
        (["-o", "out.ndjson"], "out.ndjson", "jsonl"),
        (["-o", "out.json"], "out.json", "json"),
        (["-f", "json", "-o", "out.txt"], "out.txt", "json"),
        (["-f", "csv", "-o", "out.jsonl"], "out.jsonl", "csv"),  # an explicit -f wins
        (["-f", "jsonl", "--output", "out.csv"], "out.csv", "jsonl"),
    ],
)
def test_output_file_format_comes_from_f_else_its_extension(cassette, args, file, kind):
    with cassette(FOLLOWINGS_CASSETTE):
        result = invoke(*FOLLOWINGS, *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    data = Path(file).read_bytes()
    if kind == "csv":
        assert data.startswith(b"unique_id,nickname,user_id,")
        assert len(csv_rows(data)) == 21
    elif kind == "json":
        assert data.startswith(b"[") and len(json.loads(data)) == 20
    else:
        assert len(jsonl(data.decode())) == 20
    assert f"20 followings of secUid {SEED_SEC_UID} written to {file}" in result.stderr


def test_table_renders_every_username(cassette):
    with cassette(FOLLOWINGS_CASSETTE):
        result = invoke(*FOLLOWINGS, "-f", "table")
    assert result.exit_code == 0, result.stderr
    assert table_header(result.stdout)[:2] == ["unique_id", "nickname"]
    names = [item["username"] for body in cassette_bodies(FOLLOWINGS_CASSETTE) for item in body["followings"]]
    for name in names:
        assert name in result.stdout


# --- --fields and --raw ----------------------------------------------------------------


@pytest.mark.parametrize("fields", [["unique_id", "followers"], ["followers", "unique_id"]])
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_fields_pick_and_order_columns(cassette, fmt, fields):
    with cassette("gateway/user_info_seed"):
        result = invoke("user-info", "taylorswift", "--fields", ",".join(fields), "-f", fmt)
    assert result.exit_code == 0, result.stderr
    if fmt == "table":
        assert table_header(result.stdout) == fields
        assert "taylorswift" in result.stdout
        assert "Taylor Swift" not in result.stdout
        return
    [row] = records(result, fmt)
    assert list(row) == fields
    followers = 1000000 if fmt == "jsonl" else "1000000"
    assert row == {"unique_id": "taylorswift", "followers": followers}


def test_fields_can_name_the_listed_account(cassette):
    with cassette(FOLLOWINGS_CASSETTE):
        result = invoke(*FOLLOWINGS, "--fields", "owner,unique_id", "--limit", "2")
    assert jsonl(result.stdout) == [
        {"owner": SEED_SEC_UID, "unique_id": "cnn"},
        {"owner": SEED_SEC_UID, "unique_id": "theclearcut"},
    ]


@pytest.mark.parametrize("command", [FOLLOWINGS, ("user-info", "taylorswift")])
def test_unknown_field_is_a_usage_error_listing_valid_fields(cassette, command):
    with cassette(NO_REQUESTS) as cas:
        result = invoke(*command, "--fields", "unique_id,follower")
    line = error_line(result, 2)
    assert "'follower'" in line
    for field in FIELDS:
        assert field in line
    assert cas.play_count == 0


def test_empty_fields_is_a_usage_error(cassette):
    with cassette(NO_REQUESTS):
        result = invoke(*FOLLOWINGS, "--fields", ",")
    assert "--fields" in error_line(result, 2)


def test_raw_user_info_is_the_gateways_user_info_object(cassette):
    with cassette("gateway/user_info_seed"):
        result = invoke("user-info", "taylorswift", "--raw")
    assert result.exit_code == 0, result.stderr
    [body] = cassette_bodies("gateway/user_info_seed")
    assert jsonl(result.stdout) == [body["data"]["userInfo"]]


@pytest.mark.parametrize("args", [["-f", "csv"], ["-f", "table"], ["-o", "out.csv"]])
def test_raw_needs_jsonl(cassette, args):
    with cassette(NO_REQUESTS) as cas:
        result = invoke(*FOLLOWINGS, "--raw", *args)
    line = error_line(result, 2)
    assert "--raw" in line
    assert "jsonl" in line
    assert cas.play_count == 0
    assert not Path("out.csv").exists()


@pytest.mark.parametrize("args", [["--fields", "bogus"], ["--raw", "-f", "csv"], ["-f", "xml"]])
def test_output_mistakes_are_found_before_looking_the_account_up(cassette, args):
    with cassette("gateway/followings_by_name") as cas:
        result = invoke("followings", "cnn", *args)
    error_line(result, 2)
    assert cas.play_count == 0


# --- exit codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "command", "code", "says"),
    [
        ("gateway/user_info_not_found", ["user-info", "nosuchuser_x"], 3, "does not exist"),
        ("tkapi/followers_no_such_user", FOLLOWERS, 3, "does not exist"),
        ("gateway/user_info_forbidden", ["user-info", "hidden.one"], 4, "private"),
        ("gateway/followings_not_visible", FOLLOWINGS, 4, "private"),
        ("tkapi/followers_hidden", FOLLOWERS, 4, "hides its followers"),
        ("tkapi/followers_bad_token", FOLLOWERS, 5, "TIKTOK_API_TOKEN"),
        ("tkapi/followers_http_401", FOLLOWERS, 5, "TIKTOK_API_TOKEN"),
        ("gateway/user_info_rate_limited", ["user-info", "taylorswift"], 6, "429"),
        ("gateway/user_info_server_error", ["user-info", "taylorswift"], 7, "HTTP 500"),
        ("gateway/user_info_html", ["user-info", "taylorswift"], 7, "HTML"),
        ("gateway/user_info_status_error", ["user-info", "taylorswift"], 7, "status 'error'"),
        ("gateway/user_info_no_userinfo", ["user-info", "taylorswift"], 7, "userInfo"),
        ("gateway/followings_missing_list", FOLLOWINGS, 7, "followings"),
        ("tkapi/followers_not_json", FOLLOWERS, 7, "not JSON"),
        ("tkapi/followers_null_list", FOLLOWERS, 7, "followers"),
    ],
)
def test_each_failure_has_its_exit_code_and_one_error_line(cassette, name, command, code, says):
    with cassette(name):
        result = invoke(*command, "--retries", "0")
    assert says in error_line(result, code)
    assert result.stdout == ""


def test_a_host_that_refuses_connections_exits_7():
    result = invoke("user-info", "cnn", "--gateway-url", "http://127.0.0.1:9", "--retries", "0")
    assert "cannot reach 127.0.0.1:9" in error_line(result, 7)


def test_a_server_error_is_retried_then_succeeds(cassette):
    with cassette("gateway/user_info_retry_then_ok") as cas:
        result = invoke("user-info", "taylorswift")
    assert result.exit_code == 0, result.stderr
    assert [r["unique_id"] for r in jsonl(result.stdout)] == ["taylorswift"]
    assert "retrying (1/4)" in result.stderr
    assert cas.play_count == 2


def test_ok_exits_0_with_nothing_on_stderr_when_quiet(cassette):
    with cassette(FOLLOWINGS_CASSETTE):
        result = invoke(*FOLLOWINGS, "-q")
    assert (result.exit_code, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("command", "what"), [("user-info", "profiles"), ("followers", "lists"), ("followings", "lists")]
)
def test_format_none_without_a_store_warns_for_every_command(server, tmp_path: Path, command, what) -> None:
    result = invoke(command, "alice", "-f", "none")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert (
        f"tiktok: warning: -f none without --db: the {what} are read and their rows dropped" in result.stderr
    )
    recorded = invoke(command, "alice", "-f", "none", "--db", str(tmp_path / "s.db"))
    assert recorded.exit_code == 0, recorded.stderr
    assert "without --db" not in recorded.stderr


# Rows that take each format's slower paths: NUL, a lone surrogate, formula and layout
# characters, 64-bit ids, None and booleans, non-ASCII text.
AWKWARD_ROWS = [
    {**dict.fromkeys(FIELDS), "unique_id": "plain", "user_id": "7000000000000000001", "verified": True},
    {**dict.fromkeys(FIELDS), "unique_id": "=cmd|' /C calc'!A0", "nickname": "\tTab", "private": False},
    {**dict.fromkeys(FIELDS), "unique_id": "nul\x00name", "bio": 'lone \ud800 surrogate, "quoted"\r\nline'},
    {**dict.fromkeys(FIELDS), "unique_id": "@at", "nickname": "Zoë 🎵", "followers": 12, "likes": 0},
]


@pytest.mark.parametrize("excel", [False, True])
@pytest.mark.parametrize("header", [True, False])
def test_a_page_written_at_once_is_the_same_as_row_by_row(excel: bool, header: bool) -> None:
    # The export hands a writer whole pages (write_rows): every format must write exactly
    # the bytes its write() gives one row at a time, flushed page by page.
    import io

    from tiktok_cli import writers
    from tiktok_cli.writers.base import WriterOptions

    for name in writers.names():
        writer_class = writers.load(name)
        options = WriterOptions(header=header, excel=excel and "excel" in writer_class.options_used)
        outputs = []
        for by_page in (False, True):
            stream = io.BytesIO()
            writer = writer_class(stream, FIELDS, options)
            for page in (AWKWARD_ROWS[:1], AWKWARD_ROWS[1:], [], AWKWARD_ROWS):
                if by_page:
                    writer.write_rows(page)
                else:
                    for row in page:
                        writer.write(row)
                writer.flush()
            writer.close()
            outputs.append(stream.getvalue())
        assert outputs[0] == outputs[1], name
        if writer_class.writes_rows:
            assert "nul" in outputs[0].decode("utf-8", "replace"), name
