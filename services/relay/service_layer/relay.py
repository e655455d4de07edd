"""Outbox relays: publish a gap-free, commit-ordered table to a topic.

One relay class on two ports (`ports.py`): the `Outbox` it reads and the `Broker` it
publishes to, wired by `services/relay/bootstrap.py` (the ledger's log and the
finance outbox, on PostgreSQL and Kafka).

Delivery is at least once, in cursor order per key. A relay reads a chunk after what
it has sent, publishes it and awaits every delivery; it stores its cursor after that,
at most every `STORE_EVERY` seconds while busy and at once when idle or stopped, so a
crash re-sends at most a suffix and never skips. Any error (broker, database) drops
both sessions; the relay backs off (tenacity) and resumes from the STORED cursor.

A broker that lost its data (the embedded broker keeps nothing across restarts) is
detected with the stored broker marker (see `BrokerMarker`) and the whole source is
published again from the start; consumers de-duplicate by position.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from services.relay.domain.broker_marker import BrokerMarker
from services.relay.service_layer.ports import Broker, OpenBroker, OpenOutbox, Outbox
from shared.infra.runtime import wait_event, within

log = logging.getLogger(__name__)

CHUNK_SIZE = 1000
#: Seconds between stores of the cursor while the relay is busy; an idle relay stores
#: at once. A crash re-sends what was published since the last store (at least once);
#: storing after every chunk cost one more round trip per chunk, a third of the
#: relay's work when events come one by one.
STORE_EVERY = 0.2


class OutboxRelay:
    """Publishes one outbox to one topic until cancelled. Run exactly one per outbox:
    two relays would interleave their sends and break the order per key."""

    def __init__(
        self,
        name: str,
        topic: str,
        open_outbox: OpenOutbox,
        open_broker: OpenBroker,
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
        self.name = name
        self.topic = topic
        self.open_outbox = open_outbox
        self.open_broker = open_broker
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
        self._failures = 0  # sessions failed since one last made progress

    async def run(self) -> None:
        """Sessions until cancelled; a failed one is retried after a back-off that
        doubles from `backoff_initial` up to `backoff_max`, and starts over once a
        session has published something."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=self._backoff,
            before_sleep=self._log_failure,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                self._progressed = False
                await self._session()

    def _backoff(self, state: RetryCallState) -> float:
        self._failures = 1 if self._progressed else self._failures + 1
        return float(min(self.backoff_initial * 2 ** (self._failures - 1), self.backoff_max))

    def _log_failure(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "relay %s: %s: %s; retrying in %.1fs", self.name, type(exc).__name__, exc, delay
        )

    async def _session(self) -> None:
        """Open both ports, check the broker, then relay until something fails."""
        outbox = await within(self.timeout, self.open_outbox())
        try:
            position, marker = await self._load(outbox)
            broker = await within(self.timeout, self.open_broker())
            try:
                await self._relay(outbox, broker, position, marker)
            finally:
                await _quietly(f"{self.name}: broker close", broker.close(), self.timeout)
        finally:
            await _quietly(f"{self.name}: outbox close", outbox.close(), self.timeout)

    async def _relay(
        self, outbox: Outbox, broker: Broker, position: int, marker: BrokerMarker
    ) -> None:
        position, marker = await self._check_broker(outbox, broker, position, marker)
        self.position = position
        loop = asyncio.get_running_loop()
        next_check = loop.time() + self.check_interval
        sent, last_store = position, loop.time()  # published up to `sent`
        try:
            while True:
                outbox.wake.clear()  # before reading, so a commit after the read wakes us
                batch = await outbox.read_after(sent, self.chunk_size)
                if not batch:
                    woken = await wait_event(outbox.wake, self.poll_interval)
                    if sent > position and (not woken or self.store_every <= 0):
                        position, last_store = sent, loop.time()
                        await self._store(outbox, position, marker)
                        self.position = position
                    if loop.time() >= next_check:
                        # An idle relay sends nothing that could show a broker
                        # restart, so it looks for one now and then.
                        position, marker = await self._check_broker(
                            outbox, broker, position, marker
                        )
                        sent = self.position = position
                        next_check = loop.time() + self.check_interval
                    continue
                next_check = loop.time() + self.check_interval
                delivered = await within(self.timeout, broker.publish(batch))
                if marker.regressed(delivered):
                    # Offsets only grow on a broker that keeps its data.
                    await self._store(outbox, sent, marker.lost())
                    raise BrokerDataLost(f"offsets of {self.topic} went back")
                sent, marker = batch[-1].cursor, marker.advanced(delivered)
                self._progressed = True
                if loop.time() - last_store >= self.store_every:
                    position, last_store = sent, loop.time()
                    await self._store(outbox, position, marker)
                    self.position = position
        finally:
            if sent > position:  # a clean stop keeps what it published
                await _quietly(
                    f"{self.name}: store cursor", self._store(outbox, sent, marker), self.timeout
                )

    async def _load(self, outbox: Outbox) -> tuple[int, BrokerMarker]:
        position, text = await outbox.load_cursor()
        return position, BrokerMarker.parse(text, self.topic)

    async def _store(self, outbox: Outbox, position: int, marker: BrokerMarker) -> None:
        await outbox.store_cursor(position, marker.dump())

    async def _check_broker(
        self, outbox: Outbox, broker: Broker, position: int, marker: BrokerMarker
    ) -> tuple[int, BrokerMarker]:
        """Make sure the topic exists; when the broker lost what we published, start over."""
        count = await within(self.timeout, broker.partition_count())
        lost = marker.is_lost or (position > 0 and count is None)
        if not lost and position > 0 and count is not None:
            if marker.max_partition() >= count:
                lost = True
            elif marker.partitions:
                ends = await within(self.timeout, broker.end_offsets(marker.partitions))
                lost = marker.behind(ends)
        if count is None or (lost and count != self.partitions):
            # A topic the broker auto-created has its defaults, not ours: replace it.
            await within(self.timeout, broker.recreate_topic(self.partitions))
        if lost:
            log.warning(
                "relay %s: the broker lost %s (it had up to cursor %d): publishing it again",
                self.name,
                self.topic,
                position,
            )
            position, marker = 0, BrokerMarker(self.topic)
            await self._store(outbox, position, marker)
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
            group.create_task(relay.run(), name=f"relay-{relay.name}")
