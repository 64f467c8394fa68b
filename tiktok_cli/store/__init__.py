"""The snapshot store: what each list run saw, kept so runs can be compared.

``--db TARGET`` names it: a file path is SQLite (created on first use, nothing to
install), a ``postgresql://`` URL is PostgreSQL (a store several machines share, with
the ``postgres`` extra). Both go through one SQLAlchemy Core code path. Importing this
package is free: SQLAlchemy is loaded by ``open_store``, so runs without ``--db`` never
pay for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tiktok_cli.store.database import Store
    from tiktok_cli.store.list_recording import Recordings


def open_store(target: str, *, create: bool) -> Store:
    """Open the store ``target`` names, upgrading an older schema; ``create``: make it if new.

    Raises StoreError (exit 5) for a target that is not a usable store, and
    StoreUnavailable (exit 7) for a server that does not answer.
    """
    from tiktok_cli.store.database import connect

    return connect(target, create=create)


@contextlib.contextmanager
def recordings(target: str | None, backend: str) -> Iterator[Recordings]:
    """What one run records into the store ``target`` names (made on first use), through
    ``backend``; without a target, a twin that records nothing. What is still buffered
    when the run ends is written then."""
    from tiktok_cli.store.list_recording import Recordings, StoreRecordings

    if target is None:
        yield Recordings()
        return
    from tiktok_cli.store.record import Recorder

    store = open_store(target, create=True)
    recorder = Recorder(store, backend)
    try:
        yield StoreRecordings(recorder)
    except BaseException:
        with contextlib.suppress(Exception):  # the run's own failure is the one to report
            recorder.flush()
        raise
    else:
        recorder.flush()
    finally:
        store.close()
