"""Watching `tally.finance.v1` as a downstream consumer would: every partition, no
group, from the beginning. Only what a scenario waits for is decoded and kept."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.limits import CONSUMER_OPTIONS
from shared.infra.runtime import wait_event


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int) -> None:
    """Create Tally's topics with Tally's partition count before anyone names them:
    the broker would otherwise auto-create them with its own default."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()


def _decode(schema: str, value: bytes) -> tuple[str, dict[str, Any]]:
    obj = orjson.loads(value)
    if isinstance(obj, dict) and isinstance(obj.get("data"), dict) and "type" in obj:
        return str(obj["type"]), obj["data"]  # an envelope around the data
    return schema.split("/")[0], obj


async def _stop(task: asyncio.Task[None] | None, consumer: AIOKafkaConsumer) -> None:
    """Stop a watch: its reading task, then its consumer."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await consumer.stop()


class FinanceWatch:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=None, **CONSUMER_OPTIONS
        )
        self.messages = 0
        self.recalculated: dict[tuple[str, int], float] = {}
        self.changed: dict[int, float] = {}  # cause position -> first arrival
        # cause position -> the message's own timestamp (when the worker produced it),
        # in epoch seconds: splits freshness into its hops
        self.produced: dict[int, float] = {}
        # Per project, (position, arrival) of each ProjectFinancesChanged, in arrival order.
        self.changes: dict[str, list[tuple[int, float]]] = {}
        self.watch_changes = False
        self._news = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await _stop(self._task, self.consumer)

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=5000)
            now = time.perf_counter()
            for records in batches.values():
                for msg in records:
                    self._take(msg, now)
            if batches:
                self._news.set()

    def _take(self, msg: Any, now: float) -> None:
        self.messages += 1
        schema = next((v.decode() for k, v in (msg.headers or ()) if k == "schema"), "")
        if schema.startswith("ProjectFinancesChanged") and not self.watch_changes:
            return  # the bulk of the topic: not decoded unless freshness is measured
        kind, data = _decode(schema, msg.value)
        if kind == "FinancesRecalculated":
            self.recalculated.setdefault((str(data["project_id"]), int(data["position"])), now)
        elif kind == "ProjectFinancesChanged" and self.watch_changes:
            cause = data.get("cause") or {}
            if "position" in cause:
                self.changed.setdefault(int(cause["position"]), now)
                self.produced.setdefault(int(cause["position"]), msg.timestamp / 1000)
            self.changes.setdefault(str(data["project_id"]), []).append(
                (int(data["position"]), now)
            )

    def reflected(self, project_id: str, position: int) -> tuple[float, bool] | None:
        """When the effect of the event at `position` on `project_id` was first published,
        and whether by a message naming it as its cause: a worker that applies several
        events at once publishes one message for them, caused by the last, whose
        `position` covers the others."""
        if position in self.changed:
            return self.changed[position], True
        for at, arrival in self.changes.get(project_id, ()):
            if at >= position:
                return arrival, False
        return None

    async def wait_changes(self, events: dict[int, str], patience: float) -> None:
        """Until the effect of each event (position -> project) was published."""
        deadline = time.monotonic() + patience
        while any(self.reflected(p, pos) is None for pos, p in events.items()):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._news.clear()
            await wait_event(self._news, min(left, 1.0))

    async def wait_messages(self, count: int, patience: float) -> None:
        """Until `count` messages have been read, or `patience` seconds passed."""
        deadline = time.monotonic() + patience
        while self.messages < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._news.clear()
            await wait_event(self._news, min(left, 1.0))

    async def wait_some(self, keys: set[tuple[str, int]], needed: int) -> None:
        """Until `needed` of `keys` have their FinancesRecalculated (no time limit)."""
        while len(keys & self.recalculated.keys()) < needed:
            self._news.clear()
            await wait_event(self._news, 1.0)

    async def wait_recalculated(self, keys: set[tuple[str, int]], patience: float) -> float | None:
        """perf_counter time when the last of `keys` arrived, or None after `patience` s."""
        deadline = time.monotonic() + patience
        while not keys <= self.recalculated.keys():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._news.clear()
            await wait_event(self._news, min(left, 1.0))
        return max(self.recalculated[k] for k in keys)


class LedgerWatch:
    """The ledger topic from its end on: when the relay produced each position (the
    message's timestamp, epoch seconds), for the freshness scenario's hops."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, **CONSUMER_OPTIONS
        )
        self.topic = topic
        self.partitions = partitions
        self.produced: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await _stop(self._task, self.consumer)

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batches.values():
                for msg in records:
                    position = orjson.loads(msg.value).get("position")
                    if isinstance(position, int):
                        self.produced.setdefault(position, msg.timestamp / 1000)
