"""``--shard K/N``: N processes split one batch of accounts, each taking its share K.

An account's share is a stable hash of the account, modulo N: the same on every machine,
in every process and Python version (``hashlib``, never the per-process ``hash()``), and
independent of where the account appears in the input or how often. So N workers given
the same input with K = 0 … N-1 take disjoint shares whose union is the whole input.

Imported by the commands that take --shard, once their accounts are read.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tiktok_cli import console
from tiktok_cli.errors import UsageError
from tiktok_cli.identifiers import Account, IdKind, Target
from tiktok_cli.safetext import shown

SHARD_ENV = "TIKTOK_SHARD"
# Set by Kubernetes in each pod of an Indexed Job: 0 … completions-1.
INDEX_ENV = "JOB_COMPLETION_INDEX"
AUTO = "auto"

_SPEC = re.compile(r"(?P<index>auto|[0-9]+)/(?P<count>[0-9]+)")
_INDEX = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class Shard:
    """Share ``index`` of ``count``: the accounts whose hash modulo ``count`` is ``index``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, account: Account) -> bool:
        """Whether ``account`` belongs to this share."""
        return shard_of(account, self.count) == self.index

    def take(self, targets: Sequence[Target]) -> list[Target]:
        """The targets of this share, in input order; one info line says how many of all."""
        mine = [target for target in targets if self.holds(target.account)]
        if mine:
            console.info(f"shard {self}: {len(mine)} of {_accounts(len(targets))}")
        else:
            console.info(f"nothing to do: shard {self} holds none of the {_accounts(len(targets))} given")
        return mine


def shard_key(account: Account) -> str:
    """What decides an account's share: its user id when known, else its lower-cased
    username, else its secUid.

    Not ``User.account_key`` (user id, else secUid, else username): the share is decided
    from the input alone, before any request, where a username is what most inputs give;
    and the hashed text stays the same in every release, or accounts would move between
    shards on upgrade (``tests/test_shards.py`` pins the split).

    A row of this tool's own output (read with --input) carries the user id beside the
    username, and the id wins: it never changes, while a username can. The same account
    given by name alone hashes by its name, so give each account in one form throughout.
    """
    ids = dict(((account.kind, account.value), *account.also))
    if IdKind.UID in ids:
        return f"uid:{int(ids[IdKind.UID])}"  # int: a leading zero names the same account
    if IdKind.USERNAME in ids:
        return f"username:{ids[IdKind.USERNAME].lower()}"
    return f"secUid:{ids[IdKind.SEC_UID]}"


def shard_of(account: Account, count: int) -> int:
    """The share (0 … count-1) ``account`` falls in when accounts are split ``count`` ways."""
    digest = hashlib.blake2b(shard_key(account).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def asked(option: str | None, environ: Mapping[str, str] = os.environ) -> Shard | None:
    """The shard asked for (--shard, else TIKTOK_SHARD), checked: a bad value is a usage
    error now. None: this process takes every account."""
    if option is not None:
        return parse_shard(option, source="--shard", environ=environ)
    value = environ.get(SHARD_ENV)
    return parse_shard(value, source=SHARD_ENV, environ=environ) if value else None


def parse_shard(text: str, *, source: str, environ: Mapping[str, str]) -> Shard:
    """``K/N`` or ``auto/N`` (K from JOB_COMPLETION_INDEX) as a Shard; anything else is a
    usage error naming ``source`` (the option or the environment variable it came from)."""
    given = text.strip()
    match = _SPEC.fullmatch(given)
    if match is None:
        raise UsageError(
            f"{source} takes K/N, share K of N counted from 0 (like 0/3, 1/3, 2/3), or auto/N; "
            f"not {shown(text, 40)}"
        )
    count = int(match["count"])
    if count < 1:
        raise UsageError(f"{source} {given}: N, the number of shares, must be 1 or more")
    if match["index"] == AUTO:
        index = _index_from_environment(given, source, count, environ)
    else:
        index = int(match["index"])
        if index >= count:
            raise UsageError(f"{source} {given}: K must be from 0 to {count - 1} (shares count from 0)")
    return Shard(index, count)


def _index_from_environment(given: str, source: str, count: int, environ: Mapping[str, str]) -> int:
    value = environ.get(INDEX_ENV)
    if value is None or not value.strip():
        raise UsageError(
            f"{source} {given} takes K from {INDEX_ENV} (set in each pod of a Kubernetes "
            "Indexed Job), which is not set; give K/N instead"
        )
    if not _INDEX.fullmatch(value.strip()) or int(value) >= count:
        raise UsageError(
            f"{source} {given}: {INDEX_ENV} is {shown(value, 40)}, not a share of {count} "
            f"(0 to {count - 1}); the Job's completions must be {count}"
        )
    return int(value)


def _accounts(number: int) -> str:
    return f"{number} account" + ("" if number == 1 else "s")
