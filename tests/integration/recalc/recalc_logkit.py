"""Test helpers: append to the log the way the ledger does, and publish like the relay."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.events import (
    EventData,
    RecordedEvent,
    encode_data,
    encode_envelope,
    schema_header,
    stream_key,
)
from shared.infra.db import plain_dsn

_STREAM_FIELDS = (
    ("project_id", "project"),
    ("user_id", "user"),
    ("company_id", "company"),
    ("role_id", "role"),
)


def stream_of(data: EventData, project: str | None = None) -> str:
    """The stream an event belongs to (events.md); `project` for task/hour/record events."""
    if project is not None:
        return f"project-{project}"
    if data.event_type == "RatesSet":
        level = getattr(data, "level")  # noqa: B009
        field = {
            "role": "role_id",
            "user": "user_id",
            "company_role": "company_id",
            "project_role": "project_id",
        }[level]
        return f"{field.removesuffix('_id')}-{getattr(data, field)}"
    if data.event_type == "FinancesRecalculationRequested":
        return f"project-{getattr(data, 'project_ids')[0]}"  # noqa: B009
    for field, prefix in _STREAM_FIELDS:
        value = getattr(data, field, None)
        if value is not None:
            return f"{prefix}-{value}"
    raise ValueError(f"no stream for {data!r}")


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
