"""``record_sent(monkeypatch)``: the URLs the CLI actually sent, as httpx built them.

A cassette's stored requests say what was recorded, not what a run sent; asserting on
them cannot fail. This records every request at ``httpx.Client.send``, before vcrpy or
the network see it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest


def record_sent(monkeypatch: pytest.MonkeyPatch) -> list[httpx.URL]:
    """A list that fills with every URL sent from now until the test ends."""
    urls: list[httpx.URL] = []
    send = httpx.Client.send

    def recording_send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        urls.append(request.url)
        return send(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", recording_send)
    return urls
