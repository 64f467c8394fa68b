"""JSON: one array of row objects, streamed row by row like every other format.

``[`` is written first and ``]`` on close, also when the run fails midway, so the output
is always one valid JSON document (``[]`` when nothing was found). A resumed export
carries on after the rows its part file already holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

import orjson

from tiktok_cli.writers.base import Writer, WriterOptions
from tiktok_cli.writers.jsonl import encode_slowly


class JsonWriter(Writer):
    name = "json"
    extensions = (".json",)
    supports_raw = True

    def __init__(self, stream: BinaryIO, columns: Sequence[str], options: WriterOptions) -> None:
        super().__init__(stream, columns, options)
        self._separator = b",\n" if options.rows_written else b"\n"
        self._closed = False
        if options.header:
            stream.write(b"[")

    def write(self, row: Mapping[str, Any]) -> None:
        try:
            data = orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            data = encode_slowly(row)
        self.stream.write(self._separator + data)
        self._separator = b",\n"

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.stream.write(b"\n]\n" if self._separator == b",\n" else b"]\n")
        self.flush()


WRITER = JsonWriter
