"""The contracts of the relay's ports (services/relay/service_layer/ports.py).

`OutboxContract` and `BrokerContract` run on the in-memory adapters
(`tests/unit/relay/test_memory_ports.py`) and on PostgreSQL and Kafka
(`tests/integration/relay/test_real_ports.py`). A subclass provides the fixtures:
`outbox_kit` (how to open a session, how a writer commits n messages) and
`open_broker` (a session on a topic of its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from services.relay.service_layer.ports import Broker, Outbox, OutboxMessage


@dataclass
class OutboxKit:
    open: Callable[[], Awaitable[Outbox]]
    write: Callable[[int], Awaitable[None]]  # a writer commits this many messages


class OutboxContract:
    async def test_an_empty_outbox_and_no_cursor(self, outbox_kit: OutboxKit) -> None:
        outbox = await outbox_kit.open()
        try:
            assert await outbox.read_after(0, 10) == []
            assert await outbox.load_cursor() == (0, None)
        finally:
            await outbox.close()

    async def test_messages_come_in_cursor_order_after_a_cursor(
        self, outbox_kit: OutboxKit
    ) -> None:
        await outbox_kit.write(5)
        outbox = await outbox_kit.open()
        try:
            assert [m.cursor for m in await outbox.read_after(0, 10)] == [1, 2, 3, 4, 5]
            assert [m.cursor for m in await outbox.read_after(2, 2)] == [3, 4]
            assert await outbox.read_after(5, 10) == []
            assert all(m.key and m.value for m in await outbox.read_after(0, 10))
        finally:
            await outbox.close()

    async def test_a_stored_cursor_is_what_the_next_session_loads(
        self, outbox_kit: OutboxKit
    ) -> None:
        first = await outbox_kit.open()
        await first.store_cursor(3, '{"m": 1}')
        await first.store_cursor(4, '{"m": 2}')
        await first.close()
        second = await outbox_kit.open()
        try:
            assert await second.load_cursor() == (4, '{"m": 2}')
        finally:
            await second.close()

    async def test_a_writers_commit_wakes_an_open_session(self, outbox_kit: OutboxKit) -> None:
        outbox = await outbox_kit.open()
        try:
            outbox.wake.clear()
            await outbox_kit.write(1)
            await asyncio.wait_for(outbox.wake.wait(), 5)
        finally:
            await outbox.close()


def message(cursor: int, key: str) -> OutboxMessage:
    return OutboxMessage(cursor, key.encode(), f'{{"cursor": {cursor}}}'.encode(), ())


class BrokerContract:
    async def test_a_topic_that_does_not_exist_is_created_with_its_partitions(
        self, open_broker: Callable[[], Awaitable[Broker]]
    ) -> None:
        broker = await open_broker()
        try:
            assert await broker.partition_count() is None
            assert await broker.recreate_topic(3) == 3
            assert await broker.partition_count() == 3
        finally:
            await broker.close()

    async def test_deliveries_keep_each_keys_order_on_one_partition(
        self, open_broker: Callable[[], Awaitable[Broker]]
    ) -> None:
        broker = await open_broker()
        try:
            await broker.recreate_topic(3)
            keys = ["a", "b", "c", "d"]
            batch = [message(i + 1, keys[i % 4]) for i in range(20)]
            first = await broker.publish(batch[:10])
            second = await broker.publish(batch[10:])
            delivered = first + second
            assert len(delivered) == 20
            by_key: dict[str, list[tuple[int, int]]] = {}
            for m, (partition, offset) in zip(batch, delivered, strict=True):
                by_key.setdefault(m.key.decode(), []).append((partition, offset))
            for key, places in by_key.items():
                assert len({p for p, _ in places}) == 1, key  # one partition a key
                offsets = [o for _, o in places]
                assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets), key
            # what the broker marker relies on: a partition's end is past the first
            # offset of the last chunk delivered there
            firsts: dict[int, int] = {}
            for partition, offset in second:
                firsts[partition] = min(offset, firsts.get(partition, offset))
            ends = await broker.end_offsets(sorted(firsts))
            assert all(ends[p] > first for p, first in firsts.items()), (ends, firsts)
        finally:
            await broker.close()

    @pytest.mark.parametrize("partitions", [1, 2])
    async def test_recreating_a_topic_empties_it(
        self, open_broker: Callable[[], Awaitable[Broker]], partitions: int
    ) -> None:
        broker = await open_broker()
        try:
            await broker.recreate_topic(3)
            await broker.publish([message(i + 1, f"k{i}") for i in range(6)])
            assert await broker.recreate_topic(partitions) == partitions
            assert await broker.partition_count() == partitions
            ends = await broker.end_offsets(list(range(partitions)))
            assert all(end == 0 for end in ends.values()), ends
        finally:
            await broker.close()
