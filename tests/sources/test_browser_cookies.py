"""--cookies-from-browser: real Firefox and Chromium cookie stores, built in a temporary home.

Nothing depends on an installed browser: each test writes the store a browser would (a
Firefox ``cookies.sqlite``; a Chromium ``Cookies`` database whose values are encrypted with
the Linux fallback key, "peanuts", as Chromium does without a keyring) and runs the CLI on it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from fakeserver import Account, FakeTikTok, sec_uid_for
from helpers import invoke

ALICE = Account("alice", "6754915036232582149", sec_uid_for("alice"), 12, 5)
SESSION = "SESSIONfromBROWSER42"
OTHER_SITE = "OTHERsiteSECRET77"
CHROMIUM_EPOCH = 11_644_473_600
IN_A_YEAR = int(time.time()) + 365 * 86_400


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder of its own: the browsers' profiles are looked for there only."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for name in ("XDG_CURRENT_DESKTOP", "DESKTOP_SESSION", "KDE_FULL_SESSION", "GNOME_DESKTOP_SESSION_ID"):
        monkeypatch.delenv(name, raising=False)  # no desktop: Chromium's "basic" password store
    return home


@pytest.fixture
def tmpdir_watch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder every temporary file goes to in this test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def local_web(monkeypatch: pytest.MonkeyPatch) -> Any:
    with FakeTikTok(accounts=[ALICE], page_size=8) as srv:
        monkeypatch.setenv("TIKTOK_WEB_URL", srv.url)
        yield srv


Row = tuple[str, str, str, int]  # host, name, value, expiry (Unix seconds)

ROWS: list[Row] = [
    ("127.0.0.1", "sessionid", SESSION, IN_A_YEAR),
    ("127.0.0.1", "tt-target-idc", "useast5", IN_A_YEAR),
    (".example.com", "sid", OTHER_SITE, IN_A_YEAR),
    (".tiktok.com", "sessionid", "REALtiktokSESSION1", IN_A_YEAR),  # not the host in use here
    ("127.0.0.1", "old", "EXPIREDvalue123", int(time.time()) - 60),
]


def firefox_store(home: Path, rows: list[Row] = ROWS, profile: str = "abcd1234.default-release") -> Path:
    """A Firefox profile's cookies.sqlite, as Firefox 142 and later write it (schema version 17:
    expiry in milliseconds)."""
    folder = home / ".mozilla" / "firefox" / profile
    folder.mkdir(parents=True)
    path = folder / "cookies.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE moz_cookies (id INTEGER PRIMARY KEY, originAttributes TEXT NOT NULL DEFAULT '', "
            "name TEXT, value TEXT, host TEXT, path TEXT, expiry INTEGER, lastAccessed INTEGER, "
            "creationTime INTEGER, isSecure INTEGER, isHttpOnly INTEGER, inBrowserElement INTEGER DEFAULT 0, "
            "sameSite INTEGER DEFAULT 0, rawSameSite INTEGER DEFAULT 0, schemeMap INTEGER DEFAULT 0)"
        )
        now = int(time.time() * 1_000_000)
        db.executemany(
            "INSERT INTO moz_cookies (name, value, host, path, expiry, lastAccessed, creationTime, isSecure, "
            "isHttpOnly) VALUES (?, ?, ?, '/', ?, ?, ?, 0, 1)",
            [(name, value, host, expiry * 1000, now, now) for host, name, value, expiry in rows],
        )
        db.execute("PRAGMA user_version = 17")
    db.close()
    return path


def _peanuts_encrypt(value: str, host: str, meta_version: int) -> bytes:
    """Chromium's Linux fallback encryption: "v10", AES-128-CBC, a key derived from "peanuts"."""
    from yt_dlp.aes import aes_cbc_encrypt_bytes

    key = hashlib.pbkdf2_hmac("sha1", b"peanuts", b"saltysalt", 1, dklen=16)
    # From database version 24 on, Chromium puts the SHA-256 of the host before the value.
    plain = (hashlib.sha256(host.encode()).digest() if meta_version >= 24 else b"") + value.encode()
    return b"v10" + aes_cbc_encrypt_bytes(plain, key, b" " * 16)


def chromium_store(
    home: Path, rows: list[Row] = ROWS, profile: str = "Default", meta_version: int = 24
) -> Path:
    """A Chromium profile's Cookies database with every value encrypted, as Chromium on Linux writes it."""
    folder = home / ".config" / "chromium" / profile
    folder.mkdir(parents=True)
    path = folder / "Cookies"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR)")
        db.execute("INSERT INTO meta VALUES ('version', ?)", (str(meta_version),))
        db.execute(
            "CREATE TABLE cookies (creation_utc INTEGER NOT NULL, host_key TEXT NOT NULL, "
            "top_frame_site_key TEXT NOT NULL DEFAULT '', name TEXT NOT NULL, value TEXT NOT NULL, "
            "encrypted_value BLOB NOT NULL, path TEXT NOT NULL, expires_utc INTEGER NOT NULL, "
            "is_secure INTEGER NOT NULL, is_httponly INTEGER NOT NULL, last_access_utc INTEGER NOT NULL, "
            "has_expires INTEGER NOT NULL DEFAULT 1, is_persistent INTEGER NOT NULL DEFAULT 1)"
        )
        now = (int(time.time()) + CHROMIUM_EPOCH) * 1_000_000
        db.executemany(
            "INSERT INTO cookies (creation_utc, host_key, name, value, encrypted_value, path, expires_utc, "
            "is_secure, is_httponly, last_access_utc) VALUES (?, ?, ?, '', ?, '/', ?, 0, 1, ?)",
            [
                (
                    now,
                    host,
                    name,
                    _peanuts_encrypt(value, host, meta_version),
                    (expiry + CHROMIUM_EPOCH) * 10**6,
                    now,
                )
                for host, name, value, expiry in rows
            ],
        )
    db.close()
    return path


def web(*args: str) -> Any:
    return invoke(*args, "--backend", "web", "--rate", "1000")


def sent_cookies(server: FakeTikTok) -> set[str | None]:
    return {headers.get("Cookie") for _, headers in server.received}


@pytest.mark.parametrize("meta_version", [23, 24])
def test_chromium_cookies_reach_tiktok_com_alone_and_are_never_shown(
    home: Path, local_web: FakeTikTok, meta_version: int
) -> None:
    chromium_store(home, meta_version=meta_version)
    result = web("followers", "alice", "--cookies-from-browser", "chromium", "-v", "--debug", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 12
    assert sent_cookies(local_web) == {f"sessionid={SESSION}; tt-target-idc=useast5"}
    assert SESSION not in result.stderr and OTHER_SITE not in result.stderr


def test_firefox_cookies_from_the_environment_reach_tiktok_com_alone(
    home: Path, local_web: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    firefox_store(home)
    monkeypatch.setenv("TIKTOK_COOKIES_FROM_BROWSER", "firefox")
    result = web("followings", "alice", "-f", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert sent_cookies(local_web) == {f"sessionid={SESSION}; tt-target-idc=useast5"}


def test_the_setting_in_the_config_file_names_a_profile(home: Path, local_web: FakeTikTok) -> None:
    chromium_store(home, rows=ROWS[2:], profile="Default")  # no session in the default profile
    chromium_store(home, profile="Profile 1")
    assert invoke("config", "set", "cookies_from_browser", "chromium:Profile 1").exit_code == 0
    result = web("user-info", "alice")
    assert result.exit_code == 0, result.stderr
    assert sent_cookies(local_web) == {f"sessionid={SESSION}; tt-target-idc=useast5"}


def test_a_profile_can_be_named_by_its_path(home: Path, local_web: FakeTikTok) -> None:
    store = firefox_store(home, profile="work")
    result = web("user-info", "alice", "--cookies-from-browser", f"firefox:{store.parent}")
    assert result.exit_code == 0, result.stderr
    assert sent_cookies(local_web) == {f"sessionid={SESSION}; tt-target-idc=useast5"}


@pytest.mark.parametrize("build", [firefox_store, chromium_store])
def test_nothing_is_left_behind_on_disk(
    home: Path, local_web: FakeTikTok, tmpdir_watch: Path, build: Any
) -> None:
    store = build(home)
    browser = "firefox" if store.name == "cookies.sqlite" else "chromium"
    before = sorted(p for p in home.rglob("*"))
    result = web("user-info", "alice", "--cookies-from-browser", browser)
    assert result.exit_code == 0, result.stderr
    assert sorted(p for p in home.rglob("*")) == before
    assert list(tmpdir_watch.iterdir()) == []  # the reader's private copy of the store is gone


def test_a_store_without_tiktok_com_cookies_says_so_and_how_to_fix_it(
    home: Path, local_web: FakeTikTok
) -> None:
    firefox_store(home, rows=ROWS[2:4])
    result = web("user-info", "alice", "--cookies-from-browser", "firefox")
    assert result.exit_code == 5
    assert "firefox holds no cookies for 127.0.0.1" in result.stderr
    assert "--cookies-from-browser firefox:PROFILE" in result.stderr
    assert local_web.received == []


def test_a_browser_without_a_store_is_a_clear_error(home: Path, local_web: FakeTikTok) -> None:
    result = web("user-info", "alice", "--cookies-from-browser", "chrome")
    assert result.exit_code == 5
    (line,) = result.stderr.splitlines()
    assert line.startswith("tiktok: error: cannot read the cookies of chrome: could not find chrome cookies")
    assert local_web.received == []


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("netscape", "names no browser this tool reads ('netscape')"),
        ("chrome+vault", "names an unknown keyring 'vault'"),
    ],
)
def test_a_wrong_spec_is_a_usage_error(home: Path, spec: str, words: str) -> None:
    result = web("user-info", "alice", "--cookies-from-browser", spec)
    assert result.exit_code == 2
    assert f"--cookies-from-browser {words}" in result.stderr


def test_cookies_and_cookies_from_browser_together_are_refused(
    home: Path, local_web: FakeTikTok, tmp_path: Path
) -> None:
    jar = tmp_path / "cookies.txt"
    jar.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t2000000000\tsessionid\tX\n")
    firefox_store(home)
    result = web("user-info", "alice", "--cookies-from-browser", "firefox", "--cookies", str(jar))
    assert result.exit_code == 5
    assert "both cookies and cookies_from_browser are set" in result.stderr


def test_without_the_browser_extra_the_install_command_is_named(
    home: Path, local_web: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "yt_dlp.cookies", None)  # as if yt-dlp were not installed
    result = web("user-info", "alice", "--cookies-from-browser", "firefox")
    assert result.exit_code == 5
    assert "--cookies-from-browser needs the [browser] extra" in result.stderr
    assert "pip install 'tiktok-follows[browser]'" in result.stderr


def doctor_cookies(*args: str) -> tuple[str, str]:
    result = invoke("doctor", "--backend", "web", *args)
    line = next(line for line in result.stdout.splitlines() if line[6:17].strip() == "cookies")
    return line[:5].strip(), line[18:]


def test_the_doctor_reports_the_session_and_when_it_expires(home: Path, local_web: FakeTikTok) -> None:
    chromium_store(home)
    status, detail = doctor_cookies("--cookies-from-browser", "chromium")
    day = time.strftime("%Y-%m-%d", time.gmtime(IN_A_YEAR))
    assert status == "ok"
    assert detail.startswith("chromium (from the flag --cookies-from-browser): 2 cookies for 127.0.0.1")
    assert f"with a logged-in session until {day}" in detail


def test_the_doctor_warns_ahead_of_the_sessions_expiry(home: Path, local_web: FakeTikTok) -> None:
    soon = int(time.time()) + 3 * 86_400 + 3600
    firefox_store(home, rows=[("127.0.0.1", "sessionid_ss", SESSION, soon)])
    status, detail = doctor_cookies("--cookies-from-browser", "firefox")
    assert status == "warn"
    assert "(in 3 days): log in again in the browser before then, or scheduled runs will fail" in detail
    assert SESSION not in detail


def test_the_doctor_says_when_the_browser_has_no_session(home: Path, local_web: FakeTikTok) -> None:
    firefox_store(home, rows=[("127.0.0.1", "tt-target-idc", "useast5", IN_A_YEAR)])
    status, detail = doctor_cookies("--cookies-from-browser", "firefox")
    assert status == "ok" and "but no sessionid: log in to tiktok.com in the browser" in detail


@pytest.mark.parametrize("build", [firefox_store, chromium_store])
def test_only_the_cookies_for_the_tiktok_com_host_in_use_are_kept(home: Path, build: Any) -> None:
    from tiktok_cli.browser_cookies import load_browser_cookies

    browser = "firefox" if build(home).name == "cookies.sqlite" else "chromium"
    kept = load_browser_cookies(browser, "http://127.0.0.1:8080")
    assert sorted((c.domain, c.name, c.value) for c in kept) == [
        ("127.0.0.1", "sessionid", SESSION),
        ("127.0.0.1", "tt-target-idc", "useast5"),
    ]
    kept = load_browser_cookies(browser, "https://www.tiktok.com")
    assert [(c.name, c.value) for c in kept] == [("sessionid", "REALtiktokSESSION1")]
