"""What recalculates and what does not (R6.3, R10.1, R10.9), end to end, by hand."""

from __future__ import annotations

import pytest
from support.client import Tally
from support.events import (
    Ids,
    assign,
    event,
    expense,
    flat,
    hours,
    hours_edited,
    new_id,
    project,
    project_status,
    project_updated,
    rates,
    role,
    task,
    task_moved,
    task_status,
    task_updated,
    user,
    user_roles,
)
from support.kafka import find_on_topic
from support.system import System

pytestmark = pytest.mark.e2e

MON = "2023-06-19"


def _billing(u: str, value: str) -> dict[str, object]:
    return rates("user", "billing", flat(value), user_id=u)


def _planned(t: str, p: str, u: str, h: str = "1") -> dict[str, object]:
    return task(t, p, planned_hours=h, planned_start=MON, assignments=[assign(u)])


async def _planned_actual(tally: Tally, p: str) -> tuple[str, str]:
    got = await tally.finances(p)
    return got["planned_revenue"], got["actual_revenue"]


async def test_task_status_changed_recalculates_even_to_the_same_status(
    tally: Tally, tally_system: System
) -> None:
    p, t, u, h = new_id("P"), new_id("T"), new_id("U"), new_id("h")
    await tally.post(
        project(p),
        user(u),
        _billing(u, "50.00"),
        _planned(t, p, u, "2"),
        hours(h, u, "1", task_id=t),
    )
    # planned 2 × 50 = 100.00, actual 1 × 50 = 50.00
    assert await _planned_actual(tally, p) == ("100.00", "50.00")
    await tally.post(_billing(u, "60.00"))
    assert await _planned_actual(tally, p) == ("100.00", "50.00")  # a rate change: nothing
    [position] = await tally.post(task_status(t, "new"))  # created `new`: the same status
    # recalculated at 60.00: planned 2 × 60 = 120.00, actual 1 × 60 = 60.00
    assert await _planned_actual(tally, p) == ("120.00", "60.00")
    assert (await tally.hours(p))[h]["priced_at"] == position
    message = await find_on_topic(
        tally_system.settings.require_kafka_bootstrap(),
        tally_system.settings.finance_topic,
        lambda m: m["type"] == "FinancesRecalculated" and m["project_id"] == p,
    )
    assert (message["position"], message["data"]["reason"], message["data"]["scope"]) == (
        position,
        "task_status_changed",
        "all",
    )
    assert message["data"]["after"]["actual_revenue"] == "60.00"


async def test_non_triggers_and_what_reprices_one_plan_or_one_entry(tally: Tally) -> None:
    r1, r2, r3, u = new_id("R1"), new_id("R2"), new_id("R3"), new_id("U")
    p, t, h = new_id("P"), new_id("T"), new_id("h")
    await tally.post(
        role(r1),
        role(r2),
        role(r3),
        rates("role", "billing", flat("20.00"), role_id=r1),
        rates("role", "billing", flat("35.00"), role_id=r2),
        rates("role", "billing", flat("50.00"), role_id=r3),
        user(u, r1),
        project(p),
        _planned(t, p, u, "2"),
        hours(h, u, "1", task_id=t),
    )
    # U has no own rate: its primary role R1, 20.00: planned 2 × 20 = 40, actual 20
    assert await _planned_actual(tally, p) == ("40.00", "20.00")
    await tally.post(
        user_roles(u, r2),  # R10.1: re-prices nothing
        project_updated(p, name="renamed", planned_start="2023-07-03", budget="10.00"),
        rates("project_role", "billing", flat("70.00"), project_id=p, role_id=r2),
        task_updated(t, name="renamed too"),  # not a plan field
    )
    assert await _planned_actual(tally, p) == ("40.00", "20.00")
    # A plan field re-prices the plan at once: U's role is now R2, overridden at 70.00
    # on this project: 3 × 70 = 210.00; the hour keeps 20.00
    await tally.post(task_updated(t, planned_hours="3"))
    assert await _planned_actual(tally, p) == ("210.00", "20.00")
    # HoursEdited re-prices that entry completely: 2 × 70 = 140.00
    await tally.post(hours_edited(h, hours="2"))
    assert await _planned_actual(tally, p) == ("210.00", "140.00")
    # project status changes that are no reactivation do not recalculate
    await tally.post(
        user_roles(u, r3),  # 50.00 from now on, for whatever is priced next
        project_status(p, "current"),  # planning → current
        project_status(p, "complete"),
        project_status(p, "dead"),  # complete → dead: no recalculation (R6.3)
        project_status(p, "on_hold"),  # dead → on_hold: not from complete
    )
    assert await _planned_actual(tally, p) == ("210.00", "140.00")
    # complete → on_hold: planned only, at R3's 50.00: 3 × 50 = 150.00; actual kept
    await tally.post(project_status(p, "complete"), project_status(p, "on_hold"))
    assert await _planned_actual(tally, p) == ("150.00", "140.00")
    # a manual recalculation re-prices the hour too: 2 × 50 = 100.00
    await tally.recalculate(p)
    assert await _planned_actual(tally, p) == ("150.00", "100.00")


async def test_a_manual_planned_only_recalculation_keeps_actual_amounts(tally: Tally) -> None:
    p, t, u = new_id("P"), new_id("T"), new_id("U")
    await tally.post(
        project(p), user(u), _billing(u, "10.00"), _planned(t, p, u, "3"),
        hours(new_id("h"), u, "2", task_id=t), _billing(u, "12.00"),
    )  # fmt: skip
    await tally.recalculate(p, "planned")
    # planned 3 × 12 = 36.00; actual still 2 × 10 = 20.00
    assert await _planned_actual(tally, p) == ("36.00", "20.00")


async def test_task_moves_with_and_without_hours(tally: Tally, tally_system: System) -> None:
    hid = Ids()
    u, p1, p2 = new_id("U"), new_id("P1"), new_id("P2")
    moved, other, target, bare = new_id("Tm"), new_id("To"), new_id("Tt"), new_id("Tb")
    await tally.post(
        user(u),
        _billing(u, "10.00"),
        project(p1),
        project(p2),
        _planned(moved, p1, u),
        _planned(other, p1, u),
        _planned(target, p2, u),
        hours(hid("h-moved"), u, "1", task_id=moved),
        hours(hid("h-other"), u, "1", task_id=other),
        hours(hid("h-target"), u, "1", task_id=target),
        expense(new_id("x"), p1, task_id=moved, planned_amount="5.00", actual_amount="3.00"),
    )
    # P1: 2 tasks × 1 h × 10 = 20.00 planned, 20.00 actual; P2: 10.00 and 10.00
    assert await _planned_actual(tally, p1) == ("20.00", "20.00")
    assert await _planned_actual(tally, p2) == ("10.00", "10.00")
    await tally.post(_billing(u, "20.00"))
    [position] = await tally.post(task_moved(moved, p2))
    # with hours: both projects recalculated at the move, at 20.00 (R6.3)
    # P1 keeps `other`: 1 × 20 = 20.00 each; P2 has `target` and `moved`: 2 × 20 = 40.00
    assert await _planned_actual(tally, p1) == ("20.00", "20.00")
    assert await _planned_actual(tally, p2) == ("40.00", "40.00")
    lines1, lines2 = await tally.hours(p1), await tally.hours(p2)
    assert set(lines1) == {hid("h-other")}
    assert set(lines2) == {hid("h-moved"), hid("h-target")}
    assert {lines2[h]["priced_at"] for h in lines2} == {position}
    # both recalculations are published, reason task_moved, at the move's position
    for project_id, after in ((p1, "20.00"), (p2, "40.00")):
        message = await find_on_topic(
            tally_system.settings.require_kafka_bootstrap(),
            tally_system.settings.finance_topic,
            lambda m, q=project_id: m["type"] == "FinancesRecalculated" and m["project_id"] == q,
        )
        data = message["data"]
        assert (data["reason"], data["position"], data["after"]["actual_revenue"]) == (
            "task_moved",
            position,
            after,
        )
    # the expense moved with its task
    got1, got2 = await tally.finances(p1), await tally.finances(p2)
    assert (got1["planned_expense_cost"], got1["actual_expense_cost"]) == ("0.00", "0.00")
    assert (got2["planned_expense_cost"], got2["actual_expense_cost"]) == ("5.00", "3.00")

    # without hours: the plan moves as priced (1 × 20 = 20.00), nothing is re-priced
    await tally.post(_planned(bare, p1, u), _billing(u, "30.00"))
    assert await _planned_actual(tally, p1) == ("40.00", "20.00")
    await tally.post(task_moved(bare, p2))
    assert await _planned_actual(tally, p1) == ("20.00", "20.00")
    # P2: 40 + 20 = 60.00 planned (not 30.00 for the moved task), actual 40.00 as was
    assert await _planned_actual(tally, p2) == ("60.00", "40.00")
    assert set(await tally.tasks(p2)) == {target, moved, bare}


async def test_a_bulk_request_naming_a_project_twice_recalculates_it_once(
    tally: Tally,
) -> None:
    p, q, t, u = new_id("P"), new_id("Q"), new_id("T"), new_id("U")
    await tally.post(
        project(p), project(q), user(u), _billing(u, "10.00"), _planned(t, p, u),
        _billing(u, "15.00"),
    )  # fmt: skip
    positions = await tally.post(
        event("FinancesRecalculationRequested", project_ids=[p, q, p], scope="planned")
    )
    assert len(positions) == 2  # one event per distinct project (api.md)
    assert (await tally.finances(p))["planned_revenue"] == "15.00"  # 1 × 15


async def test_hours_moved_with_their_task_are_priced_by_the_target_project(
    tally: Tally,
) -> None:
    hid = Ids()
    r, u, p1, p2, t = new_id("R"), new_id("U"), new_id("P1"), new_id("P2"), new_id("T")
    await tally.post(
        role(r),
        rates("role", "billing", flat("10.00"), role_id=r),
        user(u, r),
        project(p1),
        project(p2),
        rates("project_role", "billing", flat("30.00"), project_id=p2, role_id=r),
        task(
            t,
            p1,
            planned_hours="2",
            planned_start=MON,
            revenue_type="role_hourly",
            assignments=[assign(role_id=r)],
        ),
        hours(hid("h1"), u, "1", task_id=t),
    )
    # in P1: R's system rate, planned 2 × 10 = 20.00, actual 1 × 10 = 10.00
    assert await _planned_actual(tally, p1) == ("20.00", "10.00")
    await tally.post(task_moved(t, p2))
    # recalculated in P2 under its override: planned 2 × 30 = 60.00, actual 30.00
    assert await _planned_actual(tally, p1) == ("0.00", "0.00")
    assert await _planned_actual(tally, p2) == ("60.00", "30.00")
    line = (await tally.hours(p2))[hid("h1")]
    assert (line["revenue"], line["billing_rate_source"]) == ("30.00", "project_role")
