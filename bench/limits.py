"""The machine's own limits, measured beside Tally in the same run: bare PostgreSQL
writes and reads of the same rows, one SQL statement pricing the same hour entries,
and a bare produce -> consume round trip on the same broker. Bare tables live in a
schema `bench` of the run's database, away from Tally's tables."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.stats import percentile
from shared.infra.eventlog import read_after

BARE_EVENTS = """
CREATE TABLE IF NOT EXISTS bench.{name} (
    position bigint, event_id uuid, stream text, version integer, type text,
    schema_version smallint, data jsonb, recorded_at timestamptz, actor text
)"""
INSERT = "INSERT INTO bench.{name} VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)"

PRICING_SQL = """INSERT INTO bench.priced (hour_id, cost, revenue)
SELECT h.hour_id,
       round(h.hours * coalesce(uc.value, rc.value, 0), 2),
       round(h.hours * coalesce(ub.value, rb.value, 0), 2)
FROM bench.hours h
JOIN bench.users u ON u.user_id = h.owner_id
LEFT JOIN bench.rates uc ON uc.kind = 'user' AND uc.rate_type = 'cost'
     AND uc.target = h.owner_id AND uc.period @> h.entry_date
LEFT JOIN bench.rates rc ON rc.kind = 'role' AND rc.rate_type = 'cost'
     AND rc.target = u.primary_role_id AND rc.period @> h.entry_date
LEFT JOIN bench.rates ub ON ub.kind = 'user' AND ub.rate_type = 'billing'
     AND ub.target = h.owner_id AND ub.period @> h.entry_date
LEFT JOIN bench.rates rb ON rb.kind = 'role' AND rb.rate_type = 'billing'
     AND rb.target = u.primary_role_id AND rb.period @> h.entry_date
WHERE h.project_id = ANY($1::text[])"""
"""The pricing limit: user rate, else the primary role's, for cost and billing, each
found by a date-range join (`period @> entry_date`), rounded, written to a table."""


async def _schema(conn: Any) -> None:
    await conn.execute("CREATE SCHEMA IF NOT EXISTS bench")


def _with_time(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    return [(*r[:7], now, r[7]) for r in rows]


async def batched_insert(dsn: str, rows: Sequence[tuple[Any, ...]], per_tx: int = 500) -> float:
    """events/s of `executemany` into a bare table, `per_tx` rows a transaction."""
    full = _with_time(rows)
    conn = await asyncpg.connect(dsn)
    try:
        await _schema(conn)
        await conn.execute(BARE_EVENTS.format(name="events"))
        sql = INSERT.format(name="events")
        start = time.perf_counter()
        for i in range(0, len(full), per_tx):
            async with conn.transaction():
                await conn.executemany(sql, full[i : i + per_tx])
        return len(full) / (time.perf_counter() - start)
    finally:
        await conn.close()


async def single_inserts(
    dsn: str, rows: Sequence[tuple[Any, ...]], clients: int
) -> tuple[float, list[float]]:
    """events/s and latencies (s) of one INSERT per transaction from `clients` connections."""
    full = _with_time(rows)
    conns = [await asyncpg.connect(dsn) for _ in range(clients)]
    try:
        await _schema(conns[0])
        await conns[0].execute(BARE_EVENTS.format(name="single_events"))
        sql = INSERT.format(name="single_events")
        latencies: list[float] = []

        async def client(conn: Any, mine: Sequence[tuple[Any, ...]]) -> None:
            for row in mine:
                t0 = time.perf_counter()
                await conn.execute(sql, *row)  # outside a transaction block: its own
                latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(client(c, full[i::clients]) for i, c in enumerate(conns)))
        return len(full) / (time.perf_counter() - start), latencies
    finally:
        for c in conns:
            await c.close()


async def load_pricing_tables(
    dsn: str,
    hours: Sequence[tuple[str, str, str, date, str]],
    rates: Sequence[tuple[str, str, str, date | None, date | None, str]],
    users: dict[str, str],
) -> None:
    """A bare copy of the hour entries, rate periods and users (COPY, untimed)."""
    conn = await asyncpg.connect(dsn)
    try:
        await _schema(conn)
        await conn.execute(
            """
            CREATE TABLE bench.hours (hour_id text, project_id text, owner_id text,
                                      entry_date date, hours numeric);
            CREATE TABLE bench.users (user_id text PRIMARY KEY, primary_role_id text);
            CREATE TABLE bench.rates (
                kind text, target text, rate_type text, start_date date, end_date date,
                value numeric,
                period daterange GENERATED ALWAYS AS (daterange(start_date, end_date, '[]')) STORED
            );
            CREATE TABLE bench.priced (hour_id text, cost numeric, revenue numeric);
            """
        )
        await conn.copy_records_to_table(
            "hours",
            schema_name="bench",
            records=[(h, p, o, d, _num(x)) for h, p, o, d, x in hours],
        )
        await conn.copy_records_to_table("users", schema_name="bench", records=list(users.items()))
        await conn.copy_records_to_table(
            "rates",
            schema_name="bench",
            columns=["kind", "target", "rate_type", "start_date", "end_date", "value"],
            records=[(*r[:5], _num(r[5])) for r in rates],
        )
        await conn.execute(
            "CREATE INDEX ON bench.hours (project_id);"
            "CREATE INDEX ON bench.rates (kind, rate_type, target);"
            "ANALYZE bench.hours; ANALYZE bench.users; ANALYZE bench.rates"
        )
    finally:
        await conn.close()


def _num(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


async def pricing(dsn: str, project_ids: list[str]) -> tuple[float, int]:
    """Seconds of PRICING_SQL over the projects' rows (the better of two runs), rows."""
    conn = await asyncpg.connect(dsn)
    try:
        best = float("inf")
        count = 0
        for _ in range(2):
            await conn.execute("TRUNCATE bench.priced")
            start = time.perf_counter()
            status = await conn.execute(PRICING_SQL, project_ids)
            best = min(best, time.perf_counter() - start)
            count = int(status.split()[-1])
        return best, count
    finally:
        await conn.close()


async def log_read(dsn: str, bare: bool, batch: int = 10_000) -> tuple[float, int]:
    """events/s of reading and decoding the whole log (`read_after`, no projection).
    `bare`: read the bench's copy (`bench.events`) when Tally's log is empty."""
    conn = await asyncpg.connect(dsn)
    try:
        if bare:
            await conn.execute("SET search_path TO bench, public")
        after, count = 0, 0
        start = time.perf_counter()
        while True:
            events = await read_after(conn, after, batch)
            if not events:
                break
            count += len(events)
            after = events[-1].position
        return count / max(time.perf_counter() - start, 1e-9), count
    finally:
        await conn.close()


async def log_size(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


async def middle_of_stream(dsn: str, stream: str) -> tuple[int, int, int]:
    """In Tally's log: the position of the middle event of `stream`, how many events the
    stream has, and how many HoursLogged of it lie at or before that position."""
    conn = await asyncpg.connect(dsn)
    try:
        total = int(await conn.fetchval("SELECT count(*) FROM events WHERE stream = $1", stream))
        if total == 0:
            raise RuntimeError(f"no event in stream {stream!r}")
        position = int(
            await conn.fetchval(
                "SELECT position FROM events WHERE stream = $1 ORDER BY position OFFSET $2 LIMIT 1",
                stream,
                total // 2,
            )
        )
        logged = int(
            await conn.fetchval(
                "SELECT count(*) FROM events WHERE stream = $1 AND type = 'HoursLogged'"
                " AND position <= $2",
                stream,
                position,
            )
        )
        return position, total, logged
    finally:
        await conn.close()


async def roundtrip(bootstrap: str, count: int, topic: str = "bench.roundtrip") -> list[float]:
    """Latencies (s) of `count` sequential produce -> consume round trips."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in set(await admin.list_topics()):
            await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **CONSUMER_OPTIONS)
    await producer.start()
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        latencies: list[float] = []
        for i in range(count + 20):
            t0 = time.perf_counter()
            await producer.send_and_wait(topic, b'{"n": %d}' % i, key=b"k")
            await consumer.getone(tp)
            if i >= 20:  # the first ones warm up connections and metadata
                latencies.append(time.perf_counter() - t0)
        return latencies
    finally:
        await consumer.stop()
        await producer.stop()


# The bench's consumers (the limit's and the one reading tally.finance.v1) use the same
# settings, so the freshness figure and its limit differ only by Tally. A short fetch
# wait, as a latency-minded consumer would set it (and as the worker does): the embedded
# broker holds a fetch that found nothing for most of its max wait even when data
# arrives meanwhile (a produce at a random moment reached a waiting consumer after
# p50 30 ms with 100 ms, 5 ms with 10 ms), where Kafka answers as soon as it has data.
CONSUMER_OPTIONS: dict[str, Any] = {"fetch_max_wait_ms": 10, "auto_offset_reset": "earliest"}


def summary_ms(latencies: Sequence[float]) -> tuple[float, float]:
    return percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
