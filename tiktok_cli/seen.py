"""Which accounts an export has already met, as stable 64-bit digests.

Shared by the paginator (which drops repeats) and the checkpoint (which saves the
digests of written rows so a resume drops them too), so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import blake2b

from tiktok_cli.models import User


class SeenAccounts:
    """Accounts met in this export (their ``User.account_key``), as stable 64-bit digests.

    Digests (not ``hash()``, which changes per process) so a resumed export can reload
    the ones it wrote. A batch shares one store between lists through ``scoped``
    views, so an account that follows two owners appears once under each.
    """

    __slots__ = ("_digests", "_scope")

    def __init__(self, digests: Iterable[int] = ()) -> None:
        self._digests: set[int] = set(digests)
        self._scope = b""

    def __len__(self) -> int:
        return len(self._digests)

    def scoped(self, scope: str) -> SeenAccounts:
        """A view sharing this store, whose digests are distinct per ``scope``."""
        view = SeenAccounts.__new__(SeenAccounts)
        view._digests, view._scope = self._digests, scope.encode() + b"\0"
        return view

    def has(self, account_key: str) -> bool:
        """Whether the account with this key (``User.account_key``) was met."""
        return self._digest(account_key) in self._digests

    def claim(self, user: User) -> tuple[bool, int | None]:
        """Remember ``user``: (whether it is new, its digest or None when it has no id)."""
        account_key = user.account_key
        if account_key is None:  # nothing to tell it apart by: keep it
            return True, None
        digest = self._digest(account_key)
        if digest in self._digests:
            return False, digest
        self._digests.add(digest)
        return True, digest

    def _digest(self, account_key: str) -> int:
        data = self._scope + account_key.encode("utf-8", "surrogatepass")
        return int.from_bytes(blake2b(data, digest_size=8).digest(), "big")
