"""What the relay needs from the outside: an `Outbox` to read (and its stored cursor)
and a `Broker` to publish to. Each has a real adapter (PostgreSQL, Kafka) and an
in-memory one (`adapters/memory.py`); one contract suite per port runs on both
(`tests/contracts/relay_contracts.py`), so the relay's own tests need no server.

Each is opened per session (`Opener`): any error drops both, and the relay opens them
again after its back-off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.relay.domain.broker_marker import Delivery


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    cursor: int
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


class Outbox(Protocol):
    """One session on a gap-free, commit-ordered table and on the relay's cursor."""

    @property
    def wake(self) -> asyncio.Event:
        """Set whenever the table's writers commit (cleared by the relay)."""
        ...

    async def read_after(self, after: int, limit: int) -> list[OutboxMessage]:
        """Committed messages with cursor > `after`, in cursor order, at most `limit`."""
        ...

    async def load_cursor(self) -> tuple[int, str | None]:
        """The stored cursor and broker marker (0 and None when none is stored)."""
        ...

    async def store_cursor(self, position: int, marker: str) -> None: ...

    async def close(self) -> None: ...


class Broker(Protocol):
    """One session on the broker, for the relay's topic."""

    async def partition_count(self) -> int | None:
        """The topic's partitions; None when the topic does not exist."""
        ...

    async def end_offsets(self, partitions: Sequence[int]) -> dict[int, int]: ...

    async def recreate_topic(self, partitions: int) -> int:
        """Delete the topic if it exists and create it with `partitions`; its count."""
        ...

    async def publish(self, batch: Sequence[OutboxMessage]) -> list[Delivery]:
        """Send every message (per key in order) and wait for every delivery: one
        (partition, offset) each, in the batch's order."""
        ...

    async def close(self) -> None: ...


OpenOutbox = Callable[[], Awaitable[Outbox]]
OpenBroker = Callable[[], Awaitable[Broker]]
