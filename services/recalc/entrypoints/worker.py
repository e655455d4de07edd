"""The recalc worker: ledger messages say which projects have news; `advance` does it.

Offsets are committed only up to messages whose work is committed in PostgreSQL, and
only as an optimisation: a redelivered message finds its position already applied.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from services.recalc.adapters.unpriceable import ParkedList
from services.recalc.service_layer.advance import Advancer
from services.recalc.service_layer.isolation import Isolated, advance_isolating, describe
from services.recalc.service_layer.scheduler import Batch, Notice, Scheduler, parse_notice
from shared.infra.dberrors import is_transient
from shared.infra.runtime import release_memory, rss_mib, wait_event
from shared.infra.settings import Settings

log = logging.getLogger(__name__)

MAX_QUEUED = 20_000  # messages read ahead before partitions are paused
RESUME_BELOW = 10_000
COMMIT_EVERY = 1.0  # seconds between offset commits
POLL_IDLE_MS = 200
#: How long the broker may hold a fetch that finds nothing new (aiokafka's default is
#: 500 ms). News is what the freshness of the finance topic waits on: ask often.
FETCH_MAX_WAIT_MS = 10
RETRY_DELAY = 1.0
#: After this long without work, following some, memory is handed back (runtime.py).
RELEASE_AFTER_IDLE = 2.0
#: While idle, memory is trimmed again if RSS has grown this much since the last
#: release: the process also serves reads (an `as_of` replay of a big project builds
#: about 100 MiB of objects, and its answer's buffers) that are not the worker's work.
REGROWTH_MIB = 32
REGROWTH_CHECK = 0.5


class Worker:
    """Wired by `services/recalc/bootstrap.py`."""

    def __init__(
        self,
        settings: Settings,
        advancer: Advancer,
        parking: ParkedList,
    ) -> None:
        self.settings = settings
        self.advancer = advancer
        self.parking = parking
        self.scheduler = Scheduler()
        self._paused = False
        self._last_commit = 0.0
        self._last_work = 0.0
        self._released = True  # nothing to hand back before any work
        self._released_rss = 0  # RSS in MiB after the last release (0: none yet)
        self._rss_checked = 0.0
        #: projects this worker knows to be parked as unpriceable (isolation.py); None
        #: until the list has been read (at start, retried while the database is down)
        self.parked: set[str] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        from shared.infra.kafka import ensure_topics, make_consumer

        bootstrap = self.settings.require_kafka_bootstrap()
        await ensure_topics(bootstrap, [self.settings.ledger_topic], self.settings.topic_partitions)
        consumer = make_consumer(
            bootstrap,
            self.settings.ledger_topic,
            group_id=self.settings.consumer_group,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        try:
            await consumer.start()
            while not stop.is_set():
                await self._poll(consumer)
                await self._work_once(stop)
                await self._commit(consumer, force=False)
            await self._commit(consumer, force=True)
        finally:
            self.advancer.stop_loading_ahead()
            await consumer.stop()

    async def _poll(self, consumer: AIOKafkaConsumer) -> None:
        # Keep reading ahead while work waits (timeout 0), block briefly when idle.
        timeout = 0 if self.scheduler.has_work() else POLL_IDLE_MS
        batches: dict[TopicPartition, list[Any]] = await consumer.getmany(
            timeout_ms=timeout, max_records=5000
        )
        assigned = consumer.assignment()
        self.scheduler.forget(p for p in self.scheduler.partitions() if p not in assigned)
        for partition, messages in batches.items():
            for message in messages:
                self.scheduler.add(partition, message.offset, _notice(message.value))
        if not self._paused and self.scheduler.queued >= MAX_QUEUED:
            consumer.pause(*assigned)
            self._paused = True
        elif self._paused and self.scheduler.queued < RESUME_BELOW:
            consumer.resume(*consumer.paused())
            self._paused = False

    def _release_when_idle(self) -> None:
        """Hand memory back once an idle spell has lasted `RELEASE_AFTER_IDLE`; then,
        while idle, trim again whenever RSS has grown `REGROWTH_MIB` since (checked
        every `REGROWTH_CHECK` seconds: a check reads RSS, a trim takes a few ms)."""
        now = time.monotonic()
        if self._released:
            if now - self._rss_checked < REGROWTH_CHECK:
                return
            self._rss_checked = now
            before = rss_mib()
            if not self._released_rss:  # no release yet: RSS now is the baseline
                self._released_rss = before
                return
            if before < self._released_rss + REGROWTH_MIB:
                return
        elif now - self._last_work < RELEASE_AFTER_IDLE:
            return
        else:
            before = rss_mib()
        started = time.perf_counter()
        # After the worker's own work, collect too: its garbage may be in cycles. What
        # grew while it idled (reads: acyclic, freed as they end) needs the trim alone,
        # a few ms; a collection walks the whole heap (300+ ms, stalling the reads).
        if not self._released:
            self.advancer.forget_ahead()  # a guess no batch took is garbage now
        release_memory(collect=not self._released)
        self._released, self._released_rss, self._rss_checked = True, rss_mib(), now
        log.info(
            "idle: memory released, RSS %d -> %d MiB in %.0f ms",
            before,
            self._released_rss,
            (time.perf_counter() - started) * 1000,
        )

    async def _work_once(self, stop: asyncio.Event) -> None:
        if self.parked is None and not await self._retry_parked(stop):
            return
        batch = self.scheduler.next_batch()
        if batch is None:
            self._release_when_idle()
            return
        self._last_work, self._released = time.monotonic(), False
        if batch.heavy and self.parked is not None and not (self.parked & set(batch.projects)):
            # PostgreSQL reads the next batch's tables while this one is priced here
            self.advancer.load_ahead(self.scheduler.heavy_after(batch))
        try:
            outcome = await self._advance(batch)
            await self._settle(outcome, batch.upto)
        except Exception:
            log.exception("advancing %d project(s) to %d failed", len(batch.projects), batch.upto)
            # The database may be down: wait, then try again (the work stays pending).
            await wait_event(stop, RETRY_DELAY)
            return
        self.scheduler.completed(outcome.advanced | set(batch.projects), batch.upto)

    async def _advance(self, batch: Batch) -> Isolated:
        """Advance the batch; a project that pricing cannot advance is isolated from
        the others (isolation.py). Projects already parked go alone, so that their
        failure costs no bisection of the rest."""
        parked = self.parked or set()

        async def advance(group: list[str]) -> set[str]:
            return await self.advancer.advance(group, batch.upto)

        groups = [[p for p in batch.projects if p not in parked]]
        groups += [[p] for p in batch.projects if p in parked]
        outcome = Isolated()
        for group in groups:
            part = await advance_isolating(advance, group, transient=is_transient)
            outcome.advanced |= part.advanced
            outcome.failed.update(part.failed)
        return outcome

    async def _settle(self, outcome: Isolated, upto: int) -> None:
        """Park what failed alone; take what advanced again off the list."""
        parked = self.parked if self.parked is not None else set()
        released = sorted(outcome.advanced & parked)
        if not outcome.failed and not released:
            return
        errors = {p: describe(exc) for p, exc in outcome.failed.items()}
        await self.parking.settle(errors, released, upto)
        for project_id, exc in outcome.failed.items():
            log.error(
                "project %s cannot be priced up to position %d; parked (other projects go on)",
                project_id,
                upto,
                exc_info=exc,
            )
        for project_id in released:
            log.info("project %s is priced again; no longer parked", project_id)
        parked.difference_update(released)
        parked.update(outcome.failed)

    async def _retry_parked(self, stop: asyncio.Event) -> bool:
        """Read the parked projects and schedule each again (after a fix or an
        upcaster is deployed, a worker start is what prices them). False while the
        database cannot be read."""
        try:
            found = await self.parking.read()
        except Exception:
            log.warning("cannot read the parked projects yet", exc_info=True)
            await wait_event(stop, RETRY_DELAY)
            return False
        self.parked = {p.project_id for p in found}
        for project in found:
            self.scheduler.retry(project.project_id, project.position)
        if found:
            log.warning("%d parked project(s) are tried again", len(found))
        return True

    async def _commit(self, consumer: AIOKafkaConsumer, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_commit < COMMIT_EVERY:
            return
        self._last_commit = now
        offsets = self.scheduler.take_commits()
        assigned = consumer.assignment()
        ready = {
            tp: OffsetAndMetadata(offset, "")
            for tp, offset in offsets.items()
            if isinstance(tp, TopicPartition) and tp in assigned
        }
        if not ready:
            return
        try:
            await consumer.commit(ready)
        except Exception:  # a rebalance: the next owner re-reads, harmlessly
            log.warning("offset commit failed; messages will be redelivered", exc_info=True)


def _notice(value: bytes | None) -> Notice:
    try:
        return parse_notice(value or b"")
    except (ValueError, KeyError, TypeError):
        log.exception("unreadable ledger message skipped")
        return Notice(0, (), False)
