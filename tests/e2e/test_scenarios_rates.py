"""Rate chains end to end, with amounts worked out by hand from finance-model.md:
every level (user, role, company_role, project_role, task), gaps falling through, a 0
stopping the search, the company snapshot (R4.5, R10.3) and project overrides outside
their periods (R4.6, R10.4). Every hour is dated Monday 2023-06-19 unless said."""

from __future__ import annotations

from typing import Any

import pytest
from support.client import Tally
from support.events import (
    Ids,
    assign,
    company,
    flat,
    hours,
    new_id,
    period,
    project,
    project_updated,
    rates,
    role,
    task,
    user,
)

pytestmark = pytest.mark.e2e

MON = "2023-06-19"


def priced(line: dict[str, Any]) -> tuple[Any, ...]:
    """(cost, cost rate, its source, revenue, billing rate, its source) of an hour line."""
    return (
        line["cost"],
        line["cost_rate"],
        line["cost_rate_source"],
        line["revenue"],
        line["billing_rate"],
        line["billing_rate_source"],
    )


async def test_every_level_of_the_user_hourly_chains(tally: Tally) -> None:
    hid = Ids()
    ra, rb, rc, rz = (new_id(r) for r in ("Ra", "Rb", "Rc", "Rz"))
    c, p, t = new_id("C"), new_id("P"), new_id("T")
    uu, ua, ub, uc, un, uz = (new_id(u) for u in ("Uu", "Ua", "Ub", "Uc", "Un", "Uz"))
    await tally.post(
        *(role(r) for r in (ra, rb, rc, rz)),
        rates("role", "billing", flat("10.00"), role_id=ra),
        rates("role", "cost", flat("5.00"), role_id=ra),
        rates("role", "billing", flat("10.00"), role_id=rb),
        rates("role", "cost", flat("6.00"), role_id=rb),
        rates("role", "billing", flat("10.00"), role_id=rc),
        rates("role", "cost", flat("9.00"), role_id=rc),
        company(c),
        rates("company_role", "billing", flat("20.00"), company_id=c, role_id=rb),
        rates("company_role", "billing", flat("20.00"), company_id=c, role_id=rc),
        project(p, company_id=c),
        rates("project_role", "billing", flat("30.00"), project_id=p, role_id=rc),
        user(uu, ra),
        rates("user", "billing", flat("40.00"), user_id=uu),
        rates("user", "cost", flat("8.00"), user_id=uu),
        user(ua, ra),
        user(ub, rb),
        user(uc, rc),
        user(un),
        user(uz, rz),
        # The task's first role assignment is Rb (R5.3's last fallback).
        task(t, p, planned_start=MON, assignments=[assign(role_id=rb)]),
        *(hours(hid(f"h-{u}"), u, "1", task_id=t) for u in (uu, ua, ub, uc, un, uz)),
    )
    got = await tally.hours(p)
    # R5.2 cost: user rate → primary role's system cost → none (null rate, 0.00).
    # R5.3 revenue: user rate → R4.4 of the primary role → R4.4 of the first role assignment.
    assert priced(got[hid(f"h-{uu}")]) == ("8.00", "8.00", "user", "40.00", "40.00", "user")
    assert priced(got[hid(f"h-{ua}")]) == ("5.00", "5.00", "role", "10.00", "10.00", "role")
    assert priced(got[hid(f"h-{ub}")]) == (
        "6.00", "6.00", "role", "20.00", "20.00", "company_role",
    )  # fmt: skip
    assert priced(got[hid(f"h-{uc}")]) == (
        "9.00", "9.00", "role", "30.00", "30.00", "project_role",
    )  # fmt: skip
    # Un has no role; Uz's role Rz has no rate: both fall through to Rb (R10.5).
    for owner in (un, uz):
        assert priced(got[hid(f"h-{owner}")]) == (
            "0.00",
            None,
            None,
            "20.00",
            "20.00",
            "company_role",
        )
    totals = await tally.finances(p)
    # revenue 40 + 10 + 20 + 30 + 20 + 20 = 140.00; cost 8 + 5 + 6 + 9 + 0 + 0 = 28.00
    assert (totals["actual_revenue"], totals["actual_labor_cost"]) == ("140.00", "28.00")
    assert (await tally.tasks(p))[t]["actual_revenue"] == "140.00"


async def test_role_hourly_chains_and_fixed_hourly_task_rates(tally: Tally) -> None:
    hid = Ids()
    ra, rb, rc = new_id("Ra"), new_id("Rb"), new_id("Rc")
    p, t, tf = new_id("P"), new_id("T"), new_id("TF")
    v, w, x = new_id("V"), new_id("W"), new_id("X")
    await tally.post(
        *(role(r) for r in (ra, rb, rc)),
        rates("role", "billing", flat("10.00"), role_id=ra),
        rates("role", "cost", flat("5.00"), role_id=ra),
        rates("role", "billing", flat("20.00"), role_id=rb),
        rates("role", "cost", flat("6.00"), role_id=rb),
        rates("role", "billing", flat("30.00"), role_id=rc),
        rates("role", "cost", flat("9.00"), role_id=rc),
        user(v, ra),
        rates("user", "billing", flat("99.00"), user_id=v),  # ignored by role types
        user(w, rc),
        user(x),
        project(p),
        task(
            t,
            p,
            planned_start=MON,
            cost_type="role_hourly",
            revenue_type="role_hourly",
            assignments=[assign(v, rb), assign(role_id=ra)],
        ),
        task(
            tf,
            p,
            planned_start=MON,
            cost_type="fixed_hourly",
            fixed_hourly_cost="7.25",
            revenue_type="fixed_hourly",
            revenue_amount="12.5",
        ),
        hours(hid("h-role"), v, "2", task_id=t, role_id=rc),  # the hour's own role: Rc
        hours(hid("h-assigned"), v, "2", task_id=t),  # V's role on the assignments: Rb
        hours(hid("h-primary"), w, "2", task_id=t),  # not assigned: W's primary role Rc
        hours(hid("h-first"), x, "2", task_id=t),  # no role at all: the first role assignment Rb
        hours(hid("h-fixed"), x, "4", task_id=tf),
    )
    got = await tally.hours(p)
    # 2 h × (9.00 cost, 30.00 billing) of Rc = 18.00, 60.00
    assert priced(got[hid("h-role")]) == ("18.00", "9.00", "role", "60.00", "30.00", "role")
    # 2 h × (6.00, 20.00) of Rb = 12.00, 40.00
    assert priced(got[hid("h-assigned")]) == ("12.00", "6.00", "role", "40.00", "20.00", "role")
    assert priced(got[hid("h-primary")]) == ("18.00", "9.00", "role", "60.00", "30.00", "role")
    assert priced(got[hid("h-first")]) == ("12.00", "6.00", "role", "40.00", "20.00", "role")
    # fixed_hourly: 4 h × 7.25 = 29.00 cost, 4 h × 12.50 = 50.00 revenue, source "task"
    assert priced(got[hid("h-fixed")]) == ("29.00", "7.25", "task", "50.00", "12.50", "task")
    totals = await tally.finances(p)
    # revenue 60 + 40 + 60 + 40 + 50 = 250.00; cost 18 + 12 + 18 + 12 + 29 = 89.00
    assert (totals["actual_revenue"], totals["actual_labor_cost"]) == ("250.00", "89.00")


async def test_gaps_fall_through_and_a_zero_rate_stops(tally: Tally) -> None:
    hid = Ids()
    r, rf, rz, r0 = new_id("R"), new_id("Rf"), new_id("Rz"), new_id("R0")
    p, t, u, v, w = new_id("P"), new_id("T"), new_id("U"), new_id("V"), new_id("W")
    await tally.post(
        *(role(x) for x in (r, rf, rz, r0)),
        # R: a gap from 2023-06-11 to 2023-06-19
        rates(
            "role",
            "billing",
            period("15.00", end="2023-06-10"),
            period("16.00", start="2023-06-20"),
            role_id=r,
        ),
        rates("role", "cost", flat("7.00"), role_id=r),
        rates("role", "billing", flat("11.00"), role_id=rf),
        rates("role", "billing", flat("10.00"), role_id=rz),
        rates("role", "billing", flat("0.00"), role_id=r0),
        user(u, r),
        rates("user", "billing", period("50.00", "2023-06-01", "2023-06-16"), user_id=u),
        rates("user", "cost", period("12.00", "2023-06-01", "2023-06-16"), user_id=u),
        user(v, rz),
        user(w, r0),
        project(p),
        rates("project_role", "billing", flat("0.00"), project_id=p, role_id=rz),
        task(t, p, planned_start=MON, assignments=[assign(role_id=rf)]),
        hours(hid("h-0605"), u, "2", "2023-06-05", task_id=t),
        hours(hid("h-0619"), u, "2", "2023-06-19", task_id=t),
        hours(hid("h-0621"), u, "2", "2023-06-21", task_id=t),
        hours(hid("h-v"), v, "1", task_id=t),
        hours(hid("h-w"), w, "1", task_id=t),
    )
    got = await tally.hours(p)
    # 06-05: U's own periods: 2 × 12.00 = 24.00 cost, 2 × 50.00 = 100.00 revenue
    assert priced(got[hid("h-0605")]) == ("24.00", "12.00", "user", "100.00", "50.00", "user")
    # 06-19: U's tables have a gap, so has R's billing: Rf, the first role assignment
    # 2 × 7.00 = 14.00 cost (R's cost has no gap), 2 × 11.00 = 22.00 revenue
    assert priced(got[hid("h-0619")]) == ("14.00", "7.00", "role", "22.00", "11.00", "role")
    # 06-21: R's second period: 2 × 16.00 = 32.00
    assert priced(got[hid("h-0621")]) == ("14.00", "7.00", "role", "32.00", "16.00", "role")
    # A 0 override stops before the system rate 10.00 of Rz (R4.2) ...
    assert priced(got[hid("h-v")])[3:] == ("0.00", "0.00", "project_role")
    # ... and a 0 system rate stops before the first role assignment Rf.
    assert priced(got[hid("h-w")])[3:] == ("0.00", "0.00", "role")
    totals = await tally.finances(p)
    # revenue 100 + 22 + 32 + 0 + 0 = 154.00; cost 24 + 14 + 14 + 0 + 0 = 52.00
    assert (totals["actual_revenue"], totals["actual_labor_cost"]) == ("154.00", "52.00")


async def test_company_snapshot_follow_detach_and_reattach(tally: Tally) -> None:
    hid = Ids()
    r, c, u = new_id("R"), new_id("C"), new_id("U")
    p1, p2, t1, t2 = new_id("P1"), new_id("P2"), new_id("T1"), new_id("T2")

    def company_rate(value: str) -> dict[str, Any]:
        return rates("company_role", "billing", flat(value), company_id=c, role_id=r)

    await tally.post(
        role(r),
        rates("role", "billing", flat("10.00"), role_id=r),
        user(u, r),
        company(c),
        company_rate("20.00"),
        project(p1, company_id=c),
        project(p2, company_id=c, follow_company_rate_changes=True),
        task(t1, p1, planned_start=MON),
        task(t2, p2, planned_start=MON),
        hours(hid("h1"), u, "1", task_id=t1),
        hours(hid("h2"), u, "1", task_id=t2),
        company_rate("25.00"),
        hours(hid("h1b"), u, "1", task_id=t1),
        hours(hid("h2b"), u, "1", task_id=t2),
    )
    lines = await tally.hours(p1)
    # P1 keeps the rates copied at attach (R4.5): 20.00 even for the later hour
    assert [lines[h]["revenue"] for h in (hid("h1"), hid("h1b"))] == ["20.00", "20.00"]
    lines = await tally.hours(p2)
    # P2 follows: the later hour sees 25.00; the earlier keeps 20.00 (R1.4)
    assert [lines[h]["revenue"] for h in (hid("h2"), hid("h2b"))] == ["20.00", "25.00"]

    await tally.recalculate(p1)
    await tally.recalculate(p2)
    # P1 recalculated: still the snapshot, 2 × 20.00 = 40.00; P2: 2 × 25.00 = 50.00
    assert (await tally.finances(p1))["actual_revenue"] == "40.00"
    assert (await tally.finances(p2))["actual_revenue"] == "50.00"

    # Turning following off returns P2 to its attach-time snapshot (R10.3): 20.00
    await tally.post(
        project_updated(p2, follow_company_rate_changes=False),
        hours(hid("h2c"), u, "1", task_id=t2),
    )
    assert (await tally.hours(p2))[hid("h2c")]["revenue"] == "20.00"

    # Detached, P1 reaches the system rate of R: 10.00
    await tally.post(project_updated(p1, company_id=None), hours(hid("h1c"), u, "1", task_id=t1))
    line = (await tally.hours(p1))[hid("h1c")]
    assert (line["revenue"], line["billing_rate_source"]) == ("10.00", "role")
    # Re-attached, a fresh snapshot: 25.00
    await tally.post(project_updated(p1, company_id=c), hours(hid("h1d"), u, "1", task_id=t1))
    line = (await tally.hours(p1))[hid("h1d")]
    assert (line["revenue"], line["billing_rate_source"]) == ("25.00", "company_role")
    # The same id again takes no new snapshot: the company's 30.00 does not reach P1
    await tally.post(
        company_rate("30.00"),
        project_updated(p1, company_id=c),
        hours(hid("h1e"), u, "1", task_id=t1),
    )
    assert (await tally.hours(p1))[hid("h1e")]["revenue"] == "25.00"
    # 20 + 20 + 10 + 25 + 25 = 100.00 before; a recalculation prices all five at the
    # re-attach snapshot: 5 × 25.00 = 125.00
    assert (await tally.finances(p1))["actual_revenue"] == "100.00"
    await tally.recalculate(p1)
    assert (await tally.finances(p1))["actual_revenue"] == "125.00"


async def test_project_overrides_before_first_after_last_and_in_a_gap(tally: Tally) -> None:
    hid = Ids()
    r, u = new_id("R"), new_id("U")
    p, t, tg, tb, ta = new_id("P"), new_id("T"), new_id("Tg"), new_id("Tb"), new_id("Ta")
    await tally.post(
        role(r),
        rates("role", "billing", flat("10.00"), role_id=r),
        user(u, r),
        project(p),
        rates(
            "project_role",
            "billing",
            # given last first: "first" is the earliest start, "last" the latest end
            period("70.00", "2023-06-26", "2023-06-30"),
            period("50.00", "2023-06-12", "2023-06-16"),
            project_id=p,
            role_id=r,
        ),
        task(t, p, planned_start=MON, revenue_type="role_hourly"),
        hours(hid("h-before"), u, "1", "2023-06-05", task_id=t),
        hours(hid("h-gap"), u, "1", "2023-06-21", task_id=t),
        hours(hid("h-after"), u, "1", "2023-07-03", task_id=t),
        # planned: Mon 06-19 to Fri 06-23, all in the gap: 10 h × 10.00 = 100.00
        task(
            tg,
            p,
            planned_hours="10",
            planned_start=MON,
            planned_completion="2023-06-23",
            revenue_type="role_hourly",
            assignments=[assign(role_id=r)],
        ),
        # planned: Thu 06-08 and Fri 06-09, before the first period: 4 h × 50.00 = 200.00
        task(
            tb,
            p,
            planned_hours="4",
            planned_start="2023-06-08",
            planned_completion="2023-06-09",
            revenue_type="role_hourly",
            assignments=[assign(role_id=r)],
        ),
        # planned: Mon 07-03 only, after the last period: 2 h × 70.00 = 140.00
        task(
            ta,
            p,
            planned_hours="2",
            planned_start="2023-07-03",
            revenue_type="role_hourly",
            assignments=[assign(role_id=r)],
        ),
    )
    lines = await tally.hours(p)
    # before the first period: the first applies (R4.6), 50.00
    assert priced(lines[hid("h-before")])[3:] == ("50.00", "50.00", "project_role")
    # in the gap: falls through to the system rate (R4.2), 10.00
    assert priced(lines[hid("h-gap")])[3:] == ("10.00", "10.00", "role")
    # after the last: the last applies, 70.00
    assert priced(lines[hid("h-after")])[3:] == ("70.00", "70.00", "project_role")
    tasks = await tally.tasks(p)
    assert [tasks[x]["planned_revenue"] for x in (tg, tb, ta)] == ["100.00", "200.00", "140.00"]
    totals = await tally.finances(p)
    # actual 50 + 10 + 70 = 130.00; planned 100 + 200 + 140 = 440.00
    assert (totals["actual_revenue"], totals["planned_revenue"]) == ("130.00", "440.00")


async def test_a_single_dated_override_applies_on_every_date(tally: Tally) -> None:
    hid = Ids()
    r, u, p, t = new_id("R"), new_id("U"), new_id("P"), new_id("T")
    await tally.post(
        role(r),
        rates("role", "billing", flat("10.00"), role_id=r),
        user(u, r),
        project(p),
        rates("project_role", "billing", period("33.00", MON, MON), project_id=p, role_id=r),
        task(t, p, planned_start=MON),
        hours(hid("h-old"), u, "1", "2020-01-01", task_id=t),
        hours(hid("h-new"), u, "2", "2024-01-01", task_id=t),
    )
    lines = await tally.hours(p)
    # R10.4: one dated period is both the first and the last: 1 × 33 + 2 × 33 = 99.00
    assert [lines[h]["revenue"] for h in (hid("h-old"), hid("h-new"))] == ["33.00", "66.00"]
    assert (await tally.finances(p))["actual_revenue"] == "99.00"
