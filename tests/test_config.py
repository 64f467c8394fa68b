"""Settings precedence (flags > environment > config file > defaults) and config errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from build_cassettes import SEED_UID
from conftest import API_URL, GATEWAY_URL, TEST_TOKEN, error_line, invoke, jsonl

from tiktok_cli.config import Settings, load_settings

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
        ("gatway_url = 'http://x.test'\n", "unknown setting 'gatway_url'"),
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
    lines = result.stdout.splitlines()
    assert lines[0] == f"# {os.environ['TIKTOK_CONFIG']}"
    for line in ("retries = 2", "timeout = 7.5", "backend = gateway", f"api_url = {API_URL}"):
        assert line in lines
