"""The relay's ports in memory: an outbox table with its cursor row, and a broker.

They keep the ports' contracts (`tests/contracts/relay_contracts.py` runs against
these and against PostgreSQL and Kafka), so the relay's own tests need no server.

Like the embedded broker, `MemoryBroker.restart(keep=False)` comes back empty; like
a real one, `restart(keep=True)` keeps everything. `MemoryBroker.fail_next(exc)`
makes the next publish raise `exc` before it sends anything.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.relay.domain.broker_marker import Delivery
from services.relay.service_layer.ports import OutboxMessage


@dataclass
class MemoryTable:
    """A gap-free outbox table and its relay's cursor row; shared by its sessions."""

    messages: list[OutboxMessage] = field(default_factory=list)
    cursor: tuple[int, str | None] = (0, None)
    sessions: list[MemoryOutbox] = field(default_factory=list)
    stores: list[int] = field(default_factory=list)  # every cursor stored, in order

    def append(self, key: str, value: bytes) -> OutboxMessage:
        """A writer's commit: the next cursor, and every open session is woken."""
        message = OutboxMessage(len(self.messages) + 1, key.encode(), value, ())
        self.messages.append(message)
        for session in self.sessions:
            session.wake.set()
        return message

    async def open(self) -> MemoryOutbox:
        session = MemoryOutbox(self)
        self.sessions.append(session)
        return session


class MemoryOutbox:
    def __init__(self, table: MemoryTable) -> None:
        self.table = table
        self.wake = asyncio.Event()

    async def read_after(self, after: int, limit: int) -> list[OutboxMessage]:
        return self.table.messages[after : after + limit]

    async def load_cursor(self) -> tuple[int, str | None]:
        return self.table.cursor

    async def store_cursor(self, position: int, marker: str) -> None:
        self.table.cursor = (position, marker)
        self.table.stores.append(position)

    async def close(self) -> None:
        if self in self.table.sessions:
            self.table.sessions.remove(self)


@dataclass
class MemoryBroker:
    """Topics of partitions of (key, value) messages; offsets count from 0."""

    topics: dict[str, list[list[tuple[bytes, bytes]]]] = field(default_factory=dict)
    #: partitions a topic gets when a producer sends to a topic that does not exist
    auto_create: int = 1
    faults: list[BaseException] = field(default_factory=list)

    def restart(self, *, keep: bool) -> None:
        if not keep:
            self.topics.clear()

    def fail_next(self, exc: BaseException) -> None:
        self.faults.append(exc)

    def read(self, topic: str) -> list[tuple[int, int, bytes, bytes]]:
        """Every message of `topic`: (partition, offset, key, value)."""
        return [
            (p, o, key, value)
            for p, messages in enumerate(self.topics.get(topic, []))
            for o, (key, value) in enumerate(messages)
        ]

    async def open(self, topic: str) -> MemoryBrokerSession:
        return MemoryBrokerSession(self, topic)


class MemoryBrokerSession:
    def __init__(self, broker: MemoryBroker, topic: str) -> None:
        self.broker = broker
        self.topic = topic

    async def partition_count(self) -> int | None:
        partitions = self.broker.topics.get(self.topic)
        return None if partitions is None else len(partitions)

    async def end_offsets(self, partitions: Sequence[int]) -> dict[int, int]:
        topic = self.broker.topics.get(self.topic, [])
        return {p: len(topic[p]) if p < len(topic) else 0 for p in partitions}

    async def recreate_topic(self, partitions: int) -> int:
        self.broker.topics[self.topic] = [[] for _ in range(partitions)]
        return partitions

    async def publish(self, batch: Sequence[OutboxMessage]) -> list[Delivery]:
        if self.broker.faults:
            raise self.broker.faults.pop(0)
        topic = self.broker.topics.setdefault(
            self.topic, [[] for _ in range(self.broker.auto_create)]
        )
        out: list[Delivery] = []
        for message in batch:
            partition = zlib.crc32(message.key) % len(topic)
            topic[partition].append((message.key, message.value))
            out.append((partition, len(topic[partition]) - 1))
        return out

    async def close(self) -> None:
        pass
