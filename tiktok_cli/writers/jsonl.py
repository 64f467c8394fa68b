"""JSON lines: the machine format. Text stays exact; ids are strings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

from tiktok_cli.writers.base import Writer


class JsonLinesWriter(Writer):
    name = "jsonl"
    extensions = (".jsonl", ".ndjson", ".json")
    supports_raw = True

    def write(self, row: Mapping[str, Any]) -> None:
        try:
            line = orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            line = _encode_with_surrogates(row)
        self.stream.write(line)


def _encode_with_surrogates(row: Mapping[str, Any]) -> bytes:
    """Encode text holding lone surrogates (which UTF-8 cannot carry) losslessly.

    The stdlib leaves them as raw code points; backslashreplace then spells each one
    as a ``\\udXXX`` escape, which inside a JSON string decodes back to the same value.
    """
    text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "backslashreplace") + b"\n"


WRITER = JsonLinesWriter
