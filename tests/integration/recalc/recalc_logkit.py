"""Test helpers: append to the log the way the ledger does, and publish like the relay."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from recalc_scenarios import stream_of

from shared.events import (
    EventData,
    RecordedEvent,
    encode_data,
    encode_envelope,
    schema_header,
    stream_key,
)
from shared.infra.db import plain_dsn


class LogWriter:
    """Appends like the ledger: lock log_head, number the events, bump the head."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.recorded: list[RecordedEvent] = []

    async def append(
        self,
        items: Sequence[EventData | tuple[EventData, str]],
        recorded_at: datetime | None = None,
    ) -> list[RecordedEvent]:
        """Each item is an event, or (event, project id) for events in a project stream
        that do not name their project (tasks, hours, records)."""
        when = recorded_at or datetime(2023, 6, 19, 12, tzinfo=UTC)
        conn = await asyncpg.connect(plain_dsn(self.url))
        out: list[RecordedEvent] = []
        try:
            async with conn.transaction():
                head = int(await conn.fetchval("SELECT position FROM log_head FOR UPDATE"))
                for item in items:
                    data, project = item if isinstance(item, tuple) else (item, None)
                    stream = stream_of(data, project)
                    version = int(
                        await conn.fetchval(
                            "SELECT coalesce(max(version), 0) + 1 FROM events WHERE stream = $1",
                            stream,
                        )
                    )
                    head += 1
                    event = RecordedEvent(
                        position=head,
                        event_id=str(uuid.uuid4()),
                        stream=stream,
                        version=version,
                        recorded_at=when,
                        actor="test",
                        data=data,
                    )
                    await conn.execute(
                        "INSERT INTO events (position, event_id, stream, version, type,"
                        " schema_version, data, recorded_at, actor)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)",
                        event.position,
                        uuid.UUID(event.event_id),
                        stream,
                        version,
                        data.event_type,
                        data.schema_version,
                        encode_data(data).decode(),
                        when,
                        "test",
                    )
                    out.append(event)
                await conn.execute("UPDATE log_head SET position = $1", head)
        finally:
            await conn.close()
        self.recorded.extend(out)
        return out


async def create_topic(bootstrap: str, topic: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=topic, num_partitions=partitions, replication_factor=1)]
        )
    finally:
        await admin.close()


async def publish(bootstrap: str, topic: str, events: Sequence[RecordedEvent]) -> None:
    """Publish like the relay: key = stream key, value = envelope, schema header."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic,
                encode_envelope(event),
                key=stream_key(event.stream).encode(),
                headers=[("schema", schema_header(event.data))],
            )
    finally:
        await producer.stop()
