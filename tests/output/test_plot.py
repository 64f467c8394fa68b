"""`tiktok history --plot`: whole counts tick at whole numbers, labelled readably."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tiktok_cli.store.read import Observation
from tiktok_cli.tracking import chart

START = datetime(2026, 3, 1, 3, 0, tzinfo=timezone.utc)


def observations(followers: list[int], likes: list[int]) -> list[Observation]:
    return [
        Observation(START + timedelta(days=day), "gateway", count, 7, like, 3)
        for day, (count, like) in enumerate(zip(followers, likes, strict=True))
    ]


def ticks(title: str, points: list[Observation]) -> dict[str, list[tuple[float, str]]]:
    """Each panel's y ticks within its range, with their labels, as the figure draws them."""
    figure = chart(title, points)
    figure.draw_without_rendering()
    shown = {}
    for panel in figure.axes:
        low, high = panel.get_ylim()
        values = [v for v in panel.get_yticks() if low <= v <= high]
        labels = panel.yaxis.get_major_formatter().format_ticks(values)
        shown[panel.get_ylabel()] = list(zip(values, labels, strict=True))
    return shown


def test_whole_counts_get_whole_ticks() -> None:
    shown = ticks("@alice", observations([120, 121, 121, 122], [1_200_000, 1_250_000, 1_300_000, 1_320_000]))
    for name, marks in shown.items():
        assert marks, name
        assert all(value == int(value) for value, _ in marks), (name, marks)
    assert [label for _, label in shown["followers"]] == ["120", "121", "122"]
    assert [label for _, label in shown["following"]] == ["7"]


def test_large_counts_are_labelled_readably_and_exactly() -> None:
    shown = ticks("@alice", observations([40_000, 45_000, 50_000], [1_000_000, 1_500_000, 2_000_000]))
    assert [label for _, label in shown["followers"]] == ["40K", "42K", "44K", "46K", "48K", "50K"]
    assert [label for _, label in shown["likes"]] == ["1M", "1.2M", "1.4M", "1.6M", "1.8M", "2M"]
    # A narrow range of a large count: compact labels would all read 1.2M, so they are exact.
    close = ticks("@alice", observations([1_234_500, 1_234_560, 1_234_600], [1, 2, 3]))
    labels = [label for _, label in close["followers"]]
    assert labels and all(label.startswith("1,234,") for label in labels), labels
