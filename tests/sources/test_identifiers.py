"""Parsing what users type where an account is expected: names, URLs, secUids, uids."""

from __future__ import annotations

import json

import pytest

from tiktok_cli.errors import UsageError
from tiktok_cli.identifiers import (
    Account,
    IdKind,
    nothing_to_do,
    parse_sec_uid,
    parse_uid,
    parse_username,
    read_targets,
)

SEC_UID = "MS4wLjABAAAATtFKZYaOb-9nF_w7QRi4y64d45mvuWuwf5ACEd3c6f-GTlfW9rJJlKfV2vWhg0aw"


@pytest.mark.parametrize(
    "text",
    [
        "cnn.news_1",
        "@cnn.news_1",
        "  @cnn.news_1\n",
        "https://www.tiktok.com/@cnn.news_1",
        "https://www.tiktok.com/@cnn.news_1?lang=en",
        "https://www.tiktok.com/@cnn.news_1/",
        "https://www.tiktok.com/@cnn.news_1/video/7300000000000000000",
        "http://m.tiktok.com/@cnn.news_1",
        "HTTPS://WWW.TIKTOK.COM/@cnn.news_1",
        "tiktok.com/@cnn.news_1",
        "www.tiktok.com/@cnn.news_1#top",
    ],
)
def test_username_from_name_at_name_or_profile_url(text):
    assert parse_username(text) == "cnn.news_1"


@pytest.mark.parametrize("name", ["ab", "a" * 24, "A_b.9", "_x"])
def test_username_length_and_alphabet_limits_accepted(name):
    assert parse_username(name) == name


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x",
        "a" * 25,
        "@",
        "..",
        "bad name",
        "a&uniqueId=b",
        "a/b",
        "naïve",
        "@@cnn",
        "https://example.com/@cnn",
        "https://tiktok.com.evil.test/@cnn",
        "https://www.tiktok.com/cnn",
        "https://www.tiktok.com/",
        "ftp://www.tiktok.com/@a&b",
    ],
)
def test_invalid_username_is_a_usage_error(text):
    with pytest.raises(UsageError, match=r"not a valid TikTok username|not a TikTok profile URL"):
        parse_username(text)


@pytest.mark.parametrize("link", ["https://vm.tiktok.com/ZMabc1234/", "https://vt.tiktok.com/ZSxyz/"])
def test_short_links_are_refused_with_advice(link):
    with pytest.raises(UsageError, match="short link"):
        parse_username(link)


def test_error_message_quotes_control_characters_visibly():
    with pytest.raises(UsageError) as info:
        parse_username("evil\x1b[31m")
    assert "\\x1b" in str(info.value)
    assert "\x1b" not in str(info.value)


def test_sec_uid():
    assert parse_sec_uid(f" {SEC_UID} ") == SEC_UID


@pytest.mark.parametrize("text", ["", "MS4wLjABAAAA", "cnn", SEC_UID + "&x=1", "XX" + SEC_UID[2:]])
def test_invalid_sec_uid(text):
    with pytest.raises(UsageError, match="secUid"):
        parse_sec_uid(text)


@pytest.mark.parametrize("text", ["6754915036232582149", " 42 ", str(2**64 - 1)])
def test_uid(text):
    assert parse_uid(text) == text.strip()


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.0", "1e5", "12 34", str(2**64), "\uff11\uff12\uff13"])
def test_invalid_uid(text):
    with pytest.raises(UsageError, match="numeric user id"):
        parse_uid(text)


def test_targets_from_each_kind_of_argument_in_order():
    targets = read_targets(["@cnn", "https://www.tiktok.com/@nasa"], None, sec_uid=SEC_UID, uid="42")
    assert [t.account for t in targets] == [
        Account(IdKind.USERNAME, "cnn"),
        Account(IdKind.USERNAME, "nasa"),
        Account(IdKind.SEC_UID, SEC_UID),
        Account(IdKind.UID, "42"),
    ]
    assert targets[1].text == "https://www.tiktok.com/@nasa"
    assert [str(t.account) for t in targets[::3]] == ["@cnn", "uid 42"]


def test_unique_targets_keep_the_first_mention():
    targets = read_targets(["cnn", "nasa", "@CNN"], None, unique=True)
    assert [t.text for t in targets] == ["cnn", "nasa"]
    assert len(read_targets(["cnn", "@CNN"], None)) == 2


def test_targets_from_an_input_file(tmp_path):
    path = tmp_path / "accounts.txt"
    path.write_text(
        "\ufeff# accounts\n\n@cnn   # news\nhttps://www.tiktok.com/@nasa?lang=en\n", encoding="utf-8"
    )
    targets = read_targets(["bbc"], str(path))
    assert [t.account.value for t in targets] == ["bbc", "cnn", "nasa"]


def test_an_invalid_line_in_the_input_file_names_the_line(tmp_path):
    path = tmp_path / "accounts.txt"
    path.write_text("cnn\nbad name\n", encoding="utf-8")
    with pytest.raises(UsageError, match="line 2: 'bad name' is not a valid TikTok username"):
        read_targets([], str(path))


@pytest.mark.parametrize(
    ("users", "options", "message"),
    [
        ([], {}, "name an account"),
        ([], {"uid": "abc"}, "numeric user id"),
        ([], {"sec_uid": "cnn"}, "secUid"),
        (["cnn", "bad name"], {}, "username"),
    ],
)
def test_bad_targets_are_usage_errors(users, options, message):
    with pytest.raises(UsageError, match=message):
        read_targets(users, None, **options)


def test_a_short_link_without_its_scheme_gets_the_short_link_advice() -> None:
    with pytest.raises(UsageError, match="is a short link"):
        parse_username("vt.tiktok.com/ZSabc123/")


# --- --input: this tool's own output read back ---------------------------------------------

UID = "6754915036232582149"


def write(tmp_path, text: str, name: str = "accounts.in") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def test_a_json_record_carries_every_id_with_the_username_first(tmp_path):
    record = {
        "owner": "x",
        "unique_id": "cnn",
        "nickname": "CNN",
        "user_id": UID,
        "sec_uid": SEC_UID,
        "bio": "=",
    }
    [target] = read_targets([], write(tmp_path, json.dumps(record) + "\n"), id_options=("--uid",))
    assert target.account == Account(IdKind.USERNAME, "cnn", ((IdKind.UID, UID), (IdKind.SEC_UID, SEC_UID)))
    assert target.owner == "cnn" and str(target.account) == "@cnn"
    assert target.account.prefer(IdKind.UID) == Account(
        IdKind.UID, UID, ((IdKind.USERNAME, "cnn"), (IdKind.SEC_UID, SEC_UID))
    )
    assert target.account.prefer(IdKind.SEC_UID).value == SEC_UID
    assert Account(IdKind.USERNAME, "cnn").prefer(IdKind.UID) == Account(IdKind.USERNAME, "cnn")


@pytest.mark.parametrize(
    "text",
    [
        f"unique_id,user_id,sec_uid\r\ncnn,{UID},{SEC_UID}\r\n",
        f'\ufeffowner,unique_id,user_id,sec_uid\r\n="1",cnn,"=""{UID}""",{SEC_UID}\r\n',  # --excel
        f'\n\nunique_id,bio,user_id,sec_uid\r\ncnn,"two\nlines",{UID},{SEC_UID}\r\n\r\n',
    ],
)
def test_csv_exports_with_or_without_excel_and_owner(tmp_path, text):
    [target] = read_targets([], write(tmp_path, text), id_options=("--uid",))
    assert target.account == Account(IdKind.USERNAME, "cnn", ((IdKind.UID, UID), (IdKind.SEC_UID, SEC_UID)))


def test_a_user_id_column_alone_names_accounts_by_id(tmp_path):
    targets = read_targets([], write(tmp_path, f'user_id\r\n{UID}\r\n="42"\r\n'), id_options=("--uid",))
    assert [t.account for t in targets] == [Account(IdKind.UID, UID), Account(IdKind.UID, "42")]
    with pytest.raises(UsageError, match="line 2: this command looks accounts up by username"):
        read_targets([], write(tmp_path, f"user_id\r\n{UID}\r\n"))  # user-info: no id options


def test_a_formula_guarded_cell_is_read_as_written_and_refused(tmp_path):
    path = write(tmp_path, "unique_id\r\n'=1+1\r\n'@SUM(A1\\|A2)\r\n")
    with pytest.raises(UsageError, match=r"line 2: unique_id '=1\+1' is not a valid TikTok username"):
        read_targets([], path)


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# nobody yet\n", "unique_id,nickname\r\n", "\ufeffowner,unique_id,user_id\r\n"]
)
def test_an_input_with_no_accounts_is_nothing_to_do(tmp_path, text):
    path = write(tmp_path, text)
    assert read_targets([], path, allow_empty=True) == []
    with pytest.raises(UsageError, match="holds no accounts"):
        read_targets([], path)
    assert nothing_to_do(path) == f"nothing to do: --input {path} holds no accounts"
    assert [t.text for t in read_targets(["cnn"], path, allow_empty=True)] == ["cnn"]


def test_the_errors_file_text_reads_back_as_the_same_accounts(tmp_path):
    records = [
        {"unique_id": "cnn", "user_id": UID},
        {"user_id": "42", "sec_uid": SEC_UID},
        {"unique_id": "nasa"},
    ]
    text = "".join(json.dumps(r) + "\n" for r in records)
    first = read_targets(["@bbc"], write(tmp_path, text), id_options=("--uid",))
    assert [t.text for t in first][3:] == ["nasa"]  # a bare username stays a USER line
    failed = write(tmp_path, "".join(t.text + "\n" for t in first), "failed.txt")
    again = read_targets([], failed, id_options=("--uid",))
    assert [t.account for t in again] == [t.account for t in first]
