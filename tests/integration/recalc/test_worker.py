"""The worker against the real broker and PostgreSQL, read back over the HTTP routes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import asyncpg
import pytest
from recalc_appkit import running, settings_for
from recalc_dump import dump
from recalc_logkit import LogWriter, publish
from recalc_scenarios import e1, e9_before_recalc, hours, ids, move, recalc, rid
from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.adapters.store import ProjectionStore
from services.recalc.bootstrap import projections
from services.recalc.service_layer.advance import Advancer
from shared.events import EventData, ProjectCreated, RecordedEvent
from shared.infra.db import plain_dsn
from shared.infra.embedded import EmbeddedBroker

pytestmark = pytest.mark.integration


async def applied(url: str, projects: Sequence[str], position: int) -> None:
    """Wait (bounded) until every project's projection is applied up to `position`."""
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        for _ in range(600):  # at most ~30 s
            rows = await conn.fetch(
                "SELECT applied_position FROM projection.projects WHERE project_id = ANY($1)",
                list(projects),
            )
            if len(rows) == len(projects) and all(r[0] >= position for r in rows):
                return
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError(f"projects not applied to {position}")


async def test_e1_e9_e10_through_worker_and_routes(
    recalc_engine: AsyncEngine, log_writer: LogWriter, broker: EmbeddedBroker
) -> None:
    topic = f"ledger-{uuid.uuid4().hex[:6]}"
    settings = settings_for(log_writer.url, broker, topic)
    one, plain, billed = ids(), ids(), ids()
    events = await log_writer.append(
        e1(one) + e9_before_recalc(plain, billed=True) + e9_before_recalc(billed, billed=True)
    )
    # `plain` is E9: drop its record events (they are the last three of its part)
    async with running(settings, recalc_engine) as client:
        await publish(broker.bootstrap, topic, events)
        last = events[-1].position
        r = await client.get(
            f"/v1/projects/{one.project}/finances?min_position={last}&wait_ms=30000"
        )
        assert r.status_code == 200, r.text
        assert r.json()["planned_revenue"] == "60.00"  # E1
        assert r.json()["actual_revenue"] == "45.00"  # E1
        more = await log_writer.append([recalc(billed)])
        await publish(broker.bootstrap, topic, more)
        url = f"/v1/projects/{billed.project}/finances?min_position={more[0].position}"
        body = (await client.get(url)).json()
        assert body["actual_revenue"] == "650.00"  # E10
        assert body["billed_revenue"] == "500.00"  # E10
        assert body["position"] >= more[0].position
        hours_body = (await client.get(f"/v1/projects/{billed.project}/hours")).json()["hours"]
        locked = [h for h in hours_body if h["locked_by"] == billed.record]
        assert len(locked) == 1 and locked[0]["revenue"] == "500.00"
        assert locked[0]["billing_rate"] == "50.00"
        record = (await client.get(f"/v1/billing-records/{billed.record}")).json()
        assert record["total"] == "500.00"
        assert record["status"] == "billed"
        tasks = (await client.get(f"/v1/projects/{billed.project}/tasks")).json()["tasks"]
        assert tasks[0]["actual_revenue"] == "650.00"
        # a position the log does not have yet: 409 after wait_ms
        far = more[0].position + 100
        r = await client.get(f"/v1/projects/{one.project}/finances?min_position={far}&wait_ms=50")
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "not_caught_up"
        # an event of the project that is in the log but not published: not caught up
        unpublished = await log_writer.append([hours(rid("h"), one, "1")])
        pos = unpublished[0].position
        r = await client.get(f"/v1/projects/{one.project}/finances?min_position={pos}&wait_ms=50")
        assert r.status_code == 409
        # ...while a project it does not touch is caught up at that position
        r = await client.get(f"/v1/projects/{plain.project}/finances?min_position={pos}")
        assert r.status_code == 200
        assert (await client.get("/v1/projects/nope/finances")).status_code == 404
        assert (await client.get("/v1/billing-records/nope")).status_code == 404
        await publish(broker.bootstrap, topic, unpublished)
        r = await client.get(f"/v1/projects/{one.project}/finances?min_position={pos}")
        assert r.json()["actual_revenue"] == "75.00"


async def test_move_arriving_target_first_and_restart_equal_fresh_replay(
    recalc_engine: AsyncEngine, log_writer: LogWriter, broker: EmbeddedBroker
) -> None:
    topic = f"ledger-{uuid.uuid4().hex[:6]}"
    settings = settings_for(log_writer.url, broker, topic)
    i = ids()
    target = rid("p")
    head = await log_writer.append([*e1(i), ProjectCreated(project_id=target, name="Q")])
    moved = await log_writer.append([move(i, target)])
    # hours on the moved task now live in the target's stream
    after = await log_writer.append([(_data(hours(rid("h"), i, "2")), target)])
    tail = await log_writer.append([(_data(hours(rid("h"), i, "1")), target)])
    events: list[RecordedEvent] = [*head, *moved, *after, *tail]
    on_target = [e for e in events if e.stream == f"project-{target}"]
    others = [e for e in events if e.stream != f"project-{target}"]
    async with running(settings, recalc_engine):
        await publish(broker.bootstrap, topic, on_target)  # the target's news first
        await applied(log_writer.url, [target], on_target[-1].position)
    # stopped mid-stream; a new worker (same group) gets the rest and redeliveries
    async with running(settings, recalc_engine):
        await publish(broker.bootstrap, topic, [*others, *on_target])
        await applied(log_writer.url, [i.project, target], events[-1].position)
    live = await dump(log_writer.url)
    task_rows = {t["task_id"]: t for t in live["tasks"]}
    assert task_rows[i.task]["project_id"] == target
    # a fresh worker on a fresh schema from the same log gives the same projections
    conn = await asyncpg.connect(plain_dsn(log_writer.url))
    try:
        await conn.execute("CREATE SCHEMA projection_next")
        for table in ("projects", "tasks", "hours", "expenses", "billing_records"):
            await conn.execute(
                f"CREATE TABLE projection_next.{table} (LIKE projection.{table} INCLUDING ALL)"
            )
    finally:
        await conn.close()
    fresh = Advancer(projections(recalc_engine, ProjectionStore("projection_next")), publish=False)
    await fresh.advance([i.project, target], events[-1].position)
    assert await dump(log_writer.url, "projection_next") == live


def _data(item: object) -> EventData:
    assert isinstance(item, tuple)
    data = item[0]
    assert isinstance(data, EventData)
    return data
