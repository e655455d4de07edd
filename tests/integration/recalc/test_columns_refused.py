"""What the columns refuse is priced as objects (issue 9): a rate the ledger accepts
(up to ~10^12) but whose amount at 24 h could overflow int64 (above ~3.8x10^11) makes
the worker retry that project's transaction with its entries as objects, and the
result is the scalar path's, to the cent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from recalc_dump import dump
from recalc_logkit import LogWriter
from recalc_scenarios import billing, hours, ids
from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.adapters.store import ProjectionStore
from services.recalc.bootstrap import projections
from services.recalc.service_layer.advance import Advancer
from shared.events import FinancesRecalculationRequested, ProjectCreated, TaskCreated, UserDefined
from shared.infra.db import plain_dsn

pytestmark = pytest.mark.integration


async def test_a_rate_too_large_for_the_columns_is_priced_as_objects(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    i, small = ids(), ids()
    setup = await log_writer.append(
        [
            UserDefined(user_id=i.user, name="U"),
            billing(i.user, "30"),
            ProjectCreated(project_id=i.project, name="P"),
            TaskCreated(task_id=i.task, project_id=i.project, name="T"),
            hours("h-big-1", i, "24"),
            hours("h-big-2", i, "0.01"),
            UserDefined(user_id=small.user, name="V"),
            billing(small.user, "40"),
            ProjectCreated(project_id=small.project, name="Q"),
            TaskCreated(task_id=small.task, project_id=small.project, name="T"),
            hours("h-small", small, "2"),
        ]
    )
    advancer = Advancer(projections(recalc_engine))
    await advancer.advance([i.project, small.project], setup[-1].position)
    huge = "999999999999.9999"  # the ledger's own limit (MAX_MONEY)
    tail = await log_writer.append(
        [
            billing(i.user, huge),
            billing(small.user, "45"),
            (FinancesRecalculationRequested(project_ids=(i.project,)), i.project),
            (FinancesRecalculationRequested(project_ids=(small.project,)), small.project),
        ]
    )
    await advancer.advance([i.project, small.project], tail[-1].position)
    assert advancer.by_objects == {i.project}  # the other stays on the columns
    rows = {h["hour_id"]: h for h in (await dump(log_writer.url))["hours"]}
    rate = Decimal(huge)
    assert rows["h-big-1"]["revenue"] == (24 * rate).quantize(Decimal("0.01"))
    assert rows["h-big-2"]["revenue"] == (Decimal("0.01") * rate).quantize(Decimal("0.01"))
    assert rows["h-big-1"]["billing_rate"] == rate
    assert rows["h-small"]["revenue"] == Decimal("90.00")
    projects = {p["project_id"]: p for p in (await dump(log_writer.url))["projects"]}
    expected = (24 * rate).quantize(Decimal("0.01")) + (Decimal("0.01") * rate).quantize(
        Decimal("0.01")
    )
    assert projects[i.project]["actual_revenue"] == expected


class Loads(ProjectionStore):
    """Records what each load as columns gave and refused."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.refused: list[str] = []

    async def load_tables(
        self, conn: Any, project_ids: Any, held: Any, candidates: Any = ()
    ) -> Any:
        tables, refused = await super().load_tables(conn, project_ids, held, candidates)
        self.loaded += list(tables)
        self.refused += refused
        return tables, refused


class _Recording:
    """A connection that records the SQL of every `fetch`."""

    def __init__(self, conn: Any, sql: list[str]) -> None:
        self._conn = conn
        self._sql = sql

    async def fetch(self, sql: str, *args: Any) -> Any:
        self._sql.append(sql)
        return await self._conn.fetch(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class Queries(Loads):
    """Records the statements of each load as columns."""

    def __init__(self) -> None:
        super().__init__()
        self.sql: list[str] = []

    async def load_tables(
        self, conn: Any, project_ids: Any, held: Any, candidates: Any = ()
    ) -> Any:
        return await super().load_tables(_Recording(conn, self.sql), project_ids, held, candidates)


async def test_a_fresh_worker_learns_users_and_roles_from_its_reference_data(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    """The hashes of the hour rows' owners are learnt from the reference's users
    (hashed by the server with the project's own ids), not by a scan of the hour
    rows, which took 80 ms for the bench's 100,000-entry project."""
    i, _, _ = await _priced_project(recalc_engine, log_writer)
    store = Queries()  # a worker that has learnt nothing yet
    fresh = Advancer(projections(recalc_engine, store))
    await _recalculate_at(recalc_engine, log_writer, fresh, i, "40")
    assert (store.loaded, store.refused) == ([i.project], [])
    assert store.sql and not any("DISTINCT" in sql for sql in store.sql), store.sql
    assert store.ids.names[store.ids.keys[i.user]] == i.user
    rows = {h["hour_id"]: h for h in (await dump(log_writer.url))["hours"]}
    assert rows["h-1"]["revenue"] == Decimal("80.00")


async def _priced_project(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> tuple[Any, Advancer, Loads]:
    """A project with two entries, advanced, then re-priced once as columns."""
    i = ids()
    setup = await log_writer.append(
        [
            UserDefined(user_id=i.user, name="U"),
            billing(i.user, "30"),
            ProjectCreated(project_id=i.project, name="P"),
            TaskCreated(task_id=i.task, project_id=i.project, name="T"),
            hours("h-1", i, "2"),
            hours("h-2", i, "1.5"),
        ]
    )
    store = Loads()
    advancer = Advancer(projections(recalc_engine, store))
    await advancer.advance([i.project], setup[-1].position)
    await _recalculate_at(recalc_engine, log_writer, advancer, i, "35")
    assert (store.loaded, store.refused) == ([i.project], [])
    return i, advancer, store


async def _recalculate_at(
    recalc_engine: AsyncEngine, log_writer: LogWriter, advancer: Advancer, i: Any, rate: str
) -> None:
    tail = await log_writer.append(
        [
            billing(i.user, rate),
            (FinancesRecalculationRequested(project_ids=(i.project,)), i.project),
        ]
    )
    await advancer.advance([i.project], tail[-1].position)


async def test_a_stored_amount_the_columns_cannot_hold_exactly_is_priced_as_objects(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    """A row whose stored form is not exact in the columns (here a cost with a third
    place, as no release writes) refuses its project's load (migration 0009: its
    `cost_x` is NULL); the recalculation is the scalar path's."""
    i, advancer, store = await _priced_project(recalc_engine, log_writer)
    conn = await asyncpg.connect(plain_dsn(log_writer.url))
    try:
        await conn.execute("UPDATE projection.hours SET cost = 60.001 WHERE hour_id = 'h-1'")
        sql = "SELECT cost_x FROM projection.hours WHERE hour_id = 'h-1'"
        assert await conn.fetchval(sql) is None
    finally:
        await conn.close()
    await _recalculate_at(recalc_engine, log_writer, advancer, i, "40")
    assert store.refused == [i.project]
    rows = {h["hour_id"]: h for h in (await dump(log_writer.url))["hours"]}
    assert rows["h-1"]["revenue"] == Decimal("80.00")
    assert rows["h-2"]["revenue"] == Decimal("60.00")


async def test_two_ids_with_one_hash_refuse_the_load(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    """Ids travel as 64-bit hashes (`hours_as_columns.IdKeys`): when the worker has learnt two
    ids for the hash an entry names (planted here), the load is refused rather than
    guessed, and the project is priced as objects, to the cent."""
    i, advancer, store = await _priced_project(recalc_engine, log_writer)
    key = store.ids.keys[i.user]  # learnt by the first load
    store.ids.learn([(key, "someone-else")])
    assert key in store.ids.shared
    await _recalculate_at(recalc_engine, log_writer, advancer, i, "50")
    assert store.refused == [i.project]
    rows = {h["hour_id"]: h for h in (await dump(log_writer.url))["hours"]}
    assert rows["h-1"]["revenue"] == Decimal("100.00")
    assert rows["h-1"]["owner_id"] == i.user
