"""The deployment files: the Dockerfile, .dockerignore, and the recipes in examples/.

None of them runs here as it would in production (there is no container engine or cluster
in a test), so each is checked for what its recipe relies on, linted with the tools its
kind has (hadolint, shellcheck, the test extra installs both), and where it holds a
`tiktok` command, that command is run as written against the local server.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from croniter import croniter
from fakeserver import TOKEN, Account, FakeTikTok, sec_uid_for
from helpers import Serve, csv_rows, invoke

from tiktok_cli.errors import PERMANENT, RETRYABLE, ExitCode
from tiktok_cli.identifiers import read_targets
from tiktok_cli.settings import url_password

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
EXAMPLES = ROOT / "examples"
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SECRET_WORDS = re.compile(r"token|cookie|passw|secret|pgpass", re.IGNORECASE)


def tool(name: str) -> str:
    """A linter the test extra installs (beside this Python, or on PATH); never skipped."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    assert found, f"{name} is missing: `pip install -e '.[test]'` installs it"
    return found


# --- the Dockerfile --------------------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each Dockerfile instruction, continuations joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue  # also inside a continuation, where Docker drops comment lines too
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).strip().partition(" ")
        found.append((keyword.upper(), " ".join(arguments.split())))
        pending = ""
    return found


STEPS = instructions(DOCKERFILE.read_text(encoding="utf-8"))


def arguments(keyword: str) -> list[str]:
    return [args for kind, args in STEPS if kind == keyword]


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run([tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def stages() -> list[tuple[str, list[tuple[str, str]]]]:
    """(the FROM's arguments, the instructions after it) of each build stage, in order."""
    found: list[tuple[str, list[tuple[str, str]]]] = []
    for kind, args in STEPS:
        if kind == "FROM":
            found.append((args, []))
        elif found:
            found[-1][1].append((kind, args))
    return found


def stage_arguments(steps: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for kind, args in steps if kind == keyword]


FINAL = stages()[-1][1]
BUILD = next((steps for source, steps in stages() if source.endswith(" AS build")), [])


def test_the_base_is_slim_python_pinned_by_tag_and_digest() -> None:
    names: list[str] = []
    external = []
    for source, _ in stages():
        image, _, name = source.partition(" AS ")
        if image not in names:  # a stage built on an earlier stage needs no pin of its own
            external.append(image)
        names.append(name)
    (base,) = external
    assert re.fullmatch(r"python:3\.12-slim@sha256:[0-9a-f]{64}", base), base
    assert len(stages()) >= 2


def test_the_image_runs_tiktok() -> None:
    assert [json.loads(a) for a in stage_arguments(FINAL, "ENTRYPOINT")] == [["tiktok"]]
    assert "tiktok" in PYPROJECT["project"]["scripts"]


def test_the_image_runs_as_a_numeric_user_that_is_not_root() -> None:
    *_, user = stage_arguments(FINAL, "USER")
    name = user.split(":")[0]
    assert name.isdigit() and int(name) != 0, user  # numeric: Kubernetes' runAsNonRoot checks it
    assert FINAL.index(("USER", user)) > max(i for i, (kind, _) in enumerate(FINAL) if kind == "RUN")


def test_the_package_is_built_with_the_pinned_versions_and_both_extras() -> None:
    (install,) = [run for run in stage_arguments(BUILD, "RUN") if "pip " in run and " install " in run]
    extras = re.search(r"/src\[([a-z,]+)\]", install)
    assert extras, install
    assert (
        set(extras.group(1).split(","))
        == {"web", "postgres"}
        <= set(PYPROJECT["project"]["optional-dependencies"])
    )
    constraints = re.search(r"(?:-c|--constraint) (\S+)", install)
    assert constraints and "--no-cache-dir" in install, install
    copied = {
        str(Path(args.split()[-1]) / Path(source).name)
        for args in stage_arguments(BUILD, "COPY")
        for source in args.split()[:-1]
    }
    assert constraints.group(1) in copied and not ignored("constraints.txt")


def test_the_final_stage_carries_the_environment_and_no_installer() -> None:
    """The venv is made without pip and copied whole; the final stage installs nothing and
    removes the base's pip."""
    (venv,) = re.findall(r"python -m venv --without-pip (\S+)", " ".join(stage_arguments(BUILD, "RUN")))
    assert f"--from=build {venv} {venv}" in stage_arguments(FINAL, "COPY")
    env = dict(item.split("=", 1) for args in stage_arguments(FINAL, "ENV") for item in shlex.split(args))
    assert env["PATH"].split(":")[0] == f"{venv}/bin"
    runs = " && ".join(stage_arguments(FINAL, "RUN"))
    assert (
        "pip uninstall --yes" in runs and runs.split("pip uninstall")[1].split("&&")[0].split()[-1] == "pip"
    )
    assert not re.search(r"\b(pip|uv) install|apt-get|gcc|build-essential", runs)
    assert not [args for args in stage_arguments(FINAL, "COPY") if "--from" not in args]


def test_the_context_holds_what_the_package_is_built_from() -> None:
    copied = {source for args in stage_arguments(BUILD, "COPY") for source in args.split()[:-1]}
    hatch = PYPROJECT["tool"]["hatch"]
    needed = {
        "constraints.txt",
        "pyproject.toml",
        PYPROJECT["project"]["readme"],
        *hatch["build"]["targets"]["wheel"]["packages"],
    }
    assert needed <= copied
    assert Path(hatch["version"]["path"]).parts[0] in copied


def test_no_secret_is_baked_in() -> None:
    for kind in ("ENV", "ARG", "LABEL"):
        for args in arguments(kind):
            for item in shlex.split(args):
                assert not SECRET_WORDS.search(item), f"{kind} {item}"
    for args in arguments("COPY"):
        assert not SECRET_WORDS.search(args)


def test_outputs_and_a_sqlite_store_go_to_data_mounted_by_the_user() -> None:
    assert stage_arguments(FINAL, "WORKDIR")[-1] == "/data"
    assert not arguments("VOLUME")  # an anonymous volume left behind by every run without -v
    env = dict(item.split("=", 1) for args in stage_arguments(FINAL, "ENV") for item in shlex.split(args))
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["TIKTOK_CONFIG"].startswith("/config/")
    (run,) = re.findall(r"^docker run .*$", README, re.MULTILINE)
    assert re.search(r' -v "?\$PWD:/data"? ', run), run
    assert "the image declares no `VOLUME`" in README


def test_the_one_container_example_is_readmes() -> None:
    """The Dockerfile points to README's section instead of keeping a second example."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "docker run" not in text
    (section,) = re.findall(r'README, "([^"]+)"', text.split("\nFROM", 1)[0])
    assert f"### {section}\n" in README


def test_readmes_container_command_exports_with_its_mounted_config(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's `docker run`, as the image runs it: /data the mounted folder, /config the
    mounted config folder holding the settings that are no secret, the token from -e."""
    (run,) = re.findall(r"^docker run .*$", README, re.MULTILINE)
    words = shlex.split(run.replace('"$(id -u):$(id -g)"', "1000:1000"))
    image = words.index("tiktok-follows")
    account = words[image + 2]
    server = serve(accounts=[Account(account, "6754915036232582149", sec_uid_for(account), 5, 1)])
    env = dict(item.split("=", 1) for item in shlex.split(" ".join(stage_arguments(FINAL, "ENV"))))
    mounts = {w.split(":")[1]: w.split(":")[0] for w in words[:image][words.index("-v") :] if ":/" in w}
    assert {"/data", "/config"} <= set(mounts)
    config = tmp_path / mounts["/config"].replace("$PWD/", "")
    config.mkdir()
    settings = {"api_url": f"{server.url}/tk", "gateway_url": f"{server.url}/tiktok"}
    assert all(f"`{name}`" in README.split("### The container image")[1] for name in settings)
    (config / Path(env["TIKTOK_CONFIG"]).name).write_text(
        "".join(f'{name} = "{value}"\n' for name, value in settings.items())
    )
    monkeypatch.setenv("TIKTOK_CONFIG", str(config / Path(env["TIKTOK_CONFIG"]).name))
    for name in ("TIKTOK_GATEWAY_URL", "TIKTOK_API_URL"):  # only the mounted file says where
        monkeypatch.delenv(name, raising=False)
    assert "TIKTOK_API_TOKEN" in words[:image]  # -e NAME: passed from the shell, set by serve()
    monkeypatch.chdir(tmp_path)
    result = invoke(*words[image + 1 :])
    assert result.exit_code == 0, result.stderr
    assert len(csv_rows((tmp_path / words[-1]).read_bytes())) == 1 + 5


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """(is an exception, pattern) of each .dockerignore line, as Docker reads them."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        rules.append((negated, re.compile(_glob(line.lstrip("!").strip().strip("/")))))
    return rules


def _glob(pattern: str) -> str:
    """Docker's pattern syntax as a regex: * and ? within one path segment, ** across them."""
    segments = pattern.split("/")
    regex = ""
    for number, segment in enumerate(segments):
        last = number == len(segments) - 1
        if segment == "**":
            regex += ".*" if last else "(?:[^/]+/)*"
            continue
        regex += re.sub(
            r"\\\*|\\\?|\\\[(.*?)\\\]",
            lambda m: "[^/]*" if m[0] == "\\*" else "[^/]" if m[0] == "\\?" else f"[{m[1]}]",
            re.escape(segment),
        )
        regex += "" if last else "/"
    return regex


def ignored(path: str) -> bool:
    """Whether Docker leaves ``path`` out of the build context: the last matching line decides,
    and a line matching a folder matches everything in it."""
    parents = ["/".join(path.split("/")[:n]) for n in range(1, path.count("/") + 2)]
    verdict = False
    for negated, rule in dockerignore_rules():
        if any(rule.fullmatch(p) for p in parents):
            verdict = not negated
    return verdict


@pytest.mark.parametrize(
    "path",
    [
        "constraints.txt",
        "pyproject.toml",
        "README.md",
        "tiktok_cli/__init__.py",
        "tiktok_cli/store/record.py",
    ],
)
def test_the_context_keeps_the_sources(path: str) -> None:
    assert not ignored(path)


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".venv/bin/python",
        "tests/commands/test_cli_followers.py",
        "cassettes/gateway/user_info_seed.yaml",
        ".pytest_cache/v/cache/lastfailed",
        ".mypy_cache/3.11/x.json",
        "tiktok_cli/__pycache__/cli.cpython-312.pyc",
        "tiktok_cli/store/__pycache__/record.cpython-312.pyc",
        "cookies.txt",
        "config.toml",
        ".env",
        "tiktok.db",
        "followers.csv",
        "examples/kubernetes/cronjob.yaml",
    ],
)
def test_the_context_leaves_out_everything_else(path: str) -> None:
    assert ignored(path)


# --- examples/: Kubernetes -------------------------------------------------------------------

YAML_FILES = sorted([*EXAMPLES.rglob("*.yaml"), *EXAMPLES.rglob("*.yml")])


def manifests() -> list[dict[str, Any]]:
    return [doc for path in YAML_FILES for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def one(kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in manifests() if doc["kind"] == kind]
    return found


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_manifest_parses_and_names_its_kind(path: Path) -> None:
    docs = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    assert docs
    for doc in docs:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"]


def test_no_manifest_holds_a_secret() -> None:
    assert YAML_FILES
    kinds = {doc["kind"] for doc in manifests()}
    assert "Secret" not in kinds  # made with `kubectl create secret`, as cronjob.yaml says
    assert {"CronJob", "ConfigMap"} <= kinds


def container_of(cronjob: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(Job spec, pod spec, the container) of the CronJob."""
    job = cronjob["spec"]["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    (container,) = pod["containers"]
    return job, pod, container


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_the_cronjob_runs_an_indexed_job_of_n_pods_one_share_each() -> None:
    cronjob = one("CronJob")
    assert cronjob["apiVersion"] == "batch/v1"
    assert croniter.is_valid(cronjob["spec"]["schedule"])
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    job, pod, container = container_of(cronjob)
    args = container["args"]
    match = re.fullmatch(r"auto/([0-9]+)", option(args, "--shard"))
    assert match, args
    shares = int(match.group(1))
    assert job["completionMode"] == "Indexed"
    assert job["completions"] == job["parallelism"] == shares > 1
    assert pod["restartPolicy"] == "Never"
    assert args[0] == "followers" and option(args, "-f") == "none"


def test_the_pods_record_into_postgresql_without_a_password_in_the_manifest() -> None:
    _, _, container = container_of(one("CronJob"))
    db = option(container["args"], "--db")
    assert db.startswith("postgresql://") and url_password(db) is None
    env = {e["name"]: e for e in container["env"]}
    for name in ("TIKTOK_API_TOKEN", "PGPASSWORD"):
        assert set(env[name]) == {"name", "valueFrom"} and env[name]["valueFrom"]["secretKeyRef"]["key"]
    for variable in env.values():  # a literal value is never a secret
        if "value" in variable:
            assert not re.search("TOKEN|PASSWORD", variable["name"]), variable
            assert "=" not in variable["value"], variable  # a cookies *path*, not cookie values


def test_the_cookies_are_a_file_in_a_secret_volume() -> None:
    _, pod, container = container_of(one("CronJob"))
    path = {e["name"]: e for e in container["env"]}["TIKTOK_COOKIES"]["value"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
    secret = volumes[mount["name"]]["secret"]
    assert mount["readOnly"] is True
    assert path[len(mount["mountPath"]) + 1 :] in [item["path"] for item in secret["items"]]
    # README's `kubectl create secret` without cookies.txt (the token API's users) must
    # still start the pods: a listed key the Secret lacks blocks them unless optional.
    assert secret["optional"] is True


def policy_action(job: dict[str, Any], container: str, code: int) -> str:
    """What the Job does with a pod whose container exited ``code``, as Kubernetes decides:
    the first podFailurePolicy rule whose onExitCodes match, else Count (a retry)."""
    for rule in job.get("podFailurePolicy", {}).get("rules", []):
        exits = rule.get("onExitCodes")
        if exits is None or exits.get("containerName", container) != container:
            continue
        if (code in exits["values"]) == (exits["operator"] == "In"):
            return str(rule["action"])
    return "Count"


def test_a_share_is_retried_only_when_a_rerun_can_fix_its_failure() -> None:
    """Exit 1 (a private account among the share's) must not fetch the share six more times."""
    job, pod, container = container_of(one("CronJob"))
    assert job["completionMode"] == "Indexed" and pod["restartPolicy"] == "Never"
    assert job["backoffLimitPerIndex"] >= 1
    assert "backoffLimit" not in job  # per index instead: one share's retries spare the others
    for code in ExitCode:
        if code is ExitCode.OK:
            continue
        action = policy_action(job, container["name"], int(code))
        assert action == ("Count" if code in RETRYABLE else "FailIndex"), (code, action)
    for rule in job["podFailurePolicy"]["rules"]:
        if "onExitCodes" in rule:
            values = rule["onExitCodes"]["values"]
            assert values == sorted(set(values)) and 0 not in values  # as the API requires
    kubernetes = README.split("### Kubernetes")[1].split("\n### ")[0]
    retried = re.search(r"a rerun can get past \(exit ([^)]+)\)", kubernetes)
    failed = re.search(r"failed for good \(([^)]+)\)", kubernetes)
    assert retried and failed, "README's Kubernetes section"
    assert [int(c) for c in re.findall(r"\b[0-9]+\b", retried.group(1))] == sorted(RETRYABLE)
    assert [int(c) for c in re.findall(r"\b[0-9]+\b", failed.group(1))] == sorted(PERMANENT)
    # An evicted or preempted pod is no failure of its share.
    assert {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]} in job["podFailurePolicy"][
        "rules"
    ]


def test_readme_says_which_exit_codes_a_rerun_can_get_past() -> None:
    said = re.search(r"A rerun of the same command can get past exits ([0-9, and]+) \(", README)
    assert said, "README's exit codes section"
    assert [int(c) for c in re.findall(r"[0-9]+", said.group(1))] == sorted(RETRYABLE)
    failures = set(ExitCode) - {ExitCode.OK}
    assert RETRYABLE.isdisjoint(PERMANENT) and failures == RETRYABLE | PERMANENT


def test_the_accounts_and_settings_come_from_the_configmap() -> None:
    _, pod, container = container_of(one("CronJob"))
    configmap = one("ConfigMap")
    accounts = option(container["args"], "--input")
    (mount,) = [m for m in container["volumeMounts"] if accounts.startswith(m["mountPath"] + "/")]
    volume = {v["name"]: v for v in pod["volumes"]}[mount["name"]]
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    assert Path(accounts).name in configmap["data"]
    settings = tomllib.loads(configmap["data"]["config.toml"])
    from tiktok_cli.config import SETTING_NAMES

    assert set(settings) <= set(SETTING_NAMES) - {"api_token", "cookies"}  # no secret in a ConfigMap


def test_the_secret_readme_creates_holds_every_key_the_cronjob_reads() -> None:
    _, pod, container = container_of(one("CronJob"))
    read = {e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e}
    read |= {item["key"] for v in pod["volumes"] if "secret" in v for item in v["secret"]["items"]}
    for text in (README, (EXAMPLES / "kubernetes" / "cronjob.yaml").read_text()):
        assert text.count("kubectl create secret") == 1
        created = set(re.findall(r"--from-(?:literal|file)=([\w.-]+)=", text))
        assert created == read


def test_the_pods_run_as_the_images_user() -> None:
    _, pod, container = container_of(one("CronJob"))
    uid = int(arguments("USER")[-1].split(":")[0])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == uid
    repository = container["image"].rsplit(":", 1)[0]
    (tag,) = re.findall(r"docker build -t (\S+) \.", README)
    assert repository.rsplit("/", 1)[-1] == tag == "tiktok-follows"
    data = [m for m in container["volumeMounts"] if m["mountPath"] == arguments("WORKDIR")[-1]]
    assert data, "the workdir needs a writable volume under readOnlyRootFilesystem"


def test_the_pods_command_takes_every_account_once_across_the_pods(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The container's arguments, run as written by each pod's index in turn (the ConfigMap's
    accounts on the local server, a SQLite file for the PostgreSQL URL)."""
    _, _, container = container_of(one("CronJob"))
    accounts_file = tmp_path / "accounts.txt"
    accounts_file.write_text(one("ConfigMap")["data"]["accounts.txt"])
    names = [t.account.value for t in read_targets([], str(accounts_file))]
    serve(
        accounts=[
            Account(n, str(6754915036232582149 + i), sec_uid_for(n), 3 + i, 1) for i, n in enumerate(names)
        ]
    )
    args = list(container["args"])
    args[args.index("--input") + 1] = str(accounts_file)
    args[args.index("--db") + 1] = str(tmp_path / "store.db")
    args += ["--rate", "1000"]  # the last --rate counts: the pods' pace would only slow the test
    for variable in container["env"]:
        if "value" in variable:  # the cookies path, to a file the Secret need not hold
            monkeypatch.setenv(variable["name"], variable["value"])
    assert not Path(os.environ["TIKTOK_COOKIES"]).exists()
    shares = int(option(args, "--shard").split("/")[1])
    for index in range(shares):
        monkeypatch.setenv("JOB_COMPLETION_INDEX", str(index))
        result = invoke(*args)
        assert result.exit_code == 0, result.stderr
    with sqlite3.connect(tmp_path / "store.db") as store:
        owners = [
            row[0] for row in store.execute("SELECT owner_name FROM snapshots WHERE status = 'complete'")
        ]
    assert sorted(owners) == sorted(names)


# --- examples/: shell scripts and cron ---------------------------------------------------------

SCRIPTS = sorted(EXAMPLES.rglob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_script_parses_and_passes_shellcheck(script: Path) -> None:
    shell = "bash" if script.read_text().startswith("#!/usr/bin/env bash") else "sh"
    parsed = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, check=False)
    assert parsed.returncode == 0, parsed.stderr
    checked = subprocess.run([tool("shellcheck"), str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout
    assert script.stat().st_mode & 0o111, f"{script} is not executable"


def test_the_parallel_recipe_runs_share_k_of_n_on_each_host() -> None:
    script = (EXAMPLES / "parallel" / "run-shards.sh").read_text()
    assert "parallel --sshloginfile" in script and "--jobs 1" in script
    # GNU parallel's --retries reruns a share whatever its failure: run-share.sh retries instead.
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    assert "--retries" not in code
    assert "examples/parallel/run-share.sh {} $n $store $per_host" in script
    share = (EXAMPLES / "parallel" / "run-share.sh").read_text()
    assert '--shard "$share/$shares"' in share and '--db "$store"' in share
    hosts = [h for h in (EXAMPLES / "parallel" / "hosts.txt").read_text().splitlines() if h and h[0] != "#"]
    assert len(hosts) > 1


def run_share(tmp_path: Path, codes: list[int]) -> tuple[int, list[str], str]:
    """run-share.sh in a host's clone (tmp_path) whose tiktok exits ``codes`` in turn:
    (its exit status, the arguments of each tiktok run, its stderr)."""
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True, exist_ok=True)
    (tmp_path / "codes.txt").write_text("".join(f"{c}\n" for c in codes))
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    fake = venv_bin / "tiktok"
    fake.write_text(
        '#!/bin/sh\necho "$*" >> calls.txt\nn=$(wc -l < calls.txt)\n'
        'code=$(sed -n "${n}p" codes.txt)\nexit "${code:-0}"\n'
    )
    fake.chmod(0o755)
    done = subprocess.run(
        [str(EXAMPLES / "parallel" / "run-share.sh"), "1", "3", "postgresql://tiktok@db/tiktok", "2"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "TIKTOK_RETRY_WAIT": "0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, calls.read_text().splitlines(), done.stderr


@pytest.mark.parametrize("code", [c for c in ExitCode if c is not ExitCode.OK], ids=lambda c: c.name)
def test_run_share_retries_only_what_a_rerun_can_fix(tmp_path: Path, code: ExitCode) -> None:
    status, calls, stderr = run_share(tmp_path, [int(code)] * 5)
    assert status == code
    assert len(calls) == (3 if code in RETRYABLE else 1), stderr
    assert calls[0].split() == [
        "followers", "--input", "accounts.txt", "--shard", "1/3", "--db", "postgresql://tiktok@db/tiktok",
        "--rate", "2", "-f", "none", "-q",
    ]  # fmt: skip


def test_run_share_ends_well_when_a_retry_succeeds(tmp_path: Path) -> None:
    status, calls, stderr = run_share(tmp_path, [int(ExitCode.UPSTREAM), 0])
    assert (status, len(calls)) == (0, 2)
    assert "share 1/3 exited 7; retry 1 of 2" in stderr


CRONTAB = EXAMPLES / "cron" / "crontab"


def test_the_crontab_runs_the_example_script_with_a_share_of_its_own() -> None:
    jobs, variables = [], {}
    for line in CRONTAB.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", line):
            name, _, value = line.partition("=")
            variables[name.strip()] = value.strip()
            continue
        fields = line.split(None, 5)
        assert len(fields) == 6 and croniter.is_valid(" ".join(fields[:5])), line
        assert "%" not in fields[5], line
        jobs.append(fields[5])
    assert re.fullmatch(r"[0-9]+/[0-9]+", variables["TIKTOK_SHARD"])
    script = EXAMPLES / "cron" / "record-shard.sh"
    saved_as = re.match(r"# (\S+):", script.read_text().splitlines()[1])
    assert saved_as and jobs and set(jobs) == {saved_as.group(1)}


def test_the_cron_script_records_its_share_once_a_night(tmp_path: Path) -> None:
    """The cron example on three hosts (three folders here), as cron runs it."""
    body = (EXAMPLES / "cron" / "record-shard.sh").read_text()
    store = re.search(r"postgresql://\S+", body)
    assert store
    names = ["alice", "bob", "carol", "dave", "erin", "frank"]
    accounts = [
        Account(n, str(6754915036232582149 + i), sec_uid_for(n), 4 + i, 1) for i, n in enumerate(names)
    ]
    owners: list[str] = []
    with FakeTikTok(accounts=accounts) as server:
        for k in range(3):
            host = tmp_path / f"host{k}"
            script = host / "record-shard.sh"
            venv_bin = host / ".venv" / "bin"
            venv_bin.mkdir(parents=True)
            script.write_text(
                body.replace("/srv/tiktok", str(host)).replace(store.group(0), str(tmp_path / "store.db"))
            )
            script.chmod(0o755)
            (venv_bin / "tiktok").write_text(f'#!/bin/sh\nexec {sys.executable} -m tiktok_cli "$@"\n')
            (venv_bin / "tiktok").chmod(0o755)
            (host / "accounts.txt").write_text("\n".join(names) + "\n")
            (host / "config.toml").write_text(
                f'gateway_url = "{server.url}/tiktok"\napi_url = "{server.url}/tk"\napi_token = "{TOKEN}"\n'
            )
            (host / "config.toml").chmod(0o600)
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": str(host),
                "TIKTOK_CONFIG": str(host / "config.toml"),
                "TIKTOK_SHARD": f"{k}/3",
                **{name: os.environ[name] for name in ("PYTHONPATH",) if name in os.environ},
            }
            requests = []
            for _ in range(2):  # the 3:00 and 4:00 entries: the second finds the night done
                done = subprocess.run(
                    [str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
                )
                assert (done.returncode, done.stdout, done.stderr) == (0, "", "")  # nothing to mail
                requests.append(len(server.requests))
            assert requests[0] == requests[1]
            for export in host.glob("followers-*.csv"):
                assert export.name.endswith(f"-{k}.csv")
                owners += sorted({row[0] for row in csv_rows(export.read_bytes())[1:]})
    assert sorted(owners) == names
    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute("SELECT count(*) FROM snapshots WHERE status = 'complete'").fetchone() == (6,)
