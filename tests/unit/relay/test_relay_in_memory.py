"""The relay on its in-memory ports: no server. (The same relay on PostgreSQL and
Kafka: tests/integration/relay/test_relay.py.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

import orjson
import pytest

from services.relay.adapters.memory import MemoryBroker, MemoryTable
from services.relay.service_layer.ports import Broker
from services.relay.service_layer.relay import OutboxRelay

TOPIC = "t"


def relay_on(table: MemoryTable, broker: MemoryBroker, **options: float) -> OutboxRelay:
    async def open_broker() -> Broker:
        return await broker.open(TOPIC)

    settings = {
        "chunk_size": 7,
        "poll_interval": 0.02,
        "backoff_initial": 0.01,
        "backoff_max": 0.05,
        "timeout": 5.0,
        "check_interval": 0.05,
        "store_every": 0.0,
        **options,
    }
    return OutboxRelay("outbox", TOPIC, table.open, open_broker, partitions=3, **settings)  # type: ignore[arg-type]


def write(table: MemoryTable, start: int, count: int, keys: int = 4) -> None:
    for n in range(start, start + count):
        table.append(f"k{n % keys}", orjson.dumps({"n": n}))


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[None]:
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if check():
                return
            await asyncio.sleep(0.005)


def per_key(broker: MemoryBroker) -> dict[bytes, list[int]]:
    out: dict[bytes, list[int]] = defaultdict(list)
    for _, _, key, value in broker.read(TOPIC):
        out[key].append(orjson.loads(value)["n"])
    return out


async def test_every_message_arrives_in_order_per_key_and_the_cursor_is_stored() -> None:
    table, broker = MemoryTable(), MemoryBroker()
    write(table, 1, 30)
    relay = relay_on(table, broker)
    async with running(relay):
        await until(lambda: relay.position == 30)
        write(table, 31, 10)  # a commit wakes it
        await until(lambda: relay.position == 40)
    assert table.cursor[0] == 40
    seen = per_key(broker)
    assert sorted(n for ns in seen.values() for n in ns) == list(range(1, 41))
    assert all(ns == sorted(ns) for ns in seen.values())
    assert len(broker.topics[TOPIC]) == 3  # created with the relay's partitions


async def test_a_failed_publish_resumes_from_the_stored_cursor() -> None:
    table, broker = MemoryTable(), MemoryBroker()
    write(table, 1, 20)
    relay = relay_on(table, broker, store_every=60.0)  # stores only when idle
    broker.fail_next(ConnectionError("broker went away"))
    async with running(relay):
        await until(lambda: relay.position == 20)
        write(table, 21, 20)
        await until(lambda: len(broker.read(TOPIC)) >= 40)
        broker.fail_next(ConnectionError("and again"))  # mid-stream, after a store
        write(table, 41, 20)
        await until(lambda: relay.position == 60)
    seen = per_key(broker)
    assert sorted({n for ns in seen.values() for n in ns}) == list(range(1, 61))
    for ns in seen.values():  # repeats only as a re-sent suffix
        first = list(dict.fromkeys(ns))
        assert first == sorted(first)


async def test_a_broker_that_comes_back_empty_gets_everything_again() -> None:
    table, broker = MemoryTable(), MemoryBroker()
    write(table, 1, 25)
    relay = relay_on(table, broker)
    async with running(relay):
        await until(lambda: relay.position == 25)
        broker.restart(keep=False)
        await until(lambda: len(broker.read(TOPIC)) == 25 and relay.position == 25)
    assert sorted(n for ns in per_key(broker).values() for n in ns) == list(range(1, 26))
    assert 0 in table.stores[1:]  # the cursor went back to the start once


async def test_a_broker_that_keeps_its_data_is_not_republished() -> None:
    table, broker = MemoryTable(), MemoryBroker()
    write(table, 1, 25)
    relay = relay_on(table, broker)
    async with running(relay):
        await until(lambda: relay.position == 25)
        broker.restart(keep=True)
        await asyncio.sleep(0.2)  # several broker checks
    assert len(broker.read(TOPIC)) == 25
    assert 0 not in table.stores


async def test_a_busy_relay_stores_its_cursor_seldom_and_at_once_when_idle() -> None:
    table, broker = MemoryTable(), MemoryBroker()
    write(table, 1, 100)  # 15 chunks
    relay = relay_on(table, broker, store_every=60.0, poll_interval=0.05)
    async with running(relay):
        await until(lambda: relay.position == 100)
    assert table.stores == [100]


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        ([False] * 5, [0.01, 0.02, 0.04, 0.05, 0.05]),
        ([False, False, True, False], [0.01, 0.02, 0.01, 0.02]),
    ],
)
def test_the_back_off_doubles_to_its_cap_and_starts_over_after_progress(
    progress: list[bool], expected: list[float]
) -> None:
    relay = relay_on(MemoryTable(), MemoryBroker())
    waits = []
    for progressed in progress:
        relay._progressed = progressed
        waits.append(relay._backoff(None))  # type: ignore[arg-type]
    assert waits == pytest.approx(expected)


async def test_a_broker_emptied_under_a_topic_of_the_same_shape_is_noticed_when_idle() -> None:
    """The topic is there again, with its partitions, but without our messages: only
    the end offsets can tell (`BrokerMarker.behind`)."""
    table, broker = MemoryTable(), MemoryBroker()
    write(table, 1, 25)
    relay = relay_on(table, broker)
    async with running(relay):
        await until(lambda: relay.position == 25)
        broker.restart(keep=False)
        broker.topics[TOPIC] = [[], [], []]  # re-created by someone else, empty
        await until(lambda: len(broker.read(TOPIC)) == 25)
    assert sorted(n for ns in per_key(broker).values() for n in ns) == list(range(1, 26))


async def test_offsets_that_go_back_mid_stream_restart_the_publication() -> None:
    """A busy relay sees the loss in its own deliveries (`BrokerMarker.regressed`),
    long before its next check of the broker."""
    table, broker = MemoryTable(), MemoryBroker()
    write(table, 1, 25)
    relay = relay_on(table, broker, check_interval=60.0)
    async with running(relay):
        await until(lambda: relay.position == 25)
        broker.restart(keep=False)
        broker.topics[TOPIC] = [[], [], []]
        write(table, 26, 5)
        await until(lambda: len(broker.read(TOPIC)) >= 30 and relay.position == 30)
    assert sorted({n for ns in per_key(broker).values() for n in ns}) == list(range(1, 31))
