"""The worked examples E1–E13 of examples.md, end to end: events posted over HTTP,
finances read back over HTTP with `min_position`, exactly as the examples state them."""

from __future__ import annotations

import pytest
from support.client import Tally
from support.events import (
    assign,
    expense,
    flat,
    hours,
    items,
    new_id,
    period,
    project,
    project_status,
    rates,
    record,
    record_status,
    role,
    task,
    user,
)
from support.kafka import find_on_topic
from support.system import System

pytestmark = pytest.mark.e2e

MON = "2023-06-19"  # a Monday


async def test_e1_planned_and_actual_user_hourly_revenue(tally: Tally) -> None:
    p, t, u = new_id("P"), new_id("T"), new_id("U")
    await tally.post(
        project(p),
        user(u),
        rates("user", "billing", flat("30.00"), user_id=u),
        task(t, p, planned_hours="2", planned_start=MON, assignments=[assign(u)]),
        hours(new_id("h"), u, "1.5", task_id=t),
    )
    got = await tally.finances(p)
    # planned 2 h × 30.00 = 60.00; actual 1.5 h × 30.00 = 45.00
    assert (got["planned_revenue"], got["actual_revenue"]) == ("60.00", "45.00")


async def test_e2_rate_periods_by_entry_date(tally: Tally) -> None:
    p, t, u = new_id("P"), new_id("T"), new_id("U")
    await tally.post(
        project(p),
        user(u),
        rates(
            "user",
            "billing",
            period("20.00", end="2023-04-30"),
            period("25.00", start="2023-05-01"),
            user_id=u,
        ),
        task(t, p, planned_start="2023-04-28"),
        hours(new_id("h"), u, "2", "2023-04-28", task_id=t),
        hours(new_id("h"), u, "3", "2023-05-02", task_id=t),
    )
    # 2 × 20.00 + 3 × 25.00 = 40.00 + 75.00 = 115.00
    assert (await tally.finances(p))["actual_revenue"] == "115.00"


async def test_e3_capped_revenue(tally: Tally) -> None:
    p, t, u = new_id("P"), new_id("T"), new_id("U")
    h = new_id("h")
    await tally.post(
        project(p),
        user(u),
        rates("user", "billing", flat("25.00"), user_id=u),
        task(t, p, planned_start=MON, revenue_type="user_hourly_cap", revenue_amount="20.00"),
        hours(h, u, "1", task_id=t),
    )
    # 1 h × 25.00 = 25.00 on the hour line, capped at 20.00 on the task (R5.5)
    assert (await tally.finances(p))["actual_revenue"] == "20.00"
    assert (await tally.tasks(p))[t]["actual_revenue"] == "20.00"
    assert (await tally.hours(p))[h]["revenue"] == "25.00"


async def test_e4_role_hourly_plan_plus_project_fixed_revenue(tally: Tally) -> None:
    p, t, r = new_id("P"), new_id("T"), new_id("Consultant")
    await tally.post(
        role(r, "Consultant"),
        rates("role", "billing", flat("20.00"), role_id=r),
        project(p, fixed_revenue="100.00"),
        task(
            t,
            p,
            planned_hours="10",
            planned_start=MON,
            revenue_type="role_hourly",
            assignments=[assign(role_id=r)],
        ),
    )
    # 10 h × 20.00 + 100.00 fixed = 300.00
    assert (await tally.finances(p))["planned_revenue"] == "300.00"


async def test_e5_planned_cost(tally: Tally) -> None:
    p, t, u = new_id("P"), new_id("T"), new_id("U")
    await tally.post(
        user(u),
        rates("user", "cost", flat("15.00"), user_id=u),
        project(p, fixed_cost="200.00"),
        task(t, p, planned_hours="5", planned_start=MON, assignments=[assign(u)]),
        expense(new_id("x"), p, task_id=t, planned_amount="100.00"),
        expense(new_id("x"), p, task_id=t, planned_amount="50.00"),
        expense(new_id("x"), p, planned_amount="100.00"),
    )
    got = await tally.finances(p)
    # 100 + 50 (task expenses) + 5 h × 15.00 + 100 (project expense) + 200 fixed = 525.00
    assert got["planned_cost"] == "525.00"
    assert (got["planned_labor_cost"], got["planned_expense_cost"]) == ("75.00", "250.00")


async def test_e6_actual_cost(tally: Tally) -> None:
    p, t, c, uc, u = (new_id(x) for x in ("P", "T", "Consultant", "Uc", "U"))
    await tally.post(
        role(c, "Consultant"),
        rates("role", "cost", flat("15.00"), role_id=c),
        user(uc, c),
        user(u),
        rates("user", "cost", flat("20.00"), user_id=u),
        project(p, fixed_cost="200.00"),
        task(t, p, planned_start=MON, cost_type="role_hourly"),
        expense(new_id("x"), p, task_id=t, actual_amount="110.00"),
        expense(new_id("x"), p, task_id=t, actual_amount="40.00"),
        hours(new_id("h"), uc, "6", task_id=t),
        expense(new_id("x"), p, actual_amount="100.00"),
        hours(new_id("h"), u, "10", project_id=p),
    )
    got = await tally.finances(p)
    # 110 + 40 + 6 × 15.00 + 100 + 10 × 20.00 + 200 = 150 + 90 + 100 + 200 + 200 = 740.00
    assert got["actual_cost"] == "740.00"
    assert (got["actual_labor_cost"], got["actual_expense_cost"]) == ("290.00", "250.00")


def _e7_override(p: str, r: str) -> dict[str, object]:
    return rates(
        "project_role",
        "billing",
        period("100.00", end="2023-06-20"),
        period("150.00", start="2023-06-21"),
        project_id=p,
        role_id=r,
    )


def _e7_task(t: str, p: str, r: str) -> dict[str, object]:
    return task(
        t,
        p,
        planned_hours="40",
        planned_start=MON,
        planned_completion="2023-06-23",
        revenue_type="role_hourly",
        assignments=[assign(role_id=r)],
    )


async def test_e7_override_then_task(tally: Tally) -> None:
    p, t, r = new_id("P"), new_id("T"), new_id("R")
    await tally.post(role(r), project(p), _e7_override(p, r), _e7_task(t, p, r))
    # 8 h a day: Mon, Tue at 100.00 (16 h), Wed–Fri at 150.00 (24 h)
    # 16 × 100 + 24 × 150 = 1,600 + 3,600 = 5,200.00
    assert (await tally.finances(p))["planned_revenue"] == "5200.00"


async def test_e7_task_then_override_needs_a_recalculation(tally: Tally) -> None:
    p, t, r = new_id("P"), new_id("T"), new_id("R")
    await tally.post(role(r), project(p), _e7_task(t, p, r))
    assert (await tally.finances(p))["planned_revenue"] == "0.00"  # R has no rate yet
    await tally.post(_e7_override(p, r))
    assert (await tally.finances(p))["planned_revenue"] == "0.00"  # R1.4
    await tally.recalculate(p)
    assert (await tally.finances(p))["planned_revenue"] == "5200.00"


async def test_e8_override_periods_by_entry_date(tally: Tally) -> None:
    p, t, r, u = new_id("P"), new_id("T"), new_id("R"), new_id("U")
    await tally.post(
        role(r),
        user(u, r),
        project(p),
        rates(
            "project_role",
            "billing",
            period("100.00", start="2023-06-19", end="2023-06-25"),
            period("150.00", start="2023-06-26"),
            project_id=p,
            role_id=r,
        ),
        task(t, p, planned_start=MON, revenue_type="role_hourly"),
        hours(new_id("h"), u, "2", "2023-06-20", task_id=t),
        hours(new_id("h"), u, "3", "2023-06-28", task_id=t),
    )
    # 2 × 100.00 + 3 × 150.00 = 200.00 + 450.00 = 650.00
    assert (await tally.finances(p))["actual_revenue"] == "650.00"


async def _e9_until_recalculation(tally: Tally) -> tuple[str, str, str]:
    p, t, u, h1 = new_id("P"), new_id("T"), new_id("U"), new_id("h")
    await tally.post(
        project(p),
        user(u),
        rates("user", "billing", flat("50.00"), user_id=u),
        task(t, p, planned_start=MON),
        hours(h1, u, "10", task_id=t),
        rates("user", "billing", flat("75.00"), user_id=u),
        hours(new_id("h"), u, "2", task_id=t),
    )
    return p, u, h1


async def test_e9_rate_change_applies_after_a_manual_recalculation(
    tally: Tally, tally_system: System
) -> None:
    p, _, _ = await _e9_until_recalculation(tally)
    # 10 × 50.00 + 2 × 75.00 = 500.00 + 150.00 = 650.00 (old hours keep 50.00, R1.4)
    assert (await tally.finances(p))["actual_revenue"] == "650.00"
    position = await tally.recalculate(p)
    # 12 × 75.00 = 900.00
    assert (await tally.finances(p))["actual_revenue"] == "900.00"

    message = await find_on_topic(
        tally_system.settings.require_kafka_bootstrap(),
        tally_system.settings.finance_topic,
        lambda m: m["type"] == "FinancesRecalculated" and m["project_id"] == p,
    )
    data = message["data"]
    assert message["_schema"] == "FinancesRecalculated/v1"
    assert (message["position"], data["position"]) == (position, position)
    assert (data["reason"], data["scope"]) == ("manual", "all")
    assert (data["before"]["actual_revenue"], data["after"]["actual_revenue"]) == (
        "650.00",
        "900.00",
    )
    assert data["hours_repriced"] == 2


async def test_e10_billed_hours_keep_their_revenue(tally: Tally) -> None:
    p, _, h1 = await _e9_until_recalculation(tally)
    b = new_id("B")
    await tally.post(record(b, p), items(b, hour_ids=[h1]), record_status(b, "billed"))
    got = await tally.finances(p)
    assert (got["actual_revenue"], got["billed_revenue"]) == ("650.00", "500.00")
    await tally.recalculate(p)
    got = await tally.finances(p)
    # the 10 billed hours keep 500.00 (R7.3); the 2 others 2 × 75.00 = 150.00
    assert (got["actual_revenue"], got["billed_revenue"]) == ("650.00", "500.00")
    assert (await tally.hours(p))[h1]["locked_by"] == b


async def test_e11_zero_rate_stops_the_search_until_the_table_is_cleared(tally: Tally) -> None:
    p, t, u, r, h = new_id("P"), new_id("T"), new_id("U"), new_id("R"), new_id("h")
    await tally.post(
        role(r),
        rates("role", "billing", flat("40.00"), role_id=r),
        user(u, r),
        rates("user", "billing", flat("0.00"), user_id=u),
        project(p),
        task(t, p, planned_start=MON),
        hours(h, u, "1", task_id=t),
    )
    assert (await tally.finances(p))["actual_revenue"] == "0.00"  # 0 is a rate (R4.2)
    line = (await tally.hours(p))[h]
    assert (line["billing_rate"], line["billing_rate_source"]) == ("0.00", "user")
    await tally.post(rates("user", "billing", user_id=u))  # cleared
    assert (await tally.finances(p))["actual_revenue"] == "0.00"  # R1.4
    await tally.recalculate(p)
    # 1 h × 40.00 (U's primary role, system level) = 40.00
    assert (await tally.finances(p))["actual_revenue"] == "40.00"
    line = (await tally.hours(p))[h]
    assert (line["billing_rate"], line["billing_rate_source"]) == ("40.00", "role")


async def test_e12_reactivation_reprices_planned_amounts_only(tally: Tally) -> None:
    p, t, u = new_id("P"), new_id("T"), new_id("U")
    await tally.post(
        project(p, status="current"),
        user(u),
        rates("user", "billing", flat("30.00"), user_id=u),
        task(t, p, planned_hours="2", planned_start=MON, assignments=[assign(u)]),
        hours(new_id("h"), u, "1", task_id=t),
        project_status(p, "complete"),
        rates("user", "billing", flat("50.00"), user_id=u),
    )
    got = await tally.finances(p)
    # planned 2 × 30.00 = 60.00, actual 1 × 30.00 = 30.00
    assert (got["planned_revenue"], got["actual_revenue"]) == ("60.00", "30.00")
    await tally.post(project_status(p, "current"))
    got = await tally.finances(p)
    # planned re-priced 2 × 50.00 = 100.00; actual unchanged 30.00 (scope planned, R6.3)
    assert (got["planned_revenue"], got["actual_revenue"]) == ("100.00", "30.00")


async def test_e13_billing_record_total(tally: Tally) -> None:
    p, t, tf, u, x, b = (new_id(k) for k in ("P", "T", "TF", "U", "x", "B"))
    h = new_id("h")
    await tally.post(
        project(p),
        user(u),
        rates("user", "billing", flat("30.00"), user_id=u),
        task(t, p, planned_start=MON),
        task(tf, p, planned_start=MON, revenue_type="fixed_revenue", revenue_amount="1000.00"),
        hours(h, u, "10", task_id=t),
        expense(x, p, actual_amount="50.00", billable=True),
        record(b, p, additional_amount="25.00"),
        items(b, hour_ids=[h], expense_ids=[x], task_ids=[tf]),
    )
    got = await tally.record(b)
    # hours 10 × 30.00 = 300.00; expense 50.00; fixed 1,000.00; additional 25.00 → 1,375.00
    assert (
        got["billable_hours_amount"],
        got["billable_expenses_amount"],
        got["fixed_revenue_amount"],
        got["additional_amount"],
        got["total"],
    ) == ("300.00", "50.00", "1000.00", "25.00", "1375.00")
