"""`wait_for_port`: how the embedded servers wait for their listener (tenacity polls)."""

from __future__ import annotations

import socket
import time

import pytest

from shared.infra.embedded import free_port, wait_for_port


def test_it_gives_up_with_a_timeout_error_after_its_time() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=f"nothing listens on 127.0.0.1:{port}"):
        wait_for_port("127.0.0.1", port, timeout=0.3)
    assert 0.25 <= time.monotonic() - started < 2.0


def test_it_returns_once_something_listens() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        started = time.monotonic()
        wait_for_port("127.0.0.1", server.getsockname()[1], timeout=5)
        assert time.monotonic() - started < 1.0
