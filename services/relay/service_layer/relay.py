"""Outbox relays: publish a gap-free, commit-ordered table to a Kafka topic.

One relay class; its sources are in `services/relay/adapters/sources.py` (the
ledger's log and the finance outbox), wired by `services/relay/bootstrap.py`.

Delivery is at least once, in cursor order per key. A relay reads a chunk after what
it has sent, produces it and awaits every delivery; it stores its cursor after that,
at most every `STORE_EVERY` seconds while busy and at once when idle or stopped, so a
crash re-sends at most a suffix and never skips. Any error (broker,
database) drops every client; the relay backs off and resumes from the STORED cursor.

A broker that lost its data (the embedded broker keeps nothing across restarts) is
detected with `relay_offsets.broker_marker` (see `BrokerMarker`) and the whole
source is published again from the start; consumers de-duplicate by position.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Any

import asyncpg

from services.relay.domain.broker_marker import BrokerMarker, Delivery
from services.relay.service_layer.ports import OutboxMessage, OutboxSource
from shared.infra.db import plain_dsn
from shared.infra.kafka import (
    end_offsets,
    make_admin,
    make_producer,
    partition_count,
    recreate_topic,
)
from shared.infra.runtime import wait_event, within

log = logging.getLogger(__name__)

CHUNK_SIZE = 1000
#: Seconds between stores of the cursor while the relay is busy; an idle relay stores
#: at once. A crash re-sends what was published since the last store (at least once);
#: storing after every chunk cost one more round trip per chunk, a third of the
#: relay's work when events come one by one.
STORE_EVERY = 0.2


class OutboxRelay:
    """Publishes `source` to Kafka until cancelled. Run exactly one per source:
    two relays would interleave their sends and break the order per key."""

    def __init__(
        self,
        source: OutboxSource,
        database_url: str,
        bootstrap: str,
        *,
        partitions: int,
        chunk_size: int = CHUNK_SIZE,
        poll_interval: float = 0.5,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        timeout: float = 30.0,
        check_interval: float = 5.0,
        store_every: float = STORE_EVERY,
    ) -> None:
        self.source = source
        self.dsn = plain_dsn(database_url)
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.chunk_size = chunk_size
        self.poll_interval = poll_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.check_interval = check_interval
        self.store_every = store_every
        #: The stored cursor: everything up to it has been delivered (observability).
        self.position = 0
        self._progressed = False

    async def run(self) -> None:
        delay = self.backoff_initial
        while True:
            self._progressed = False
            try:
                await self._session()
            except Exception as exc:
                log.warning(
                    "relay %s: %s: %s; retrying in %.1fs",
                    self.source.name,
                    type(exc).__name__,
                    exc,
                    delay,
                )
            delay = self.backoff_initial if self._progressed else min(delay * 2, self.backoff_max)
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        """Connect everything, check the broker, then relay until something fails."""
        conn = await within(self.timeout, asyncpg.connect(self.dsn))
        try:
            # The stored offset need not wait for its WAL flush: if a database crash
            # loses the last update, the relay resumes from the one before and re-sends
            # a suffix, which at-least-once delivery allows (consumers de-duplicate by
            # position). What it must never do, skip, cannot follow from an older offset.
            await conn.execute("SET synchronous_commit = off")
            wake = asyncio.Event()
            await conn.add_listener(self.source.channel, lambda *_: wake.set())
            position, marker = await self._load(conn)
            position, marker = await self._check_broker(conn, position, marker)
            self.position = position
            producer = make_producer(self.bootstrap)
            await within(self.timeout, producer.start())
            loop = asyncio.get_running_loop()
            next_check = loop.time() + self.check_interval
            sent, last_store = position, loop.time()  # published up to `sent`
            try:
                while True:
                    wake.clear()  # before reading, so a commit after the read wakes us
                    batch = await self.source.read_after(conn, sent, self.chunk_size)
                    if not batch:
                        woken = await wait_event(wake, self.poll_interval)
                        if sent > position and (not woken or self.store_every <= 0):
                            position, last_store = sent, loop.time()
                            await self._store(conn, position, marker)
                            self.position = position
                        if loop.time() >= next_check:
                            # An idle relay sends nothing that could show a broker
                            # restart, so it looks for one now and then.
                            position, marker = await self._check_broker(conn, position, marker)
                            sent = self.position = position
                            next_check = loop.time() + self.check_interval
                        continue
                    next_check = loop.time() + self.check_interval
                    delivered = await within(self.timeout, self._produce(producer, batch))
                    if marker.regressed(delivered):
                        # Offsets only grow on a broker that keeps its data.
                        await self._store(conn, sent, marker.lost())
                        raise BrokerDataLost(f"offsets of {self.source.topic} went back")
                    sent, marker = batch[-1].cursor, marker.advanced(delivered)
                    self._progressed = True
                    if loop.time() - last_store >= self.store_every:
                        position, last_store = sent, loop.time()
                        await self._store(conn, position, marker)
                        self.position = position
            finally:
                if sent > position:  # a clean stop keeps what it published
                    await _quietly(
                        f"{self.source.name}: store cursor",
                        self._store(conn, sent, marker),
                        self.timeout,
                    )
                await _quietly(f"{self.source.name}: producer stop", producer.stop(), self.timeout)
        finally:
            await _quietly(f"{self.source.name}: connection close", conn.close(), self.timeout)

    async def _produce(self, producer: Any, batch: Sequence[OutboxMessage]) -> list[Delivery]:
        futures = [
            await producer.send(
                self.source.topic, value=m.value, key=m.key, headers=list(m.headers)
            )
            for m in batch
        ]
        return [(r.partition, r.offset) for r in await asyncio.gather(*futures)]

    async def _load(self, conn: Any) -> tuple[int, BrokerMarker]:
        row = await conn.fetchrow(
            "SELECT position, broker_marker FROM relay_offsets WHERE name = $1",
            self.source.name,
        )
        if row is None:
            return 0, BrokerMarker(self.source.topic)
        return int(row[0]), BrokerMarker.parse(row[1], self.source.topic)

    async def _store(self, conn: Any, position: int, marker: BrokerMarker) -> None:
        await conn.execute(
            "INSERT INTO relay_offsets (name, position, broker_marker) VALUES ($1, $2, $3)"
            " ON CONFLICT (name) DO UPDATE"
            " SET position = EXCLUDED.position, broker_marker = EXCLUDED.broker_marker",
            self.source.name,
            position,
            marker.dump(),
        )

    async def _check_broker(
        self, conn: Any, position: int, marker: BrokerMarker
    ) -> tuple[int, BrokerMarker]:
        """Make sure the topic exists; when the broker lost what we published, start over."""
        topic = self.source.topic
        admin = make_admin(self.bootstrap)
        await within(self.timeout, admin.start())
        try:
            count = await within(self.timeout, partition_count(admin, topic))
            lost = marker.is_lost or (position > 0 and count is None)
            if not lost and position > 0 and count is not None:
                if marker.max_partition() >= count:
                    lost = True
                elif marker.partitions:
                    ends = await within(
                        self.timeout, end_offsets(self.bootstrap, topic, marker.partitions)
                    )
                    lost = marker.behind(ends)
            if count is None or (lost and count != self.partitions):
                # A topic the broker auto-created has its defaults, not ours: replace it.
                count = await within(self.timeout, recreate_topic(admin, topic, self.partitions))
        finally:
            await admin.close()
        if lost:
            log.warning(
                "relay %s: the broker lost %s (it had up to cursor %d): publishing it again",
                self.source.name,
                topic,
                position,
            )
            position, marker = 0, BrokerMarker(topic)
            await self._store(conn, position, marker)
        return position, marker


class BrokerDataLost(RuntimeError):
    pass


async def _quietly(what: str, cleanup: Awaitable[None], seconds: float) -> None:
    """Run a clean-up step, bounded, and log (never raise) its failure: an error here
    must not replace the one being unwound, least of all a cancellation, which the
    retry loop would otherwise take for an ordinary failure and keep running."""
    try:
        await within(seconds, cleanup)
    except Exception as exc:
        log.warning("relay %s failed: %s: %s", what, type(exc).__name__, exc)


async def run_relays(relays: Sequence[OutboxRelay]) -> None:
    """Run every relay until cancelled (each retries its own failures forever)."""
    async with asyncio.TaskGroup() as group:
        for relay in relays:
            group.create_task(relay.run(), name=f"relay-{relay.source.name}")
