"""Kafka clients and topic administration, the same for every process.

Nothing connects at import time: every factory returns an unstarted client.

Correctness never relies on the idempotent or transactional producer (the embedded
broker, Tansu, has neither): producers use `acks="all"` and at-least-once delivery,
and every consumer de-duplicates by ledger position.

Tansu quirks these helpers work around (checked against Tansu 0.x):
- any metadata request naming a topic (describe, end offsets, a producer's first
  send) auto-creates it with the broker's default partition count, so existence is
  checked with `list_topics()`, which names no topic;
- a partition's reported end offset is the base offset of its last record batch + 1,
  not the offset of its last record + 1 (see `services.relay.service_layer.relay` for how the relay
  copes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.infra.runtime import within

log = logging.getLogger(__name__)

# Kafka's error code for CreateTopics on an existing topic.
TOPIC_ALREADY_EXISTS = 36
# Create topics with this replication factor unless told otherwise. Production
# topics are made ahead of time with replication factor 3 (deploy/README.md);
# this fallback is for one-broker setups (`tally dev`, tests).
DEFAULT_REPLICATION_FACTOR = 1


def make_producer(bootstrap: str, **overrides: Any) -> AIOKafkaProducer:
    """A producer for at-least-once publishing: every replica acknowledges, no
    idempotence, and (aiokafka's sender keeps one batch in flight per partition)
    messages of one key arrive in the order they were sent."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": False,
        "linger_ms": 1,  # latency first: a chunk is sent at once, then awaited whole
        "request_timeout_ms": 10_000,
        "retry_backoff_ms": 200,
        "max_batch_size": 256 * 1024,
        "client_id": "tally-relay",
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(
    bootstrap: str, *topics: str, group_id: str | None = None, **overrides: Any
) -> AIOKafkaConsumer:
    """A consumer that commits only when told to (after processing), and starts from
    the beginning of the topic when its group has no committed offset."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "request_timeout_ms": 10_000,
        "retry_backoff_ms": 200,
    }
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **options)


def make_admin(bootstrap: str, **overrides: Any) -> AIOKafkaAdminClient:
    options: dict[str, Any] = {"bootstrap_servers": bootstrap, "request_timeout_ms": 10_000}
    options.update(overrides)
    return AIOKafkaAdminClient(**options)


async def topic_exists(admin: AIOKafkaAdminClient, topic: str) -> bool:
    # list_topics() names no topic, so it cannot auto-create one (describe would).
    return topic in set(await admin.list_topics())


async def partition_count(admin: AIOKafkaAdminClient, topic: str) -> int | None:
    """How many partitions `topic` has, or None when it does not exist."""
    if not await topic_exists(admin, topic):
        return None
    described = await admin.describe_topics([topic])
    for entry in described:
        if entry.get("topic") == topic and not entry.get("error_code"):
            return len(entry.get("partitions", []))
    return None


async def create_topic(
    admin: AIOKafkaAdminClient,
    topic: str,
    partitions: int,
    replication_factor: int = DEFAULT_REPLICATION_FACTOR,
) -> bool:
    """Create `topic`; False when it already existed (someone else made it first)."""
    response = await admin.create_topics([NewTopic(topic, partitions, replication_factor)])
    for name, code, *_ in response.topic_errors:
        if name != topic:
            continue
        if code == TOPIC_ALREADY_EXISTS:
            return False
        if code:
            raise RuntimeError(f"cannot create topic {topic!r}: Kafka error code {code}")
    log.info("created topic %s with %d partitions", topic, partitions)
    return True


async def ensure_topic(
    admin: AIOKafkaAdminClient,
    topic: str,
    partitions: int,
    replication_factor: int = DEFAULT_REPLICATION_FACTOR,
) -> int:
    """Create `topic` if it is missing; returns its partition count."""
    if not await topic_exists(admin, topic):
        await create_topic(admin, topic, partitions, replication_factor)
    count = await partition_count(admin, topic)
    if count is None:
        raise RuntimeError(f"topic {topic!r} vanished right after its creation")
    return count


async def recreate_topic(
    admin: AIOKafkaAdminClient,
    topic: str,
    partitions: int,
    replication_factor: int = DEFAULT_REPLICATION_FACTOR,
) -> int:
    """Delete `topic` (if present) and create it again, empty. Only for a broker that
    already lost the topic's data; returns the new partition count."""
    if await topic_exists(admin, topic):
        await admin.delete_topics([topic])
        # Deletion is asynchronous on real brokers: wait until it is gone.
        for _ in range(50):
            if not await topic_exists(admin, topic):
                break
            await asyncio.sleep(0.1)
    await create_topic(admin, topic, partitions, replication_factor)
    count = await partition_count(admin, topic)
    if count is None:
        raise RuntimeError(f"topic {topic!r} vanished right after its creation")
    return count


async def ensure_topics(
    bootstrap: str, topics: Iterable[str], partitions: int, *, wait: float = 30.0
) -> None:
    """Create every topic of `topics` that is missing. Consumers call this before
    subscribing so that the broker does not auto-create them with its own defaults."""
    admin = make_admin(bootstrap)
    await within(wait, admin.start())
    try:
        for topic in topics:
            await within(wait, ensure_topic(admin, topic, partitions))
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, topic: str, partitions: Iterable[int]) -> dict[int, int]:
    """The end offset of each partition (call only for a topic known to exist)."""
    consumer = make_consumer(bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        found = await consumer.end_offsets(tps)
        return {tp.partition: int(offset) for tp, offset in found.items()}
    finally:
        await consumer.stop()
