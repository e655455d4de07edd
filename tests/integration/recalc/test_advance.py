"""advance() against the real PostgreSQL: projections, applied positions, outbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg
import orjson
import pytest
from recalc_dump import TABLES, dump, outbox
from recalc_logkit import LogWriter
from recalc_scenarios import e1, e9_before_recalc, ids, recalc
from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.adapters.store import ProjectionStore
from services.recalc.bootstrap import projections
from services.recalc.service_layer.advance import Advancer
from shared.infra.db import plain_dsn

pytestmark = pytest.mark.integration


async def test_e1_projection_and_outbox(recalc_engine: AsyncEngine, log_writer: LogWriter) -> None:
    i = ids()
    events = await log_writer.append(e1(i))
    advancer = Advancer(projections(recalc_engine))
    await advancer.advance([i.project], events[-1].position)
    tables = await dump(log_writer.url)
    (project,) = tables["projects"]
    assert project["applied_position"] == events[-1].position
    assert project["planned_revenue"] == Decimal("60.00")  # E1
    assert project["actual_revenue"] == Decimal("45.00")  # E1
    (task,) = tables["tasks"]
    assert task["view_actual_hours"] == Decimal("1.5")
    assert task["view_planned_revenue"] == Decimal("60.00")
    (hour,) = tables["hours"]
    assert hour["revenue"] == Decimal("45.00")
    assert hour["billing_rate_source"] == "user"
    rows = await outbox(log_writer.url)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    last = orjson.loads(rows[-1]["payload"])
    assert rows[-1]["type"] == "ProjectFinancesChanged"
    assert last["totals"]["actual_revenue"] == "45.00"
    assert rows[-1]["position"] == events[-1].position


async def test_e9_e10_recalculation_outbox_before_after(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    plain, billed = ids(), ids()
    events = await log_writer.append(
        e9_before_recalc(plain, billed=False) + e9_before_recalc(billed, billed=True)
    )
    advancer = Advancer(projections(recalc_engine))
    await advancer.advance([plain.project, billed.project], events[-1].position)
    more = await log_writer.append([recalc(plain), recalc(billed)])
    await advancer.advance([plain.project], more[0].position)
    await advancer.advance([billed.project], more[1].position)
    projects = {p["project_id"]: p for p in (await dump(log_writer.url))["projects"]}
    assert projects[plain.project]["actual_revenue"] == Decimal("900.00")  # E9
    assert projects[billed.project]["actual_revenue"] == Decimal("650.00")  # E10
    assert projects[billed.project]["billed_revenue"] == Decimal("500.00")  # E10
    recalcs = [r for r in await outbox(log_writer.url) if r["type"] == "FinancesRecalculated"]
    by_project = {r["project_id"]: orjson.loads(r["payload"]) for r in recalcs}
    assert by_project[plain.project]["before"]["actual_revenue"] == "650.00"
    assert by_project[plain.project]["after"]["actual_revenue"] == "900.00"
    assert by_project[billed.project]["hours_locked"] == 1


async def test_redelivery_and_cold_restart_change_nothing(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    i = ids()
    events = await log_writer.append([*e9_before_recalc(i, billed=True), recalc(i)])
    first = Advancer(projections(recalc_engine))
    middle = events[5].position
    await first.advance([i.project], middle)
    await first.advance([i.project], events[-1].position)
    before = await dump(log_writer.url)
    published = await outbox(log_writer.url)
    # the same work again, by the same worker (cached) and by a cold one (loaded)
    await first.advance([i.project], middle)
    await first.advance([i.project], events[-1].position)
    await Advancer(projections(recalc_engine)).advance([i.project], events[-1].position)
    assert await dump(log_writer.url) == before
    assert await outbox(log_writer.url) == published


async def test_a_project_far_behind_is_advanced_in_steps_to_the_same_projection(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    """At most `max_events` events a transaction (a catch-up's memory stays bounded):
    the projection advanced in steps is the one advanced in one go."""
    plain, billed = ids(), ids()
    events = await log_writer.append(
        e9_before_recalc(plain, billed=False)
        + e9_before_recalc(billed, billed=True)
        + [recalc(plain), recalc(billed)]
    )
    projects, last = [plain.project, billed.project], events[-1].position
    await Advancer(projections(recalc_engine)).advance(projects, last)

    conn = await asyncpg.connect(plain_dsn(log_writer.url))
    try:
        await conn.execute("CREATE SCHEMA projection_next")
        for table in TABLES:
            await conn.execute(
                f"CREATE TABLE projection_next.{table} (LIKE projection.{table} INCLUDING ALL)"
            )
        stepped = Advancer(
            projections(recalc_engine, ProjectionStore("projection_next")),
            publish=False,
            max_events=3,
        )
        reached: list[int] = []
        once = stepped._transaction_once

        async def counted(group: list[str], upto: int) -> Any:
            done, position = await once(group, upto)
            reached.append(position)
            return done, position

        stepped._transaction_once = counted  # type: ignore[method-assign]
        assert await stepped.advance(projects, last) == set(projects)
        streams = [e for e in events if e.stream.startswith("project-")]
        assert len(reached) >= len(streams) // 3 and reached == sorted(reached)
        assert reached[-1] == last

        for table, key in TABLES.items():
            rows = {}
            for schema in ("projection", "projection_next"):
                # hours as readers see them: `priced_at` may be on the project row
                store = ProjectionStore(schema)
                source = store.hour_lines() if table == "hours" else store.table(table)
                found = await conn.fetch(
                    f"SELECT {key} AS id, to_jsonb(t) - 'seq' AS row FROM {source} t"
                )
                rows[schema] = {r["id"]: orjson.loads(r["row"]) for r in found}
            assert rows["projection_next"].keys() == rows["projection"].keys(), table
            for row_id, want in rows["projection"].items():
                got = rows["projection_next"][row_id]
                assert {k: v for k, v in got.items() if want.get(k) != v} == {}, (table, row_id)
    finally:
        await conn.close()
