"""The outbox relays against the real PostgreSQL and the real broker (Tansu)."""

from __future__ import annotations

import itertools
from collections import defaultdict

import asyncpg
import pytest
from relaykit import (
    FinanceWriter,
    LogWriter,
    Message,
    covers,
    read_topic,
    running,
    sample_events,
    wait_until,
)

from services.relay import bootstrap
from services.relay.adapters.pg_outbox import FinanceSource, LedgerSource, OutboxSource
from services.relay.domain.broker_marker import BrokerMarker
from services.relay.service_layer.ports import Outbox
from services.relay.service_layer.relay import OutboxRelay
from shared.events import decode_envelope, stream_key
from shared.infra.db import plain_dsn
from shared.infra.embedded import EmbeddedBroker

pytestmark = pytest.mark.integration


def make_relay(
    source: OutboxSource,
    url: str,
    broker_bootstrap: str,
    chunk: int = 64,
    *,
    store_every: float = 0.0,
    poll_interval: float = 0.1,
    check_interval: float = 0.3,
) -> OutboxRelay:
    """A relay with short intervals; by default it stores its cursor after each chunk."""
    return bootstrap.relay(
        source,
        url,
        broker_bootstrap,
        partitions=3,
        chunk_size=chunk,
        poll_interval=poll_interval,
        backoff_initial=0.05,
        backoff_max=0.5,
        timeout=10.0,
        check_interval=check_interval,
        store_every=store_every,
    )


def count_stores(relay: OutboxRelay) -> list[int]:
    """The positions the relay stores its cursor at, as it stores them."""
    stores: list[int] = []
    real = relay._store

    async def counting(outbox: Outbox, position: int, marker: BrokerMarker) -> None:
        stores.append(position)
        await real(outbox, position, marker)

    relay._store = counting  # type: ignore[method-assign]
    return stores


def assert_per_key_order(messages: list[Message], field: str, upto: int, restarts: int) -> None:
    """Every value 1..upto arrived; per key, the first deliveries are in order, and
    repeats only come as re-sent suffixes: at most one new run per restart."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for m in messages:
        by_key[m.key].append(m.value[field])
    assert {v for seq in by_key.values() for v in seq} == set(range(1, upto + 1))
    for key, seq in by_key.items():
        first_seen = list(dict.fromkeys(seq))
        assert first_seen == sorted(first_seen), key
        runs = 1 + sum(1 for a, b in itertools.pairwise(seq) if b <= a)
        assert runs <= restarts + 1, (key, seq)


async def stored_offset(url: str, name: str) -> int | None:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        value = await conn.fetchval("SELECT position FROM relay_offsets WHERE name = $1", name)
        return None if value is None else int(value)
    finally:
        await conn.close()


async def test_every_event_reaches_the_topic_in_position_order_per_key(
    log_writer: LogWriter, fresh_database_url: str, broker: EmbeddedBroker, topic: str
) -> None:
    events = sample_events(350, keys=9)
    await log_writer.append(events[:200])
    relay = make_relay(LedgerSource(topic), fresh_database_url, broker.bootstrap)
    async with running(relay):
        for start in (200, 250, 300):  # appends while the relay runs wake it up
            await log_writer.append(events[start : start + 50])
        await wait_until(lambda: relay.position == 350)

    messages = await read_topic(broker.bootstrap, topic, covers("position", 350))
    assert len(messages) == 350  # nothing was re-sent: no failure happened
    assert_per_key_order(messages, "position", 350, restarts=0)
    for m in messages:
        recorded = decode_envelope(m.value)
        assert m.key == stream_key(recorded.stream)
        assert m.headers["schema"] == f"{recorded.type}/v1".encode()
        stream, data = events[recorded.position - 1]
        assert (recorded.stream, recorded.data) == (stream, data)
    assert await stored_offset(fresh_database_url, "ledger") == 350


async def test_a_relay_killed_mid_stream_resumes_from_its_stored_offset(
    log_writer: LogWriter, fresh_database_url: str, broker: EmbeddedBroker, topic: str
) -> None:
    events = sample_events(2200, keys=7)
    await log_writer.append(events[:2000])
    first = make_relay(LedgerSource(topic), fresh_database_url, broker.bootstrap, chunk=50)
    async with running(first):
        await wait_until(lambda: first.position >= 500)
    stopped_at = await stored_offset(fresh_database_url, "ledger")
    assert stopped_at is not None and 500 <= stopped_at < 2000  # really mid-stream

    await log_writer.append(events[2000:])
    second = make_relay(LedgerSource(topic), fresh_database_url, broker.bootstrap, chunk=50)
    async with running(second):
        await wait_until(lambda: second.position == 2200)

    messages = await read_topic(broker.bootstrap, topic, covers("position", 2200))
    assert_per_key_order(messages, "position", 2200, restarts=1)


async def test_a_busy_relay_stores_its_cursor_seldom_and_once_idle(
    log_writer: LogWriter, fresh_database_url: str, broker: EmbeddedBroker, topic: str
) -> None:
    events = sample_events(300, keys=5)
    relay = make_relay(
        LedgerSource(topic),
        fresh_database_url,
        broker.bootstrap,
        chunk=20,
        store_every=60,
        poll_interval=0.3,
        check_interval=60,
    )
    stores = count_stores(relay)
    async with running(relay):
        for start in range(0, 300, 50):
            await log_writer.append(events[start : start + 50])
        # Stored only when the relay has been idle for a poll interval.
        await wait_until(lambda: relay.position == 300)
        assert await stored_offset(fresh_database_url, "ledger") == 300
        assert len(stores) <= 2  # not once per chunk (15 chunks at least)
    messages = await read_topic(broker.bootstrap, topic, covers("position", 300))
    assert_per_key_order(messages, "position", 300, restarts=0)


async def test_a_relay_stopped_between_stores_keeps_what_it_published(
    log_writer: LogWriter, fresh_database_url: str, broker: EmbeddedBroker, topic: str
) -> None:
    await log_writer.append(sample_events(100, keys=4))
    relay = make_relay(
        LedgerSource(topic), fresh_database_url, broker.bootstrap, store_every=60, poll_interval=60
    )
    async with running(relay):
        await read_topic(broker.bootstrap, topic, covers("position", 100))
        assert await stored_offset(fresh_database_url, "ledger") is None  # not stored yet
    assert await stored_offset(fresh_database_url, "ledger") == 100


async def test_a_broker_that_comes_back_empty_gets_the_whole_log_again(
    log_writer: LogWriter, fresh_database_url: str, fresh_broker: EmbeddedBroker, topic: str
) -> None:
    events = sample_events(200, keys=5)
    relay = make_relay(LedgerSource(topic), fresh_database_url, fresh_broker.bootstrap)
    async with running(relay):
        await log_writer.append(events[:100])
        await wait_until(lambda: relay.position == 100)
        fresh_broker.stop()
        # Appends do not depend on the broker.
        assert await log_writer.append(events[100:]) == 200
        fresh_broker.start()  # same port, no data
        await wait_until(lambda: relay.position == 200)

    messages = await read_topic(fresh_broker.bootstrap, topic, covers("position", 200))
    # A chunk may have reached the new broker before the loss was noticed.
    assert_per_key_order(messages, "position", 200, restarts=1)


async def test_an_idle_relay_notices_a_broker_restart_and_republishes(
    log_writer: LogWriter, fresh_database_url: str, fresh_broker: EmbeddedBroker, topic: str
) -> None:
    await log_writer.append(sample_events(40, keys=4))
    relay = make_relay(LedgerSource(topic), fresh_database_url, fresh_broker.bootstrap)
    async with running(relay):
        await wait_until(lambda: relay.position == 40)
        fresh_broker.restart()  # nothing is appended afterwards
        messages = await read_topic(fresh_broker.bootstrap, topic, covers("position", 40))
    assert_per_key_order(messages, "position", 40, restarts=0)


async def test_finance_outbox_rows_are_published_keyed_by_project(
    finance_writer: FinanceWriter, fresh_database_url: str, broker: EmbeddedBroker, topic: str
) -> None:
    rows = [(f"p{i % 3}", 100 + i, {"project_id": f"p{i % 3}", "n": i}) for i in range(30)]
    await finance_writer.append(rows[:20])
    relay = make_relay(FinanceSource(topic), fresh_database_url, broker.bootstrap, chunk=8)
    async with running(relay):
        await finance_writer.append(rows[20:])
        await wait_until(lambda: relay.position == 30)

    messages = await read_topic(broker.bootstrap, topic, covers("seq", 30))
    assert len(messages) == 30
    assert_per_key_order(messages, "seq", 30, restarts=0)
    for m in messages:
        project, position, payload = rows[m.value["seq"] - 1]
        assert m.key == project
        assert m.headers["schema"] == b"ProjectFinancesChanged/v1"
        assert m.value == {
            "seq": m.value["seq"],
            "type": "ProjectFinancesChanged",
            "schema_version": 1,
            "project_id": project,
            "position": position,
            "data": payload,
        }
    assert await stored_offset(fresh_database_url, "finance") == 30
