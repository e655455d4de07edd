"""Planned amounts of a task (R5.4, R10.6): allocation, working days, per-day rates.

Rules: docs/rules.md#r5.4, #r10.6.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from services.recalc.domain.money import ZERO, cents
from services.recalc.domain.pricing import Found, Pricer
from services.recalc.domain.state import Assignment, ProjectInfo, TaskState

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PlanSpan:
    """The business dates the planned hours spread over (R5.4, R10.6), held as a range
    and never as a list of days: its cost is that of the runs of constant rates, not of
    the days it spans. `weekdays` says whether only Monday to Friday count."""

    start: date
    end: date
    weekdays: bool

    @property
    def days(self) -> int:
        """How many dates the planned hours spread over."""
        return count_days(self.start, self.end, weekdays=self.weekdays)

    def runs(self, cuts: Sequence[date]) -> list[tuple[date, int]]:
        """The span as (first counted day, number of counted days) runs that no cut
        splits: a run ends before a cut falling after its first day (rates.breaks)."""
        out: list[tuple[date, int]] = []
        first = self.start
        for cut in cuts[bisect_right(cuts, self.start) :]:
            if cut > self.end:
                break
            _add_run(out, first, cut - _DAY, self.weekdays)
            first = cut
        _add_run(out, first, self.end, self.weekdays)
        return out


def plan_span(task: TaskState, info: ProjectInfo, today: date) -> PlanSpan:
    """The span of a task's plan (R5.4, R10.6): its working days; a range with no
    weekday spreads over its calendar days; no dates put every planned hour on one
    day (the project's planned start, else today), weekend or not; one date alone is
    that day. An inverted range (refused by the ledger) degrades to its start rather
    than dividing by zero."""
    start, end = task.planned_start, task.planned_completion
    if start is None or end is None:
        one = start or end or info.planned_start or today
        return PlanSpan(one, one, weekdays=False)
    if end < start:
        return PlanSpan(start, start, weekdays=False)
    return PlanSpan(start, end, weekdays=count_days(start, end, weekdays=True) > 0)


def count_days(first: date, last: date, *, weekdays: bool) -> int:
    """Dates from `first` to `last` inclusive (0 if inverted); only Monday to Friday
    when `weekdays`. Arithmetic, not enumeration: O(1) whatever the range."""
    total = (last - first).days + 1
    if total <= 0:
        return 0
    if not weekdays:
        return total
    weeks, rest = divmod(total, 7)
    start = first.weekday()
    return weeks * 5 + sum(1 for i in range(rest) if (start + i) % 7 < 5)


def _add_run(out: list[tuple[date, int]], first: date, last: date, weekdays: bool) -> None:
    count = count_days(first, last, weekdays=weekdays)
    if count == 0:
        return
    if weekdays and first.weekday() >= 5:  # the run's first counted day is Monday
        first += timedelta(days=7 - first.weekday())
    out.append((first, count))


def shares(assignments: tuple[Assignment, ...]) -> list[tuple[Assignment, Decimal, Decimal]]:
    """(assignment, weight, total weight): equal when no percentage is given or they
    sum to 0; otherwise a missing percentage counts as 0 (R10.6)."""
    given = [a.allocation_percent or ZERO for a in assignments]
    total = sum(given, ZERO)
    if total == 0:
        count = Decimal(len(assignments))
        return [(a, Decimal(1), count) for a in assignments]
    return [(a, w, total) for a, w in zip(assignments, given, strict=True)]


def price_plan(pricer: Pricer, task: TaskState, today: date) -> tuple[Decimal, Decimal]:
    """(planned cost, planned hourly revenue), each unrounded over every day and
    assignment, then rounded once (R3.3). Caps and fixed parts are applied on read."""
    hours = task.planned_hours
    if hours == 0:
        return cents(ZERO), cents(ZERO)
    cost = ZERO
    revenue = ZERO
    fixed_cost = task.cost_type == "fixed_hourly"
    fixed_revenue = task.revenue_type == "fixed_hourly"
    # Fixed hourly rates price the planned hours whatever the assignments (R5.4).
    if fixed_cost and task.fixed_hourly_cost is not None:
        cost = hours * task.fixed_hourly_cost
    if fixed_revenue and task.revenue_amount is not None:
        revenue = hours * task.revenue_amount
    if task.assignments and not (fixed_cost and fixed_revenue):
        span = plan_span(task, pricer.info, today)
        days = span.days
        # Σ weight × Σ day rates, divided once at the end: dividing per assignment
        # (thirds…) cuts each share at 28 digits, and the sum can fall just short of
        # a half cent that the exact amount reaches (R3.3: unrounded, rounded once).
        cost_sum = ZERO
        revenue_sum = ZERO
        divisor = Decimal(1)
        for assignment, weight, total in shares(task.assignments):
            divisor = total * days  # the same total for every share
            if weight == 0:
                continue
            # Σ of a day rate over the days = Σ over runs of constant rates of
            # (rate × days in the run): exact, as rates have at most 4 decimals.
            costs = ZERO
            billings = ZERO
            for day, count in span.runs(pricer.assignment_breaks(task, assignment)):
                day_cost, day_billing = assignment_rates(pricer, task, assignment, day)
                if day_cost is not None:
                    costs += day_cost[0] * count
                if day_billing is not None:
                    billings += day_billing[0] * count
            if not fixed_cost:
                cost_sum += costs * weight
            if not fixed_revenue:
                revenue_sum += billings * weight
        if not fixed_cost:
            cost += hours * cost_sum / divisor
        if not fixed_revenue:
            revenue += hours * revenue_sum / divisor
    return cents(cost), cents(revenue)


def assignment_rates(
    pricer: Pricer, task: TaskState, assignment: Assignment, day: date
) -> tuple[Found, Found]:
    """Rates of one assignment on one day (R10.6): a user assignment follows the owner
    chain with the assignee as owner and its own role first; a role-only assignment
    uses its role and nothing else."""
    user = assignment.user_id
    if user is not None:
        return (
            pricer.owner_cost(task, user, assignment.role_id, day),
            pricer.owner_billing(task, user, assignment.role_id, day),
        )
    role = assignment.role_id
    cost: Found = None
    if task.cost_type in ("user_hourly", "role_hourly"):
        cost = pricer.role_cost(role, day)
    billing: Found = None
    if task.revenue_type in ("fixed_revenue", "not_billable", "fixed_hourly"):
        billing = None
    else:
        billing = pricer.role_billing(role, day)
    return cost, billing
