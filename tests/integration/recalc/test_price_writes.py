"""A recalculation writes only what it changed: the price columns of entries whose
prices differ, its position once on the project row for the others (`priced_at` as
read, `rows.PRICED_AT`), and the kept state of entries it kept or stopped keeping;
loads share equal values. The result is the same, to the written scale, as a fresh
advance of the whole log."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from recalc_logkit import LogWriter
from recalc_scenarios import Item, billing, rid
from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.adapters.store import ProjectionStore, Writes
from services.recalc.bootstrap import projections
from services.recalc.service_layer.advance import Advancer
from shared.events import (
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordStatusChanged,
    FinancesRecalculationRequested,
    HoursLogged,
    ProjectCreated,
    TaskCreated,
    UserDefined,
)
from shared.infra.db import plain_dsn, raw

pytestmark = pytest.mark.integration

_HOUR_TEXT = (
    "hour_id, project_id, task_id, owner_id, entry_date, hours::text, role_id,"
    " counts_as_revenue, cost::text, revenue::text, cost_rate::text, billing_rate::text,"
    " cost_rate_source, billing_rate_source, priced_at, billing_record_id"
)


class SpyStore(ProjectionStore):
    """Remembers what each transaction asked to write."""

    def __init__(self, schema: str = "projection") -> None:
        super().__init__(schema)
        self.seen: list[Writes] = []

    async def write(self, conn: Any, writes: Writes) -> None:
        self.seen.append(writes)
        await super().write(conn, writes)


def _logged(hour_id: str, user: str, task: str, project: str, amount: str) -> Item:
    entry = HoursLogged(
        hour_id=hour_id,
        owner_id=user,
        task_id=task,
        entry_date=date(2023, 6, 20),
        hours=Decimal(amount),
    )
    return (entry, project)


async def _hours_text(url: str, schema: str) -> list[dict[str, Any]]:
    """The hour rows as readers see them, numbers as text (their written scale)."""
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        source = ProjectionStore(schema).hour_lines()
        rows = await conn.fetch(f"SELECT {_HOUR_TEXT}, kept FROM {source} h ORDER BY hour_id")
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def _next_schema(url: str) -> None:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        await conn.execute("CREATE SCHEMA projection_next")
        for table in ("projects", "tasks", "hours", "expenses", "billing_records"):
            await conn.execute(
                f"CREATE TABLE projection_next.{table} (LIKE projection.{table} INCLUDING ALL)"
            )
    finally:
        await conn.close()


async def test_recalculation_writes_only_changed_prices(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    project, task = rid("p"), rid("t")
    moved, rescaled, same = rid("u"), rid("u"), rid("u")
    h_moved, h_rescaled, h_same = rid("h"), rid("h"), rid("h")
    h_same2 = rid("h")
    setup = await log_writer.append(
        [
            *(UserDefined(user_id=u, name=u) for u in (moved, rescaled, same)),
            billing(moved, "50.00"),
            billing(rescaled, "40.00"),
            billing(same, "30.00"),
            ProjectCreated(project_id=project, name="P"),
            TaskCreated(task_id=task, project_id=project, name="T"),
            _logged(h_moved, moved, task, project, "10"),
            _logged(h_rescaled, rescaled, task, project, "2"),
            _logged(h_same, same, task, project, "1.5"),
            _logged(h_same2, same, task, project, "3"),
        ]
    )
    store = SpyStore()
    advancer = Advancer(projections(recalc_engine, store))
    await advancer.advance([project], setup[-1].position)
    # A new rate for one user; the same rate set again for another (R10.9: the
    # recalculation re-prices every entry, but only one's prices differ).
    tail = await log_writer.append(
        [
            billing(moved, "75.00"),
            billing(rescaled, "40"),
            FinancesRecalculationRequested(project_ids=(project,)),
        ]
    )
    for cold in (False, True):  # from the cached state, then from a loaded one
        store.seen.clear()
        writer = Advancer(projections(recalc_engine, store)) if cold else advancer
        await writer.advance([project], tail[-1].position)
        if cold:  # all applied already: nothing to write about hours
            assert all(not w.priced and not w.restamped and not w.hours for w in store.seen)
            continue
        (writes,) = store.seen
        # no object: the stored entries were re-priced as columns (issue 9)
        assert writes.hours == writes.priced == writes.restamped == []
        (table,) = writes.tables.values()
        # one row written: 10 h at the new 75.00; the others' new position is on the
        # project row
        assert table.prices.revenue[table.written].tolist() == [75_000]
    live = {r["hour_id"]: r for r in await _hours_text(log_writer.url, "projection")}
    assert live[h_moved]["revenue"] == "750.00"  # 10 h at the new 75.00
    assert live[h_rescaled]["revenue"] == "80.00"
    assert live[h_same]["revenue"] == "45.00"
    assert {r["priced_at"] for r in live.values()} == {tail[-1].position}
    # The same log advanced in one go, on a fresh schema, gives the same rows, text-equal.
    await _next_schema(log_writer.url)
    fresh = Advancer(projections(recalc_engine, ProjectionStore("projection_next")), publish=False)
    await fresh.advance([project], tail[-1].position)
    assert await _hours_text(log_writer.url, "projection_next") == list(live.values())


async def test_loaded_entries_share_equal_values(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    project, task, user = rid("p"), rid("t"), rid("u")
    events = await log_writer.append(
        [
            UserDefined(user_id=user, name="U"),
            billing(user, "30.00"),
            ProjectCreated(project_id=project, name="P"),
            TaskCreated(task_id=task, project_id=project, name="T"),
            *(_logged(rid("h"), user, task, project, "1.5") for _ in range(3)),
        ]
    )
    await Advancer(projections(recalc_engine)).advance([project], events[-1].position)
    store = ProjectionStore()
    async with recalc_engine.connect() as sa_conn:
        loaded = await store.load(await raw(sa_conn), [project])
    first, *others = loaded[project].state.hours.values()
    assert len(others) == 2
    for other in others:
        assert other.owner_id is first.owner_id
        assert other.hours is first.hours
        assert other.revenue is first.revenue
        assert other.entry_date is first.entry_date
    assert str(first.revenue) == "45.00"


async def test_a_cost_locked_entry_is_kept_while_the_rest_take_the_new_position(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    """R7.3/R10.9: with billed_locks_cost, a billed entry is not re-priced at all and
    keeps its priced_at (the one row written: now kept), while the rest of the project
    reads the recalculation's position. Unbilled, the next recalculation re-prices it
    again: it is no longer kept."""
    project, task, user, record = rid("p"), rid("t"), rid("u"), rid("br")
    locked, *rest = [rid("h") for _ in range(5)]
    setup = await log_writer.append(
        [
            UserDefined(user_id=user, name="U"),
            billing(user, "30.00"),
            ProjectCreated(project_id=project, name="P", billed_locks_cost=True),
            TaskCreated(task_id=task, project_id=project, name="T"),
            *(_logged(h, user, task, project, "2") for h in [locked, *rest]),
            (
                BillingRecordCreated(
                    billing_record_id=record, project_id=project, description="June"
                ),
                project,
            ),
            (BillingRecordItemsAdded(billing_record_id=record, hour_ids=(locked,)), project),
            (BillingRecordStatusChanged(billing_record_id=record, status="billed"), project),
        ]
    )
    store = SpyStore()
    advancer = Advancer(projections(recalc_engine, store))
    await advancer.advance([project], setup[-1].position)
    before = {r["hour_id"]: r for r in await _hours_text(log_writer.url, "projection")}
    tail = await log_writer.append([FinancesRecalculationRequested(project_ids=(project,))])
    store.seen.clear()
    await advancer.advance([project], tail[-1].position)
    (writes,) = store.seen
    assert writes.hours == writes.priced == writes.restamped == []
    assert _written_kept(writes) == [True]  # one row: the locked one, now kept
    live = {r["hour_id"]: r for r in await _hours_text(log_writer.url, "projection")}
    assert live[locked] == {**before[locked], "kept": True}
    assert {live[h]["priced_at"] for h in rest} == {tail[-1].position}
    await _next_schema(log_writer.url)
    fresh = Advancer(projections(recalc_engine, ProjectionStore("projection_next")), publish=False)
    await fresh.advance([project], tail[-1].position)
    assert await _hours_text(log_writer.url, "projection_next") == list(live.values())
    # Unbilled, then recalculated: re-priced at the same prices, so only un-kept.
    again = await log_writer.append(
        [
            (BillingRecordStatusChanged(billing_record_id=record, status="not_billed"), project),
            FinancesRecalculationRequested(project_ids=(project,)),
        ]
    )
    store.seen.clear()
    await advancer.advance([project], again[-1].position)
    (writes,) = store.seen
    assert _written_kept(writes) == [False]  # the locked one, no longer kept
    live = {r["hour_id"]: r for r in await _hours_text(log_writer.url, "projection")}
    assert {r["priced_at"] for r in live.values()} == {again[-1].position}
    assert not any(r["kept"] for r in live.values())


def _written_kept(writes: Writes) -> list[bool]:
    """`kept` of every row a recalculation marked written, in its project's table."""
    (table,) = writes.tables.values()
    return [bool(k) for k in table.kept[table.written]]
