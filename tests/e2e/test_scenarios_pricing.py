"""Cost types, revenue types and planned amounts end to end, worked out by hand from
finance-model.md (R5.2–R5.5, R10.6–R10.8). Throughout: role R bills 20.00 and costs
8.00; user U (primary role R) bills 30.00 and costs 10.00."""

from __future__ import annotations

from typing import Any

import pytest
from support.client import Tally
from support.events import (
    Ids,
    assign,
    flat,
    hours,
    new_id,
    period,
    project,
    rates,
    role,
    task,
    task_status,
    user,
)

pytestmark = pytest.mark.e2e

MON = "2023-06-19"


def _typed(t: str, p: str, u: str, cost: str, revenue: str, **kw: Any) -> dict[str, Any]:
    """4 planned hours on Monday, assigned to `u`."""
    return task(
        t,
        p,
        planned_hours="4",
        planned_start=MON,
        cost_type=cost,
        revenue_type=revenue,
        assignments=[assign(u)],
        **kw,
    )


async def test_every_cost_and_revenue_type(tally: Tally) -> None:
    hid = Ids()
    r, u, p = new_id("R"), new_id("U"), new_id("P")
    names = ("cap", "rolecap", "fixedh", "none", "upf", "rpf", "fixedrev", "vac")
    ids = {n: new_id(n) for n in names}
    await tally.post(
        role(r),
        rates("role", "billing", flat("20.00"), role_id=r),
        rates("role", "cost", flat("8.00"), role_id=r),
        user(u, r),
        rates("user", "billing", flat("30.00"), user_id=u),
        rates("user", "cost", flat("10.00"), user_id=u),
        project(p),
        _typed(ids["cap"], p, u, "user_hourly", "user_hourly_cap", revenue_amount="100.00"),
        _typed(ids["rolecap"], p, u, "role_hourly", "role_hourly_cap", revenue_amount="500.00"),
        _typed(
            ids["fixedh"],
            p,
            u,
            "fixed_hourly",
            "fixed_hourly",
            fixed_hourly_cost="12.50",
            revenue_amount="45.00",
        ),
        _typed(ids["none"], p, u, "no_cost", "not_billable"),
        _typed(ids["upf"], p, u, "user_hourly", "user_hourly_plus_fixed", revenue_amount="200"),
        _typed(ids["rpf"], p, u, "user_hourly", "role_hourly_plus_fixed", revenue_amount="300"),
        _typed(ids["fixedrev"], p, u, "user_hourly", "fixed_revenue", revenue_amount="1000"),
        task(ids["vac"], p, planned_start=MON),
        *(hours(hid(f"h-{n}"), u, "5", task_id=ids[n]) for n in names if n != "vac"),
        hours(hid("h-vac"), u, "1", task_id=ids["vac"], counts_as_revenue=False),
    )
    tasks = await tally.tasks(p)

    def amounts(name: str) -> tuple[str, str, str, str]:
        x = tasks[ids[name]]
        return (x["planned_cost"], x["planned_revenue"], x["actual_cost"], x["actual_revenue"])

    # (planned cost, planned revenue, actual cost, actual revenue); 4 h planned, 5 h logged
    # user cost 4 × 10 = 40, 5 × 10 = 50; user revenue 4 × 30 = 120 → cap 100, 5 × 30 = 150 → 100
    assert amounts("cap") == ("40.00", "100.00", "50.00", "100.00")
    # role cost 4 × 8 = 32, 5 × 8 = 40; role revenue 4 × 20 = 80, 5 × 20 = 100 (cap 500 unmet)
    assert amounts("rolecap") == ("32.00", "80.00", "40.00", "100.00")
    # fixed rates: 4 × 12.50 = 50, 4 × 45 = 180; 5 × 12.50 = 62.50, 5 × 45 = 225
    assert amounts("fixedh") == ("50.00", "180.00", "62.50", "225.00")
    assert amounts("none") == ("0.00", "0.00", "0.00", "0.00")
    # plus fixed: planned 120 + 200 = 320 always; actual only hourly (150) until complete
    assert amounts("upf") == ("40.00", "320.00", "50.00", "150.00")
    # role plus fixed: planned 4 × 20 + 300 = 380; actual 5 × 20 = 100 until complete
    assert amounts("rpf") == ("40.00", "380.00", "50.00", "100.00")
    # fixed revenue: planned 1,000; actual 0 until complete; hours still cost 50
    assert amounts("fixedrev") == ("40.00", "1000.00", "50.00", "0.00")
    # a vacation hour: cost 10.00, no revenue
    assert amounts("vac") == ("0.00", "0.00", "10.00", "0.00")

    lines = await tally.hours(p)
    assert lines[hid("h-cap")]["revenue"] == "150.00"  # the line is uncapped; the task is capped
    # R10.7: 0 by rule shows a null rate and source
    assert (lines[hid("h-none")]["cost_rate"], lines[hid("h-none")]["cost_rate_source"]) == (
        None,
        None,
    )
    for h in (hid("h-none"), hid("h-fixedrev"), hid("h-vac")):
        assert (lines[h]["revenue"], lines[h]["billing_rate"], lines[h]["billing_rate_source"]) == (
            "0.00",
            None,
            None,
        )
    assert (lines[hid("h-vac")]["cost"], lines[hid("h-vac")]["cost_rate_source"]) == (
        "10.00",
        "user",
    )

    got = await tally.finances(p)
    # planned cost 40 + 32 + 50 + 0 + 40 + 40 + 40 + 0 = 242.00
    # planned revenue 100 + 80 + 180 + 0 + 320 + 380 + 1000 + 0 = 2,060.00
    # actual cost 50 + 40 + 62.50 + 0 + 50 + 50 + 50 + 10 = 312.50
    # actual revenue 100 + 100 + 225 + 0 + 150 + 100 + 0 + 0 = 675.00
    assert (
        got["planned_labor_cost"],
        got["planned_revenue"],
        got["actual_labor_cost"],
        got["actual_revenue"],
    ) == ("242.00", "2060.00", "312.50", "675.00")

    await tally.post(*(task_status(ids[n], "complete") for n in ("upf", "rpf", "fixedrev")))
    tasks = await tally.tasks(p)
    # realised on complete (R5.5): 150 + 200 = 350; 100 + 300 = 400; 1,000
    assert [tasks[ids[n]]["actual_revenue"] for n in ("upf", "rpf", "fixedrev")] == [
        "350.00",
        "400.00",
        "1000.00",
    ]
    # 675 + 200 + 300 + 1,000 = 2,175.00
    assert (await tally.finances(p))["actual_revenue"] == "2175.00"


async def test_planned_amounts_over_working_days_and_allocations(tally: Tally) -> None:
    r2, u1, u2, u3, p = new_id("R2"), new_id("U1"), new_id("U2"), new_id("U3"), new_id("P")
    t = {n: new_id(n) for n in ("split", "equal", "missing", "nodates", "round", "fixed")}
    await tally.post(
        role(r2),
        rates("role", "cost", flat("12.00"), role_id=r2),
        user(u1),
        rates(
            "user",
            "billing",
            period("40.00", end="2023-06-18"),
            period("44.00", start="2023-06-19"),
            user_id=u1,
        ),
        rates("user", "cost", flat("20.00"), user_id=u1),
        user(u2, r2),
        rates("user", "billing", flat("30.00"), user_id=u2),
        user(u3),
        rates("user", "billing", flat("0.005"), user_id=u3),
        project(p, planned_start=MON),
        # 30 h from Fri 06-16 to Tue 06-20: working days Fri, Mon, Tue; allocation 30/10
        # normalised to 75 % / 25 % (R10.6).
        task(
            t["split"],
            p,
            planned_hours="30",
            planned_start="2023-06-16",
            planned_completion="2023-06-20",
            assignments=[assign(u1, percent="30"), assign(u2, percent="10")],
        ),
        # 10 h on Monday, no percentages: equal shares, 5 h each
        task(
            t["equal"],
            p,
            planned_hours="10",
            planned_start=MON,
            planned_completion=MON,
            assignments=[assign(u1), assign(u2)],
        ),
        # 8 h over Sat 06-17 and Sun 06-18 (no weekday: calendar days); U2's missing
        # percentage counts as 0, so U1 has it all
        task(
            t["missing"],
            p,
            planned_hours="8",
            planned_start="2023-06-17",
            planned_completion="2023-06-18",
            assignments=[assign(u1, percent="50"), assign(u2)],
        ),
        # no dates: all hours on the project's planned start, Monday 06-19
        task(t["nodates"], p, planned_hours="3", assignments=[assign(u1)]),
        # 1 h over Mon and Tue at 0.005: 0.0025 a day; rounded once: 0.005 → 0.01 (R3.3)
        task(
            t["round"],
            p,
            planned_hours="1",
            planned_start=MON,
            planned_completion="2023-06-20",
            assignments=[assign(u3)],
        ),
        # no assignments: only fixed_hourly prices, 6 × 5.00 = 30, 6 × 9.00 = 54
        task(
            t["fixed"],
            p,
            planned_hours="6",
            planned_start=MON,
            cost_type="fixed_hourly",
            fixed_hourly_cost="5.00",
            revenue_type="fixed_hourly",
            revenue_amount="9.00",
        ),
    )
    tasks = await tally.tasks(p)

    def planned(name: str) -> tuple[str, str]:
        return (tasks[t[name]]["planned_cost"], tasks[t[name]]["planned_revenue"])

    # U1 22.5 h, 7.5 a day: revenue 7.5 × 40 (Fri) + 7.5 × 44 × 2 = 300 + 660 = 960,
    #   cost 22.5 × 20 = 450; U2 7.5 h: revenue 7.5 × 30 = 225, cost 7.5 × 12 (role) = 90
    assert planned("split") == ("540.00", "1185.00")
    # U1 5 × 44 = 220, cost 5 × 20 = 100; U2 5 × 30 = 150, cost 5 × 12 = 60
    assert planned("equal") == ("160.00", "370.00")
    # U1 8 × 40 (the weekend is before 06-19) = 320, cost 8 × 20 = 160
    assert planned("missing") == ("160.00", "320.00")
    # 3 × 44 = 132, cost 3 × 20 = 60
    assert planned("nodates") == ("60.00", "132.00")
    assert planned("round") == ("0.00", "0.01")
    assert planned("fixed") == ("30.00", "54.00")
    got = await tally.finances(p)
    # cost 540 + 160 + 160 + 60 + 0 + 30 = 950.00
    # revenue 1,185 + 370 + 320 + 132 + 0.01 + 54 = 2,061.01
    assert (got["planned_labor_cost"], got["planned_revenue"]) == ("950.00", "2061.01")
    assert got["planned_cost"] == "950.00"


async def test_planned_amounts_are_rounded_once_over_thirds(tally: Tally) -> None:
    u, p, days, thirds = new_id("U"), new_id("P"), new_id("Td"), new_id("Tt")
    await tally.post(
        user(u),
        rates("user", "billing", flat("0.005"), user_id=u),
        rates("user", "cost", flat("12.345"), user_id=u),
        project(p),
        # 1 h over Mon–Wed: 1/3 h a day × 0.005 × 3 days = 0.005 exactly → 0.01 (R3.3);
        # cost 1 × 12.345 = 12.345 → 12.35
        task(
            days,
            p,
            planned_hours="1",
            planned_start=MON,
            planned_completion="2023-06-21",
            assignments=[assign(u)],
        ),
        # 1 h on Monday in three equal allocations: 3 × 1/3 × 0.005 = 0.005 → 0.01
        task(
            thirds,
            p,
            planned_hours="1",
            planned_start=MON,
            assignments=[assign(u, percent="1") for _ in range(3)],
        ),
    )
    tasks = await tally.tasks(p)
    for t in (days, thirds):
        assert (tasks[t]["planned_cost"], tasks[t]["planned_revenue"]) == ("12.35", "0.01")
