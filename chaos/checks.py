"""The checks at the end of a chaos run: the log against what the clients were told,
both topics against the log and the finance outbox, and `tally replay` against the
live projection."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.servers import TALLY
from chaos.load import Load
from chaos.system import ChaosSystem
from shared.events import stream_key
from shared.infra.kafka import make_admin, partition_count


@dataclass(slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Figures:
    acked_batches: int = 0
    acked_events: int = 0
    refused_batches: int = 0
    unknown_batches: int = 0
    unknown_applied: int = 0
    lost: int = 0
    duplicated: int = 0
    head: int = 0
    ledger_messages: int = 0
    finance_messages: int = 0
    finance_expected: int = 0


Message = tuple[int, bytes, bytes]  # partition, key, value


async def read_topic(
    bootstrap: str, topic: str, complete: Callable[[list[Message]], bool], patience: float = 120.0
) -> list[Message]:
    """Every message of `topic` from the beginning, in offset order per partition: until
    `complete(messages)` holds and 2 s pass without news, or 10 s without news at all."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )
    admin = make_admin(bootstrap)
    await admin.start()
    try:
        count = await partition_count(admin, topic) or 0
    finally:
        await admin.close()
    await consumer.start()
    out: list[Message] = []
    try:
        partitions = list(range(count))
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        start = last_news = time.monotonic()
        done = False
        while time.monotonic() - start < patience:
            got = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in got.values():
                out.extend((r.partition, r.key or b"", r.value or b"") for r in records)
            now = time.monotonic()
            if got:
                last_news = now
                done = complete(out)
            if now - last_news > (2.0 if done else 10.0):
                break
    finally:
        await consumer.stop()
    return out


async def run_checks(
    system: ChaosSystem, load: Load, exits: list[str]
) -> tuple[list[Check], Figures]:
    figures = Figures()
    checks: list[Check] = []
    conn = await system.connect()
    try:
        rows = await conn.fetch("SELECT position, event_id::text, stream FROM events ORDER BY 1")
        head = int(await conn.fetchval("SELECT position FROM log_head"))
        outbox = await conn.fetch("SELECT DISTINCT project_id, position FROM finance_outbox")
    finally:
        await conn.close()
    figures.head = head
    where = {r[1]: int(r[0]) for r in rows}
    figures.duplicated = len(rows) - len(where)

    # 1. every acknowledged event is in the log once, at the position it was told;
    #    no refused one is; an unknown batch is wholly in or wholly out.
    lost, misplaced, refused_in, torn = [], [], [], []
    for batch in load.batches:
        present = [i in where for i in batch.event_ids]
        if batch.state == "acked":
            figures.acked_batches += 1
            figures.acked_events += len(batch.event_ids)
            for event_id, position in zip(batch.event_ids, batch.positions, strict=False):
                if event_id not in where:
                    lost.append(event_id)
                elif where[event_id] != position:
                    misplaced.append(f"{event_id}: told {position}, log {where[event_id]}")
            if batch.refusal:
                misplaced.append(batch.refusal)
        elif batch.state == "refused":
            figures.refused_batches += 1
            if any(present):
                refused_in.append(f"{batch.refusal[:80]}: {batch.event_ids[0]}")
        elif batch.state == "unknown":
            figures.unknown_batches += 1
            figures.unknown_applied += all(present)
            if any(present) and not all(present):
                torn.append(batch.event_ids[0])
    figures.lost = len(lost)
    figures.duplicated += len(misplaced)
    checks.append(
        Check(
            "every acknowledged event is in the log exactly once",
            not lost and not misplaced and figures.duplicated == 0,
            f"{figures.acked_events} events in {figures.acked_batches} acknowledged batches;"
            f" lost {len(lost)}, duplicated or moved {figures.duplicated}"
            + (f" (e.g. {(lost + misplaced)[0]})" if lost or misplaced else ""),
        )
    )
    checks.append(
        Check(
            "no refused batch is in the log",
            not refused_in,
            f"{figures.refused_batches} refused"
            + (f"; in the log: {refused_in[:3]}" if refused_in else ""),
        )
    )
    checks.append(
        Check(
            "each unknown batch is wholly in the log or wholly absent",
            not torn,
            f"{figures.unknown_batches} unknown ({figures.unknown_applied} applied)"
            + (f"; torn: {torn[:3]}" if torn else ""),
        )
    )

    # 2. positions are gap-free
    positions = [int(r[0]) for r in rows]
    gap_free = positions == list(range(1, head + 1))
    checks.append(
        Check(
            "positions are gap-free (1..head)",
            gap_free,
            f"{len(positions)} events, head {head}"
            + ("" if gap_free else f", first {positions[:1]}, last {positions[-1:]}"),
        )
    )

    # 3. the ledger topic: every position, the right key, in order per key
    stream_at = {int(r[0]): (r[1], r[2]) for r in rows}
    bootstrap = system.broker.bootstrap
    settings = system.settings

    def all_positions(messages: list[Message]) -> bool:
        return len(messages) >= head

    ledger = await read_topic(bootstrap, settings.ledger_topic, all_positions)
    figures.ledger_messages = len(ledger)
    seen: set[int] = set()
    last_by_key: dict[bytes, int] = {}
    wrong, disorder = [], []
    for _, key, value in ledger:
        envelope = orjson.loads(value)
        position = int(envelope["position"])
        expected = stream_at.get(position)
        if expected is None or expected[0] != envelope["event_id"]:
            wrong.append(f"position {position}: {envelope['event_id']} vs log {expected}")
            continue
        if key != stream_key(expected[1]).encode():
            wrong.append(f"position {position}: key {key!r}, stream {expected[1]}")
        if position in seen:
            continue  # a re-send (at least once)
        seen.add(position)
        if last_by_key.get(key, 0) > position:
            disorder.append(f"{key.decode()}: {position} after {last_by_key[key]}")
        last_by_key[key] = max(last_by_key.get(key, 0), position)
    missing = sorted(set(range(1, head + 1)) - seen)
    checks.append(
        Check(
            f"{settings.ledger_topic} holds every position, in order per key",
            not missing and not wrong and not disorder,
            f"{len(ledger)} messages, {len(seen)} distinct positions of {head};"
            f" missing {len(missing)}{_eg(missing)}, wrong {len(wrong)}{_eg(wrong)},"
            f" out of order {len(disorder)}{_eg(disorder)}",
        )
    )

    # 4. the finance topic, de-duplicated by (project_id, position), has the outbox
    expected_pairs = {(str(r[0]), int(r[1])) for r in outbox}
    figures.finance_expected = len(expected_pairs)

    def all_pairs(messages: list[Message]) -> bool:
        return len(messages) >= len(expected_pairs)

    finance = await read_topic(bootstrap, settings.finance_topic, all_pairs)
    figures.finance_messages = len(finance)
    on_topic = set()
    for _, _, value in finance:
        message = orjson.loads(value)
        on_topic.add((str(message["project_id"]), int(message["position"])))
    absent = sorted(expected_pairs - on_topic)
    strangers = sorted(on_topic - expected_pairs)
    checks.append(
        Check(
            f"{settings.finance_topic} holds the whole finance outbox",
            not absent and not strangers,
            f"{len(finance)} messages, {len(on_topic)} distinct (project, position)"
            f" of {len(expected_pairs)}; missing {len(absent)}{_eg(absent)},"
            f" not in the outbox {len(strangers)}{_eg(strangers)}",
        )
    )

    # 5. tally replay: the live projection equals the replay of the log
    replay = await asyncio.to_thread(
        subprocess.run,
        [TALLY, "replay", "--wait", "60"],
        env={**os.environ, **system.env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    said = (replay.stdout + replay.stderr).strip().splitlines()
    checks.append(
        Check(
            "`tally replay` finds no difference",
            replay.returncode == 0 and any("no difference" in line for line in said),
            f"exit {replay.returncode}: " + " / ".join(said[-3:])[:600],
        )
    )

    # 6. server errors: no 5xx but 503 (503s are allowed during faults)
    seen_ = load.seen
    checks.append(
        Check(
            "no server error other than 503",
            not seen_.server_errors,
            f"{len(seen_.server_errors)} other 5xx{_eg(seen_.server_errors)};"
            f" {seen_.statuses.get(503, 0)} answers 503, {seen_.no_answer} requests unanswered",
        )
    )
    checks.append(
        Check(
            "no process exited unless killed",
            not exits,
            f"{len(exits)}{_eg(exits)}",
        )
    )
    return checks, figures


def _eg(items: list[object] | list[str] | list[int] | list[tuple[str, int]]) -> str:
    return f" (e.g. {items[0]})" if items else ""
