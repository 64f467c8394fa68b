"""The suite's own safety net: no test reaches a host it did not start."""

from __future__ import annotations

import socket

import pytest
from fakeserver import FakeTikTok


def test_a_port_nobody_in_the_test_listens_on_is_unreachable() -> None:
    with pytest.raises(ConnectionRefusedError, match="test network guard"):
        socket.create_connection(("127.0.0.1", 3000), timeout=1)


def test_a_public_host_is_unreachable() -> None:
    with pytest.raises(ConnectionRefusedError, match="test network guard"):
        socket.create_connection(("93.184.215.14", 80), timeout=1)


def test_a_local_server_of_the_test_is_reachable() -> None:
    with FakeTikTok() as server:
        host, port = server.url.removeprefix("http://").split(":")
        socket.create_connection((host, int(port)), timeout=1).close()
