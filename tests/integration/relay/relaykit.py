"""Helpers of the relay tests: a log writer that appends like the ledger, a finance
outbox writer that appends like the recalc service, a topic reader, a relay runner."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from services.relay.service_layer.relay import OutboxRelay
from shared.events import EventData, JobRoleDefined, ProjectCreated, encode_data
from shared.infra.db import plain_dsn
from shared.infra.kafka import make_consumer


def sample_events(count: int, keys: int) -> list[tuple[str, EventData]]:
    """`count` events over `keys` streams (projects and roles), round robin."""
    out: list[tuple[str, EventData]] = []
    for i in range(count):
        k = i % keys
        if k % 2:
            out.append((f"project-p{k}", ProjectCreated(project_id=f"p{k}", name=f"n{i}")))
        else:
            out.append((f"role-r{k}", JobRoleDefined(role_id=f"r{k}", name=f"n{i}")))
    return out


class LogWriter:
    """Appends like the ledger: lock log_head, number the events, bump the head, NOTIFY."""

    def __init__(self, url: str) -> None:
        self.dsn = plain_dsn(url)

    async def append(self, events: Sequence[tuple[str, EventData]]) -> int:
        conn = await asyncpg.connect(self.dsn)
        try:
            async with conn.transaction():
                head = int(await conn.fetchval("SELECT position FROM log_head FOR UPDATE"))
                versions: dict[str, int] = {}
                rows: list[tuple[Any, ...]] = []
                for stream, data in events:
                    if stream not in versions:
                        versions[stream] = int(
                            await conn.fetchval(
                                "SELECT coalesce(max(version), 0) FROM events WHERE stream = $1",
                                stream,
                            )
                        )
                    versions[stream] += 1
                    head += 1
                    rows.append(
                        (
                            head,
                            uuid.uuid4(),
                            stream,
                            versions[stream],
                            data.event_type,
                            data.schema_version,
                            encode_data(data).decode(),
                            datetime(2024, 1, 2, 3, tzinfo=UTC),
                            "test",
                        )
                    )
                await conn.executemany(
                    "INSERT INTO events (position, event_id, stream, version, type,"
                    " schema_version, data, recorded_at, actor)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)",
                    rows,
                )
                await conn.execute("UPDATE log_head SET position = $1", head)
                await conn.execute("NOTIFY tally_log")
            return head
        finally:
            await conn.close()


class FinanceWriter:
    """Appends to the finance outbox like the recalc service: seqs from finance_head."""

    def __init__(self, url: str) -> None:
        self.dsn = plain_dsn(url)

    async def append(self, rows: Sequence[tuple[str, int, dict[str, Any]]]) -> int:
        """Each row is (project id, ledger position, payload), published as
        ProjectFinancesChanged v1."""
        conn = await asyncpg.connect(self.dsn)
        try:
            async with conn.transaction():
                top = int(
                    await conn.fetchval(
                        "UPDATE finance_head SET seq = seq + $1 RETURNING seq", len(rows)
                    )
                )
                first = top - len(rows) + 1
                await conn.executemany(
                    "INSERT INTO finance_outbox"
                    " (seq, project_id, position, type, schema_version, payload)"
                    " VALUES ($1, $2, $3, 'ProjectFinancesChanged', 1, $4::jsonb)",
                    [
                        (first + i, project, position, orjson.dumps(payload).decode())
                        for i, (project, position, payload) in enumerate(rows)
                    ],
                )
                await conn.execute("NOTIFY tally_finance")
            return top
        finally:
            await conn.close()


@dataclass(frozen=True)
class Message:
    partition: int
    offset: int
    key: str
    value: dict[str, Any]
    headers: dict[str, bytes]


async def read_topic(
    bootstrap: str, topic: str, done: Callable[[list[Message]], bool], wait: float = 30.0
) -> list[Message]:
    """Every message of `topic` from the start, until `done(messages)` holds."""
    consumer = make_consumer(bootstrap, topic, group_id=None)
    await consumer.start()
    out: list[Message] = []
    try:
        async with asyncio.timeout(wait):
            while not done(out):
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    out.extend(
                        Message(
                            r.partition,
                            r.offset,
                            r.key.decode(),
                            orjson.loads(r.value),
                            dict(r.headers),
                        )
                        for r in records
                    )
    finally:
        await consumer.stop()
    # Per partition the consumer yields offset order; keep it, partitions in turn.
    return sorted(out, key=lambda m: (m.partition, m.offset))


def covers(field: str, upto: int) -> Callable[[list[Message]], bool]:
    """done(): the messages hold every `field` value 1..upto."""
    return lambda msgs: {m.value[field] for m in msgs} >= set(range(1, upto + 1))


async def wait_until(check: Callable[[], bool], wait: float = 30.0) -> None:
    async with asyncio.timeout(wait):
        while True:
            if check():
                return
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[asyncio.Task[None]]:
    """The relay as a task for the block; cancelled (like a killed process) after it."""
    task = asyncio.create_task(relay.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
