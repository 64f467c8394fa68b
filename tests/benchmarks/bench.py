"""Benchmark tiktok-cli against a bare-bones floor, on a local fake server (issue 7).

Run from anywhere with the Python that has tiktok-cli installed (the dev virtualenv):

    python tests/benchmarks/bench.py                  # full run: 50,000 followers, ~3 minutes
    python tests/benchmarks/bench.py --quick          # smoke run: 5,000 followers, one timed run
    python tests/benchmarks/bench.py --records 200000 --page-size 100 --profile

(--profile adds a cProfile of each export, all threads, after the table.)

It serves tests/fakeserver.py from a separate process on 127.0.0.1 (so the server never
competes with anything measured here for a GIL), runs the CLI as a subprocess through its
``tiktok`` entry point, and prints the machine and one table row per measurement:

1. jsonl export, records/s: `tiktok followers alice -f jsonl -o FILE -q` next to floor.py
   (a bare httpx + orjson loop over the same pages writing the same fields); >= 0.9x floor.
2. csv export, the same with `-f csv` and a stdlib-csv floor; >= 0.8x floor.
3. peak RSS of the CLI exporting --records followers vs --small-records; ratio <= 1.3.
4. wall time of `tiktok --version` and `tiktok --help` vs `python -c "import typer"`; <= 1.3x.
5. 32 user-info look-ups, --concurrency 1 vs 8, 150 ms server latency; 8 is >= 4x faster
   (n/a until the CLI has a --concurrency option).
6. csv export recorded into a new SQLite store (`--db`) vs the same export without it,
   records/s; >= 0.8x. The note gives the nightly case: the same list again, same store.
7. bytes a second identical run adds to that store, vs the store's size after the first;
   < 1%.
8. `tiktok changes` between two complete snapshots of a --members list (default 1,000,000)
   in a SQLite store, a few thousand changes apart: seconds (a few), and its peak RSS vs the
   same changes in a list a tenth as long (<= 1.3x: memory does not grow with the list).
   The store is made only by the tool, as a user's is: three nightly runs of
   `tiktok followers --db` against the fake server, whose list changes after the first (the
   third confirms the unfollows, which take two complete snapshots in a row; a
   1,000,000-member list takes minutes to record), and `changes --from 1 --to 3` reads
   them all. `--only changes` runs this row alone (`--only exports`: rows 1-2; `--only db`: 6-7).
9. a nightly `--new-only` run on a list of which TikTok serves the newest 5,000 (a window of
   20,000 followers), 20 new followers since the night before: pages fetched and seconds, vs
   a full-window run of the same night from the same store; >= 50x fewer pages.
10. `tiktok changes` between two 5,000-member windows a few hundred changes apart: seconds.
11. bytes a second identical window run adds to the SQLite store, vs its size; < 1%.
   Rows 9-11 make their stores with the tool alone (`tiktok followers --db`), against the
   fake server's capped list (fakeserver.FollowList), and check what the runs recorded
   (window snapshots, the changes expected) before any figure is printed; `--only windows`
   runs them alone.

Every timed measurement has warm-up runs first; the output says whether a value is the best
or the median of its repetitions. Both the CLI and the floor run as fresh processes, so both
pay interpreter start-up; records/s is records over whole-process wall time.

Exit status: 0 when every measurement was taken, whatever MISSes it reports; 1 when one
could not be (the CLI failed or wrote the wrong rows); 2 for bad arguments. The file names
keep pytest from collecting anything here.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import multiprocessing
import os
import platform
import pstats
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, ClassVar

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
FLOOR = HERE / "floor.py"

OWNER, SMALL_OWNER = "alice", "bob"
LOOKUP_LATENCY = 0.150  # seconds the server sleeps on every request, for row 5
LOOKUPS, CONCURRENCY = 32, 8  # row 5: user-info of LOOKUPS accounts in one call


class MeasurementError(Exception):
    """A measurement could not be taken: the report shows it and the exit status is 1."""


@dataclass(frozen=True)
class Options:
    records: int
    small_records: int
    page_size: int
    repeats: int  # timed runs per throughput/RSS/latency measurement, after warmups
    warmups: int
    startup_runs: int
    profile: bool
    members: int = 1_000_000
    only: str | None = None


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small counts, one repetition")
    parser.add_argument("--records", type=int, help="followers to export (default 50,000; quick 5,000)")
    parser.add_argument(
        "--small-records",
        type=int,
        help="the small export for row 3 (default 2,000, at most a tenth of --records)",
    )
    parser.add_argument("--page-size", type=int, default=20, help="followers per API page (default 20)")
    parser.add_argument("--repeats", type=int, help="timed repetitions (default 3; quick 1)")
    parser.add_argument(
        "--profile", action="store_true", help="also run each export under cProfile and print the top"
    )
    parser.add_argument(
        "--members", type=int, help="row 8: members of the list `changes` compares (default 1,000,000)"
    )
    parser.add_argument(
        "--only",
        choices=["exports", "db", "changes", "windows"],
        help="run only these rows: exports (1-2), db (6-7), changes (8) or windows (9-11); "
        "--profile profiles the exports",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    records = args.records or (5_000 if quick else 50_000)
    options = Options(
        records=records,
        small_records=args.small_records or min(2_000, records // 10),
        page_size=args.page_size,
        repeats=args.repeats or (1 if quick else 3),
        warmups=1,
        startup_runs=3 if quick else 10,
        profile=args.profile,
        members=args.members or (100_000 if quick else 1_000_000),
        only=args.only,
    )
    if not 0 < options.small_records < options.records:
        parser.error("need 0 < --small-records < --records")
    if options.page_size < 1 or options.repeats < 1:
        parser.error("--page-size and --repeats must be at least 1")
    return options


# --- the fake server, in its own process --------------------------------------------------


@dataclass(frozen=True)
class ServerSpec:
    followers: dict[str, int] = field(default_factory=dict)  # account name -> follower count
    lookup_names: tuple[str, ...] = ()  # extra accounts for user-info
    latency: float = 0.0
    page_size: int = 20
    # Row 8: which fans follow (their indexes, newest first) and the ones known by another
    # name, per account; pages are then built per request (a million cached would not fit).
    members: dict[str, list[int]] = field(default_factory=dict)
    names: dict[str, dict[int, str]] = field(default_factory=dict)
    # Rows 9-11: follower lists as TikTok serves big ones, per account: (follow time of each
    # member, renamed members, the cap), the fields of a fakeserver.FollowList (this process
    # cannot pickle one: the server's process imports fakeserver only once it runs).
    windows: dict[str, tuple[dict[int, int], dict[int, str], int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    conn: Connection | None = field(default=None, compare=False)

    def requests(self, path_suffix: str) -> int:
        """How many requests the server answered so far on paths ending with ``path_suffix``."""
        if self.conn is None:  # pragma: no cover - fake_server always gives one
            raise MeasurementError("this server cannot count its requests")
        self.conn.send(path_suffix)
        count: int = self.conn.recv()
        return count


def _answer_until_stopped(conn: Connection, server: Any) -> None:
    """Child process: answer the parent's questions (request counts) until it says stop."""
    with contextlib.suppress(EOFError):
        while (question := conn.recv()) is not None:
            conn.send(server.count(question))


def _serve(conn: Connection, spec: ServerSpec) -> None:
    """Child process: run the fake server, with every follower page pre-rendered."""
    sys.path.insert(0, str(TESTS))
    import json

    from fakeserver import TOKEN, Account, FakeTikTok, FollowList, sec_uid_for

    if spec.windows:
        capped = []
        for i, (name, (times, names, cap)) in enumerate(spec.windows.items()):
            timed = FollowList(times=times, names=names, cap=cap)
            owner = Account(name, str(6_000_000_000_000_000_000 + i), sec_uid_for(name), followings=10)
            owner.follower_list = timed
            capped.append(owner)
        with FakeTikTok(accounts=capped, page_size=spec.page_size) as windowed:
            conn.send((windowed.url, TOKEN))
            _answer_until_stopped(conn, windowed)
        return

    class PrerenderedServer(FakeTikTok):
        # The stock server builds each page's JSON per request. Answering from a cache
        # keeps the server's own speed out of the comparison between the CLI and floor.
        pages: ClassVar[dict[tuple[str | None, ...], tuple[int, bytes, dict[str, str]]]] = {}

        def followers(self, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
            key = (query.get("token"), query.get("uid"), query.get("cursor"))
            if key not in self.pages:
                self.pages[key] = super().followers(query)
            return self.pages[key]

    if spec.members:
        listed = [
            Account(
                name,
                str(6_000_000_000_000_000_000 + i),
                sec_uid_for(name),
                len(members),
                10,
                False,
                members,
                spec.names.get(name, {}),
            )
            for i, (name, members) in enumerate(spec.members.items())
        ]
        with FakeTikTok(accounts=listed, page_size=spec.page_size) as plain:
            conn.send((plain.url, TOKEN))
            with contextlib.suppress(EOFError):
                conn.recv()
        return
    accounts = [
        Account(name, str(6_000_000_000_000_000_000 + i), sec_uid_for(name), count, 10)
        for i, (name, count) in enumerate([*spec.followers.items(), *((n, 0) for n in spec.lookup_names)])
    ]
    server = PrerenderedServer(accounts=accounts, page_size=spec.page_size, latency=spec.latency)
    for account in accounts[: len(spec.followers)]:
        cursor, more = 0, True
        while more:  # walk the list once, exactly as clients will, to fill the cache
            query = {"token": TOKEN, "uid": account.uid, "cursor": str(cursor)}
            data = json.loads(server.followers(query)[1])["data"]
            cursor, more = data["min_time"], data["has_more"]
    with server:
        conn.send((server.url, TOKEN))
        with contextlib.suppress(EOFError):
            conn.recv()  # until the parent says stop, or goes away


@contextlib.contextmanager
def fake_server(spec: ServerSpec) -> Iterator[Server]:
    """Serve ``spec`` from a fresh process on 127.0.0.1 until the block ends."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, spec), daemon=True)
    process.start()
    child.close()  # so the pipe reports EOF at once if the server process dies
    try:
        if not parent.poll(120):
            raise MeasurementError("the fake server did not start within 120 s")
        try:
            url, token = parent.recv()
        except EOFError:
            process.join(10)
            raise MeasurementError(f"the fake server exited (code {process.exitcode})") from None
        yield Server(url, token, parent)
    finally:
        with contextlib.suppress(OSError):
            parent.send(None)
        process.join(10)
        if process.is_alive():
            process.terminate()


# --- running commands ---------------------------------------------------------------------


def cli_command() -> list[str]:
    """The `tiktok` entry point next to this Python, else `python -m tiktok_cli`."""
    entry = Path(sys.executable).with_name("tiktok")
    return [str(entry)] if entry.exists() else [sys.executable, "-m", "tiktok_cli"]


def cli_env(server: Server, workdir: Path) -> dict[str, str]:
    """The environment for the CLI and the floor: this server, and no user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    env.update(
        TIKTOK_CONFIG=str(workdir / "no-such-config.toml"),
        TIKTOK_GATEWAY_URL=f"{server.url}/tiktok",
        TIKTOK_API_URL=f"{server.url}/tk",
        TIKTOK_API_TOKEN=server.token,
    )
    return env


@dataclass(frozen=True)
class Finished:
    """A command that ran to success: wall and CPU seconds, and what it printed."""

    wall: float
    cpu: float  # user + system time of the process (and any children it waited for)
    stdout: bytes


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None) -> Finished:
    """Run ``cmd`` to completion; a non-zero exit is a MeasurementError."""
    # Children's CPU times only grow when a child is waited for, so the difference
    # around one subprocess.run is exactly that child's (unlike ru_maxrss, see below).
    before, started = os.times(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, check=False)
    wall, after = time.perf_counter() - started, os.times()
    if proc.returncode != 0:
        raise MeasurementError(_failure(cmd, proc.returncode, proc.stderr))
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return Finished(wall, cpu, proc.stdout)


def _failure(cmd: Sequence[str], code: int, stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return f"`{shlex.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}` exited {code}: " + (
        lines[-1] if lines else "(no message)"
    )


@contextlib.contextmanager
def scratch(workdir: Path) -> Iterator[Path]:
    """A fresh, empty folder for one run's output (no resumable leftovers between runs)."""
    path = Path(tempfile.mkdtemp(dir=workdir))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def count_records(path: Path, fmt: str) -> int:
    if fmt == "jsonl":
        return path.read_bytes().count(b"\n")
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1  # minus the header row


# --- 1 & 2: export throughput ---------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    cli: Finished  # the fastest run of each
    floor: Finished
    identical: bool  # the CLI's file and the floor's, byte for byte


def cli_export(fmt: str, out: Path, owner: str = OWNER) -> list[str]:
    return [*cli_command(), "followers", owner, "-f", fmt, "-o", str(out), "-q"]


def floor_export(fmt: str, out: Path, owner: str = OWNER) -> list[str]:
    return [sys.executable, str(FLOOR), fmt, owner, str(out)]


def timed_export(cmd: Sequence[str], out: Path, fmt: str, expected: int, env: dict[str, str]) -> Finished:
    finished = run(cmd, env=env)
    found = count_records(out, fmt)
    if found != expected:
        raise MeasurementError(f"`{Path(cmd[0]).name} ...` wrote {found:,} {fmt} records, not {expected:,}")
    return finished


def measure_export(fmt: str, options: Options, env: dict[str, str], workdir: Path) -> Throughput:
    """The fastest run of the CLI and of the floor; runs alternate so drift hits both alike."""
    cli_runs: list[Finished] = []
    floor_runs: list[Finished] = []
    identical = False
    for attempt in range(options.warmups + options.repeats):
        with scratch(workdir) as folder:
            cli_out, floor_out = folder / f"cli.{fmt}", folder / f"floor.{fmt}"
            cli = timed_export(cli_export(fmt, cli_out), cli_out, fmt, options.records, env)
            floor = timed_export(floor_export(fmt, floor_out), floor_out, fmt, options.records, env)
            if attempt == 0:
                identical = cli_out.read_bytes() == floor_out.read_bytes()
        if attempt >= options.warmups:
            cli_runs.append(cli)
            floor_runs.append(floor)
    fastest = min(cli_runs, key=lambda r: r.wall), min(floor_runs, key=lambda r: r.wall)
    return Throughput(*fastest, identical)


# --- 6 & 7: recording into the snapshot store ------------------------------------------------


@dataclass(frozen=True)
class Recording:
    plain: Finished  # the fastest of each kind of run
    first: Finished  # into a new store
    again: Finished  # the same list again, into the store the first run made
    size: int  # bytes of the store after the first run
    added: int  # bytes the second run added


def store_bytes(folder: Path) -> int:
    """The store's size on disk: its file and any WAL/shared-memory files beside it."""
    return sum(p.stat().st_size for p in folder.glob("store.db*"))


def measure_recording(options: Options, env: dict[str, str], workdir: Path) -> Recording:
    plain: list[Finished] = []
    first: list[Finished] = []
    again: list[Finished] = []
    size = added = 0
    for attempt in range(options.warmups + options.repeats):
        with scratch(workdir) as folder:
            out = folder / "out.csv"
            record = [*cli_export("csv", out), "--db", str(folder / "store.db")]
            runs = (
                timed_export(cli_export("csv", out), out, "csv", options.records, env),
                timed_export(record, out, "csv", options.records, env),
            )
            size = store_bytes(folder)
            runs += (timed_export(record, out, "csv", options.records, env),)
            added = store_bytes(folder) - size
        if attempt >= options.warmups:
            for kept, finished in zip((plain, first, again), runs, strict=True):
                kept.append(finished)
    fastest = [min(kept, key=lambda r: r.wall) for kept in (plain, first, again)]
    return Recording(*fastest, size=size, added=added)


# --- 3: peak memory -------------------------------------------------------------------------

# ru_maxrss of a child also counts memory it had *before* exec: a forked child starts as a
# copy of its parent (with vfork/posix_spawn it borrows the parent's memory outright) and
# Linux carries that high-water mark across exec. Measured from this script, the CLI's peak
# would read as max(this script's RSS, the CLI's). So each measurement goes through a fresh,
# minimal Python helper whose only child is the CLI: RUSAGE_CHILDREN then covers exactly that
# one process, and what it inherits is the helper's own small footprint. The helper reports
# that footprint as its VmHWM (its peak since its own exec; its ru_maxrss would include this
# script again), and the measurement is refused if it comes near the CLI's figure.
RSS_HELPER = r"""
import re, resource, subprocess, sys
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
status = open("/proc/self/status").read()
helper = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, helper)
sys.exit(code)
"""


def peak_rss_kib(cmd: Sequence[str], env: dict[str, str]) -> int:
    """The peak resident set of ``cmd``'s process, in KiB (Linux reports ru_maxrss in KiB)."""
    out = run([sys.executable, "-c", RSS_HELPER, *cmd], env=env).stdout
    _code, child, helper = (int(v) for v in out.split())
    if helper * 2 > child:
        raise MeasurementError(f"the RSS helper ({helper} KiB) is too close to the CLI ({child} KiB)")
    return child


def measure_rss(owner: str, records: int, options: Options, env: dict[str, str], workdir: Path) -> int:
    """Median peak RSS of the CLI exporting ``owner``'s followers to jsonl."""
    peaks = []
    for _ in range(options.repeats):
        with scratch(workdir) as folder:
            out = folder / "cli.jsonl"
            peaks.append(peak_rss_kib(cli_export("jsonl", out, owner), env))
            if (found := count_records(out, "jsonl")) != records:
                raise MeasurementError(f"the CLI wrote {found:,} records for @{owner}, not {records:,}")
    return int(statistics.median(peaks))


# --- 4: start-up time ------------------------------------------------------------------------


def measure_startup(commands: dict[str, list[str]], options: Options) -> dict[str, float]:
    """Median wall time of each command; rounds interleave the commands, after 2 warm-ups."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(2 + options.startup_runs):
        for name, cmd in commands.items():
            wall = run(cmd).wall
            if round_ >= 2:
                times[name].append(wall)
    return {name: statistics.median(values) for name, values in times.items()}


# --- 5: concurrent look-ups ------------------------------------------------------------------


def has_concurrency_option() -> bool:
    # A wide COLUMNS keeps Rich from wrapping or eliding option names in the help text.
    help_text = run([*cli_command(), "user-info", "--help"], env={**os.environ, "COLUMNS": "300"}).stdout
    return b"--concurrency" in help_text


def measure_lookups(names: Sequence[str], concurrency: int, options: Options, env: dict[str, str]) -> float:
    """Median wall time of one `user-info` call looking up every name."""
    cmd = [*cli_command(), "user-info", *names, "--concurrency", str(concurrency), "-f", "jsonl", "-q"]
    times = []
    for attempt in range(options.warmups + options.repeats):
        finished = run(cmd, env=env)
        if finished.stdout.count(b"\n") != len(names):
            raise MeasurementError(f"user-info --concurrency {concurrency} wrote the wrong number of records")
        if attempt >= options.warmups:
            times.append(finished.wall)
    return statistics.median(times)


# --- 8: changes between two snapshots of a long list ---------------------------------------

CHANGED = (3_000, 2_000, 500)  # row 8: members followed, unfollowed, renamed between the snapshots
CHANGES_PAGE = 100  # followers per page of row 8's server: fewer requests for a long list


def build_store(path: Path, members: int, workdir: Path) -> int:
    """A SQLite store holding three complete snapshots of OWNER's followers, ``members`` at
    the first and CHANGED apart from the second on, made by the tool alone: `tiktok
    followers --db` run three times against the fake server, whose list changes after the
    first (the third run confirms the unfollows). Nothing is added to the store by hand
    (no ANALYZE either): `changes` then meets the store a user has. Returns the number of
    changes between the first snapshot and the third."""
    followed, unfollowed, renamed = CHANGED
    step = members // unfollowed
    gone = {i for i in range(members) if i % step == step - 1}
    kept = [i for i in range(members) if i not in gone]
    before = {i: f"before_{i:06d}" for i in kept[::step][:renamed]}  # their names on night 1
    changed = ([*range(members + followed - 1, members - 1, -1), *kept], {})  # newest first
    nights = [(list(range(members)), before), changed, changed]
    started = time.time()
    for number, (listed, names) in enumerate(nights, 1):
        spec = ServerSpec(page_size=CHANGES_PAGE, members={OWNER: listed}, names={OWNER: names})
        with fake_server(spec) as server:
            command = [*cli_command(), "followers", OWNER, "--db", str(path), "-f", "none", "-q"]
            night = run(command, env=cli_env(server, workdir))
        print(f"- row 8: night {number} of {members:,} members recorded in {night.wall:.0f} s", flush=True)
    print(f"- row 8: the store of {members:,} members made in {time.time() - started:.0f} s", flush=True)
    return followed + len(gone) + len(before)


@dataclass(frozen=True)
class ChangesRun:
    seconds: float  # median wall time
    peak_kib: int  # median peak RSS


def measure_changes(store: Path, expected: int, options: Options, workdir: Path) -> ChangesRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    env["TIKTOK_CONFIG"] = str(workdir / "no-such-config.toml")
    command = [
        *cli_command(),
        "changes",
        OWNER,
        "--from",
        "1",
        "--to",
        "3",
        "--db",
        str(store),
        "-f",
        "csv",
        "-q",
    ]
    with scratch(workdir) as folder:
        out = folder / "changes.csv"
        run([*command, "-o", str(out)], env=env)
        if (found := count_records(out, "csv")) != expected:
            raise MeasurementError(f"`tiktok changes` wrote {found:,} rows, not {expected:,}")
    quiet = [*command, "-o", os.devnull]
    times, peaks = [], []
    for attempt in range(options.warmups + options.repeats):
        finished = run(quiet, env=env)
        peak = peak_rss_kib(quiet, env)
        if attempt >= options.warmups:
            times.append(finished.wall)
            peaks.append(peak)
    return ChangesRun(statistics.median(times), int(statistics.median(peaks)))


def changes_row(options: Options, workdir: Path) -> Row:
    small = max(options.members // 10, 10 * CHANGED[1])
    runs = {}
    for members in (options.members, small):
        path = workdir / f"changes-{members}.db"
        expected = build_store(path, members, workdir)
        runs[members] = measure_changes(path, expected, options, workdir)
    big, little = runs[options.members], runs[small]
    ratio = big.peak_kib / little.peak_kib
    return Row(
        f"8. changes, {options.members:,}-member list, {sum(CHANGED):,} changes, csv to /dev/null "
        f"(median of {options.repeats})",
        f"{big.seconds:.2f} s, {big.peak_kib / 1024:.1f} MiB vs {small:,} members "
        f"{little.seconds:.2f} s, {little.peak_kib / 1024:.1f} MiB = {ratio:.2f}x",
        "a few s; RSS <= 1.3x",
        verdict(big.seconds <= 5 and ratio <= 1.3),
    )


# --- 9-11: windows of big lists, incremental runs ---------------------------------------------

WINDOW = 5_000  # TikTok's cap: the newest entries of a list it serves
WINDOW_LIST = 20_000  # followers of the account rows 9-11 read (only the window is served)
NEW_TONIGHT = 20  # row 9: new followers between the two nights
# Row 10: followed, unfollowed (spread inside the window) and renamed between the windows.
WINDOW_CHANGES = (300, 200, 100)
FOLLOWER_PAGES = "/tk/user/followers"


def _follow_list(size: int, cap: int) -> Any:
    """A fakeserver.FollowList: this script imports the tests' modules only when it needs them."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from fakeserver import FollowList

    return FollowList.of(size, cap=cap)


def window_spec(timed: Any, options: Options) -> ServerSpec:
    return ServerSpec(
        page_size=options.page_size, windows={OWNER: (dict(timed.times), dict(timed.names), WINDOW)}
    )


def db_files(path: Path) -> list[Path]:
    """A SQLite store's file and the WAL and shared-memory files beside it, where they exist."""
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def copy_store(source: Path, target: Path) -> Path:
    for file in db_files(source):
        shutil.copyfile(file, target.with_name(target.name + file.name[len(source.name) :]))
    return target


def record_night(server: Server, store: Path, workdir: Path, *args: str) -> tuple[Finished, int]:
    """`tiktok followers OWNER --db STORE -f none -q ARGS`: the run and the pages it fetched."""
    before = server.requests(FOLLOWER_PAGES)
    command = [*cli_command(), "followers", OWNER, "--db", str(store), "-f", "none", "-q", *args]
    finished = run(command, env=cli_env(server, workdir))
    return finished, server.requests(FOLLOWER_PAGES) - before


def store_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    env["TIKTOK_CONFIG"] = str(workdir / "no-such-config.toml")
    return env


def expect_windows(store: Path, workdir: Path, runs: int) -> None:
    """The store's last ``runs`` snapshots must be windows: else the figures would measure
    something else (a CLI without windows records a capped run as incomplete)."""
    import json

    command = [*cli_command(), "snapshots", OWNER, "--db", str(store), "-f", "jsonl"]
    listed = run(command, env=store_env(workdir)).stdout.decode().splitlines()
    kinds = [json.loads(line)["status"] for line in listed][-runs:]
    if kinds != ["window"] * runs:
        raise MeasurementError(f"the runs were recorded as {', '.join(kinds)}, not as windows")


def count_changes(store: Path, workdir: Path, *args: str) -> int:
    with scratch(workdir) as folder:
        out = folder / "changes.csv"
        command = [
            *cli_command(),
            "changes",
            OWNER,
            "--db",
            str(store),
            "-f",
            "csv",
            "-q",
            "-o",
            str(out),
            *args,
        ]
        run(command, env=store_env(workdir))
        return count_records(out, "csv")


@dataclass(frozen=True)
class Nightly:
    incremental: Finished  # the median run of each kind
    incremental_pages: int
    full: Finished
    full_pages: int


def median_run(runs: list[tuple[Finished, int]]) -> tuple[Finished, int]:
    return sorted(runs, key=lambda r: r[0].wall)[len(runs) // 2]


def measure_nightly(options: Options, workdir: Path) -> Nightly:
    """Night 1 reads the whole window into a store; night 2, with NEW_TONIGHT new followers,
    runs on copies of that store: once with --new-only, once in full."""
    timed = _follow_list(WINDOW_LIST, WINDOW)
    first = workdir / "window.db"
    with fake_server(window_spec(timed, options)) as server:
        record_night(server, first, workdir)
    expect_windows(first, workdir, 1)
    timed.follow(NEW_TONIGHT)
    incremental: list[tuple[Finished, int]] = []
    full: list[tuple[Finished, int]] = []
    with fake_server(window_spec(timed, options)) as server:
        for attempt in range(options.warmups + options.repeats):
            with scratch(workdir) as folder:
                store = copy_store(first, folder / "store.db")
                night = record_night(server, store, workdir, "--new-only")
                expect_windows(store, workdir, 2)
                if (found := count_changes(store, workdir)) != NEW_TONIGHT:
                    raise MeasurementError(
                        f"the --new-only night reported {found} changes, not {NEW_TONIGHT}"
                    )
            with scratch(workdir) as folder:
                whole = record_night(server, copy_store(first, folder / "store.db"), workdir)
            if attempt >= options.warmups:
                incremental.append(night)
                full.append(whole)
    (inc, inc_pages), (whole_run, whole_pages) = median_run(incremental), median_run(full)
    return Nightly(inc, inc_pages, whole_run, whole_pages)


def nightly_row(options: Options, workdir: Path) -> Row:
    result = measure_nightly(options, workdir)
    fewer = result.full_pages / max(result.incremental_pages, 1)
    return Row(
        f"9. nightly --new-only run, {WINDOW:,}-window list of {WINDOW_LIST:,}, {NEW_TONIGHT} new "
        f"followers, vs a full-window run (median of {options.repeats})",
        f"{result.incremental_pages} pages, {result.incremental.wall:.2f} s vs "
        f"{result.full_pages} pages, {result.full.wall:.2f} s = {fewer:.0f}x fewer pages",
        ">= 50x fewer pages",
        verdict(fewer >= 50),
    )


def window_bytes_row(options: Options, workdir: Path) -> Row:
    """The same window read twice into one SQLite store: what the second run added."""
    store = workdir / "unchanged.db"
    with fake_server(window_spec(_follow_list(WINDOW_LIST, WINDOW), options)) as server:
        record_night(server, store, workdir)
        size = sum(p.stat().st_size for p in db_files(store))
        record_night(server, store, workdir)
    added = sum(p.stat().st_size for p in db_files(store)) - size
    expect_windows(store, workdir, 2)
    share = added / size
    return Row(
        f"11. bytes a second identical {WINDOW:,}-window run adds to the store",
        f"{added:,} of {size:,} bytes = {share:.2%}",
        "< 1%",
        verdict(share < 0.01),
    )


def window_changes_row(options: Options, workdir: Path) -> Row:
    """`changes` between the first and third of three window runs, made by the tool: the
    list changes after the first night, and the third confirms the unfollows."""
    followed, unfollowed, renamed = WINDOW_CHANGES
    timed = _follow_list(WINDOW_LIST, WINDOW)
    store = workdir / "window-changes.db"
    # Unfollows and renames spread over the window's top 4,000, which the next windows
    # still reach (the new followers push it down by only 100 after the unfollows).
    gone = range(5, 4_000, 4_000 // unfollowed)
    kept = range(15, 4_000, 4_000 // renamed)  # none of them among the gone
    with fake_server(window_spec(timed, options)) as server:
        record_night(server, store, workdir)
    timed.evolve(follow=followed, unfollow_at=gone, rename_at=kept)
    with fake_server(window_spec(timed, options)) as server:
        for _ in range(2):
            record_night(server, store, workdir)
    expect_windows(store, workdir, 3)
    expected = followed + len(gone) + len(kept)
    if (found := count_changes(store, workdir, "--from", "1", "--to", "3")) != expected:
        raise MeasurementError(f"`tiktok changes` wrote {found:,} rows, not {expected:,}")
    command = [*cli_command(), "changes", OWNER, "--from", "1", "--to", "3", "--db", str(store), "-f", "csv"]
    times = []
    for attempt in range(options.warmups + options.repeats):
        finished = run([*command, "-q", "-o", os.devnull], env=store_env(workdir))
        if attempt >= options.warmups:
            times.append(finished.wall)
    seconds = statistics.median(times)
    return Row(
        f"10. changes between two {WINDOW:,}-member windows, {expected:,} changes, csv to /dev/null "
        f"(median of {options.repeats})",
        f"{seconds:.2f} s",
        "a few s",
        verdict(seconds <= 5),
    )


def window_rows(options: Options, workdir: Path, errors: list[str]) -> list[Row]:
    rows = guarded("9. nightly --new-only run", partial(nightly_row, options, workdir), errors)
    rows += guarded("10. changes between windows", partial(window_changes_row, options, workdir), errors)
    rows += guarded("11. bytes of a window run", partial(window_bytes_row, options, workdir), errors)
    return rows


# --- optional: where the CLI's time goes ------------------------------------------------------

# cProfile only sees the thread that enabled it, and the CLI fetches pages on a worker
# thread, so this launcher gives every thread its own profiler and merges them. Each one
# counts its thread's CPU time (time.thread_time), not wall time: otherwise waiting for
# the GIL or the network would show up as time spent in whatever call released it.
PROFILE_LAUNCHER = r"""
import cProfile, pstats, sys, threading, time
stats_path = sys.argv[1]
profiles = []
thread_run = threading.Thread.run
def profiled_run(self):
    profiles.append(cProfile.Profile(time.thread_time))
    profiles[-1].runcall(thread_run, self)
threading.Thread.run = profiled_run
sys.argv = ["tiktok", *sys.argv[2:]]
from tiktok_cli.cli import main
profiles.append(cProfile.Profile(time.thread_time))
code = 0
try:
    profiles[-1].runcall(main)
except SystemExit as exc:
    code = exc.code
pstats.Stats(*profiles).dump_stats(stats_path)
sys.exit(code)
"""


def profile_exports(options: Options, env: dict[str, str], workdir: Path) -> list[Row]:
    """Run each export in-process under cProfile (every thread) and print the top functions."""
    runs = {
        "exports": [("jsonl", False), ("csv", False)],
        "db": [("csv", True)],
        None: [("jsonl", False), ("csv", False), ("csv", True)],
    }[options.only]
    for fmt, db in runs:
        with scratch(workdir) as folder:
            stats = folder / "profile.out"
            export = cli_export(fmt, folder / f"out.{fmt}")[len(cli_command()) :]
            store = ["--db", str(folder / "store.db")] if db else []
            run([sys.executable, "-c", PROFILE_LAUNCHER, str(stats), *export, *store], env=env)
            shown = f"tiktok followers {OWNER} -f {fmt} -o FILE -q" + (" --db FILE" if db else "")
            print(f"\n## cProfile of `{shown}`, {options.records:,} records: CPU seconds, all threads\n")
            print("Profiling inflates functions with many small calls; read these as proportions.")
            report = pstats.Stats(str(stats), stream=sys.stdout).strip_dirs()
            report.sort_stats("cumulative").print_stats(35)
            report.sort_stats("tottime").print_stats(20)
    return []


# --- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    measure: str
    value: str
    target: str
    result: str  # PASS, MISS, n/a or ERROR


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def rate(records: int, seconds: float) -> str:
    return f"{records / seconds:,.0f} rec/s ({seconds:.2f} s)"


def throughput_row(
    number: int,
    fmt: str,
    minimum: float,
    options: Options,
    env: dict[str, str],
    workdir: Path,
    notes: list[str],
) -> Row:
    measure = f"{number}. {fmt} export, {options.records:,} followers (best of {options.repeats})"
    result = measure_export(fmt, options, env, workdir)
    ratio = result.floor.wall / result.cli.wall
    same = "is byte-identical to" if result.identical else "DIFFERS from"
    notes.append(
        f"{fmt}: the CLI's file {same} the floor's; CPU time of the runs above: "
        f"CLI {result.cli.cpu:.2f} s, floor {result.floor.cpu:.2f} s."
    )
    value = (
        f"CLI {rate(options.records, result.cli.wall)} vs floor "
        f"{rate(options.records, result.floor.wall)} = {ratio:.2f}x"
    )
    return Row(measure, value, f">= {minimum:.1f}x floor", verdict(ratio >= minimum))


def rss_row(options: Options, env: dict[str, str], workdir: Path) -> Row:
    big = measure_rss(OWNER, options.records, options, env, workdir)
    small = measure_rss(SMALL_OWNER, options.small_records, options, env, workdir)
    ratio = big / small
    return Row(
        f"3. peak RSS, jsonl -o, {options.records:,} vs {options.small_records:,} "
        f"(median of {options.repeats})",
        f"{big / 1024:.1f} MiB vs {small / 1024:.1f} MiB = {ratio:.2f}x",
        "<= 1.3x",
        verdict(ratio <= 1.3),
    )


def recording_rows(options: Options, env: dict[str, str], workdir: Path, notes: list[str]) -> list[Row]:
    result = measure_recording(options, env, workdir)
    ratio = result.plain.wall / result.first.wall
    nightly = result.plain.wall / result.again.wall
    notes.append(
        f"--db: the same list again into the same store (the nightly case) runs at "
        f"{rate(options.records, result.again.wall)} = {nightly:.2f}x the export without --db."
    )
    share = result.added / result.size
    return [
        Row(
            f"6. csv export with --db (new SQLite store), {options.records:,} followers "
            f"(best of {options.repeats})",
            f"{rate(options.records, result.first.wall)} vs without "
            f"{rate(options.records, result.plain.wall)} = {ratio:.2f}x",
            ">= 0.8x",
            verdict(ratio >= 0.8),
        ),
        Row(
            "7. bytes added to the store by a second identical run",
            f"{result.added:,} of {result.size:,} bytes = {share:.2%}",
            "< 1%",
            verdict(share < 0.01),
        ),
    ]


def startup_rows(options: Options) -> list[Row]:
    commands = {
        "import typer": [sys.executable, "-c", "import typer"],
        "--version": [*cli_command(), "--version"],
        "--help": [*cli_command(), "--help"],
    }
    medians = measure_startup(commands, options)
    base = medians["import typer"]
    rows = []
    for flag in ("--version", "--help"):
        ratio = medians[flag] / base
        rows.append(
            Row(
                f"4. `tiktok {flag}` wall time (median of {options.startup_runs})",
                f"{medians[flag] * 1000:.0f} ms vs `import typer` {base * 1000:.0f} ms = {ratio:.2f}x",
                "<= 1.3x",
                verdict(ratio <= 1.3),
            )
        )
    return rows


def lookup_row(options: Options, workdir: Path) -> Row:
    measure = (
        f"5. {LOOKUPS} user-info look-ups, {LOOKUP_LATENCY * 1000:.0f} ms latency, "
        f"--concurrency 1 vs {CONCURRENCY} (median of {options.repeats})"
    )
    target = f"{CONCURRENCY} >= 4x faster"
    if not has_concurrency_option():
        return Row(measure, "n/a (no --concurrency yet)", target, "n/a")
    names = tuple(f"user{i:02d}" for i in range(1, LOOKUPS + 1))
    with fake_server(ServerSpec(lookup_names=names, latency=LOOKUP_LATENCY)) as server:
        env = cli_env(server, workdir)
        serial = measure_lookups(names, 1, options, env)
        parallel = measure_lookups(names, CONCURRENCY, options, env)
    speedup = serial / parallel
    return Row(
        measure, f"{serial:.2f} s vs {parallel:.2f} s = {speedup:.1f}x faster", target, verdict(speedup >= 4)
    )


def guarded(measure: str, make: Callable[[], Row | list[Row]], errors: list[str]) -> list[Row]:
    """The rows ``make`` produces, or one ERROR row if the measurement failed."""
    try:
        made = make()
    except MeasurementError as exc:
        errors.append(f"{measure}: {exc}")
        return [Row(measure, "could not measure (see below)", "", "ERROR")]
    return made if isinstance(made, list) else [made]


def print_table(rows: Sequence[Row]) -> None:
    header = Row("measure", "value", "target", "result")
    cells = [[r.measure, r.value, r.target, r.result] for r in (header, *rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\n".join(lines))


def load_average() -> str:
    """Other work on the machine skews timings; the report says how busy it was."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> list[str]:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        cpuinfo = []
    cpu = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    version = run([*cli_command(), "--version"]).stdout.decode().strip()
    return [
        f"CPU: {cpu}; nproc: {nproc}; {platform.system()} {platform.release()}",
        f"Python {platform.python_version()} ({sys.executable})",
        f"CLI: {shlex.join(cli_command())} ({version})",
        f"load average (1/5/15 min) at start: {load_average()}",
    ]


def main(argv: Sequence[str]) -> int:
    options = parse_args(argv)
    errors: list[str] = []
    notes: list[str] = []
    print("# tiktok-cli benchmark\n")
    try:
        header = machine()
    except MeasurementError as exc:
        print(f"ERROR: the CLI does not run: {exc}")
        return 1
    for line in header:
        print(f"- {line}")
    rows: list[Row] = []
    if options.only in ("changes", "windows"):
        print(f"- {options.warmups} warm-up run, then {options.repeats} timed\n", flush=True)
        with tempfile.TemporaryDirectory(prefix="tiktok-bench-") as tmp:
            if options.only == "changes":
                rows += guarded("8. changes", partial(changes_row, options, Path(tmp)), errors)
            else:
                rows += window_rows(options, Path(tmp), errors)
        print_table(rows)
        for error in errors:
            print(f"- ERROR {error}")
        return 1 if errors else 0
    print(
        f"- {options.records:,} followers, {options.page_size} per page; {options.warmups} warm-up run, "
        f"then {options.repeats} timed; fake server in its own process\n",
        flush=True,
    )
    spec = ServerSpec(
        followers={OWNER: options.records, SMALL_OWNER: options.small_records}, page_size=options.page_size
    )
    with tempfile.TemporaryDirectory(prefix="tiktok-bench-") as tmp, fake_server(spec) as server:
        workdir = Path(tmp)
        env = cli_env(server, workdir)
        every = options.only is None
        if every or options.only == "exports":
            for number, fmt, minimum in ((1, "jsonl", 0.9), (2, "csv", 0.8)):
                export = partial(throughput_row, number, fmt, minimum, options, env, workdir, notes)
                rows += guarded(f"{number}. {fmt} export", export, errors)
        if every:
            rows += guarded("3. peak RSS", partial(rss_row, options, env, workdir), errors)
            rows += guarded("4. start-up", partial(startup_rows, options), errors)
            rows += guarded("5. look-ups", partial(lookup_row, options, workdir), errors)
        if every or options.only == "db":
            rows += guarded("6. --db", partial(recording_rows, options, env, workdir, notes), errors)
        if every:
            rows += guarded("8. changes", partial(changes_row, options, workdir), errors)
            rows += window_rows(options, workdir, errors)
        print_table(rows)
        print()
        notes.append(f"load average (1/5/15 min) at the end: {load_average()}")
        for note in [*notes, *(f"ERROR {e}" for e in errors)]:
            print(f"- {note}")
        if every and any(r.result == "MISS" for r in rows[:2]) and not options.profile:
            print("- A throughput row missed: rerun with --profile to see where the CLI spends its time.")
        if options.profile:
            guarded("profile", partial(profile_exports, options, env, workdir), errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
