"""Billed locks both ways (R7.3, R10.9) and what the ledger refuses over HTTP because
a record holds something (R7.4, R9, R10.10), with the log unchanged. By hand."""

from __future__ import annotations

from typing import Any

import pytest
from support.client import Tally
from support.events import (
    Ids,
    event,
    expense,
    flat,
    hours,
    hours_edited,
    items,
    new_id,
    project,
    project_updated,
    rates,
    record,
    record_status,
    task,
    task_moved,
    task_updated,
    user,
)

pytestmark = pytest.mark.e2e

MON = "2023-06-19"


def _rates(u: str, cost: str, billing: str) -> list[dict[str, Any]]:
    return [
        rates("user", "cost", flat(cost), user_id=u),
        rates("user", "billing", flat(billing), user_id=u),
    ]


def _line(body: dict[str, Any]) -> tuple[Any, ...]:
    return (body["cost"], body["revenue"], body["priced_at"], body["locked_by"])


async def test_billed_hours_keep_revenue_and_cost_only_with_billed_locks_cost(
    tally: Tally,
) -> None:
    hid = Ids()
    u, p, t, b = new_id("U"), new_id("P"), new_id("T"), new_id("B")
    logged = await tally.post(
        user(u),
        *_rates(u, "20.00", "50.00"),
        project(p),
        task(t, p, planned_start=MON),
        hours(hid("h1"), u, "2", task_id=t),
        hours(hid("h2"), u, "1", task_id=t),
        record(b, p),
        items(b, hour_ids=[hid("h1")]),
        record_status(b, "billed"),
    )
    at_h1 = logged[5]
    got = await tally.finances(p)
    # h1 2 × 50 = 100, h2 1 × 50 = 50: revenue 150.00; billed 100.00 (the record's total)
    assert (got["actual_revenue"], got["billed_revenue"]) == ("150.00", "100.00")

    await tally.post(*_rates(u, "30.00", "80.00"))
    first = await tally.recalculate(p)
    lines = await tally.hours(p)
    # billed_locks_cost false (default): h1 keeps revenue 100.00, its cost is re-priced
    # 2 × 30 = 60.00, and priced_at is the recalculation (R10.9)
    assert _line(lines[hid("h1")]) == ("60.00", "100.00", first, b)
    assert _line(lines[hid("h2")]) == ("30.00", "80.00", first, None)  # 1 × 30, 1 × 80
    got = await tally.finances(p)
    assert (got["actual_labor_cost"], got["actual_revenue"]) == ("90.00", "180.00")

    # read at the recalculation (R10.9): turned on, cost is locked too
    await tally.post(project_updated(p, billed_locks_cost=True), *_rates(u, "35.00", "90.00"))
    second = await tally.recalculate(p)
    lines = await tally.hours(p)
    assert _line(lines[hid("h1")]) == ("60.00", "100.00", first, b)
    assert _line(lines[hid("h2")]) == ("35.00", "90.00", second, None)

    # not billed any more: the lock is lifted, but nothing changes until a recalculation
    await tally.post(record_status(b, "not_billed"))
    assert _line((await tally.hours(p))[hid("h1")]) == ("60.00", "100.00", first, None)
    assert (await tally.finances(p))["billed_revenue"] == "0.00"
    third = await tally.recalculate(p)
    # 2 × 35 = 70.00, 2 × 90 = 180.00
    assert _line((await tally.hours(p))[hid("h1")]) == ("70.00", "180.00", third, None)
    assert at_h1 < first < second < third


async def test_billed_locks_cost_set_at_creation(tally: Tally) -> None:
    hid = Ids()
    u, p, t, b = new_id("U"), new_id("P"), new_id("T"), new_id("B")
    [*_, at_h1, _, _, _] = await tally.post(
        user(u),
        *_rates(u, "20.00", "50.00"),
        project(p, billed_locks_cost=True),
        task(t, p, planned_start=MON),
        hours(hid("h1"), u, "2", task_id=t),
        record(b, p),
        items(b, hour_ids=[hid("h1")]),
        record_status(b, "billed"),
    )
    await tally.post(*_rates(u, "30.00", "80.00"))
    await tally.recalculate(p)
    # both kept: 2 × 20 = 40.00, 2 × 50 = 100.00, still priced when logged
    assert _line((await tally.hours(p))[hid("h1")]) == ("40.00", "100.00", at_h1, b)


async def test_locks_refuse_edits_deletes_and_moves(tally: Tally) -> None:
    hid = Ids()
    u, p, p2, t, tf = new_id("U"), new_id("P"), new_id("P2"), new_id("T"), new_id("TF")
    b, b2, x = new_id("B"), new_id("B2"), new_id("x")
    await tally.post(
        user(u),
        *_rates(u, "20.00", "50.00"),
        project(p),
        project(p2),
        task(t, p, planned_start=MON),
        task(tf, p, revenue_type="fixed_revenue", revenue_amount="500.00"),
        hours(hid("h1"), u, "2", task_id=t),
        hours(hid("h2"), u, "1", task_id=t),
        hours(hid("h-vac"), u, "1", task_id=t, counts_as_revenue=False),
        expense(x, p, actual_amount="40.00", billable=True),
        record(b, p),
        items(b, hour_ids=[hid("h1")], expense_ids=[x], task_ids=[tf]),
        record(b2, p),
        items(b2, hour_ids=[hid("h2")]),
    )
    # not billed yet: an hour on a record can't be deleted; its task can't move
    status, error = await tally.refused(event("HoursDeleted", hour_id=hid("h2")))
    assert (status, error["code"]) == (409, "hour_in_billing_record")
    status, error = await tally.refused(task_moved(t, p2))
    assert (status, error["code"]) == (409, "task_on_billing_record")
    status, error = await tally.refused(items(b2, hour_ids=[hid("h1")]))
    assert (status, error["code"]) == (409, "item_in_other_record")
    status, error = await tally.refused(items(b2, hour_ids=[hid("h-vac")]))
    assert (status, error["code"]) == (409, "item_not_eligible")

    await tally.post(record_status(b, "billed"))
    status, error = await tally.refused(hours_edited(hid("h1"), hours="3"))
    assert (status, error["code"]) == (409, "hour_locked")
    status, error = await tally.refused(
        event("BillingRecordUpdated", billing_record_id=b, additional_amount="5.00")
    )
    assert (status, error["code"]) == (409, "billing_record_billed")
    status, error = await tally.refused(items(b, removed=True, hour_ids=[hid("h1")]))
    assert (status, error["code"]) == (409, "billing_record_billed")
    status, error = await tally.refused(
        event("ExpenseUpdated", expense_id=x, actual_amount="41.00")
    )
    assert (status, error["code"]) == (409, "expense_locked")
    status, error = await tally.refused(task_updated(tf, revenue_amount="600.00"))
    assert (status, error["code"]) == (409, "task_locked")
    # a batch is all or nothing: the valid first event is not appended either
    status, error = await tally.refused(
        hours(hid("h3"), u, "1", task_id=t), hours_edited(hid("h1"), entry_date="2023-06-20")
    )
    assert (status, error["code"], error["event_index"]) == (409, "hour_locked", 1)

    got = await tally.record(b)
    # 2 × 50 = 100.00 hours, 40.00 expense, 500.00 fixed (the task is not complete:
    # R7.2 counts the revenue amount) → 640.00
    assert (got["status"], got["total"]) == ("billed", "640.00")
    assert (await tally.finances(p))["billed_revenue"] == "640.00"
    assert hid("h3") not in await tally.hours(p)
