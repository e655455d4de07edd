"""Loading the next batch's hour tables ahead (`Advancer.load_ahead`): a table loaded
ahead is taken only while it is still what is stored."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from recalc_dump import dump
from recalc_logkit import LogWriter
from recalc_scenarios import Ids, billing, hours, ids
from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.adapters.store import ProjectionStore
from services.recalc.bootstrap import projections
from services.recalc.service_layer.advance import Advancer
from shared.events import (
    FinancesRecalculationRequested,
    ProjectCreated,
    TaskCreated,
    UserDefined,
)

pytestmark = pytest.mark.integration


class Loads(ProjectionStore):
    """Records the projects of every load as columns."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[list[str]] = []

    async def load_tables(
        self, conn: Any, project_ids: Any, held: Any, candidates: Any = ()
    ) -> Any:
        self.loaded.append(sorted(project_ids))
        return await super().load_tables(conn, project_ids, held, candidates)


async def _setup(log_writer: LogWriter, *projects: Ids) -> int:
    events: list[Any] = []
    for n, i in enumerate(projects):
        events += [
            UserDefined(user_id=i.user, name=f"U{n}"),
            billing(i.user, "30"),
            ProjectCreated(project_id=i.project, name=f"P{n}"),
            TaskCreated(task_id=i.task, project_id=i.project, name="T"),
            hours(f"{i.project}-h1", i, "2"),
            hours(f"{i.project}-h2", i, "1.5"),
        ]
    recorded = await log_writer.append(events)
    return recorded[-1].position


async def _recalculate(log_writer: LogWriter, i: Ids, rate: str) -> int:
    recorded = await log_writer.append(
        [
            billing(i.user, rate),
            (FinancesRecalculationRequested(project_ids=(i.project,)), i.project),
        ]
    )
    return recorded[-1].position


async def _revenues(url: str) -> dict[str, Decimal]:
    return {h["hour_id"]: h["revenue"] for h in (await dump(url))["hours"]}


async def test_a_table_loaded_ahead_is_taken_and_prices_as_one_loaded_in_the_transaction(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    a, b = ids(), ids()
    store = Loads()
    advancer = Advancer(projections(recalc_engine, store))
    await advancer.advance([a.project, b.project], await _setup(log_writer, a, b))
    await _recalculate(log_writer, a, "40")
    upto = await _recalculate(log_writer, b, "50")
    advancer.load_ahead([b.project])
    assert advancer._ahead_task is not None
    await advancer._ahead_task
    store.loaded.clear()
    await advancer.advance([a.project, b.project], upto)
    assert store.loaded == [[a.project]]  # b's table came from the load ahead
    revenues = await _revenues(log_writer.url)
    assert revenues[f"{a.project}-h1"] == Decimal("80.00")
    assert revenues[f"{b.project}-h1"] == Decimal("100.00")
    assert revenues[f"{b.project}-h2"] == Decimal("75.00")


async def test_a_table_loaded_before_its_project_moved_on_is_not_taken(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    """An entry logged after the load ahead: the table lacks it, the project's applied
    position says so, and the transaction loads for itself (and re-prices it)."""
    a = ids()
    store = Loads()
    advancer = Advancer(projections(recalc_engine, store))
    await advancer.advance([a.project], await _setup(log_writer, a))
    advancer.load_ahead([a.project])
    assert advancer._ahead_task is not None
    await advancer._ahead_task
    late = await log_writer.append([hours(f"{a.project}-h3", a, "1")])
    await advancer.advance([a.project], late[-1].position)
    store.loaded.clear()
    await advancer.advance([a.project], await _recalculate(log_writer, a, "40"))
    assert store.loaded == [[a.project]]
    revenues = await _revenues(log_writer.url)
    assert revenues[f"{a.project}-h3"] == Decimal("40.00")
    assert revenues[f"{a.project}-h1"] == Decimal("80.00")


async def test_tables_loaded_ahead_and_never_taken_are_forgotten(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    """An idle worker drops a wrong guess (`Worker._release_when_idle`)."""
    a = ids()
    store = Loads()
    advancer = Advancer(projections(recalc_engine, store))
    await advancer.advance([a.project], await _setup(log_writer, a))
    advancer.load_ahead([a.project])
    assert advancer._ahead_task is not None
    await advancer._ahead_task
    advancer.forget_ahead()
    store.loaded.clear()
    await advancer.advance([a.project], await _recalculate(log_writer, a, "40"))
    assert store.loaded == [[a.project]]  # loaded for itself
    assert (await _revenues(log_writer.url))[f"{a.project}-h1"] == Decimal("80.00")
