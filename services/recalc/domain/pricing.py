"""Rate chains for one project at one knowledge position (R4.4–R4.7, R5.2, R5.3, R10.5).

A `Pricer` lives for one event (one recalculation) and memoises every look-up by
its inputs and business date, so re-pricing 100,000 entries costs a few dict hits
per entry.

Rules: docs/rules.md#r4, #r5, #r10.5.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from services.recalc.domain.money import ZERO_CENTS, cents
from services.recalc.domain.rates import RateTable, breaks, override_rate_on, rate_on
from services.recalc.domain.reference import ReferenceData
from services.recalc.domain.state import Assignment, HourEntry, ProjectInfo, TaskState

Found = tuple[Decimal, str] | None
"""A rate and the level it came from, or None: no rate (R4.2)."""

Rates = tuple[Found, Found]
"""(cost, billing) of one hour entry or one planned day."""

USER_REVENUE = frozenset({"user_hourly", "user_hourly_cap", "user_hourly_plus_fixed"})
ROLE_REVENUE = frozenset({"role_hourly", "role_hourly_cap", "role_hourly_plus_fixed"})


def _unique(roles: Iterable[str | None]) -> tuple[str, ...]:
    # Trying a role twice can't change the answer, so drop repeats and gaps.
    return tuple(dict.fromkeys(r for r in roles if r is not None))


class Pricer:
    """Rate look-ups for one project as known at one position."""

    def __init__(self, reference: ReferenceData, info: ProjectInfo, position: int) -> None:
        self.ref = reference
        self.info = info
        self.at = position
        # R4.5/R10.3: company rates as known at attach, or now when following changes.
        self.company_at = position if info.follow_company_rate_changes else info.company_attached_at
        self._roles: dict[str, tuple[str | None, tuple[str, ...]]] = {}
        self._billing: dict[tuple[str, date], Found] = {}
        self._cost: dict[tuple[str, date], Found] = {}
        self._user: dict[tuple[str, date], tuple[Found, Found]] = {}
        self._candidates: dict[tuple[str, str, str | None], tuple[str, ...]] = {}
        # Tables as known at this position, by id: a plan asks for every day of its range.
        self._user_tables: dict[str, tuple[RateTable, RateTable]] = {}
        self._role_cost_tables: dict[str, RateTable] = {}
        self._hours: dict[tuple[str | None, str, str | None, int], Rates] = {}
        self._breaks: dict[tuple[str | None, str | None, str | None], tuple[date, ...]] = {}

    # -- levels ---------------------------------------------------------------------

    def primary_role(self, user_id: str) -> str | None:
        roles = self._roles.get(user_id)
        if roles is None:
            roles = self._roles[user_id] = self.ref.user_roles(user_id, self.at)
        return roles[0]

    def _user_rates(self, user_id: str, day: date) -> tuple[Found, Found]:
        key = (user_id, day)
        rates = self._user.get(key)
        if rates is None:
            tables = self._user_tables_of(user_id)
            cost = rate_on(tables[0], day)
            billing = rate_on(tables[1], day)
            rates = self._user[key] = (
                None if cost is None else (cost, "user"),
                None if billing is None else (billing, "user"),
            )
        return rates

    def user_cost(self, user_id: str, day: date) -> Found:
        return self._user_rates(user_id, day)[0]

    def user_billing(self, user_id: str, day: date) -> Found:
        return self._user_rates(user_id, day)[1]

    def role_cost(self, role_id: str | None, day: date) -> Found:
        """R4.7: the system cost rate of the role, no overrides."""
        if role_id is None:
            return None
        key = (role_id, day)
        if key in self._cost:
            return self._cost[key]
        table = self._role_cost_tables.get(role_id)
        if table is None:
            table = self._role_cost_tables[role_id] = self.ref.role_cost(role_id, self.at)
        value = rate_on(table, day)
        found = self._cost[key] = None if value is None else (value, "role")
        return found

    def role_billing(self, role_id: str | None, day: date) -> Found:
        """R4.4: project override → company (R4.5) → system → none."""
        if role_id is None:
            return None
        key = (role_id, day)
        if key in self._billing:
            return self._billing[key]
        found: Found = None
        info = self.info
        override = info.role_overrides.get(role_id)
        value = override_rate_on(override, day) if override else None
        if value is not None:
            found = (value, "project_role")
        if found is None and info.company_id is not None and self.company_at is not None:
            table = self.ref.company_role_billing(info.company_id, role_id, self.company_at)
            value = rate_on(table, day)
            if value is not None:
                found = (value, "company_role")
        if found is None:
            value = rate_on(self.ref.role_billing(role_id, self.at), day)
            if value is not None:
                found = (value, "role")
        self._billing[key] = found
        return found

    def _user_tables_of(self, user_id: str) -> tuple[RateTable, RateTable]:
        tables = self._user_tables.get(user_id)
        if tables is None:
            tables = self._user_tables[user_id] = (
                self.ref.user_cost(user_id, self.at),
                self.ref.user_billing(user_id, self.at),
            )
        return tables

    def _role_tables(self, role_id: str) -> list[RateTable]:
        """Every table the cost or billing rate of `role_id` may read (R4.4, R4.7)."""
        info = self.info
        tables = [self.ref.role_cost(role_id, self.at), self.ref.role_billing(role_id, self.at)]
        override = info.role_overrides.get(role_id)
        if override:
            tables.append(override)
        if info.company_id is not None and self.company_at is not None:
            tables.append(self.ref.company_role_billing(info.company_id, role_id, self.company_at))
        return tables

    def assignment_breaks(self, task: TaskState, assignment: Assignment) -> tuple[date, ...]:
        """The dates where the rates of one assignment (`assignment_rates`) may change."""
        return self.chain_breaks(task, assignment.user_id, assignment.role_id)

    def chain_breaks(
        self, task: TaskState | None, user: str | None, role_id: str | None
    ) -> tuple[date, ...]:
        """The dates where the chains of `user` (with `role_id`) on `task` may change
        value: the breaks of every table they may read. Memoised."""
        key = (None if task is None else task.task_id, user, role_id)
        found = self._breaks.get(key)
        if found is None:
            tables: list[RateTable] = []
            roles: tuple[str | None, ...] = (role_id,)
            if user is not None:
                tables.extend(self._user_tables_of(user))
                if task is None:  # R5.3: the user's rates, then the primary role's
                    roles = (self.primary_role(user),)
                else:
                    # the hour's role, the roles held on the task, the primary role,
                    # the task's first role assignment: every role either chain may try
                    roles = self.role_candidates(task, user, role_id)
            for role in _unique(roles):
                tables.extend(self._role_tables(role))
            found = self._breaks[key] = breaks(tables)
        return found

    # -- chains (R5.2, R5.3, R10.5) -------------------------------------------------------

    def role_candidates(self, task: TaskState, owner: str, own_role: str | None) -> tuple[str, ...]:
        """The hour's (or assignment's) role, the roles the owner holds on the task's
        assignments, the owner's primary role, the task's first role assignment.
        Memoised: a plan asks once per day, a recalculation once per entry."""
        key = (task.task_id, owner, own_role)
        found = self._candidates.get(key)
        if found is None:
            found = self._candidates[key] = self._role_candidates(task, owner, own_role)
        return found

    def _role_candidates(
        self, task: TaskState, owner: str, own_role: str | None
    ) -> tuple[str, ...]:
        held = [a.role_id for a in task.assignments if a.user_id == owner]
        first = next((a.role_id for a in task.assignments if a.role_id is not None), None)
        return _unique([own_role, *held, self.primary_role(owner), first])

    def owner_cost(
        self, task: TaskState | None, owner: str, own_role: str | None, day: date
    ) -> Found:
        cost_type = "user_hourly" if task is None else task.cost_type
        if cost_type == "user_hourly":
            return self.user_cost(owner, day) or self.role_cost(self.primary_role(owner), day)
        if cost_type == "fixed_hourly":
            assert task is not None
            rate = task.fixed_hourly_cost
            return None if rate is None else (rate, "task")
        if cost_type == "role_hourly":
            assert task is not None
            for role in self.role_candidates(task, owner, own_role):
                found = self.role_cost(role, day)
                if found is not None:
                    return found
        return None  # no_cost

    def owner_billing(
        self, task: TaskState | None, owner: str, own_role: str | None, day: date
    ) -> Found:
        if task is None:  # hours on the project itself (R5.3, last bullet)
            return self.user_billing(owner, day) or self.role_billing(self.primary_role(owner), day)
        revenue_type = task.revenue_type
        if revenue_type in USER_REVENUE:
            first = next((a.role_id for a in task.assignments if a.role_id is not None), None)
            return (
                self.user_billing(owner, day)
                or self.role_billing(self.primary_role(owner), day)
                or self.role_billing(first, day)
            )
        if revenue_type in ROLE_REVENUE:
            for role in self.role_candidates(task, owner, own_role):
                found = self.role_billing(role, day)
                if found is not None:
                    return found
            return None
        if revenue_type == "fixed_hourly":
            rate = task.revenue_amount
            return None if rate is None else (rate, "task")
        return None  # fixed_revenue, not_billable: 0 per hour

    def hour_rates(
        self, task: TaskState | None, owner: str, role_id: str | None, day: date
    ) -> Rates:
        """Both rates of an hour entry, memoised by everything they depend on: the task,
        owner and role, and of the date only the run of days between two breaks of the
        tables the chains may read (`chain_breaks`), where the rates are constant."""
        if task is None:
            role_id = None  # R10.7: hours on the project ignore their role
        task_id = None if task is None else task.task_id
        cuts = self.chain_breaks(task, owner, role_id)
        key = (task_id, owner, role_id, bisect_right(cuts, day))
        rates = self._hours.get(key)
        if rates is None:
            rates = self._hours[key] = (
                self.owner_cost(task, owner, role_id, day),
                self.owner_billing(task, owner, role_id, day),
            )
        return rates


def price_hour(pricer: Pricer, task: TaskState | None, hour: HourEntry, *, cost_only: bool) -> None:
    """Price `hour` in place at the pricer's position (R5.1–R5.3, R10.7).

    With `cost_only` the revenue (and its rate) is kept: a billed entry (R7.3).
    """
    cost, billing = pricer.hour_rates(task, hour.owner_id, hour.role_id, hour.entry_date)
    if cost is None:
        hour.cost, hour.cost_rate, hour.cost_rate_source = ZERO_CENTS, None, None
    else:
        hour.cost = cents(hour.hours * cost[0])
        hour.cost_rate, hour.cost_rate_source = cost
    if not cost_only:
        if billing is None or not hour.counts_as_revenue:
            hour.revenue, hour.billing_rate, hour.billing_rate_source = ZERO_CENTS, None, None
        else:
            hour.revenue = cents(hour.hours * billing[0])
            hour.billing_rate, hour.billing_rate_source = billing
    hour.priced_at = pricer.at
    hour.kept = False
