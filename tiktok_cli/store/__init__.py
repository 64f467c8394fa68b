"""The snapshot store: what each list run saw, kept so runs can be compared.

``--db TARGET`` names it: a file path is SQLite (created on first use, nothing to
install), a ``postgresql://`` URL is PostgreSQL (a store several machines share, with
the ``postgres`` extra). Both go through one SQLAlchemy Core code path. Importing this
package is free: SQLAlchemy is loaded by ``open_store``, so runs without ``--db`` never
pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tiktok_cli.store.database import Store


def open_store(target: str, *, create: bool) -> Store:
    """Open the store ``target`` names, upgrading an older schema; ``create``: make it if new.

    Raises StoreError (exit 5) for a target that is not a usable store, and
    StoreUnavailable (exit 7) for a server that does not answer.
    """
    from tiktok_cli.store.database import connect

    return connect(target, create=create)
