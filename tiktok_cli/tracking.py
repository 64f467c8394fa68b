"""`tiktok changes`, `history` and `snapshots`: what the snapshot store says about accounts.

Each reads the store (store/read.py) and writes its rows through the same output path as
the exports (output.py, writers/), so every format, ``-o FILE``, ``--fields``, the CSV
formula guard and the terminal-safe table apply alike. Everything is checked (options,
the store, the accounts, the snapshots to compare) before the first row is written, and
rows stream from the database to the writer: memory does not grow with the list.

Times are written in ISO 8601, UTC, to the second, with a trailing Z. A window's start
is rounded down and its end up, so the window always holds the moment it describes.
`snapshots` shows its times to the millisecond, all rounded down alike, so a run that
started after another finished never seems to start before it.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tiktok_cli import console
from tiktok_cli.batch import Failures
from tiktok_cli.errors import MissingExtra, NotFoundError, UsageError
from tiktok_cli.identifiers import Target
from tiktok_cli.models import OWNER_FIELD
from tiktok_cli.output import OutputPlan, OutputSpec, check_creatable, open_output, owner_column, plan_output
from tiktok_cli.reports import CHANGE_COLUMNS, COUNTS, HISTORY_COLUMNS, SNAPSHOT_COLUMNS
from tiktok_cli.settings import duration
from tiktok_cli.store import open_store
from tiktok_cli.store.read import (
    FOLLOWED,
    RENAMED,
    UNFOLLOWED,
    Change,
    ComparisonNote,
    Observation,
    Snapshot,
    StoredAccount,
    StoreReader,
    chosen_comparison,
    iso,
    latest_comparisons,
    reading,
)
from tiktok_cli.store.schema import LIST_NAMES

if TYPE_CHECKING:  # matplotlib is an extra, loaded only to draw
    from matplotlib.figure import Figure
    from matplotlib.ticker import Formatter

PLOT_FORMATS = (".png", ".svg")
PLOT_INSTALL = "pip install 'tiktok-follows[plot]' (from a clone: pip install '.[plot]')"
# Rows written between flushes: a table holds at most this many, and pipes see rows as they come.
FLUSH_EVERY = 1_000
# Observations the terminal trend line shows (the latest ones).
TREND_POINTS = 40
_SPARKS = "▁▂▃▄▅▆▇█"


def iso_ms(moment: datetime) -> str:
    """``2026-12-02T03:00:00.125Z``: UTC, to the millisecond, rounded down."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """--since: an ISO date or time (UTC unless it says otherwise), or an age (24h, 7d, 2w)."""
    value = text.strip()
    now = now or datetime.now(timezone.utc)
    age = duration(value)
    if age is not None:
        try:
            return now - age
        except OverflowError:  # before the year 1: no calendar holds that moment
            raise UsageError(
                f"--since {value!r} reaches back before the year 1: give a shorter age or a date"
            ) from None
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "zZ" and value else value)
    except ValueError:
        raise UsageError(
            f"--since {value!r}: give a date (2026-12-01), a UTC time (2026-12-01T08:00) "
            "or an age (30m, 24h, 7d, 2w)"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00+05:00 is in year 0 in UTC
        raise UsageError(f"--since {value!r} is beyond the calendar in UTC (years 1 to 9999)") from None


def _note(message: str) -> None:
    console.info(message)


# --- changes -----------------------------------------------------------------------------


def show_changes(
    targets: Sequence[Target],
    db: str,
    spec: OutputSpec,
    *,
    list_names: Sequence[str] | None,
    since: str | None,
    span: tuple[int, int] | None,
    listed: bool,
) -> None:
    """Write what changed in the lists of ``targets``: between each list's last two usable
    snapshots, from the last one at or before ``since``, or between the ``span`` snapshots.
    ``listed``: the accounts came from --input or --shard (output.owner_column). What a
    comparison could not see, or a list that could not be compared, is a warning (never
    hidden by -q); the summary line repeats the gist."""
    when = parse_when(since) if since is not None else None
    plan = plan_output(spec, owner=owner_column(len(targets), listed=listed), record=CHANGE_COLUMNS)
    tally: Counter[str] = Counter()
    notes: list[tuple[str, ComparisonNote]] = []
    with Failures(targets, None) as failures, open_store(db, create=False) as store, reading(store):
        reader = StoreReader(store)
        owners: list[tuple[Target, StoredAccount]] = []
        for target in targets:
            try:
                owner = reader.find(target.account)
            except NotFoundError as exc:  # one account: the run's error; in a batch, a line
                failures.add(target, exc)
                continue
            # An --input may name one account twice (by an old name and the new one): once.
            if all(owner.id != known.id for _, known in owners):
                owners.append((target, owner))
        if span is not None:
            comparisons = [chosen_comparison(reader, owners, list_names, span)]
        else:
            comparisons = list(latest_comparisons(reader, owners, list_names, when, note=console.warn))
        columns = plan.columns

        def rows() -> Iterator[dict[str, Any]]:
            for comparison in comparisons:
                list_name = comparison.older.list_name
                name = str(comparison)
                for note in reader.notes(comparison.older, comparison.newer):
                    console.warn(f"{name}: {note.text}")
                    notes.append((name, note))
                for change in reader.changes(comparison.older, comparison.newer):
                    tally[change.change] += 1
                    row = _change_row(comparison.owner, list_name, change)
                    yield {column: row[column] for column in columns}

        write_rows(plan, rows())
    if comparisons:
        console.info(changes_summary(len(comparisons), tally, notes))
    # A batch reports the accounts the store knows; one it never saw makes the exit 1
    # (3 when none was found), as a batch of exports does.
    verdict = failures.verdict()
    if verdict is not None:
        raise verdict


def changes_summary(
    compared: int, tally: Mapping[str, int], notes: Sequence[tuple[str, ComparisonNote]]
) -> str:
    """``3 changes in 1 list (2 followed, 1 unfollowed, 0 renamed); @cnn's followers: through a
    window: 4,999 of ~9.4M followers``: the run at a glance, with the gist of every note."""
    total = sum(tally.values())
    kinds = ", ".join(f"{tally.get(kind, 0):,} {kind}" for kind in (FOLLOWED, UNFOLLOWED, RENAMED))
    line = f"{console.counted(total, 'change')} in {console.counted(compared, 'list')} ({kinds})"
    gists: dict[str, list[str]] = {}
    for name, note in notes:
        gists.setdefault(name, []).append(note.gist)
    for name, said in gists.items():
        line += f"; {name}: {', '.join(said)}"
    return line


def _change_row(owner: str | None, list_name: str, change: Change) -> dict[str, Any]:
    return {
        OWNER_FIELD: owner,
        "list": list_name,
        "change": change.change,
        "old_unique_id": change.old_unique_id,
        "since": iso(change.since),
        "until": iso(change.until, round_up=True),
        **change.member,
    }


# --- history -----------------------------------------------------------------------------


def show_history(target: Target, db: str, spec: OutputSpec, *, plot: Path | None) -> None:
    """Write the counts observed of ``target``, each with its change since the one before;
    on a terminal, a trend line; with ``plot``, a chart in that file."""
    if plot is not None:
        _check_plot(plot)
    plan = plan_output(spec, owner=False, record=HISTORY_COLUMNS)
    trend: deque[int] = deque(maxlen=TREND_POINTS)
    points: list[Observation] = []
    with open_store(db, create=False) as store, reading(store):
        reader = StoreReader(store)
        account = reader.find(target.account)
        columns = plan.columns

        def rows() -> Iterator[dict[str, Any]]:
            # Backends count differently (one includes deleted accounts, one rounds): a
            # change is only ever taken between two observations of the same backend.
            previous: dict[str, Observation] = {}
            for observation in reader.observations(account):
                if observation.followers is not None:
                    trend.append(observation.followers)
                if plot is not None:
                    points.append(observation)
                row = _history_row(observation, previous.get(observation.backend))
                previous[observation.backend] = observation
                yield {column: row[column] for column in columns}

        shown = write_rows(plan, rows())
    if not shown.rows:
        _note(
            f"no counts of {account} were observed in the store {store.label} (user-info --db records them)"
        )
        return
    if shown.terminal and plan.writer_class.name == "table" and len(trend) > 1:
        console.info(sparkline("followers", list(trend)))
    if plot is not None:
        draw(plot, str(account), points)
        noun = "observation" if len(points) == 1 else "observations"
        console.info(f"{len(points):,} {noun} of {account} plotted in {plot}")


def _history_row(observation: Observation, previous: Observation | None) -> dict[str, Any]:
    row: dict[str, Any] = {"observed_at": iso(observation.observed_at), "backend": observation.backend}
    for name in COUNTS:
        value = getattr(observation, name)
        before = None if previous is None else getattr(previous, name)
        row[name] = value
        row[f"{name}_change"] = None if value is None or before is None else value - before
    return row


def sparkline(name: str, values: Sequence[int]) -> str:
    """``followers ▁▂▄█ 1.2M → 1.5M (+300K), last 4 observations``: the trend at a glance."""
    from tiktok_cli.writers.table import compact_count

    low, high = min(values), max(values)
    span = high - low
    marks = "".join(
        _SPARKS[(len(_SPARKS) - 1) * (v - low) // span] if span else _SPARKS[len(_SPARKS) // 2]
        for v in values
    )
    moved = values[-1] - values[0]
    sign = "+" if moved > 0 else "-" if moved < 0 else "±"
    return (
        f"{name} {marks} {compact_count(values[0])} → {compact_count(values[-1])} "
        f"({sign}{compact_count(abs(moved))}), last {len(values)} observations"
    )


def _check_plot(path: Path) -> None:
    if path.suffix.lower() not in PLOT_FORMATS:
        raise UsageError(f"--plot {path}: name a .png or .svg file")
    try:
        import matplotlib  # noqa: F401 - only to say how to install it when missing
    except ImportError:
        raise MissingExtra("--plot needs matplotlib", hint=PLOT_INSTALL) from None
    check_creatable(path)  # as for -o: a file that cannot be made is a usage error, now


def draw(path: Path, title: str, points: Sequence[Observation]) -> None:
    """Follower, following and likes curves, one panel each, written atomically to ``path``."""
    figure = chart(title, points)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    try:
        figure.savefig(part, format=path.suffix.lower()[1:])
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def chart(title: str, points: Sequence[Observation]) -> Figure:
    """The figure ``draw`` writes: counts are whole, so the y axes tick at whole numbers,
    labelled as the table shows counts (45K, 1.2M) or, where that would round, 1,234,520."""
    import matplotlib

    matplotlib.use("Agg")  # no display, whatever the environment says
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(9, 7), layout="constrained")
    panels = figure.subplots(3, 1, sharex=True)
    for panel, name in zip(panels, ("followers", "following", "likes"), strict=True):
        known = [(p.observed_at, getattr(p, name)) for p in points if getattr(p, name) is not None]
        panel.plot([t for t, _ in known], [v for _, v in known], marker="." if len(known) < 60 else None)
        panel.set_ylabel(name)
        panel.grid(alpha=0.3)
        # Round steps, and whole ticks even when a count never moved (one whole number in view).
        panel.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1, steps=[1, 2, 5, 10]))
        panel.yaxis.set_major_formatter(_count_formatter())
    panels[0].set_title(f"{title} (UTC)")
    figure.autofmt_xdate()
    return figure


def _count_formatter() -> Formatter:
    from matplotlib.ticker import Formatter

    from tiktok_cli.writers.table import compact_count

    class CountFormatter(Formatter):
        """Tick labels of whole counts: compact when every tick stays exact, else with separators."""

        compact = True

        def set_locs(self, locs: list[float]) -> None:
            super().set_locs(locs)
            self.compact = all(_uncompact(compact_count(round(v))) == round(v) for v in locs)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return compact_count(round(x)) if self.compact else f"{round(x):,}"

    return CountFormatter()


def _uncompact(label: str) -> int:
    """The count a compact label stands for: ``1.2M`` -> 1200000, ``9,500`` -> 9500."""
    scale = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}.get(label[-1:], 1)
    number = label[:-1] if scale > 1 else label
    return round(float(number.replace(",", "")) * scale)


# --- snapshots ---------------------------------------------------------------------------


def show_snapshots(target: Target, db: str, spec: OutputSpec, *, list_names: Sequence[str] | None) -> None:
    """Write the snapshots recorded of ``target``'s lists, oldest first."""
    plan = plan_output(spec, owner=False, record=SNAPSHOT_COLUMNS)
    table = plan.writer_class.name == "table"
    with open_store(db, create=False) as store, reading(store):
        reader = StoreReader(store)
        account = reader.find(target.account)
        columns = plan.columns

        def rows() -> Iterator[dict[str, Any]]:
            read_before: set[int] = set()  # lists with a usable snapshot that read members
            for snapshot in reader.snapshots(account, list_names or LIST_NAMES):
                row = _snapshot_row(snapshot, table=table, overlap_expected=snapshot.list_id in read_before)
                if snapshot.usable and snapshot.rows:
                    read_before.add(snapshot.list_id)
                yield {column: row[column] for column in columns}

        shown = write_rows(plan, rows())
    if not shown.rows:
        _note(f"no list of {account} was recorded in the store {store.label}")


def snapshot_kind(snapshot: Snapshot, *, overlap_expected: bool) -> str:
    """``complete``, ``window``, ``window, new only``, ``window, no overlap``, ``incomplete``…:
    the status, and what else limits what the run proves. ``overlap_expected``: an earlier
    usable snapshot of the list read members, so a window should have met some of them."""
    kind = [snapshot.status]
    if snapshot.new_only:
        kind.append("new only")
    if snapshot.window and snapshot.known == 0 and overlap_expected:
        kind.append("no overlap")
    if snapshot.usable and snapshot.disorder:
        kind.append("order broken")
    return ", ".join(kind)


def coverage(snapshot: Snapshot, *, table: bool) -> str | float | None:
    """How much of the list the run read: in a table ``4,999 of 9.4M`` (rows of TikTok's
    count), elsewhere the share as a number (0.000532); without a count, the rows alone
    (table) or nothing."""
    from tiktok_cli.writers.table import compact_count

    total = snapshot.reported_total
    if table:
        return f"{snapshot.rows:,}" if not total else f"{snapshot.rows:,} of {compact_count(total)}"
    return None if not total else float(f"{snapshot.rows / total:.6g}")


def _snapshot_row(snapshot: Snapshot, *, table: bool, overlap_expected: bool) -> dict[str, Any]:
    return {
        "id": snapshot.id,
        "list": snapshot.list_name,
        # The same rounding for both: one run's finish never shows after the next one's start.
        "started_at": iso_ms(snapshot.started_at),
        "finished_at": None if snapshot.finished_at is None else iso_ms(snapshot.finished_at),
        "status": snapshot.status,
        "kind": snapshot_kind(snapshot, overlap_expected=overlap_expected),
        "coverage": coverage(snapshot, table=table),
        "note": snapshot.note,
        "rows": snapshot.rows,
        "reported_total": snapshot.reported_total,
        "backend": snapshot.backend,
        "owner_name": snapshot.owner_name,
    }


# --- writing -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Written:
    rows: int
    terminal: bool  # whether they went to a terminal


def write_rows(plan: OutputPlan, rows: Iterable[Mapping[str, Any]]) -> Written:
    """Write ``rows`` where ``plan`` says, atomically for a regular -o FILE; flushed every
    FLUSH_EVERY rows, so memory stays flat and a pipe sees rows as they come."""
    with open_output(plan) as output, output.writing():
        output.write_rows(rows, flush_every=FLUSH_EVERY)
    return Written(output.rows, output.to_terminal)
