"""The floor for bench.py: the least code that exports a follower list to a file.

    python tests/benchmarks/floor.py jsonl|csv USER OUT

Reads TIKTOK_GATEWAY_URL, TIKTOK_API_URL and TIKTOK_API_TOKEN like the CLI, looks USER
up once, then walks the token API's pages (cursor = previous ``data.min_time``, stop when
``has_more`` is false) with a bare ``httpx.Client`` and ``orjson``, writing the same
normalized fields, in the same order and spelling, as ``tiktok followers USER -f FORMAT``.
No retries, validation, de-duplication or checkpoints: that is what makes it a floor.
bench.py runs it as a subprocess, like the CLI, so both pay interpreter start-up.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

FIELDS = (
    "unique_id",
    "nickname",
    "user_id",
    "sec_uid",
    "bio",
    "verified",
    "private",
    "followers",
    "following",
    "likes",
    "videos",
    "avatar_url",
)


def normalize(item: dict[str, Any]) -> dict[str, Any]:
    """A mobile follower object as the CLI's normalized record (keys in FIELDS order)."""
    avatars = (item.get("avatar_thumb") or {}).get("url_list") or [None]
    return {
        "unique_id": item.get("unique_id"),
        "nickname": item.get("nickname"),
        "user_id": str(item["uid"]),
        "sec_uid": item.get("sec_uid"),
        "bio": item.get("signature"),
        "verified": bool(item.get("custom_verify") or item.get("enterprise_verify_reason")),
        "private": bool(item.get("secret")),
        "followers": item.get("follower_count"),
        "following": item.get("following_count"),
        "likes": item.get("total_favorited"),
        "videos": item.get("aweme_count"),
        "avatar_url": avatars[0],
    }


def follower_pages(client: httpx.Client, username: str) -> Iterator[list[dict[str, Any]]]:
    """Each page's raw follower objects, following the min_time cursor to the end."""
    gateway, api, token = (
        os.environ[k] for k in ("TIKTOK_GATEWAY_URL", "TIKTOK_API_URL", "TIKTOK_API_TOKEN")
    )
    info = client.get(f"{gateway}/user-info", params={"uniqueId": username})
    uid = orjson.loads(info.content)["data"]["userInfo"]["id"]
    cursor = 0
    while True:
        response = client.get(f"{api}/user/followers", params={"token": token, "uid": uid, "cursor": cursor})
        data = orjson.loads(response.content)["data"]
        yield data["followers"]
        if not data["has_more"]:
            return
        cursor = data["min_time"]


def write_jsonl(pages: Iterator[list[dict[str, Any]]], out: Path) -> None:
    with out.open("wb") as handle:
        for page in pages:
            for item in page:
                handle.write(orjson.dumps(normalize(item), option=orjson.OPT_APPEND_NEWLINE))


def _cell(value: Any) -> Any:
    # The CLI spells booleans true/false and None as an empty cell.
    if value is True or value is False:
        return "true" if value else "false"
    return value


def write_csv(pages: Iterator[list[dict[str, Any]]], out: Path) -> None:
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(FIELDS)
        for page in pages:
            for item in page:
                writer.writerow([_cell(v) for v in normalize(item).values()])


def main(argv: list[str]) -> None:
    fmt, username, out = argv
    writers = {"jsonl": write_jsonl, "csv": write_csv}
    with httpx.Client(timeout=20.0) as client:
        writers[fmt](follower_pages(client, username), Path(out))


if __name__ == "__main__":
    main(sys.argv[1:])
