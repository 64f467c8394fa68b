"""Bad values get one clear line and the right exit code, blamed on where they came from."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import invoke


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--timeout", "nan"], "--timeout must be a finite number"),
        (["--timeout", "inf"], "--timeout must be a finite number"),
        (["--rate", "nan"], "--rate must be a finite number"),
        (["--retries", "1000"], "--retries must be a whole number from 0 to 100"),
        (["--gateway-url", "http://[::1"], "--gateway-url is not a valid URL"),
        (["--gateway-url", "http://a b/"], "must not contain spaces"),
        (["--backend", "bogus"], "--backend must be one of auto, gateway, tkapi, web"),
        (["--sleep", "inf"], "--sleep 'inf': need 0 <= MIN <= MAX"),
        (["--sleep", "nan"], "--sleep 'nan': need 0 <= MIN <= MAX"),
    ],
)
def test_bad_option_values_are_usage_errors(args: list[str], words: str) -> None:
    result = invoke("followings", "alice", *args)
    assert result.exit_code == 2
    assert words in result.stderr and "bug" not in result.stderr


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("timeout = nan\n", "timeout must be a finite"),
        ('backend = "bogus"\n', "backend must be one of"),
        ("timeout = true\n", "timeout must be a number"),
    ],
)
def test_bad_config_file_values_are_configuration_errors(
    isolated_env: Path, content: str, words: str
) -> None:
    config = isolated_env / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text(content)
    result = invoke("user-info", "alice")
    assert result.exit_code == 5
    assert str(config) in result.stderr and words in result.stderr


def test_config_set_refuses_invalid_values() -> None:
    assert invoke("config", "set", "backend", "bogus").exit_code == 2
    assert invoke("config", "set", "timeout", "nan").exit_code == 2


def test_a_bad_backend_from_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_BACKEND", "bogus")
    result = invoke("user-info", "alice")
    assert result.exit_code == 5 and "TIKTOK_BACKEND" in result.stderr


def test_messages_name_only_the_options_a_command_has(tmp_path: Path) -> None:
    assert invoke("user-info").stderr.strip() == "tiktok: error: name an account: give USER, --input FILE"
    assert "--uid" not in invoke("followings").stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody yet\n\n")
    assert "holds no accounts" in invoke("user-info", "--input", str(empty)).stderr


def test_an_output_folder_that_cannot_be_made_fails_before_any_request(tmp_path: Path) -> None:
    (tmp_path / "no").write_text("a file where a folder should be\n")
    with_trace = invoke("followings", "alice", "-v", "-o", "no/such/dir/out.csv")
    assert with_trace.exit_code == 2
    assert (
        "cannot write no/such/dir/out.csv: Not a directory" in with_trace.stderr
        and "GET " not in with_trace.stderr
    )


@pytest.mark.parametrize("args", [["alice", "bob.b", "--raw"], ["alice", "--raw", "--fields", "unique_id"]])
def test_raw_is_for_one_account_without_fields(args: list[str]) -> None:
    result = invoke("followings", *args)
    assert result.exit_code == 2 and "--raw" in result.stderr
