"""README.md is the user's manual: what it tells people to type must work as written."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from croniter import croniter
from fakeserver import TOKEN, Account, FakeTikTok, sec_uid_for
from helpers import Serve, csv_rows, invoke

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
# What crontab(5) accepts besides jobs: blank lines, comments, VAR=value.
CRON_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")
CRON_HEADER = "# m h dom mon dow"


def section(title: str) -> str:
    """The text of the README section ``## title`` (down to the next ``## ``)."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced code block in ``text``."""
    return [(m["info"].strip(), m["body"]) for m in FENCE.finditer(text)]


def crontab_blocks() -> list[str]:
    """Every block meant for `crontab -e`: tagged crontab, or starting with cron's field header."""
    return [body for info, body in blocks(README) if info == "crontab" or CRON_HEADER in body]


def test_readme_has_a_crontab() -> None:
    assert crontab_blocks(), "README's Cron section shows no crontab"


@pytest.mark.parametrize("block", crontab_blocks())
def test_every_crontab_line_is_one_valid_cron_entry(block: str) -> None:
    jobs = 0
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or CRON_ENV.match(line):
            continue
        assert not line.rstrip().endswith("\\"), f"crontab has no line continuations: {line!r}"
        fields = line.split(None, 5)
        assert len(fields) == 6, f"not five time fields and a command: {line!r}"
        schedule, command = " ".join(fields[:5]), fields[5]
        assert croniter.is_valid(schedule), f"bad schedule {schedule!r}"
        # cron turns an unescaped % into a newline: the command would be cut there.
        assert re.search(r"(?<!\\)%", command) is None, f"unescaped % in {command!r}"
        jobs += 1
    assert jobs, "a crontab block without any job"


def scripts() -> dict[str, str]:
    """Shell scripts README asks the user to save: {path named in its comment: body}."""
    found = {}
    for _, body in blocks(README):
        lines = body.splitlines()
        if lines and lines[0].startswith("#!/bin/sh"):
            name = re.match(r"# (\S+):", lines[1]) if len(lines) > 1 else None
            assert name, "a script block must say where to save it on its second line"
            found[name.group(1)] = body
    return found


def test_the_crontab_runs_the_script_readme_shows() -> None:
    saved = scripts()
    for block in crontab_blocks():
        for line in block.splitlines():
            if line.strip() and not line.startswith("#") and not CRON_ENV.match(line):
                program = shlex.split(line.split(None, 5)[5])[0]
                assert program in saved, f"the crontab runs {program}, which README does not show"


def test_every_script_is_valid_sh() -> None:
    assert scripts(), "README's Cron section shows no script"
    for name, body in scripts().items():
        result = subprocess.run(["sh", "-n"], input=body, capture_output=True, text=True, check=False)
        assert result.returncode == 0, (name, result.stderr)


def test_the_cron_script_exports_once_a_night_and_reports_failures(tmp_path: Path) -> None:
    """README's script, run as cron would: in its own folder, with the config file's settings."""
    (name, body), *_ = scripts().items()
    folder = Path(name).parent
    script = tmp_path / "export.sh"
    script.write_text(body.replace(str(folder), str(tmp_path)))
    script.chmod(0o755)
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "tiktok").write_text(f'#!/bin/sh\nexec {sys.executable} -m tiktok_cli "$@"\n')
    (venv_bin / "tiktok").chmod(0o755)
    (tmp_path / "accounts.txt").write_text("alice\n")
    config = tmp_path / "config.toml"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TIKTOK_CONFIG": str(config)}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)

    with FakeTikTok() as server:
        config.write_text(
            f'gateway_url = "{server.url}/tiktok"\napi_url = "{server.url}/tk"\napi_token = "{TOKEN}"\n'
        )
        config.chmod(0o600)
        first = run()
        assert (first.returncode, first.stdout, first.stderr) == (0, "", "")  # nothing to mail
        (export,) = tmp_path.glob("followers-*.csv")
        assert len(csv_rows(export.read_bytes())) == 1 + 95  # header and alice's 95 followers
        requests = len(server.requests)
        assert run().returncode == 0  # the second entry of a good night does nothing
        assert len(server.requests) == requests

    export.unlink()
    with socket.socket() as sock:  # a gateway that is not running
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config.write_text(
        f'gateway_url = "http://127.0.0.1:{port}/tiktok"\napi_url = "http://127.0.0.1:{port}/tk"\n'
    )
    env["TIKTOK_API_TOKEN"] = TOKEN
    failed = run()
    assert failed.returncode == 7
    assert failed.stderr.splitlines()[-1] == "tiktok export failed with exit 7"
    assert not list(tmp_path.glob("followers-*.csv"))


def only_command(title: str) -> str:
    """The one line of the first sh block of a section."""
    code = [body for info, body in blocks(section(title)) if info == "sh"]
    assert code, f"no sh block in {title!r}"
    lines = code[0].strip().splitlines()
    assert len(lines) == 1, f"the {title!r} command should be one line to copy"
    return lines[0]


def test_install_and_run_is_one_command_from_a_clone() -> None:
    command = only_command("Install and run")
    assert re.match(
        r"python3 -m venv \.venv && \. \.venv/bin/activate && pip install -q '\.(\[web\])?' && tiktok ",
        command,
    )


def test_the_first_two_commands_work_with_nothing_configured(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh machine: no gateway, token API or backend anywhere; tiktok.com (here a local
    stand-in) answers the profile and the followings README's first two commands ask for."""
    first = shlex.split(only_command("Install and run").rpartition("&& tiktok ")[2])
    second = shlex.split(console_sample_command("Install and run", "tiktok followings"))
    name = first[-1]
    assert first[0] == "user-info" and second[:2] == ["followings", name]
    server = serve(accounts=[Account(name, "6754915036232582149", sec_uid_for(name), 0, 5)])
    for variable in ("TIKTOK_GATEWAY_URL", "TIKTOK_API_URL", "TIKTOK_API_TOKEN"):
        monkeypatch.delenv(variable)
    for args in (first, second):
        result = invoke(*args, "--rate", "1000")
        assert result.exit_code == 0, result.stderr
        assert "reading tiktok.com directly" in result.stderr
    assert all(urlsplit(r).path.startswith(("/@", "/api/user/list/")) for r in server.requests)
    assert Path(second[-1]).read_text(encoding="utf-8").count("\n") == 6  # the header and 5 rows


def console_sample_command(title: str, prefix: str) -> str:
    """The command of the ``$ prefix…`` line in a console block of section ``title``."""
    for info, body in blocks(section(title)):
        for line in body.splitlines():
            if info == "console" and line.startswith(f"$ {prefix}"):
                return line.removeprefix("$ tiktok ")
    raise AssertionError(f"README's {title!r} shows no `{prefix}`")


def test_the_test_command_is_the_one_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r'^TEST_COMMAND="(.*)"$', ci, re.MULTILINE)
    assert match, ".ci/run no longer sets TEST_COMMAND"
    assert only_command("Run the tests") == match.group(1)


def test_install_hints_name_this_project_not_the_stranger_on_pypi() -> None:
    # `tiktok-cli` on PyPI is an unrelated project: no hint may install it.
    assert re.search(r"pip install\s+['\"]?tiktok-cli\b", README) is None
    assert "pip install 'tiktok-follows[web]'" in README
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "tiktok-follows"
    assert project["scripts"] == {"tiktok": "tiktok_cli.cli:main"}


def test_readme_explains_the_two_apis_in_plain_words() -> None:
    text = section("What the two APIs are")
    for words in ("REST gateway", "run yourself", "http://localhost:3000/tiktok", "token API", "vendor"):
        assert words in text
    assert "seed API" not in README


def test_the_exit_code_table_is_the_one_in_errors_py() -> None:
    """One row per exit code, in order, each starting with what ``ExitCode.describe`` says."""
    from tiktok_cli.errors import ExitCode

    header, *table = re.findall(r"^\| (\S+) \| (.+) \|$", section("Exit codes"), re.MULTILINE)
    assert header == ("code", "meaning")
    assert [code for code, _ in table] == [str(int(code)) for code in ExitCode]
    for (_, meaning), code in zip(table, ExitCode, strict=True):
        assert meaning.startswith(code.describe()), (int(code), meaning, code.describe())


def merge_recipe(program: str) -> str:
    """The one-line merge command of "Many accounts, many machines" that runs ``program``."""
    text = section("Many accounts, many machines")
    lines = [line for info, body in blocks(text) if info == "sh" for line in body.splitlines()]
    inline = re.findall(r"`([^`\n]+)`", FENCE.sub("", text))
    found = [line for line in lines + inline if line.startswith(program + " ")]
    assert len(found) == 1, f"README gives {len(found)} merge recipes with {program}"
    return found[0]


@pytest.mark.parametrize("excel", [False, True])
def test_the_csv_merge_recipe_gives_one_header_and_every_row_whole(
    serve: Serve, tmp_path: Path, excel: bool
) -> None:
    """Shard files whose bios span lines, merged as README says: the unsharded export's rows."""
    names = ["alice", "bob", "carol", "dave", "erin", "frank"]
    serve(
        accounts=[
            Account(n, str(6754915036232582149 + i), sec_uid_for(n), 4 + i, 1) for i, n in enumerate(names)
        ]
    )
    options = ["--excel"] if excel else []
    assert invoke("followers", *names, "-o", "all.csv", *options).exit_code == 0
    for k in range(3):
        assert (
            invoke("followers", *names, "--shard", f"{k}/3", "-o", f"followers-{k}.csv", *options).exit_code
            == 0
        )
    subprocess.run(["sh", "-c", merge_recipe("awk")], cwd=tmp_path, check=True)
    header, *merged = csv_rows((tmp_path / "followers.csv").read_bytes())
    whole_header, *whole = csv_rows((tmp_path / "all.csv").read_bytes())
    assert header == whole_header
    assert sorted(merged) == sorted(whole) and len(whole) == sum(4 + i for i in range(6))
    assert any("\n" in cell for row in whole for cell in row)  # what a line-by-line merge could break


def test_the_jsonl_merge_recipe(serve: Serve, tmp_path: Path) -> None:
    names = ["alice", "bob", "carol"]
    serve(
        accounts=[Account(n, str(6754915036232582149 + i), sec_uid_for(n), 3, 1) for i, n in enumerate(names)]
    )
    assert invoke("followers", *names, "-o", "all.jsonl").exit_code == 0
    for k in range(2):
        assert invoke("followers", *names, "--shard", f"{k}/2", "-o", f"followers-{k}.jsonl").exit_code == 0
    subprocess.run(["sh", "-c", merge_recipe("cat")], cwd=tmp_path, check=True)
    merged = (tmp_path / "followers.jsonl").read_text().splitlines()
    assert sorted(merged) == sorted((tmp_path / "all.jsonl").read_text().splitlines())


def console_sample(command: str) -> list[str]:
    """The lines README shows for `$ COMMAND` in a console block."""
    for info, body in blocks(README):
        first, _, rest = body.partition("\n")
        if info == "console" and first == f"$ {command}":
            return rest.splitlines()
    raise AssertionError(f"README shows no output of `{command}`")


README_CONFIG = "/home/me/.config/tiktok-cli/config.toml"
README_API = "http://api.example.com"


def test_the_doctor_sample_is_the_real_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """README's setup: the gateway at its default address, not running; the token API set in
    the config file and working, the token in the environment."""
    account = Account("tiktok", "6754915036232582149", sec_uid_for("tiktok"), 10, 5)
    with FakeTikTok(accounts=[account]) as server:
        config = tmp_path / "config" / "config.toml"
        config.parent.mkdir()
        config.write_text(f'api_url = "{server.url}/tk"\n')
        monkeypatch.setenv("TIKTOK_CONFIG", str(config))
        monkeypatch.setenv("TIKTOK_API_TOKEN", TOKEN)
        for name in ("TIKTOK_GATEWAY_URL", "TIKTOK_API_URL"):
            monkeypatch.delenv(name, raising=False)
        result = invoke("doctor")
    shown = result.stdout.replace(str(config), README_CONFIG).replace(server.url, README_API)
    assert shown.splitlines() == console_sample("tiktok doctor")
    assert result.exit_code == 7


def test_the_config_show_sample_is_the_real_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'api_url = "{README_API}/tk"\n')
    monkeypatch.setenv("TIKTOK_CONFIG", str(config))
    for name in ("TIKTOK_GATEWAY_URL", "TIKTOK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    result = invoke("config", "show")
    shown = result.stdout.replace(str(config), README_CONFIG)
    assert shown.splitlines() == console_sample("tiktok config show")


def test_the_configuration_table_gives_each_setting_its_flag_and_variable() -> None:
    """The manual's table of settings says what the settings themselves declare."""
    from tiktok_cli.settings import SETTINGS

    rows = re.findall(r"^\| `(\w+)` \|([^|]*)\|([^|]*)\|", section("Configuration"), re.MULTILINE)
    table = {name: (flag.strip(), env.strip()) for name, flag, env in rows}
    for name, setting in SETTINGS.items():
        flag, env = table[name]
        assert (f"`{setting.option}`" if setting.option else "") == flag.replace("(none, on purpose)", ""), (
            name
        )
        assert (f"`{setting.env}`" if setting.env else "") == env, name
