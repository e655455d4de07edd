"""What the columns refuse is priced as objects (issue 9): a rate the ledger accepts
(up to ~10^12) but whose amount at 24 h could overflow int64 (above ~3.8x10^11) makes
the worker retry that project's transaction with its entries as objects, and the
result is the scalar path's, to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from recalc_dump import dump
from recalc_logkit import LogWriter
from recalc_scenarios import billing, hours, ids
from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.adapters.store import ProjectionStore
from services.recalc.service_layer.advance import Advancer
from shared.events import FinancesRecalculationRequested, ProjectCreated, TaskCreated, UserDefined

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
    advancer = Advancer(ProjectionStore())
    await advancer.advance(recalc_engine, [i.project, small.project], setup[-1].position)
    huge = "999999999999.9999"  # the ledger's own limit (MAX_MONEY)
    tail = await log_writer.append(
        [
            billing(i.user, huge),
            billing(small.user, "45"),
            (FinancesRecalculationRequested(project_ids=(i.project,)), i.project),
            (FinancesRecalculationRequested(project_ids=(small.project,)), small.project),
        ]
    )
    await advancer.advance(recalc_engine, [i.project, small.project], tail[-1].position)
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
