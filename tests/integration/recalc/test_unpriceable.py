"""Issue: one accepted event must never stop pricing for other projects.

Events that pricing cannot apply are put straight into the log here, as an older
ledger (or a bug) could have let them in; today's ledger refuses each of them with a
422 (tests/integration/ledger). The worker parks the projects they poison, with the
error, and goes on pricing the others; the parked projects' reads answer 503
`project_unpriceable`; `as_of`, `tally audit` and `tally replay` say so too.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import pytest
from pydantic import BaseModel
from recalc_appkit import running, settings_for
from recalc_logkit import LogWriter, publish
from recalc_scenarios import Ids, e1, hours, ids, rid
from sqlalchemy.ext.asyncio import AsyncEngine

from services.cli import audit, status
from services.recalc.adapters.unpriceable import parked
from services.recalc.service_layer.isolation import CannotPrice
from services.recalc.service_layer.replay import Replayer
from shared.events import (
    Assignment,
    EventData,
    ProjectCreated,
    RatePeriod,
    RatesSet,
    TaskCreated,
    UserDefined,
)
from shared.infra.db import plain_dsn
from shared.infra.embedded import EmbeddedBroker

pytestmark = pytest.mark.integration

M = TypeVar("M", bound=BaseModel)

SECRET = "y" * 40
HUGE = Decimal("1000000000000000000000000000")  # 10^27: past 28 digits in cents
NINES = Decimal("9" * 28)


def unchecked(cls: type[M], **fields: Any) -> M:
    """An event as an older, laxer ledger may have stored it (no validation)."""
    return cls.model_construct(**fields)


def poisons(budget: Ids, rate: Ids, plan: Ids) -> list[EventData | tuple[EventData, str]]:
    return [
        # a budget past what pricing carries
        unchecked(ProjectCreated, project_id=budget.project, name="B", budget=HUGE),
        # a rate of 28 nines, then hours priced with it
        UserDefined(user_id=rate.user, name="R"),
        unchecked(
            RatesSet,
            level="user",
            rate_type="billing",
            user_id=rate.user,
            periods=(unchecked(RatePeriod, value=NINES),),
        ),
        ProjectCreated(project_id=rate.project, name="R"),
        TaskCreated(task_id=rate.task, project_id=rate.project, name="T"),
        hours(rid("h"), rate, "8"),
        # a plan over eight thousand years
        UserDefined(user_id=plan.user, name="P"),
        ProjectCreated(project_id=plan.project, name="P"),
        (
            unchecked(
                TaskCreated,
                task_id=plan.task,
                project_id=plan.project,
                name="T",
                planned_hours=Decimal(100),
                planned_start=date(1, 1, 3),
                planned_completion=date(9999, 12, 30),
                assignments=(Assignment(user_id=plan.user),),
            ),
            plan.project,
        ),
    ]


async def test_poisoned_projects_are_parked_and_the_others_priced(
    recalc_engine: AsyncEngine, log_writer: LogWriter, broker: EmbeddedBroker
) -> None:
    topic = f"ledger-{uuid.uuid4().hex[:6]}"
    settings = settings_for(log_writer.url, broker, topic)
    before, after, budget, rate, plan = ids(), ids(), ids(), ids(), ids()
    events = await log_writer.append(e1(before) + poisons(budget, rate, plan) + e1(after))
    async with running(settings, recalc_engine, ("finance:read", "audit:read")) as client:
        await publish(broker.bootstrap, topic, events)
        last = events[-1].position
        for healthy in (before, after):
            r = await client.get(
                f"/v1/projects/{healthy.project}/finances?min_position={last}&wait_ms=30000"
            )
            assert r.status_code == 200, r.text
            assert r.json()["actual_revenue"] == "45.00"  # E1, beside the poison

        # a project with news after the poison is priced too (no stall)
        more = await log_writer.append([hours(rid("h"), after, "1")])
        await publish(broker.bootstrap, topic, more)
        r = await client.get(
            f"/v1/projects/{after.project}/finances?min_position={more[0].position}&wait_ms=30000"
        )
        assert r.status_code == 200, r.text
        assert r.json()["actual_revenue"] == "75.00"

        conn = await asyncpg.connect(plain_dsn(log_writer.url))
        try:
            stuck = {p.project_id: p for p in await parked(conn)}
        finally:
            await conn.close()
        assert set(stuck) == {budget.project, rate.project}, stuck
        assert "InvalidOperation" in stuck[budget.project].error

        # the parked projects' reads say why, at once, instead of 409 for ever
        for poisoned in (budget, rate):
            for path in ("finances", "tasks", "hours"):
                r = await client.get(f"/v1/projects/{poisoned.project}/{path}?min_position={last}")
                assert r.status_code == 503, r.text
                assert r.json()["error"]["code"] == "project_unpriceable"
            r = await client.get(f"/v1/projects/{poisoned.project}/finances?as_of={last}")
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "project_unpriceable"

        # the plan over millennia is priced (per run of rates, not per day)
        r = await client.get(
            f"/v1/projects/{plan.project}/finances?min_position={last}&wait_ms=30000"
        )
        assert r.status_code == 200, r.text

    # the command line: status lists them, audit says why, replay leaves them out
    state = await status.load(log_writer.url)
    assert {p["project_id"] for p in state["unpriceable"]} == {budget.project, rate.project}
    with pytest.raises(CannotPrice, match="cannot be priced"):
        await audit.load(log_writer.url, rate.project, None)
    conn = await asyncpg.connect(plain_dsn(log_writer.url))
    try:
        replayer = Replayer()
        report = await replayer.rebuild(conn)
        await replayer.compare(conn, wait_seconds=0)
    finally:
        await conn.close()
    assert set(report.unpriceable) == {budget.project, rate.project}
    assert not report.differences and not report.behind


async def test_a_parked_project_is_priced_again_once_its_events_can_be(
    recalc_engine: AsyncEngine, log_writer: LogWriter, broker: EmbeddedBroker
) -> None:
    """After a fix (here: the parked row names a project pricing now handles, as a
    deployed fix would make it), the worker's start tries it again and takes it off."""
    topic = f"ledger-{uuid.uuid4().hex[:6]}"
    settings = settings_for(log_writer.url, broker, topic)
    fixed = ids()
    events = await log_writer.append(e1(fixed))
    conn = await asyncpg.connect(plain_dsn(log_writer.url))
    try:
        await conn.execute(
            "INSERT INTO unpriceable_projects (project_id, position, applied_position, error)"
            " VALUES ($1, $2, 0, 'InvalidOperation: as before the fix')",
            fixed.project,
            events[-1].position,
        )
    finally:
        await conn.close()
    async with running(settings, recalc_engine) as client:
        # no message is published: the start alone retries the parked project,
        # which stays listed (and its reads 503) until that retry has priced it
        conn = await asyncpg.connect(plain_dsn(log_writer.url))
        try:
            for _ in range(300):  # at most ~15 s
                if not await parked(conn):
                    break
                await asyncio.sleep(0.05)
            assert await parked(conn) == []
        finally:
            await conn.close()
        r = await client.get(
            f"/v1/projects/{fixed.project}/finances"
            f"?min_position={events[-1].position}&wait_ms=30000"
        )
        assert r.status_code == 200, r.text
        assert r.json()["actual_revenue"] == "45.00"
