"""Concurrency for batches: a few daemon threads feeding the main thread.

Only the main thread writes output, so rows are never interleaved mid-row, and only
it handles signals. Workers are daemon threads: Ctrl-C never waits for a request in
flight. Queues are bounded, so memory stays flat however many accounts there are.
"""

from __future__ import annotations

import pickle
import queue
import tempfile
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import IO, Generic, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")

_POLL = 0.2  # seconds; how often a blocked thread looks up to see whether to stop


class Outcome(Generic[R]):
    """A worker's result or the exception it raised."""

    __slots__ = ("error", "value")

    def __init__(self, value: R | None = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error

    def result(self) -> R:
        """The value, or the worker's exception raised here."""
        if self.error is not None:
            raise self.error
        return cast(R, self.value)


def _get(source: queue.Queue[T]) -> T:
    """A blocking get that still lets the main thread take signals."""
    while True:
        try:
            return source.get(timeout=_POLL)
        except queue.Empty:
            continue


def _put(target: queue.Queue[T], item: T, stop: threading.Event) -> bool:
    """A blocking put that gives up when ``stop`` is set; False if it did."""
    while not stop.is_set():
        try:
            target.put(item, timeout=_POLL)
        except queue.Full:
            continue
        return True
    return False


def _start(
    count: int, tasks: queue.Queue[int | None], stop: threading.Event, job: Callable[[int], bool]
) -> None:
    """Start ``count`` workers running ``job(index)`` for each index taken from ``tasks``,
    until they take a None, ``stop`` is set, or a job returns False (it gave up)."""

    def work() -> None:
        while not stop.is_set():
            index = tasks.get()
            if index is None or not job(index):
                return

    for number in range(count):
        threading.Thread(target=work, name=f"tiktok-worker-{number}", daemon=True).start()


def ordered(
    function: Callable[[T], R], items: Sequence[T], concurrency: int
) -> Iterator[tuple[T, Outcome[R]]]:
    """Apply ``function`` to ``items`` on up to ``concurrency`` threads; yield in input order.

    Each result is yielded as soon as it and every result before it are ready. At most
    ``4 * concurrency`` items are in flight or waiting, whatever the input's length.
    """
    tasks: queue.Queue[int | None] = queue.Queue()
    results: queue.Queue[tuple[int, Outcome[R]]] = queue.Queue()
    stop = threading.Event()

    def job(index: int) -> bool:
        try:
            outcome: Outcome[R] = Outcome(function(items[index]))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            outcome = Outcome(error=exc)
        results.put((index, outcome))
        return True

    workers = max(1, min(concurrency, len(items)))
    window = 4 * workers
    _start(workers, tasks, stop, job)
    fed, pending = 0, {}
    try:
        for index in range(len(items)):
            while fed < len(items) and fed < index + window:
                tasks.put(fed)
                fed += 1
            while index not in pending:
                done, outcome = _get(results)
                pending[done] = outcome
            yield items[index], pending.pop(index)
    finally:
        stop.set()
        for _ in range(workers):
            tasks.put(None)


# What interleave yields: (source index, an item, a failure, or None when the source ended).
Events = Generator[tuple[int, Outcome[T] | None], None, None]


def interleave(sources: Sequence[Callable[[], Iterator[T]]], concurrency: int, *, buffer: int) -> Events[T]:
    """Run each source's iterator on a worker thread and yield ``(index, event)`` as they come.

    An event is ``Outcome(value)`` for an item, ``Outcome(error=exc)`` when a source
    failed, and ``None`` when it finished. Each source's items stay in order; at most
    ``buffer`` items wait for the caller. Closing the generator stops the workers.
    """
    tasks: queue.Queue[int | None] = queue.Queue()
    events: queue.Queue[tuple[int, Outcome[T] | None]] = queue.Queue(maxsize=max(1, buffer))
    stop = threading.Event()

    def job(index: int) -> bool:
        try:
            for item in sources[index]():
                if not _put(events, (index, Outcome(item)), stop):
                    return False
            finished: Outcome[T] | None = None
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            finished = Outcome(error=exc)
        return _put(events, (index, finished), stop)

    workers = max(1, min(concurrency, len(sources)))
    if workers == 1:
        # One list at a time: a thread would only add hand-offs (the GIL serializes
        # fetching and writing anyway), so run it here.
        yield from _sequential(sources)
        return
    for index in range(len(sources)):
        tasks.put(index)
    for _ in range(workers):
        tasks.put(None)
    _start(workers, tasks, stop, job)
    remaining = len(sources)
    try:
        while remaining:
            index, event = _get(events)
            if event is None or event.error is not None:
                remaining -= 1
            yield index, event
    finally:
        stop.set()


def _sequential(sources: Sequence[Callable[[], Iterator[T]]]) -> Iterator[tuple[int, Outcome[T] | None]]:
    for index, source in enumerate(sources):
        try:
            for item in source():
                yield index, Outcome(item)
        except Exception as exc:  # noqa: BLE001 - reported like a worker's failure
            yield index, Outcome(error=exc)
            continue
        yield index, None


def grouped(events: Events[T], count: int, *, folder: Path | None = None) -> Events[T]:
    """``interleave``'s events regrouped: every event of source 0, then of source 1, and so on.

    The sources still run concurrently; the items of a source that is ahead of its turn
    wait in a temporary file (``Spill``, in ``folder``, else TMPDIR), not in memory, and
    are replayed when it comes.
    Closing the generator closes ``events`` (stopping the workers) and the file.
    """
    head = 0  # the source whose events pass straight through
    waiting: dict[int, list[tuple[int, int]]] = {}  # where each later source's items are spilled
    ended: dict[int, Outcome[T] | None] = {}  # how each later source finished
    spill: Spill[T] = Spill(folder)
    try:
        for index, event in events:
            if index != head:
                if event is None or event.error is not None:
                    ended[index] = event
                else:
                    waiting.setdefault(index, []).append(spill.put(event.result()))
                continue
            yield index, event
            if event is not None and event.error is None:
                continue
            head += 1
            while head < count:  # the next sources' turns: what they already brought, in order
                for place in waiting.pop(head, []):
                    yield head, Outcome(spill.take(place))
                if head not in ended:
                    break  # still running: its next events pass straight through
                yield head, ended.pop(head)
                head += 1
            if not waiting:
                spill.clear()
    finally:
        spill.close()
        events.close()


class Spill(Generic[T]):
    """Items put aside in an unnamed temporary file (in ``folder``, else TMPDIR), read back by place.

    The file is created on the first ``put`` and is this process's alone (no name,
    mode 0600), so unpickling reads back only what ``put`` wrote.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder
        self._file: IO[bytes] | None = None
        self._end = 0

    def put(self, item: T) -> tuple[int, int]:
        """Append ``item``; returns its place (offset, length)."""
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix=".tiktok-spill-", dir=self._folder)  # noqa: SIM115 - kept open until close()
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.seek(self._end)
        self._file.write(data)
        place = (self._end, len(data))
        self._end += len(data)
        return place

    def take(self, place: tuple[int, int]) -> T:
        """The item put at ``place``."""
        assert self._file is not None, "put() first"
        offset, length = place
        self._file.seek(offset)
        return cast(T, pickle.loads(self._file.read(length)))  # noqa: S301 - our own file, see above

    def clear(self) -> None:
        """Nothing put is needed any more: give the disk space back."""
        if self._file is not None and self._end:
            self._file.truncate(0)
            self._end = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
