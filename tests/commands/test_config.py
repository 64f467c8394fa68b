"""Settings precedence (flags > environment > config file > defaults) and config errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from helpers import API_URL, GATEWAY_URL, SEED_UID, TEST_TOKEN, error_line, invoke, jsonl

from tiktok_cli.config import SETTING_NAMES, Settings, load_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REFUSED = "http://127.0.0.1:9"


def write_config(text: str | bytes, mode: int = 0o600) -> Path:
    """Write the config file where TIKTOK_CONFIG (set by conftest) points."""
    path = Path(os.environ["TIKTOK_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(mode)
    return path


@pytest.fixture
def bare_env(monkeypatch):
    """No TIKTOK_* settings in the environment (the config path stays)."""
    for name in ("TIKTOK_GATEWAY_URL", "TIKTOK_API_URL", "TIKTOK_API_TOKEN"):
        monkeypatch.delenv(name)


def test_defaults_when_nothing_is_set(bare_env):
    assert load_settings({}) == Settings()
    assert Settings().gateway_url == "http://localhost:3000/tiktok"
    assert (Settings().timeout, Settings().retries, Settings().api_url) == (20.0, 4, None)


@pytest.mark.parametrize(
    ("in_file", "in_env", "on_command_line", "expected"),
    [
        (False, False, False, "http://localhost:3000/tiktok"),
        (True, False, False, "http://file.test"),
        (True, True, False, "http://env.test"),
        (False, True, False, "http://env.test"),
        (True, True, True, "http://flag.test"),
        (True, False, True, "http://flag.test"),
    ],
)
def test_flags_beat_environment_beats_file_beats_defaults(
    bare_env, monkeypatch, in_file, in_env, on_command_line, expected
):
    if in_file:
        write_config('gateway_url = "http://file.test/"\n')
    if in_env:
        monkeypatch.setenv("TIKTOK_GATEWAY_URL", "http://env.test")
    flags = {"gateway_url": "http://flag.test" if on_command_line else None}
    assert load_settings(flags).gateway_url == expected


def test_each_setting_comes_from_its_own_best_source(bare_env, monkeypatch):
    write_config('timeout = 5\nretries = 1\napi_url = "http://file.test/tk"\napi_token = "from-file"\n')
    monkeypatch.setenv("TIKTOK_API_TOKEN", "from-env")
    settings = load_settings({"retries": 0, "timeout": None})
    assert settings.retries == 0  # flag
    assert settings.api_token == "from-env"  # environment
    assert (settings.timeout, settings.api_url) == (5.0, "http://file.test/tk")  # file
    assert settings.gateway_url == Settings().gateway_url  # default


def test_an_empty_environment_variable_counts_as_unset(bare_env, monkeypatch):
    write_config('gateway_url = "http://file.test"\n')
    monkeypatch.setenv("TIKTOK_GATEWAY_URL", "")
    assert load_settings({}).gateway_url == "http://file.test"


def test_config_path_prints_tiktok_config():
    result = invoke("config", "path")
    assert (result.exit_code, result.stdout) == (0, os.environ["TIKTOK_CONFIG"] + "\n")


def test_config_path_defaults_to_the_user_config_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("TIKTOK_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = invoke("config", "path")
    assert result.exit_code == 0
    assert Path(result.stdout.strip()).parts[-2:] == ("tiktok-cli", "config.toml")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("gateway_url = [unclosed\n", "not valid TOML"),
        ("retries = -1\n", "retries"),
        ("retries = true\n", "retries"),
        ("timeout = 'soon'\n", "timeout"),
        ("gateway_url = 'localhost:3000'\n", "http://"),
        (b"retries = 1\n\xff\xfe\n", "not valid TOML"),
    ],
)
def test_an_invalid_config_file_exits_5(cassette, text, says):
    path = write_config(text)
    with cassette("no_requests"):
        result = invoke("user-info", "taylorswift")
    line = error_line(result, 5)
    assert says in line
    assert str(path) in line


def test_an_unknown_key_in_the_config_file_is_a_warning_naming_its_line(cassette):
    path = write_config('retries = 2\n\napiurl = "x"\n')
    with cassette("gateway/user_info_seed"):
        result = invoke("user-info", "taylorswift")
    assert result.exit_code == 0, result.stderr
    assert len(jsonl(result.stdout)) == 1
    assert result.stderr.splitlines() == [
        f"tiktok: warning: {path}, line 3: unknown setting 'apiurl' ignored (did you mean api_url?); "
        "`tiktok config unset apiurl` removes it"
    ]


def test_config_unset_removes_a_key_that_is_no_setting():
    path = write_config('apiurl = "x"\nretries = 2\n[extra]\nkey = 1\n')
    for key in ("apiurl", "extra"):
        result = invoke("config", "unset", key)
        assert result.exit_code == 0, result.stderr
        assert f"{key} removed from {path}" in result.stderr
    assert path.read_text() == "retries = 2\n"
    assert invoke("config", "show").stderr == ""


def test_config_set_keeps_a_key_that_is_no_setting():
    path = write_config('apiurl = "x"\n')
    result = invoke("config", "set", "retries", "3")
    assert result.exit_code == 0, result.stderr
    assert "unknown setting 'apiurl'" in result.stderr
    assert path.read_text() == 'apiurl = "x"\nretries = 3\n'


def test_an_invalid_environment_value_exits_5_naming_the_variable(monkeypatch):
    monkeypatch.setenv("TIKTOK_GATEWAY_URL", "localhost:3000")
    assert "TIKTOK_GATEWAY_URL" in error_line(invoke("user-info", "cnn"), 5)


@pytest.mark.parametrize(
    "args", [["--retries", "-1"], ["--timeout", "0"], ["--gateway-url", "ftp://x.test"], ["--rate", "-2"]]
)
def test_an_invalid_flag_value_is_a_usage_error(cassette, args):
    with cassette("no_requests"):
        result = invoke("user-info", "cnn", *args)
    assert args[0] in error_line(result, 2)


def test_flag_beats_environment_through_the_cli(cassette, monkeypatch):
    monkeypatch.setenv("TIKTOK_GATEWAY_URL", REFUSED)
    with cassette("gateway/user_info_seed") as cas:
        result = invoke("user-info", "taylorswift", "--gateway-url", GATEWAY_URL)
    assert result.exit_code == 0, result.stderr
    assert cas.play_count == 1


def test_environment_beats_config_file_through_the_cli(cassette):
    write_config(f'gateway_url = "{REFUSED}"\n')
    with cassette("gateway/user_info_seed"):
        result = invoke("user-info", "taylorswift")
    assert result.exit_code == 0, result.stderr


def test_token_api_settings_from_the_config_file(bare_env, cassette):
    write_config(f'api_url = "{API_URL}"\napi_token = "{TEST_TOKEN}"\ngateway_url = "{GATEWAY_URL}"\n')
    with cassette("tkapi/followers_three_pages") as cas:
        result = invoke("followers", "--uid", SEED_UID, "--limit", "5")
    assert result.exit_code == 0, result.stderr
    assert len(jsonl(result.stdout)) == 5
    assert cas.play_count == 1
    assert "warning" not in result.stderr


def test_a_token_in_a_file_others_can_read_is_warned_about(bare_env, cassette):
    path = write_config(f'api_url = "{API_URL}"\napi_token = "{TEST_TOKEN}"\n', mode=0o644)
    with cassette("tkapi/followers_three_pages"):
        result = invoke("followers", "--uid", SEED_UID, "--limit", "1")
    assert result.exit_code == 0
    assert f"tiktok: warning: {path} holds an API token" in result.stderr
    assert "chmod 600" in result.stderr
    assert TEST_TOKEN not in result.stderr


def test_config_show_reports_the_merged_settings(monkeypatch):
    write_config("retries = 2\ntimeout = 7.5\n")
    monkeypatch.setenv("TIKTOK_BACKEND", "gateway")
    result = invoke("config", "show")
    assert result.exit_code == 0
    lines = [line.partition("  # ")[0].rstrip() for line in result.stdout.splitlines()]
    assert lines[0] == f"# config file: {os.environ['TIKTOK_CONFIG']}"
    for line in ("retries = 2", "timeout = 7.5", 'backend = "gateway"', f'api_url = "{API_URL}"'):
        assert line in lines


def test_config_show_is_toml_that_can_be_pasted_back(bare_env, monkeypatch):
    monkeypatch.setenv("TIKTOK_API_TOKEN", "secret-from-env")
    write_config("retries = 2\n")
    shown = invoke("config", "show").stdout
    assert "secret-from-env" not in shown
    assert "(not set)" not in shown
    assert tomllib.loads(shown) == {"retries": 2}
    # unset settings, defaults and the masked token are comments: pasting sets none of them
    assert '# gateway_url = "http://localhost:3000/tiktok"' in shown
    assert '# api_token = "***"' in shown
    assert "# rate is not set (unlimited)" in shown
    # Pasted back as the config file, it gives the same settings.
    write_config(shown)
    monkeypatch.delenv("TIKTOK_API_TOKEN")
    assert load_settings({}) == Settings(retries=2)


def test_config_show_and_get_give_the_rate_the_backend_would_use():
    lines = invoke("config", "show", "--backend", "web").stdout.splitlines()
    assert "# rate = 1.0                                  # default of backend web" in lines
    assert invoke("config", "get", "rate", "--backend", "web").stdout == "1.0\n"
    assert invoke("config", "get", "rate", "--backend", "web", "--rate", "3").stdout == "3.0\n"


def test_config_get_prints_the_effective_value_alone(monkeypatch):
    write_config("retries = 2\n")
    monkeypatch.setenv("TIKTOK_BACKEND", "gateway")
    for name, value in (("retries", "2"), ("backend", "gateway"), ("api_url", API_URL), ("timeout", "20.0")):
        result = invoke("config", "get", name)
        assert (result.exit_code, result.stdout, result.stderr) == (0, f"{value}\n", "")
    assert invoke("config", "get", "timeout", "--timeout", "3").stdout == "3.0\n"
    assert invoke("config", "get", "db", "--db", "/srv/t.db").stdout == "/srv/t.db\n"


def test_config_get_of_an_unset_setting_prints_nothing():
    result = invoke("config", "get", "db")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "db is not set\n")


def test_config_get_of_an_unknown_name_exits_2():
    line = error_line(invoke("config", "get", "retry"), 2)
    assert "unknown setting 'retry' (did you mean retries?)" in line


def test_config_get_prints_a_secret_only_when_asked_to():
    line = error_line(invoke("config", "get", "api_token"), 2)
    assert TEST_TOKEN not in line
    assert "--show-secret" in line
    result = invoke("config", "get", "api_token", "--show-secret")
    assert (result.exit_code, result.stdout) == (0, f"{TEST_TOKEN}\n")
    # Only a value that is a secret: a cookies.txt path is none.
    result = invoke("config", "get", "cookies", "--cookies", "cookies.txt")
    assert (result.exit_code, result.stdout) == (0, "cookies.txt\n")


# --- config show: where each value comes from ---------------------------------------------


def show_origins(*args: str) -> dict[str, str]:
    """{setting: origin} from `tiktok config show` (lines "name = value  # origin", or
    "# name is not set  # origin", "# name = "***"  # origin; a secret, masked")."""
    result = invoke("config", "show", *args)
    assert result.exit_code == 0, result.stderr
    origins = {}
    for line in result.stdout.splitlines()[1:]:
        setting, _, origin = line.partition("  # ")
        origins[setting.removeprefix("# ").split()[0]] = origin.partition(";")[0].strip()
    return origins


def test_config_show_names_the_source_of_every_value(bare_env, monkeypatch):
    write_config("retries = 2\ntimeout = 7.5\n")
    monkeypatch.setenv("TIKTOK_API_TOKEN", "secret-from-env")
    monkeypatch.setenv("TIKTOK_GATEWAY_URL", "http://env.test")
    origins = show_origins("--timeout", "3", "--backend", "gateway")
    assert origins == {
        "backend": "flag --backend",
        "gateway_url": "environment TIKTOK_GATEWAY_URL",
        "api_url": "default",
        "api_token": "environment TIKTOK_API_TOKEN",
        "web_url": "default",
        "cookies": "default",
        "cookies_from_browser": "default",
        "signer_url": "default",
        "timeout": "flag --timeout",
        "retries": "config file",
        "rate": "default",
        "db": "default",
    }


def test_config_show_says_when_the_file_does_not_exist():
    result = invoke("config", "show")
    assert result.stdout.splitlines()[0] == f"# config file: {os.environ['TIKTOK_CONFIG']} (does not exist)"


# --- config set / unset ----------------------------------------------------------------------


def test_config_set_help_lists_every_setting_name():
    result = invoke("config", "set", "--help")
    assert result.exit_code == 0
    for name in SETTING_NAMES:
        assert name in result.stdout


def test_option_help_names_the_variable_and_the_default_of_its_setting():
    text = " ".join(invoke("followers", "--help").stdout.split())  # as one line, unwrapped
    assert "the REST gateway. [env: TIKTOK_GATEWAY_URL; default: http://localhost:3000/tiktok]" in text
    assert "PGPASSWORD. [env: TIKTOK_DB]" in text
    assert "0 to 100. [default: 4]" in text
    assert "--rate N Requests per second at most. [default: unlimited; 1 with --backend web]" in text
    assert "gateway, tkapi or web (tiktok.com itself). [env: TIKTOK_BACKEND]" in text


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("timeout", "abc", "timeout must be a number of seconds"),
        ("timeout", "0", "timeout must be a number of seconds, greater than 0"),
        ("timeout", "nan", "timeout must be a finite number of seconds"),
        ("retries", "x", "retries must be a whole number from 0 to 100"),
        ("retries", "1.5", "retries must be a whole number from 0 to 100"),
        ("retries", "inf", "retries must be a whole number from 0 to 100"),
        ("rate", "fast", "rate must be a number of requests per second"),
    ],
)
def test_config_set_refuses_a_bad_number_in_plain_words(name, value, words):
    line = error_line(invoke("config", "set", name, value), 2)
    assert line == f"tiktok: error: {words}"
    assert not Path(os.environ["TIKTOK_CONFIG"]).exists()


def test_a_bad_number_in_the_config_file_is_explained_too(cassette):
    path = write_config('timeout = "soon"\n')
    with cassette("no_requests"):
        line = error_line(invoke("user-info", "cnn"), 5)
    assert line == f"tiktok: error: config file {path}: timeout must be a number of seconds"


def test_config_set_cookies_stores_the_files_absolute_path(isolated_env):
    (isolated_env / "cookies.txt").write_text("# Netscape HTTP Cookie File\n")
    result = invoke("config", "set", "cookies", "cookies.txt")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"cookies saved in {os.environ['TIKTOK_CONFIG']}\n"
    assert load_settings({}).cookies == str(isolated_env / "cookies.txt")


def test_config_set_cookies_warns_about_a_file_not_there_yet(isolated_env):
    result = invoke("config", "set", "cookies", "~/later/cookies.txt")
    assert result.exit_code == 0
    assert "does not exist yet" in result.stderr
    assert load_settings({}).cookies == str(Path("~/later/cookies.txt").expanduser())


def test_config_set_refuses_cookie_values_on_the_command_line():
    result = invoke("config", "set", "cookies", "sessionid=SECRETvalue42")
    line = error_line(result, 2)
    assert "cookies.txt" in line and "TIKTOK_COOKIES" in line
    assert "SECRETvalue42" not in result.stdout + result.stderr
    assert not Path(os.environ["TIKTOK_CONFIG"]).exists()


def test_config_set_api_token_still_refuses_an_argument():
    result = invoke("config", "set", "api_token", "tok-ARG-123456")
    assert result.exit_code == 2
    assert "tok-ARG-123456" not in result.stderr


def test_config_unset_removes_a_setting():
    path = write_config("retries = 2\ntimeout = 5\n")
    result = invoke("config", "unset", "retries")
    assert (result.exit_code, result.stderr) == (0, f"retries removed from {path}\n")
    assert path.read_text() == "timeout = 5\n"


def test_config_unset_of_a_setting_not_set_says_so_and_exits_0():
    path = Path(os.environ["TIKTOK_CONFIG"])
    result = invoke("config", "unset", "rate")
    assert (result.exit_code, result.stderr) == (0, f"rate is not set in {path}; nothing to remove\n")
    assert not path.exists()  # not created just to remove nothing


def test_config_unset_names_the_environment_variable_that_still_sets_it():
    result = invoke("config", "unset", "api_url")
    assert result.exit_code == 0
    assert "comes from the environment variable TIKTOK_API_URL" in result.stderr


def test_config_unset_of_an_unknown_name_is_a_usage_error():
    assert "unknown setting 'retry'" in error_line(invoke("config", "unset", "retry"), 2)


# --- a config path that cannot be used --------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["user-info", "cnn"], ["config", "show"], ["config", "set", "retries", "1"]]
)
def test_tiktok_config_pointing_to_a_folder_is_one_clear_line(cassette, monkeypatch, tmp_path, command):
    folder = tmp_path / "settings"
    folder.mkdir()
    monkeypatch.setenv("TIKTOK_CONFIG", str(folder))
    with cassette("no_requests"):
        line = error_line(invoke(*command), 5)
    assert line == (
        f"tiktok: error: config file {folder} is a folder, not a file; "
        f"point TIKTOK_CONFIG at a file inside it, such as {folder / 'config.toml'}"
    )


def test_an_unreadable_config_file_is_one_clear_line(cassette, monkeypatch):
    path = write_config("retries = 1\n", mode=0o000)
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == path:  # as for a non-root user; root reads any file whatever its mode
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with cassette("no_requests"):
        line = error_line(invoke("user-info", "cnn"), 5)
    assert line.startswith(f"tiktok: error: cannot read config file {path}: permission denied; ")
    assert "chmod 600" in line


def test_an_empty_tiktok_config_means_the_default_path(monkeypatch, tmp_path):
    monkeypatch.setenv("TIKTOK_CONFIG", "")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = invoke("config", "path")
    assert result.stdout.strip() == str(tmp_path / "xdg" / "tiktok-cli" / "config.toml")
