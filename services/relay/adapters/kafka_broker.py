"""The relay's `Broker` port on Kafka (aiokafka): one producer per session, and a
short-lived admin client for the topic's checks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from services.relay.domain.broker_marker import Delivery
from services.relay.service_layer.ports import OutboxMessage
from shared.infra.kafka import (
    end_offsets,
    make_admin,
    make_producer,
    partition_count,
    recreate_topic,
)
from shared.infra.runtime import within


class KafkaBroker:
    def __init__(self, bootstrap: str, topic: str, producer: Any, timeout: float) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout = timeout
        self._producer = producer

    @classmethod
    async def open(cls, bootstrap: str, topic: str, step_seconds: float) -> KafkaBroker:
        producer = make_producer(bootstrap)
        try:
            await within(step_seconds, producer.start())
        except BaseException:
            await producer.stop()
            raise
        return cls(bootstrap, topic, producer, step_seconds)

    @contextlib.asynccontextmanager
    async def _admin(self) -> AsyncIterator[Any]:
        admin = make_admin(self.bootstrap)
        await within(self.timeout, admin.start())
        try:
            yield admin
        finally:
            await admin.close()

    async def partition_count(self) -> int | None:
        async with self._admin() as admin:
            return await within(self.timeout, partition_count(admin, self.topic))

    async def end_offsets(self, partitions: Sequence[int]) -> dict[int, int]:
        return await within(self.timeout, end_offsets(self.bootstrap, self.topic, partitions))

    async def recreate_topic(self, partitions: int) -> int:
        async with self._admin() as admin:
            return await within(self.timeout, recreate_topic(admin, self.topic, partitions))

    async def publish(self, batch: Sequence[OutboxMessage]) -> list[Delivery]:
        futures = [
            await self._producer.send(self.topic, value=m.value, key=m.key, headers=list(m.headers))
            for m in batch
        ]
        return [(r.partition, r.offset) for r in await asyncio.gather(*futures)]

    async def close(self) -> None:
        await self._producer.stop()
