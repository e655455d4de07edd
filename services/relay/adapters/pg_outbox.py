"""The relay's `Outbox` port on PostgreSQL, and the two tables a Tally installation
publishes: the ledger's log (`events` -> `tally.ledger.v1`) and the recalc service's
finance outbox (`finance_outbox` -> `tally.finance.v1`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import orjson

from services.relay.service_layer.ports import OutboxMessage
from shared.events import stream_key
from shared.infra import eventlog
from shared.infra.db import plain_dsn


class OutboxSource(Protocol):
    """A table the relay publishes: `name` is its `relay_offsets` row, `channel` the
    NOTIFY channel its writers signal on every commit."""

    @property
    def name(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def channel(self) -> str: ...

    async def read_after(self, conn: Any, after: int, limit: int) -> list[OutboxMessage]: ...


@dataclass(frozen=True, slots=True)
class LedgerSource:
    topic: str
    name: str = "ledger"
    channel: str = "tally_log"

    async def read_after(self, conn: Any, after: int, limit: int) -> list[OutboxMessage]:
        return [
            OutboxMessage(
                cursor=position,
                key=stream_key(stream).encode(),
                value=value,
                headers=(("schema", header),),
            )
            for position, stream, value, header in await eventlog.read_envelopes_after(
                conn, after, limit
            )
        ]


@dataclass(frozen=True, slots=True)
class FinanceSource:
    topic: str
    name: str = "finance"
    channel: str = "tally_finance"

    async def read_after(self, conn: Any, after: int, limit: int) -> list[OutboxMessage]:
        rows = await conn.fetch(
            "SELECT seq, project_id, position, type, schema_version, payload::text"
            " FROM finance_outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
            after,
            limit,
        )
        return [
            OutboxMessage(
                cursor=seq,
                key=project_id.encode(),
                value=orjson.dumps(
                    {
                        "seq": seq,
                        "type": type_,
                        "schema_version": version,
                        "project_id": project_id,
                        "position": position,
                        "data": orjson.Fragment(payload),
                    }
                ),
                headers=(("schema", f"{type_}/v{version}".encode()),),
            )
            for seq, project_id, position, type_, version, payload in rows
        ]


class PgOutbox:
    """One connection: the source's rows, its NOTIFY channel and its `relay_offsets` row.

    The stored cursor need not wait for its WAL flush (`synchronous_commit = off`): if
    a database crash loses the last update, the relay resumes from the one before and
    re-sends a suffix, which at-least-once delivery allows (consumers de-duplicate by
    position). What it must never do, skip, cannot follow from an older cursor."""

    def __init__(self, source: OutboxSource, conn: Any) -> None:
        self.source = source
        self.wake = asyncio.Event()
        self._conn = conn

    @classmethod
    async def open(cls, source: OutboxSource, database_url: str) -> PgOutbox:
        conn = await asyncpg.connect(plain_dsn(database_url))
        try:
            await conn.execute("SET synchronous_commit = off")
            outbox = cls(source, conn)
            await conn.add_listener(source.channel, lambda *_: outbox.wake.set())
        except BaseException:
            await conn.close()
            raise
        return outbox

    async def read_after(self, after: int, limit: int) -> list[OutboxMessage]:
        return await self.source.read_after(self._conn, after, limit)

    async def load_cursor(self) -> tuple[int, str | None]:
        row = await self._conn.fetchrow(
            "SELECT position, broker_marker FROM relay_offsets WHERE name = $1",
            self.source.name,
        )
        return (0, None) if row is None else (int(row[0]), row[1])

    async def store_cursor(self, position: int, marker: str) -> None:
        await self._conn.execute(
            "INSERT INTO relay_offsets (name, position, broker_marker) VALUES ($1, $2, $3)"
            " ON CONFLICT (name) DO UPDATE"
            " SET position = EXCLUDED.position, broker_marker = EXCLUDED.broker_marker",
            self.source.name,
            position,
            marker,
        )

    async def close(self) -> None:
        await self._conn.close()
