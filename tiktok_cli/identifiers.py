"""Parse and validate what users type where an account is expected.

Validation happens before any request, so a typo costs no network round trip and a
hostile value never reaches a query string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tiktok_cli.errors import UsageError
from tiktok_cli.safetext import shown

if TYPE_CHECKING:
    from tiktok_cli.shards import Shard

# TikTok usernames: letters, digits, underscore and period, 2 to 24 characters.
_USERNAME = re.compile(r"[A-Za-z0-9_.]{2,24}")
# secUids are base64url protobuf blobs that all start with the same header.
_SEC_UID = re.compile(r"MS4wLjABAAAA[A-Za-z0-9_-]{20,200}")
# Numeric user ids are unsigned 64-bit integers.
_UID = re.compile(r"[0-9]{1,20}")
_PROFILE_HOSTS = {"tiktok.com", "www.tiktok.com", "m.tiktok.com", "us.tiktok.com"}
_SHORT_LINK_HOSTS = {"vm.tiktok.com", "vt.tiktok.com"}


class IdKind(str, Enum):
    USERNAME = "username"
    SEC_UID = "secUid"
    UID = "uid"


@dataclass(frozen=True, slots=True)
class Account:
    """An account as the user named it: one of a username, a secUid or a numeric uid.

    ``also`` holds the other ids of the same account when the user gave them too (a row
    of this tool's own output read with --input), so a backend can use the id its API
    takes instead of looking the account up.
    """

    kind: IdKind
    value: str
    also: tuple[tuple[IdKind, str], ...] = ()

    def __str__(self) -> str:
        return "@" + self.value if self.kind is IdKind.USERNAME else f"{self.kind.value} {self.value}"

    def prefer(self, kind: IdKind) -> Account:
        """The same account named by ``kind`` when that id is known, else unchanged."""
        if self.kind is kind:
            return self
        for other, value in self.also:
            if other is kind:
                known = ((self.kind, self.value), *self.also)
                return Account(kind, value, tuple(k for k in known if k[0] is not kind))
        return self


def parse_username(text: str) -> str:
    """Return the bare username from ``name``, ``@name`` or a profile URL."""
    raw = text.strip()
    if "/" in raw:  # usernames never hold a slash: this is a URL, maybe without its scheme
        raw = _username_from_url(raw, original=text)
    elif raw.startswith("@"):
        raw = raw[1:]
    if not _USERNAME.fullmatch(raw) or raw.strip(".") == "":
        raise UsageError(
            f"{shown(text, 80)} is not a valid TikTok username "
            "(2-24 letters, digits, '_' or '.'; '@name' and profile URLs are accepted)"
        )
    return raw


def _username_from_url(url: str, *, original: str) -> str:
    parts = urlsplit(url if "://" in url else "https://" + url)
    host = (parts.hostname or "").lower()
    if host in _SHORT_LINK_HOSTS:
        raise UsageError(
            f"{shown(original, 80)} is a short link; open it in a browser and pass the "
            "profile URL or the @username instead"
        )
    segment = parts.path.strip("/").split("/", 1)[0]
    if host not in _PROFILE_HOSTS or not segment.startswith("@"):
        raise UsageError(
            f"{shown(original, 80)} is not a TikTok profile URL (expected https://www.tiktok.com/@username)"
        )
    return segment[1:]


def parse_sec_uid(text: str) -> str:
    value = text.strip()
    if not _SEC_UID.fullmatch(value):
        raise UsageError(f"{shown(text, 80)} is not a valid secUid (it starts with MS4wLjABAAAA)")
    return value


def parse_uid(text: str) -> str:
    value = text.strip()
    if not _UID.fullmatch(value) or int(value) >= 2**64:
        raise UsageError(f"{shown(text, 80)} is not a valid numeric user id (digits only)")
    return value


@dataclass(frozen=True, slots=True)
class Target:
    """One account to process, with the text the user gave (for --errors files)."""

    text: str
    account: Account

    @property
    def owner(self) -> str:
        """The value of the `owner` column for rows of this account's list."""
        return self.account.value

    @property
    def list_key(self) -> str:
        """Which list of an export this is: the account as given, ``kind:value`` (``uid:123``),
        known before any request (unlike ``User.account_key``). Checkpoints key lists by it,
        so its format stays."""
        return f"{self.account.kind.value}:{self.account.value}"


def read_targets(
    users: Sequence[str],
    input_path: str | None,
    *,
    sec_uid: str | None = None,
    uid: str | None = None,
    unique: bool = False,
    id_options: Sequence[str] = (),
    allow_empty: bool = False,
) -> list[Target]:
    """Every account named by positional USERs, an --input file (``-`` = stdin) and id options.

    Input files hold one USER per line (blank lines and ``#`` comments ignored), or this
    tool's own JSON lines or CSV output (see ``_read_input``). ``id_options`` are the
    options by which the command takes an id: a command with none (user-info) looks
    accounts up by name, so an input row without a ``unique_id`` is refused for it. Any
    invalid entry is a usage error naming where it came from, before any request. An
    input holding no accounts (and nothing else named) is a usage error, or with
    ``allow_empty`` an empty list: the caller then has nothing to do.
    """
    targets = [Target(u, Account(IdKind.USERNAME, parse_username(u))) for u in users]
    if input_path is not None:
        from_file = _read_input(input_path, by_name=not id_options)
        if not from_file and not users and sec_uid is None and uid is None:
            if allow_empty:
                return []
            raise UsageError(f"--input {_input_name(input_path)} holds no accounts")
        targets += from_file
    if sec_uid is not None:
        targets.append(Target(sec_uid, Account(IdKind.SEC_UID, parse_sec_uid(sec_uid))))
    if uid is not None:
        targets.append(Target(uid, Account(IdKind.UID, parse_uid(uid))))
    if not targets:
        options = "".join(f", {option}" for option in id_options)
        raise UsageError(f"name an account: give USER, --input FILE{options}")
    if unique:
        # The same list twice would only be written twice: keep the first mention.
        first: dict[str, Target] = {}
        for target in targets:
            first.setdefault(target.list_key.lower(), target)
        targets = list(first.values())
    return targets


def accounts(
    users: Sequence[str] | None,
    input_path: str | None,
    *,
    shard: Shard | None = None,
    sec_uid: str | None = None,
    uid: str | None = None,
    unique: bool = False,
    id_options: Sequence[str] = (),
) -> list[Target]:
    """The accounts a command processes: USERs, --input's and the id options' (see
    ``read_targets``), with ``shard`` this process's share of them. An --input with none,
    or a share with none, is nothing to do: a note on stderr, and an empty list."""
    from tiktok_cli import console

    targets = read_targets(
        users or [],
        input_path,
        sec_uid=sec_uid,
        uid=uid,
        unique=unique,
        id_options=id_options,
        allow_empty=True,
    )
    if not targets and input_path is not None:
        console.info(nothing_to_do(input_path))
    if shard is not None and targets:
        targets = shard.take(targets)
    return targets


def one_account(user: str | None, *, uid: str | None = None, sec_uid: str | None = None) -> Target:
    """The one account USER, --uid or --sec-uid names (exactly one of them is given)."""
    given = [user] if user is not None else []
    if len(given) + (uid is not None) + (sec_uid is not None) != 1:
        raise UsageError("name one account: USER, --uid or --sec-uid")
    (target,) = read_targets(given, None, uid=uid, sec_uid=sec_uid)
    return target


def nothing_to_do(input_path: str) -> str:
    """The note for an --input that holds no accounts (with ``allow_empty``)."""
    return f"nothing to do: --input {_input_name(input_path)} holds no accounts"


# The columns of this tool's output that name the account of a row.
_ID_FIELDS = {"unique_id": IdKind.USERNAME, "user_id": IdKind.UID, "sec_uid": IdKind.SEC_UID}
_PARSERS = {IdKind.USERNAME: parse_username, IdKind.UID: parse_uid, IdKind.SEC_UID: parse_sec_uid}
# First characters the CSV writer's formula guard prefixes with a quote mark.
_GUARDED = frozenset("=+-@|%\t\r")


def _read_input(path: str, *, by_name: bool = False) -> list[Target]:
    """The accounts of an --input file, in any of the three forms it may take.

    - CSV from ``-f csv`` (first line a header naming ``unique_id`` or ``user_id``,
      also with ``--excel``, an owner column, or formula-guarded cells);
    - otherwise line by line: a line starting with ``{`` is a JSON record from
      ``-f jsonl``, any other line one USER (blank lines and ``#`` comments skipped).
    Records are read by their ``unique_id``, ``user_id`` and ``sec_uid``; the rest is ignored.
    """
    name = _input_name(path)
    text = _read_text(path, name)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    header = _csv_header(first)
    if header is not None:
        return _csv_targets(text, header, name, by_name=by_name)
    targets = []
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith("{"):
            where = f"{name} line {number}"
            targets.append(_record_target(_json_record(line, where), where, by_name=by_name))
            continue
        entry = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            targets.append(Target(entry, Account(IdKind.USERNAME, parse_username(entry))))
        except UsageError as exc:
            raise UsageError(f"{name} line {number}: {exc.message}") from None
    return targets


def _read_text(path: str, name: str) -> str:
    import sys

    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with Path(path).open(encoding="utf-8-sig") as handle:  # tolerate a BOM (Windows, --excel)
                text = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read --input {name}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--input {name} is not UTF-8 text") from None
    return text.removeprefix("\ufeff")


def _csv_header(line: str) -> list[str] | None:
    """The columns, when ``line`` is the header of this tool's CSV output."""
    import csv

    from tiktok_cli.models import FIELDS, OWNER_FIELD

    cells = [c.strip() for c in next(csv.reader([line]), [])]
    known = {OWNER_FIELD, *FIELDS}
    if cells and set(cells) <= known and not {"unique_id", "user_id"}.isdisjoint(cells):
        return cells
    return None


def _csv_targets(text: str, header: list[str], name: str, *, by_name: bool) -> list[Target]:
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""))
    targets: list[Target] = []
    past_header, line = False, 0
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num  # a quoted cell may span lines
            if not any(c.strip() for c in cells):
                continue
            if not past_header:
                past_header = True
                continue
            where = f"{name} line {start}"
            if len(cells) != len(header):
                raise UsageError(f"{where}: {len(cells)} cells where the header has {len(header)}")
            record = {column: _unguard(cell) for column, cell in zip(header, cells, strict=True)}
            targets.append(_record_target(record, where, by_name=by_name))
    except csv.Error as exc:
        raise UsageError(f"{name} line {reader.line_num}: not valid CSV ({exc})") from None
    return targets


def _unguard(cell: str) -> str:
    """A CSV cell as it was before the writer's --excel and formula-guard spellings."""
    if cell.startswith('="') and cell.endswith('"') and cell[2:-1].isdigit():
        return cell[2:-1]  # --excel writes ids as ="123"
    if cell.startswith("'") and cell[1:2] in _GUARDED:
        return cell[1:].replace("\\|", "|")
    return cell


def _json_record(line: str, where: str) -> dict[str, Any]:
    import orjson

    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise UsageError(f"{where}: not a valid JSON record") from None
    if not isinstance(record, dict):
        raise UsageError(f"{where}: not a JSON object")
    return record


def _record_target(record: Mapping[str, Any], where: str, *, by_name: bool) -> Target:
    """One account from a record of this tool's output: its username, with its ids."""
    ids: list[tuple[IdKind, str]] = []
    for column, kind in _ID_FIELDS.items():
        value = record.get(column)
        if value is None or value == "":
            continue
        if isinstance(value, int) and not isinstance(value, bool) and kind is IdKind.UID:
            value = str(value)
        if not isinstance(value, str):
            raise UsageError(f"{where}: {column} is {type(value).__name__}, not text")
        try:
            ids.append((kind, _PARSERS[kind](value)))
        except UsageError as exc:
            raise UsageError(f"{where}: {column} {exc.message}") from None
    kinds = [kind for kind, _ in ids]
    if IdKind.USERNAME not in kinds and IdKind.UID not in kinds:
        raise UsageError(f"{where}: no unique_id or user_id")
    if by_name and IdKind.USERNAME not in kinds:
        raise UsageError(f"{where}: this command looks accounts up by username, and the row has no unique_id")
    (kind, value), *also = ids  # unique_id first when there is one: messages and owner read best
    account = Account(kind, value, tuple(also))
    return Target(_text(ids), account)


def _text(ids: Sequence[tuple[IdKind, str]]) -> str:
    """How the account is written to --errors FILE: a USER line, or a JSON record with its ids."""
    if len(ids) == 1 and ids[0][0] is IdKind.USERNAME:
        return ids[0][1]
    import orjson

    fields = {kind: column for column, kind in _ID_FIELDS.items()}
    return orjson.dumps({fields[kind]: value for kind, value in ids}).decode()


def _input_name(path: str) -> str:
    return "stdin" if path == "-" else path
