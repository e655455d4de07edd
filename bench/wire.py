"""A lean HTTP/1.1 keep-alive connection for the load loops.

httpx spends more CPU per request than Tally's ledger spends on a single event,
so with it the harness measured its own ceiling (~1,100 requests/s here), not
Tally's. This lane writes a prepared request head and reads the response by its
Content-Length: enough for Tally's JSON answers, an order of magnitude cheaper.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit


class WireError(Exception):
    pass


class Lane:
    """One connection, one request at a time (a client that waits for its answer)."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._auth = f"Authorization: Bearer {token}\r\n".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """(status, body). A broken connection is dropped and the error raised."""
        reader, writer = await self._connect()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        ).encode()
        try:
            writer.write(head + self._auth + b"\r\n" + body)
            status_line = await reader.readline()
            if not status_line:
                raise WireError("connection closed by the server")
            status = int(status_line.split(b" ", 2)[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            payload = await reader.readexactly(length) if length else b""
        except WireError:
            await self.close()  # e.g. the server closed an idle keep-alive connection
            raise
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            await self.close()
            raise WireError(f"{type(exc).__name__}: {exc}") from exc
        return status, payload

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
