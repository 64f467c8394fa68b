"""Which snapshots `tiktok changes` compares now that windows exist, what it tells the user
about a comparison (the notes), and how `tiktok snapshots` shows windows: on SQLite and on
a real PostgreSQL server (``db_target``).

Lists are recorded through the real command from the local server. A window is what a
run records when TikTok stops serving a list at its cap; the tests' lists are short, so a
recorded run is made a window by ``stand_in_for_a_capped_run``, which writes what the
recorder writes for one (status, floor, known, disorder, new_only) in one UPDATE.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from fakeserver import Account, FakeTikTok, sec_uid_for
from helpers import Serve, csv_rows, error_line, invoke, jsonl, query

from tiktok_cli import api
from tiktok_cli.identifiers import read_targets
from tiktok_cli.store import open_store
from tiktok_cli.store.read import (
    ComparisonNote,
    StoreReader,
    chosen_comparison,
    latest_comparisons,
    reading,
)
from tiktok_cli.store.schema import SQLITE_TIME
from tiktok_cli.tracking import changes_summary

ALICE_UID = "6754915036232582149"
TOTAL = 9_400_000  # what TikTok reports of the big account's followers
START = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def big(serve: Serve) -> FakeTikTok:
    """alice, whose profile reports 9.4M followers; the tests set who the list shows."""
    return serve(
        accounts=[Account("alice", ALICE_UID, sec_uid_for("alice"), TOTAL, 3, members=list(range(30)))],
        page_size=10,
    )


@pytest.fixture
def engine(db_target: str, store: sa.Engine) -> sa.Engine:
    return store


def run(server: FakeTikTok, db: str, members: list[int], *args: str) -> int:
    """Record alice's followers (``members``, newest first); the new snapshot's id."""
    server.accounts["alice"].members = members
    result = invoke("followers", "alice", "--db", db, "-f", "none", *args)
    assert result.exit_code == 0, result.stderr
    return len(jsonl(invoke("snapshots", "alice", "--db", db, "-f", "jsonl").stdout))


def stand_in_for_a_capped_run(
    engine: sa.Engine,
    snapshot: int,
    *,
    known: int,
    disorder: int = 0,
    floor: int | None = None,
    new_only: bool = False,
) -> None:
    """Stands in for a capped run, which the tests' short lists cannot make: the snapshot
    becomes the window a run stopped at TikTok's cap (or, ``new_only``, at known members)
    records, with how many known members it met, how many came out of order, and the
    account's whole count TikTok reports beside the window it serves."""
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE snapshots SET status = 'window', note = NULL, known = :known, "
                "disorder = :disorder, floor = :floor, new_only = :new_only, reported_total = :total "
                "WHERE id = :id"
            ),
            {
                "known": known,
                "disorder": disorder,
                "floor": floor,
                "new_only": new_only,
                "total": TOTAL,
                "id": snapshot,
            },
        )


def started(engine: sa.Engine, snapshot: int, at: datetime) -> None:
    """Sets when a run started and finished (a minute later): the tests' runs take
    milliseconds, and a note's arrival rate is worked out from the time between runs."""
    times: list[Any] = [at, at + timedelta(minutes=1)]
    if engine.dialect.name == "sqlite":  # ISO 8601 text of one width (schema.py)
        times = [moment.strftime(SQLITE_TIME) for moment in times]
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE snapshots SET started_at = :start, finished_at = :end WHERE id = :id"),
            {"start": times[0], "end": times[1], "id": snapshot},
        )


def unproven(engine: sa.Engine, snapshot: int) -> None:
    """What the recorder writes for the members a run with no known member opened."""
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE memberships SET arrival = 'unproven' WHERE first_run = :id"), {"id": snapshot}
        )


@pytest.fixture
def reader(db_target: str) -> Iterator[Callable[[], StoreReader]]:
    """Opens a reader over the store once the test has recorded into it."""
    with ExitStack() as stack:

        def open_reader() -> StoreReader:
            return StoreReader(stack.enter_context(open_store(db_target, create=False)))

        yield open_reader


def compared(reader: StoreReader, when: datetime | None = None) -> tuple[list[tuple[int, int]], list[str]]:
    """(older, newer) of each comparison `changes alice` makes, and the notes it gives."""
    owners = [(target, reader.find(target.account)) for target in read_targets(["alice"], None)]
    notes: list[str] = []
    with reading(reader.store, signals=False):
        found = latest_comparisons(reader, owners, None, when, note=notes.append)
        return [(c.older.id, c.newer.id) for c in found], notes


def changes(db: str, *args: str) -> Any:
    return invoke("changes", "alice", "--db", db, "-f", "jsonl", *args)


# --- which snapshots are compared --------------------------------------------------------


def test_changes_compares_the_last_two_usable_snapshots_complete_or_window(
    big: FakeTikTok, db_target: str, engine: sa.Engine, reader: Callable[[], StoreReader]
) -> None:
    first = run(big, db_target, list(range(30)))
    capped = run(big, db_target, [100, *range(29)])
    stand_in_for_a_capped_run(engine, capped, known=29)
    run(big, db_target, [101, 100], "--limit", "2")  # incomplete: never compared
    assert compared(reader()) == ([(first, capped)], [])
    latest = run(big, db_target, [102, 101, 100, *range(27)])
    stand_in_for_a_capped_run(engine, latest, known=30)
    assert compared(reader()) == ([(capped, latest)], [])


@pytest.mark.parametrize("usable", [0, 1])
def test_a_list_with_fewer_than_two_usable_snapshots_says_so_even_with_q(
    big: FakeTikTok, db_target: str, engine: sa.Engine, usable: int
) -> None:
    if usable:
        stand_in_for_a_capped_run(engine, run(big, db_target, list(range(30))), known=0)
    partial = run(big, db_target, list(range(30)), "--limit", "5")
    result = changes(db_target, "-q")
    assert (result.exit_code, result.stdout) == (0, "")
    (line,) = result.stderr.splitlines()
    found = "one (1)" if usable else "no"
    assert line == (
        f"tiktok: warning: @alice's followers: {found} complete or window snapshot yet, two are "
        "needed to compare (runs cut short never count); nothing to show"
    )
    line = error_line(changes(db_target, "--from", str(partial), "--to", str(partial + 1)), 2)
    assert line.endswith(
        f"--from {partial}: snapshot {partial} is incomplete; only complete and window snapshots can "
        "be compared (a run cut short, or started below the top of the list, proves nothing about "
        "the members it did not reach)"
    )


def test_since_from_and_to_work_over_windows(
    big: FakeTikTok, db_target: str, engine: sa.Engine, reader: Callable[[], StoreReader]
) -> None:
    first = run(big, db_target, list(range(30)))
    windows = []
    for night in range(1, 4):
        snapshot = run(big, db_target, [100 + night, *range(29)])
        stand_in_for_a_capped_run(engine, snapshot, known=29)
        windows.append(snapshot)
    for night, snapshot in enumerate([first, *windows]):
        started(engine, snapshot, START + timedelta(days=night))
    # --since: from the last usable snapshot started at or before it, a window included.
    assert compared(reader(), START + timedelta(days=1, hours=1)) == ([(windows[0], windows[2])], [])
    assert compared(reader(), START + timedelta(hours=1)) == ([(first, windows[2])], [])
    # Before them all: from the first usable one, saying so; after them all: nothing.
    assert compared(reader(), START - timedelta(days=1)) == (
        [(first, windows[2])],
        [
            "@alice's followers: no complete or window snapshot at or before 2026-11-30T03:00:00Z; "
            f"comparing from the first one instead (snapshot {first}, complete, started "
            "2026-12-01T03:00:00Z)"
        ],
    )
    assert compared(reader(), START + timedelta(days=4)) == (
        [],
        [
            "@alice's followers: no complete or window snapshot since 2026-12-05T03:00:00Z (the "
            f"latest, {windows[2]}, started 2026-12-04T03:00:00Z); nothing to show"
        ],
    )
    # --from/--to: any two usable snapshots of the list, windows too.
    opened = reader()
    owners = [(target, opened.find(target.account)) for target in read_targets(["alice"], None)]
    with reading(opened.store, signals=False):
        chosen = chosen_comparison(opened, owners, None, (windows[0], windows[2]))
    assert (chosen.older.id, chosen.newer.id) == (windows[0], windows[2])
    assert str(chosen) == "@alice's followers"


# --- what the notes say ------------------------------------------------------------------


def test_a_window_compared_is_named_with_its_coverage(
    big: FakeTikTok, db_target: str, engine: sa.Engine, reader: Callable[[], StoreReader]
) -> None:
    first = run(big, db_target, list(range(30)))
    capped = run(big, db_target, [100, *range(29)])
    stand_in_for_a_capped_run(engine, capped, known=29)
    incremental = run(big, db_target, [101, 100, 0, 1])
    stand_in_for_a_capped_run(engine, incremental, known=3, new_only=True)
    opened = reader()
    with reading(opened.store, signals=False):
        older, window, new_only = (opened.snapshot(i) for i in (first, capped, incremental))
        assert older is not None and window is not None and new_only is not None
        assert opened.comparison_notes(older, window) == [
            f"compared through a window: 30 of ~9.4M followers (snapshot {capped}, its newest part); "
            "changes below it are not seen"
        ]
        # Two windows: the shallower one is how far the comparison sees.
        (note,) = opened.notes(window, new_only)
    assert note == ComparisonNote(
        "window",
        f"compared through a window: 4 of ~9.4M followers (snapshot {incremental}, a --new-only run, "
        "down to members already known); changes below it are not seen",
        "through a window: 4 of ~9.4M followers",
        "followers",
        capped,
        incremental,
    )


def order_broken_between_two_complete_snapshots(big: FakeTikTok, db_target: str, engine: sa.Engine) -> int:
    """Snapshots 1 (complete), 2 (a window whose order did not hold: 3 members out of it)
    and 3 (complete): the window between them makes the comparison prove no unfollow."""
    run(big, db_target, list(range(30)))
    capped = run(big, db_target, [100, 2, 1, 0, *range(3, 28)])
    stand_in_for_a_capped_run(engine, capped, known=29, disorder=3)
    return run(big, db_target, [100, *range(28)])


def test_a_broken_order_is_one_warning_that_q_does_not_hide(
    big: FakeTikTok, db_target: str, engine: sa.Engine
) -> None:
    last = order_broken_between_two_complete_snapshots(big, db_target, engine)
    warning = (
        "tiktok: warning: @alice's followers: the list's order did not hold in snapshot 2 "
        f"(3 out of order), so no unfollows are reported between snapshots 1 and {last}"
    )
    quiet = changes(db_target, "--from", "1", "--to", str(last), "-q")
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stderr.splitlines() == [warning]  # -q: the warning, and no summary
    told = changes(db_target, "--from", "1", "--to", str(last))
    assert told.stderr.splitlines()[0] == warning
    summary = told.stderr.splitlines()[-1]
    assert summary.endswith("; @alice's followers: no unfollows (order broken)"), summary
    assert summary.startswith(f"{len(jsonl(told.stdout))} change")


def test_windows_that_did_not_overlap_say_how_often_to_run(
    big: FakeTikTok, db_target: str, engine: sa.Engine, reader: Callable[[], StoreReader]
) -> None:
    first = run(big, db_target, list(range(30)))
    apart = run(big, db_target, list(range(100, 130)))  # 30 new: none of the list's members
    stand_in_for_a_capped_run(engine, apart, known=0)
    unproven(engine, apart)
    last = run(big, db_target, list(range(100, 130)))
    started(engine, first, START)
    started(engine, apart, START + timedelta(hours=12))
    started(engine, last, START + timedelta(hours=24))
    expected = [
        f"snapshot {apart} had no member in common with snapshot {first}: all 30 it read were new "
        "to the list, so new followers between them may be missing; at least 2 an hour arrived "
        "(30 in the 12h between the two runs): run at least every 6h to keep the windows overlapping",
        "30 members first seen by a run that had no member in common with the one before it were "
        "not reported as followed: nothing shows whether they are new or older members come up "
        "into the window",
    ]
    opened = reader()
    with reading(opened.store, signals=False):
        older, newer = opened.snapshot(first), opened.snapshot(last)
        assert older is not None and newer is not None
        assert opened.comparison_notes(older, newer) == expected
        assert [n.kind for n in opened.notes(older, newer)] == ["overlap", "unproven"]
    result = changes(db_target, "--from", str(first), "--to", str(last), "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [f"tiktok: warning: @alice's followers: {text}" for text in expected]
    summary = changes(db_target, "--from", str(first), "--to", str(last)).stderr.splitlines()[-1]
    assert summary.endswith(
        "; @alice's followers: new followers may be missing (no overlap), "
        "30 members not reported (nothing proves them new)"
    ), summary


def test_a_comparison_with_nothing_to_say_has_no_note(
    big: FakeTikTok, db_target: str, engine: sa.Engine
) -> None:
    run(big, db_target, list(range(30)))
    run(big, db_target, [100, *range(30)])
    result = changes(db_target)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == ["1 change in 1 list (1 followed, 0 unfollowed, 0 renamed)"]
    assert changes(db_target, "-q").stderr == ""


# --- the Python API ----------------------------------------------------------------------


def test_the_api_hands_each_note_to_a_callback_or_logs_it(
    big: FakeTikTok, db_target: str, engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    last = order_broken_between_two_complete_snapshots(big, db_target, engine)
    told: list[api.ComparisonNote] = []
    rows = list(api.changes(db_target, "alice", span=(1, last), notes=told.append))
    assert rows  # the changes themselves still come
    (note,) = told
    assert (note.kind, note.gist, note.list_name, note.older, note.newer) == (
        "order",
        "no unfollows (order broken)",
        "followers",
        1,
        last,
    )
    assert str(note) == note.text and "did not hold in snapshot 2" in note.text
    with caplog.at_level(logging.WARNING, logger="tiktok_cli"):
        list(api.changes(db_target, "alice", span=(1, last)))
    assert [r.getMessage() for r in caplog.records] == [note.text]
    with pytest.raises(api.TikTokCliError, match="notes must be a function"):
        api.changes(db_target, "alice", notes="print")  # type: ignore[arg-type]


# --- snapshots ---------------------------------------------------------------------------


def test_snapshots_show_each_runs_kind_and_coverage_in_every_format(
    big: FakeTikTok, db_target: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(big, db_target, list(range(30)))
    capped = run(big, db_target, [100, *range(29)])
    stand_in_for_a_capped_run(engine, capped, known=29)
    apart = run(big, db_target, list(range(200, 230)))
    stand_in_for_a_capped_run(engine, apart, known=0, disorder=0)
    incremental = run(big, db_target, [101, 200, 201])
    stand_in_for_a_capped_run(engine, incremental, known=2, new_only=True)
    broken = run(big, db_target, [201, 200, 101])
    stand_in_for_a_capped_run(engine, broken, known=3, disorder=2)
    run(big, db_target, list(range(30)), "--limit", "5")
    kinds = [
        "complete",
        "window",
        "window, no overlap",
        "window, new only",
        "window, order broken",
        "incomplete",
    ]
    totals = [row[0] for row in query(engine, "SELECT reported_total FROM snapshots ORDER BY id")]
    rows = jsonl(invoke("snapshots", "alice", "--db", db_target, "-f", "jsonl").stdout)
    assert [row["kind"] for row in rows] == kinds
    assert [row["status"] for row in rows] == ["complete", *["window"] * 4, "incomplete"]
    shares = [float(f"{row['rows'] / total:.6g}") for row, total in zip(rows, totals, strict=True)]
    assert [row["coverage"] for row in rows] == shares  # a number, as rows and reported_total are
    assert rows[1]["coverage"] == float(f"{30 / TOTAL:.6g}") == 3.19149e-06
    array = json.loads(invoke("snapshots", "alice", "--db", db_target, "-f", "json").stdout)
    assert array == rows
    header, *cells = csv_rows(invoke("snapshots", "alice", "--db", db_target, "-f", "csv").stdout_bytes)
    assert header[4:8] == ["status", "kind", "coverage", "note"]
    assert [row[5] for row in cells] == kinds
    assert cells[1][6] == "3.19149e-06"
    monkeypatch.setenv("COLUMNS", "200")  # every column, one line a run
    header, _rule, *lines = invoke("snapshots", "alice", "--db", db_target, "-f", "table").stdout.splitlines()
    assert header.split()[4:7] == ["status", "kind", "coverage"]
    assert len(lines) == 6
    coverages = ["30 of 30", "30 of 9.4M", "30 of 9.4M", "3 of 9.4M", "3 of 9.4M", "5 of 30"]
    for line, kind, coverage in zip(lines, kinds, coverages, strict=True):
        assert f" {kind} " in line and f" {coverage} " in line, line


def test_the_summary_line_repeats_the_gist_of_every_note() -> None:
    # What README shows for a list compared through a window (the command's own comparisons
    # through windows are tested with the recorder that makes them).
    window = ComparisonNote(
        "window",
        "compared through a window: 4,999 of ~9.4M followers (snapshot 12, its newest part); "
        "changes below it are not seen",
        "through a window: 4,999 of ~9.4M followers",
        "followers",
        11,
        12,
    )
    assert changes_summary(1, Counter(followed=2, unfollowed=1), [("@cnn's followers", window)]) == (
        "3 changes in 1 list (2 followed, 1 unfollowed, 0 renamed); "
        "@cnn's followers: through a window: 4,999 of ~9.4M followers"
    )
    assert (
        changes_summary(2, Counter(renamed=1), [])
        == "1 change in 2 lists (0 followed, 0 unfollowed, 1 renamed)"
    )
