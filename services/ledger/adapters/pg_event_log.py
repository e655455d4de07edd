"""The log of record in PostgreSQL: the `EventLog` port (`service_layer/ports.py`).

The head is a row (`log_head`) whose lock every append takes first and holds until
it commits; `service_layer/group_commit.py` says why that is the design.

One pooled connection is held while there is work and given back when group commit
says it is idle (`release`): a checkout costs the pool's pre-ping (three round trips,
in profiles 7 % of the ingest's CPU when it happened for every group).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.ledger.domain.appends import Known, Row
from shared.events import RecordedEvent, decode_data
from shared.infra import eventlog
from shared.infra.db import raw

NOTIFY_CHANNEL = "tally_log"
_EVENT_ID_KEY = "events_event_id_key"  # the unique index on events.event_id

# The group's rows arrive as one JSON array, unpacked by the server: encoding it
# is one orjson call, where nine array parameters cost asyncpg an element-by-element
# encoding (with an ABC isinstance check for each): 370 rows, 2.7 ms of Python + 6.6
# ms to insert and commit became 1.1 + 5.5 ms. `data` goes in as the JSON object it
# is (jsonb keeps no formatting, so the stored value is what `encode_data` gives).
# Outside a transaction block the statement commits by itself; it locks the head
# only if the head is still where the model is ($2), else nothing happens and no
# row comes back. The lock is held to the commit.
_INSERT_AT = """
WITH head AS (
    SELECT position FROM log_head WHERE position = $2 FOR UPDATE
), ins AS (
    INSERT INTO events
        (position, event_id, stream, version, type, schema_version, data, recorded_at, actor)
    SELECT position, event_id, stream, version, type, schema_version, data, recorded_at, actor
    FROM jsonb_populate_recordset(NULL::events, $1::jsonb)
    WHERE EXISTS (SELECT FROM head)
), moved AS (
    UPDATE log_head SET position = $3 WHERE EXISTS (SELECT FROM head) RETURNING position
)
SELECT position, pg_notify('tally_log', position::text) FROM moved
"""


async def known_events(pg: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, Known]:
    """The log's events with these ids (`pg` is asyncpg's connection).

    One index probe per id, whatever the table's statistics say: with
    `event_id = ANY($1)` and a few hundred ids the planner may choose a sequential
    scan testing every row against the whole array (seen: 70 ms on 60k rows)."""
    if not ids:
        return {}
    rows = await pg.fetch(
        "SELECT e.event_id, e.type, e.schema_version, e.data::text, e.position, e.stream,"
        " e.version FROM unnest($1::uuid[]) AS u(id) CROSS JOIN LATERAL"
        " (SELECT * FROM events WHERE event_id = u.id OFFSET 0) AS e",
        ids,
    )
    return {r[0]: Known(r[1], decode_data(r[1], r[2], r[3]), r[4], r[5], r[6]) for r in rows}


class _Locked:
    def __init__(self, pg: Any, head: int) -> None:
        self._pg = pg
        self.head = head

    async def read_after(self, after: int, limit: int, upto: int) -> list[RecordedEvent]:
        return await eventlog.read_after(self._pg, after, limit, upto=upto)

    async def known_events(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Known]:
        return await known_events(self._pg, ids)

    async def insert(self, rows: list[Row], start: int) -> None:
        if rows:
            await self._pg.fetchval(
                _INSERT_AT, orjson.dumps(rows).decode(), start, start + len(rows)
            )


class PgEventLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None

    async def _pg(self) -> Any:
        if self._conn is None:
            # the pool's pre-ping replaces a connection that died while idle
            self._conn = await self.engine.connect()
        return await raw(self._conn)

    async def head(self) -> int:
        return await eventlog.head(await self._pg())

    async def read_after(self, after: int, limit: int, upto: int) -> list[RecordedEvent]:
        return await eventlog.read_after(await self._pg(), after, limit, upto=upto)

    async def insert_at(self, rows: list[Row], start: int) -> bool:
        pg = await self._pg()
        end = start + len(rows)
        return await pg.fetchval(_INSERT_AT, orjson.dumps(rows).decode(), start, end) is not None

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[_Locked]:
        pg = await self._pg()
        async with pg.transaction():
            head = int(await pg.fetchval("SELECT position FROM log_head FOR UPDATE"))
            yield _Locked(pg, head)

    def id_taken(self, exc: BaseException) -> bool:
        return (
            isinstance(exc, asyncpg.UniqueViolationError) and exc.constraint_name == _EVENT_ID_KEY
        )

    def refused(self, exc: BaseException) -> bool:
        """The server answered with an error: the statement (or transaction) was rolled
        back and nothing of it committed. Not so for a lost connection, a time-out or
        a cancellation (classes 08 and 57, or no answer at all): the outcome is
        unknown."""
        return isinstance(exc, asyncpg.PostgresError) and not isinstance(
            exc, asyncpg.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError
        )

    async def discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            await _close_quietly(conn)

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await _close_quietly(conn)


async def _close_quietly(conn: AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        await conn.close()
