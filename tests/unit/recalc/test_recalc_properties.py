"""Properties of the pricing core over random logs (R1.1, R1.4, R3.3, R7.3)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from recalc_log import D, Log, rates

from services.recalc.domain.totals import task_actual_revenue, task_planned_revenue
from shared.events import (
    Assignment,
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordStatusChanged,
    EventData,
    FinancesRecalculationRequested,
    HoursLogged,
    JobRoleDefined,
    ProjectCreated,
    TaskCreated,
    TaskStatusChanged,
    UserDefined,
)

USERS = ("U0", "U1", "U2")
ROLES = ("R0", "R1")
REVENUE = (
    "user_hourly",
    "role_hourly",
    "user_hourly_cap",
    "fixed_revenue",
    "role_hourly_plus_fixed",
)
COST = ("user_hourly", "role_hourly", "fixed_hourly", "no_cost")
amounts = st.decimals(min_value=0, max_value=500, places=2).map(Decimal)
days = st.integers(0, 30).map(lambda n: date(2023, 6, 1) + timedelta(days=n))


@st.composite
def logs(draw: st.DrawFn) -> list[EventData]:
    out: list[EventData] = [ProjectCreated(project_id="P", name="P", fixed_revenue=draw(amounts))]
    out += [JobRoleDefined(role_id=r, name=r) for r in ROLES]
    out += [
        UserDefined(user_id=u, name=u, primary_role_id=draw(st.sampled_from(ROLES))) for u in USERS
    ]
    for i in range(draw(st.integers(1, 3))):
        out.append(
            TaskCreated(
                task_id=f"T{i}",
                project_id="P",
                name="t",
                planned_hours=draw(amounts),
                cost_type=draw(st.sampled_from(COST)),
                revenue_type=draw(st.sampled_from(REVENUE)),
                fixed_hourly_cost=draw(amounts),
                revenue_amount=draw(amounts),
                planned_start=draw(days),
                planned_completion=date(2023, 7, 10),
                assignments=(
                    Assignment(
                        user_id=draw(st.sampled_from(USERS)), role_id=draw(st.sampled_from(ROLES))
                    ),
                ),
            )
        )
    tasks = [e.task_id for e in out if isinstance(e, TaskCreated)]
    for n in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 9))
        if kind < 3:
            level = draw(st.sampled_from(("user", "role", "project_role")))
            target = {"user": {"user_id": draw(st.sampled_from(USERS))}}.get(
                level, {"role_id": draw(st.sampled_from(ROLES))}
            )
            if level == "project_role":
                target["project_id"] = "P"
            kind_of_rate = (
                "billing" if level == "project_role" else draw(st.sampled_from(("cost", "billing")))
            )
            out.append(rates(level, kind_of_rate, str(draw(amounts)), **target))
        elif kind < 8:
            out.append(
                HoursLogged(
                    hour_id=f"h{n}",
                    owner_id=draw(st.sampled_from(USERS)),
                    task_id=draw(st.sampled_from(tasks)),
                    entry_date=draw(days),
                    hours=draw(st.decimals(min_value="0.25", max_value=8, places=2)),
                    counts_as_revenue=draw(st.booleans()),
                )
            )
        else:
            out.append(TaskStatusChanged(task_id=draw(st.sampled_from(tasks)), status="complete"))
    return out


def _replay(events: list[EventData]) -> Log:
    log = Log()
    for data in events:
        log(data)
    return log


@settings(max_examples=40, deadline=None)
@given(logs())
def test_totals_equal_the_sum_of_their_lines(events: list[EventData]) -> None:  # R3.3, R8
    log = _replay(events)
    state = log.book.projects["P"]
    totals = log.totals()
    assert totals["actual_labor_cost"] == sum((h.cost for h in state.hours.values()), D(0))
    assert totals["planned_labor_cost"] == sum((t.planned_cost for t in state.tasks.values()), D(0))
    planned = sum((task_planned_revenue(t) for t in state.tasks.values()), D(0))
    actual = sum((task_actual_revenue(state, t) for t in state.tasks.values()), D(0))
    assert totals["planned_revenue"] == planned + state.info.fixed_revenue
    assert totals["actual_revenue"] == actual
    assert all(h.cost == h.cost.quantize(D("0.01")) for h in state.hours.values())


@settings(max_examples=40, deadline=None)
@given(logs(), st.sampled_from(USERS), amounts)
def test_a_rate_change_alone_never_changes_an_amount(
    events: list[EventData], user: str, value: Decimal
) -> None:  # R1.4
    log = _replay(events)
    before = log.totals()
    hours = {k: (h.cost, h.revenue) for k, h in log.book.projects["P"].hours.items()}
    for rate_type in ("cost", "billing"):
        assert log(rates("user", rate_type, str(value), user_id=user)) == []
    log(rates("project_role", "billing", str(value), project_id="P", role_id="R0"))
    assert log.totals() == before
    assert {k: (h.cost, h.revenue) for k, h in log.book.projects["P"].hours.items()} == hours


@settings(max_examples=30, deadline=None)
@given(logs(), amounts)
def test_billed_revenue_never_changes_until_unbilled(
    events: list[EventData], value: Decimal
) -> None:  # R7.3
    log = _replay(events)
    hours = list(log.book.projects["P"].hours)
    assume(hours)
    log(BillingRecordCreated(billing_record_id="B", project_id="P", description="d"))
    log(BillingRecordItemsAdded(billing_record_id="B", hour_ids=tuple(hours)))
    log(BillingRecordStatusChanged(billing_record_id="B", status="billed"))
    kept = _revenues(log)
    billed = log.totals()["billed_revenue"]
    repricing = [
        *(rates("user", "billing", str(value), user_id=user) for user in USERS),
        FinancesRecalculationRequested(project_ids=("P",)),
        TaskStatusChanged(task_id="T0", status="in_progress"),
    ]
    for data in repricing:
        log(data)
    assert _revenues(log) == kept
    assert log.totals()["billed_revenue"] == billed
    # unbilled, the next recalculation prices them as if they had never been billed
    log(BillingRecordStatusChanged(billing_record_id="B", status="not_billed"))
    assert _revenues(log) == kept  # lifting the lock re-prices nothing yet (R7.3)
    log(FinancesRecalculationRequested(project_ids=("P",)))
    never = _replay(events)
    for data in [*repricing, FinancesRecalculationRequested(project_ids=("P",))]:
        never(data)
    assert _revenues(log) == _revenues(never)


def _revenues(log: Log) -> dict[str, Decimal]:
    return {k: h.revenue for k, h in log.book.projects["P"].hours.items()}


@settings(max_examples=30, deadline=None)
@given(logs())
def test_replaying_the_same_log_gives_the_same_results(events: list[EventData]) -> None:  # R1.1
    events = [*events, FinancesRecalculationRequested(project_ids=("P",))]
    first, second = _replay(events), _replay(events)
    assert first.published == second.published
    assert first.book.projects["P"].hours == second.book.projects["P"].hours
    assert first.book.projects["P"].tasks == second.book.projects["P"].tasks
