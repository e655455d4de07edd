"""Project totals (R8, R7.5, R10.8, R10.11) and the edge rules of R10, end to end,
worked out by hand from finance-model.md. U bills 40.00 and costs 25.00."""

from __future__ import annotations

import pytest
from support.client import Tally, pick
from support.events import (
    Ids,
    assign,
    event,
    expense,
    flat,
    hours,
    hours_edited,
    items,
    new_id,
    project,
    project_status,
    rates,
    record,
    record_status,
    role,
    task,
    task_status,
    task_updated,
    user,
)

pytestmark = pytest.mark.e2e

MON = "2023-06-19"
ALL = (
    "planned_cost",
    "actual_cost",
    "planned_revenue",
    "actual_revenue",
    "planned_labor_cost",
    "actual_labor_cost",
    "planned_expense_cost",
    "actual_expense_cost",
    "fixed_cost",
    "fixed_revenue",
    "planned_profit",
    "actual_profit",
    "budget",
    "budget_variance",
    "billed_revenue",
)


def _user(u: str) -> list[dict[str, object]]:
    return [
        user(u),
        rates("user", "billing", flat("40.00"), user_id=u),
        rates("user", "cost", flat("25.00"), user_id=u),
    ]


async def test_project_totals_expenses_budget_billed_and_dead_tasks(tally: Tally) -> None:
    hid = Ids()
    u, r, p, t, td, b, b2 = (new_id(x) for x in ("U", "R", "P", "T", "Td", "B", "B2"))
    await tally.post(
        *_user(u),
        role(r),
        rates("role", "billing", flat("99.00"), role_id=r),
        project(p, status="current", budget="1000", fixed_cost="100", fixed_revenue="500"),
        task(t, p, planned_hours="10", planned_start=MON, assignments=[assign(u)]),
        task(td, p, planned_hours="5", planned_start=MON, assignments=[assign(u)]),
        hours(hid("h"), u, "4", task_id=t),
        hours(hid("hd"), u, "1", task_id=td),
        # on the project itself: its role is ignored (R10.7), U's own rates apply
        hours(hid("hp"), u, "2", project_id=p, role_id=r),
        # expense amounts are rounded as lines before summing (R10.8): 45.56 + 10.01
        expense(new_id("x"), p, planned_amount="60", actual_amount="45.555"),
        expense(new_id("x"), p, actual_amount="10.005"),
        expense(new_id("x"), p, task_id=t, planned_amount="40", actual_amount="30"),
        record(b, p, additional_amount="10.004"),
        items(b, hour_ids=[hid("h")]),
        record_status(b, "billed"),
        record(b2, p, additional_amount="5"),  # not billed: not billed revenue
        task_status(td, "dead"),
    )
    got = await tally.finances(p)
    # planned labour: T 10 × 25 = 250, Td 5 × 25 = 125 (dead tasks count, R10.11) = 375
    # planned expenses 60 + 40 = 100; planned cost 375 + 100 + 100 fixed = 575
    # actual labour: 4 × 25 + 1 × 25 + 2 × 25 = 175; actual expenses 45.56 + 10.01 + 30
    #   = 85.57; actual cost 175 + 85.57 + 100 = 360.57
    # planned revenue 10 × 40 + 5 × 40 + 500 fixed = 1,100
    # actual revenue 4 × 40 + 1 × 40 + 2 × 40 = 280 (fixed revenue not yet: not complete)
    # profits 1,100 − 575 = 525; 280 − 360.57 = −80.57; variance 1,000 − 360.57 = 639.43
    # billed: B = 160 hours + 10.00 additional = 170.00
    assert pick(got, *ALL) == {
        "planned_cost": "575.00",
        "actual_cost": "360.57",
        "planned_revenue": "1100.00",
        "actual_revenue": "280.00",
        "planned_labor_cost": "375.00",
        "actual_labor_cost": "175.00",
        "planned_expense_cost": "100.00",
        "actual_expense_cost": "85.57",
        "fixed_cost": "100.00",
        "fixed_revenue": "500.00",
        "planned_profit": "525.00",
        "actual_profit": "-80.57",
        "budget": "1000.00",
        "budget_variance": "639.43",
        "billed_revenue": "170.00",
    }
    line = (await tally.hours(p))[hid("hp")]
    assert (line["task_id"], line["revenue"], line["billing_rate_source"]) == (
        None,
        "80.00",
        "user",
    )
    assert (await tally.tasks(p))[td]["actual_cost"] == "25.00"

    # project fixed revenue is actual only while the project is exactly complete
    await tally.post(project_status(p, "complete"))
    got = await tally.finances(p)
    # 280 + 500 = 780; profit 780 − 360.57 = 419.43
    assert pick(got, "actual_revenue", "actual_profit") == {
        "actual_revenue": "780.00",
        "actual_profit": "419.43",
    }
    await tally.post(project_status(p, "dead"))
    assert (await tally.finances(p))["actual_revenue"] == "280.00"


async def test_unset_budget_caps_and_fixed_amounts_missing(tally: Tally) -> None:
    hid = Ids()
    u, p, tc, tf, tp = new_id("U"), new_id("P"), new_id("Tc"), new_id("Tf"), new_id("Tp")
    await tally.post(
        *_user(u),
        project(p),
        # no cap amount: no cap (R10.8); no fixed amount: 0
        task(tc, p, planned_start=MON, revenue_type="user_hourly_cap"),
        task(tf, p, planned_start=MON, revenue_type="fixed_revenue", status="complete"),
        task(tp, p, planned_start=MON, revenue_type="user_hourly_plus_fixed"),
        hours(hid("h1"), u, "3", task_id=tc),
        hours(hid("h2"), u, "1", task_id=tp),
        task_status(tp, "complete"),
    )
    got = await tally.finances(p)
    # 3 × 40 uncapped = 120 + 0 + 1 × 40 + 0 = 160.00; an unset budget is 0:
    # variance 0 − (3 + 1) × 25 = −100.00
    assert pick(got, "actual_revenue", "budget", "budget_variance") == {
        "actual_revenue": "160.00",
        "budget": "0.00",
        "budget_variance": "-100.00",
    }
    # a type change leaves the hours priced as they were; the cap follows the task's
    # current type and amount (R10.8): line 120.00, task capped at 50.00
    await tally.post(task_updated(tc, revenue_type="role_hourly_cap", revenue_amount="50"))
    assert (await tally.hours(p))[hid("h1")]["revenue"] == "120.00"
    assert (await tally.tasks(p))[tc]["actual_revenue"] == "50.00"


async def test_an_item_turned_ineligible_stays_on_its_record_with_its_new_amount(
    tally: Tally,
) -> None:
    hid = Ids()
    u, p, t, b, x = new_id("U"), new_id("P"), new_id("T"), new_id("B"), new_id("x")
    await tally.post(
        *_user(u),
        project(p),
        task(t, p, planned_start=MON),
        hours(hid("h1"), u, "2", task_id=t),
        hours(hid("h2"), u, "1", task_id=t),
        expense(x, p, actual_amount="12.345", billable=True),
        record(b, p),
        items(b, hour_ids=[hid("h1"), hid("h2")], expense_ids=[x]),
        items(b, hour_ids=[hid("h1")]),  # already on it: changes nothing (R10.10)
    )
    got = await tally.record(b)
    # hours 2 × 40 + 1 × 40 = 120.00; expense 12.345 → 12.35; total 132.35
    assert pick(got, "billable_hours_amount", "billable_expenses_amount", "total") == {
        "billable_hours_amount": "120.00",
        "billable_expenses_amount": "12.35",
        "total": "132.35",
    }
    assert got["hour_ids"] == [hid("h1"), hid("h2")]
    await tally.post(hours_edited(hid("h2"), counts_as_revenue=False))
    got = await tally.record(b)
    # h2 stays with revenue 0: 80.00 + 12.35 = 92.35 (R7.2 amounts are live)
    assert (got["hour_ids"], got["billable_hours_amount"], got["total"]) == (
        [hid("h1"), hid("h2")],
        "80.00",
        "92.35",
    )
    status, error = await tally.refused(items(b, removed=True, expense_ids=[new_id("x")]))
    assert (status, error["code"]) == (409, "unknown_expense")
    await tally.post(items(b, removed=True, hour_ids=[hid("h2")]))
    status, error = await tally.refused(items(b, removed=True, hour_ids=[hid("h2")]))
    assert (status, error["code"]) == (409, "item_not_in_record")
    # an expense on any record can't be deleted (R10.10)
    status, error = await tally.refused(event("ExpenseDeleted", expense_id=x))
    assert (status, error["code"]) == (409, "expense_in_billing_record")
