"""Planned amounts priced per run of constant rates equal the per-day sum (R5.4, R3.3).

`price_plan` prices one day of each run of days that no rate period boundary splits,
times the run's length. These tests hold it to the definition: every working day
priced on its own, summed unrounded, rounded once.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from recalc_log import D, Log, period, rates

from services.recalc.domain.money import ZERO, cents
from services.recalc.domain.planning import (
    PlanSpan,
    assignment_rates,
    count_days,
    price_plan,
    shares,
)
from services.recalc.domain.pricing import Pricer
from services.recalc.domain.rates import Period, breaks
from services.recalc.domain.state import ProjectInfo, TaskState
from shared.events import (
    Assignment,
    CompanyDefined,
    JobRoleDefined,
    ProjectCreated,
    RatePeriod,
    TaskCreated,
    UserDefined,
)

START = date(2023, 6, 1)
USERS = ("U0", "U1")
ROLES = ("R0", "R1", "R2")


def _day(n: int) -> date:
    return START + timedelta(days=n)


def test_breaks_are_starts_and_days_after_ends() -> None:  # R4.1
    table = (
        Period(D(1), None, _day(3)),
        Period(D(2), _day(5), _day(9)),
        Period(D(3), _day(12), None),
    )
    assert breaks([table]) == (_day(4), _day(5), _day(10), _day(12))


def _plan_days(task: TaskState, info: ProjectInfo, today: date) -> list[date]:
    """The definition (R5.4, R10.6), day by day: the working days of the planned
    range; its calendar days when it has none; one day when a date is missing."""
    start, end = task.planned_start, task.planned_completion
    if start is None and end is None:
        return [info.planned_start or today]
    if start is None or end is None:
        return [start or end]  # type: ignore[list-item]  # one of them is set
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [d for d in days if d.weekday() < 5] or days or [start]


def _runs(days: list[date], cuts: list[date]) -> list[tuple[date, int]]:
    """Consecutive `days` grouped while no cut falls after a group's first day and on
    or before the day (the definition of a run of constant rates)."""
    out: list[list[object]] = []
    for day in days:
        if out and not any(out[-1][0] < cut <= day for cut in cuts):  # type: ignore[operator]
            out[-1][1] += 1  # type: ignore[operator]
        else:
            out.append([day, 1])
    return [(d, n) for d, n in out]  # type: ignore[misc]


def test_runs_split_exactly_at_cuts() -> None:
    span = PlanSpan(_day(0), _day(9), weekdays=False)
    assert span.runs([_day(2), _day(6)]) == [(_day(0), 2), (_day(2), 4), (_day(6), 4)]
    assert span.runs([]) == [(_day(0), 10)]
    assert span.runs([_day(-3), _day(12)]) == [(_day(0), 10)]  # cuts outside the span
    # 2023-06-01 is a Thursday: weekdays 1, 2, 5, 6, 7, 8, 9 of the first ten
    week = PlanSpan(_day(0), _day(9), weekdays=True)
    assert week.days == 7
    assert week.runs([_day(2), _day(3)]) == [(_day(0), 2), (_day(4), 5)]  # cuts on a weekend


@settings(max_examples=300, deadline=None)
@given(
    first=st.integers(-400, 400),
    length=st.integers(-3, 800),
    cuts=st.lists(st.integers(-450, 1300), max_size=8),
    weekdays=st.booleans(),
)
def test_span_runs_equal_the_runs_of_its_days(
    first: int, length: int, cuts: list[int], weekdays: bool
) -> None:
    start, end = _day(first), _day(first + length)
    days = [start + timedelta(days=n) for n in range(max(length + 1, 0))]
    if weekdays:
        days = [d for d in days if d.weekday() < 5]
    span = PlanSpan(start, end, weekdays=weekdays)
    cut_days = sorted({_day(c) for c in cuts})
    assert span.days == len(days) == count_days(start, end, weekdays=weekdays)
    assert span.runs(cut_days) == _runs(days, cut_days)


def test_a_span_of_millennia_costs_its_runs_not_its_days() -> None:  # R5.4
    span = PlanSpan(date(1900, 1, 1), date(2199, 12, 31), weekdays=True)
    assert span.days == 78_267
    assert span.runs([date(2000, 1, 1)]) == [(date(1900, 1, 1), 26_090), (date(2000, 1, 3), 52_177)]


def _naive(pricer: Pricer, task: TaskState, today: date) -> tuple[Decimal, Decimal]:
    """The definition, day by day: Σ weight × Σ day rate, divided once, rounded once."""
    hours = task.planned_hours
    fixed_cost = task.cost_type == "fixed_hourly"
    fixed_revenue = task.revenue_type == "fixed_hourly"
    cost = hours * task.fixed_hourly_cost if fixed_cost and task.fixed_hourly_cost else ZERO
    revenue = hours * task.revenue_amount if fixed_revenue and task.revenue_amount else ZERO
    if hours and task.assignments and not (fixed_cost and fixed_revenue):
        days = _plan_days(task, pricer.info, today)
        cost_sum = revenue_sum = ZERO
        divisor = Decimal(1)
        for assignment, weight, total in shares(task.assignments):
            divisor = total * len(days)
            for day in days:
                day_cost, day_billing = assignment_rates(pricer, task, assignment, day)
                if day_cost is not None and not fixed_cost:
                    cost_sum += day_cost[0] * weight
                if day_billing is not None and not fixed_revenue:
                    revenue_sum += day_billing[0] * weight
        if not fixed_cost:
            cost += hours * cost_sum / divisor
        if not fixed_revenue:
            revenue += hours * revenue_sum / divisor
    return cents(cost), cents(revenue)


values = st.decimals(min_value=0, max_value=300, places=4).map(Decimal)


@st.composite
def tables(draw: st.DrawFn) -> tuple[RatePeriod, ...]:
    """0 to 3 periods, sorted, not overlapping, with gaps, open ends allowed."""
    cuts = sorted(set(draw(st.lists(st.integers(0, 60), max_size=6))))
    out: list[RatePeriod] = []
    for i in range(0, len(cuts) - 1, 2):
        start: str | None = _day(cuts[i]).isoformat()
        end: str | None = _day(cuts[i + 1]).isoformat()
        if i == 0 and draw(st.booleans()):
            start = None
        if i + 2 >= len(cuts) - 1 and draw(st.booleans()):
            end = None
        out.append(period(str(draw(values)), start, end))
    return tuple(out)


assignments = st.builds(
    Assignment,
    user_id=st.sampled_from((*USERS, None)),
    role_id=st.sampled_from((*ROLES, None)),
    allocation_percent=st.sampled_from((None, D(0), D(25), D("33.3333"))),
).filter(lambda a: a.user_id is not None or a.role_id is not None)


def _rated_log(data: st.DataObject) -> Log:
    """Project P of company C, three roles and two users, with drawn rate tables at
    every level."""
    log = Log()
    log(CompanyDefined(company_id="C", name="C"))
    for role in ROLES:
        log(JobRoleDefined(role_id=role, name=role))
    for user in USERS:
        log(UserDefined(user_id=user, name=user, primary_role_id=data.draw(st.sampled_from(ROLES))))
    log(ProjectCreated(project_id="P", name="P", company_id="C"))
    for role in ROLES:
        for level, rate_type, ids in (
            ("role", "cost", {}),
            ("role", "billing", {}),
            ("company_role", "billing", {"company_id": "C"}),
            ("project_role", "billing", {"project_id": "P"}),
        ):
            periods = data.draw(tables())
            if periods:
                log(rates(level, rate_type, *periods, role_id=role, **ids))
    for user in USERS:
        for rate_type in ("cost", "billing"):
            periods = data.draw(tables())
            if periods:
                log(rates("user", rate_type, *periods, user_id=user))
    return log


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_plan_priced_by_runs_equals_the_per_day_sum(data: st.DataObject) -> None:
    log = _rated_log(data)
    first = data.draw(st.integers(0, 50))
    log(
        TaskCreated(
            task_id="T",
            project_id="P",
            name="T",
            planned_hours=data.draw(st.decimals(min_value=1, max_value=200, places=2)),
            planned_start=_day(first),
            planned_completion=_day(first + data.draw(st.integers(0, 40))),
            cost_type=data.draw(st.sampled_from(("user_hourly", "role_hourly", "fixed_hourly"))),
            revenue_type=data.draw(
                st.sampled_from(("user_hourly", "role_hourly", "role_hourly_cap", "fixed_hourly"))
            ),
            fixed_hourly_cost=D("12.5"),
            revenue_amount=D("40"),
            assignments=tuple(data.draw(st.lists(assignments, min_size=1, max_size=3))),
        )
    )
    state = log.book.projects["P"]
    task = state.tasks["T"]
    pricer = Pricer(log.reference, state.info, log.position)
    assert price_plan(pricer, task, START) == _naive(pricer, task, START)
    assert (task.planned_cost, task.planned_hourly_revenue) == _naive(pricer, task, START)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_hour_rates_memoised_by_run_equal_the_chains_on_the_day(data: st.DataObject) -> None:
    """`hour_rates` memoises by run of days between breaks; each answer must be the
    chains evaluated afresh on the entry's own day (R5.2, R5.3, R10.7)."""
    log = _rated_log(data)
    log(
        TaskCreated(
            task_id="T",
            project_id="P",
            name="T",
            cost_type=data.draw(st.sampled_from(("user_hourly", "role_hourly", "fixed_hourly"))),
            revenue_type=data.draw(
                st.sampled_from(("user_hourly", "role_hourly", "role_hourly_cap", "fixed_hourly"))
            ),
            fixed_hourly_cost=D("12.5"),
            revenue_amount=D("40"),
            assignments=tuple(data.draw(st.lists(assignments, max_size=3))),
        )
    )
    state = log.book.projects["P"]
    memo = Pricer(log.reference, state.info, log.position)
    entries = data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(("T", None)),
                st.sampled_from(USERS),
                st.sampled_from((*ROLES, None)),
                st.integers(-5, 70),
            ),
            min_size=1,
            max_size=40,
        )
    )
    for task_id, owner, role, n in entries:
        task = None if task_id is None else state.tasks[task_id]
        fresh = Pricer(log.reference, state.info, log.position)
        own_role = None if task is None else role
        expected = (
            fresh.owner_cost(task, owner, own_role, _day(n)),
            fresh.owner_billing(task, owner, own_role, _day(n)),
        )
        assert memo.hour_rates(task, owner, role, _day(n)) == expected
