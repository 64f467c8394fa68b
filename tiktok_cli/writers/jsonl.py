"""JSON lines: the machine format. Text stays exact; ids are strings."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from tiktok_cli.errors import UpstreamError
from tiktok_cli.writers.base import Writer


class JsonLinesWriter(Writer):
    name = "jsonl"
    extensions = (".jsonl", ".ndjson")
    supports_raw = True

    def write(self, row: Mapping[str, Any]) -> None:
        self.stream.write(_line(row))

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        lines: list[bytes] = []
        try:
            for row in rows:
                lines.append(_line(row))
        finally:  # one write per page; a row that fails still leaves the rows before it written
            self.stream.write(b"".join(lines))


def _line(row: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(row, option=_LINE)
    except orjson.JSONEncodeError:
        return encode_slowly(row) + b"\n"


_LINE = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def encode_slowly(row: Mapping[str, Any]) -> bytes:
    """What orjson refused (lone surrogates, nesting past its depth), or a clear error (exit 7)."""
    try:
        return _encode_with_surrogates(row)
    except RecursionError:
        raise UpstreamError(
            "TikTok sent an object nested too deeply to write as JSON (hundreds of levels); "
            "drop --raw to write the usual fields"
        ) from None
    except (TypeError, ValueError) as exc:
        raise UpstreamError(f"TikTok sent an object that cannot be written as JSON: {exc}") from None


def _encode_with_surrogates(row: Mapping[str, Any]) -> bytes:
    """Encode text holding lone surrogates (which UTF-8 cannot carry) losslessly.

    The stdlib leaves them as raw code points; backslashreplace then spells each one
    as a ``\\udXXX`` escape, which inside a JSON string decodes back to the same value.
    """
    text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "backslashreplace")


WRITER = JsonLinesWriter
