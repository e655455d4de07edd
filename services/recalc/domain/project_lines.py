"""The plain lines of a project, as the worker persists them (R2).

Rules: docs/rules.md#r2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from services.recalc.domain.money import ZERO
from services.recalc.domain.rates import RateTable


@dataclass(frozen=True, slots=True)
class Assignment:
    """A task assignment: a user and/or a job role, with an optional allocation (R2)."""

    user_id: str | None
    role_id: str | None
    allocation_percent: Decimal | None


@dataclass(slots=True)
class ProjectInfo:
    project_id: str
    name: str
    status: str = "planning"
    company_id: str | None = None
    #: Position of the event that attached the company: company rates are read as of
    #: it unless `follow_company_rate_changes` (R4.5, R10.3).
    company_attached_at: int | None = None
    planned_start: date | None = None
    planned_completion: date | None = None
    budget: Decimal | None = None
    fixed_cost: Decimal | None = None
    fixed_revenue: Decimal | None = None
    billed_locks_cost: bool = False
    follow_company_rate_changes: bool = False
    #: project_role billing overrides by role id (R4.4, R4.6)
    role_overrides: dict[str, RateTable] = field(default_factory=dict)
    #: Position of the last recalculation that re-priced the hour entries (scope
    #: `all`): every entry it did not keep (`HourEntry.kept`) was priced there or later.
    hours_priced_at: int | None = None


@dataclass(slots=True)
class TaskState:
    task_id: str
    project_id: str
    name: str
    status: str = "new"
    planned_hours: Decimal = ZERO
    planned_start: date | None = None
    planned_completion: date | None = None
    cost_type: str = "user_hourly"
    revenue_type: str = "user_hourly"
    fixed_hourly_cost: Decimal | None = None
    revenue_amount: Decimal | None = None
    assignments: tuple[Assignment, ...] = ()
    #: The priced plan, each rounded once (R3.3); revenue before cap and fixed parts.
    planned_cost: Decimal = ZERO
    planned_hourly_revenue: Decimal = ZERO
    plan_priced_at: int | None = None
    #: The billing record holding this task as a fixed-revenue item (R7.1).
    billing_record_id: str | None = None


@dataclass(slots=True)
class HourEntry:
    hour_id: str
    project_id: str
    task_id: str | None
    owner_id: str
    entry_date: date
    hours: Decimal
    role_id: str | None
    counts_as_revenue: bool
    cost: Decimal
    revenue: Decimal
    cost_rate: Decimal | None
    billing_rate: Decimal | None
    #: 'user' | 'role' | 'company_role' | 'project_role' | 'task' | None (R10.7)
    cost_rate_source: str | None
    billing_rate_source: str | None
    priced_at: int
    billing_record_id: str | None = None
    #: The last recalculation kept this entry as priced (R7.3 with `billed_locks_cost`,
    #: R10.9): its `priced_at` is older than the project's `hours_priced_at`.
    kept: bool = False


@dataclass(slots=True)
class ExpenseState:
    expense_id: str
    project_id: str
    task_id: str | None
    expense_type: str
    description: str | None = None
    planned_amount: Decimal | None = None
    actual_amount: Decimal | None = None
    planned_date: date | None = None
    paid_date: date | None = None
    billable: bool = False
    reimbursable: bool = False
    billing_record_id: str | None = None


@dataclass(slots=True)
class BillingRecordState:
    billing_record_id: str
    project_id: str
    description: str
    status: str = "not_billed"
    billing_date: date | None = None
    po_number: str | None = None
    invoice_id: str | None = None
    additional_amount: Decimal | None = None
    hour_ids: list[str] = field(default_factory=list)
    expense_ids: list[str] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class LineSums:
    """Actual hours of one task (or, under key None, of the project itself)."""

    count: int = 0
    hours: Decimal = ZERO
    cost: Decimal = ZERO
    revenue: Decimal = ZERO


Sums = tuple[int, Decimal, Decimal, Decimal]
"""(count, hours, cost, revenue) of some hour entries, as stored."""


def sums_of(sums: LineSums) -> Sums:
    return (sums.count, sums.hours, sums.cost, sums.revenue)


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed since the last `take_changes()`: the worker writes exactly this."""

    info: bool
    tasks: frozenset[str]
    removed_tasks: frozenset[str]
    hours: frozenset[str]
    removed_hours: frozenset[str]
    expenses: frozenset[str]
    removed_expenses: frozenset[str]
    records: frozenset[str]
    removed_records: frozenset[str]
    #: subsets of `hours` a recalculation re-priced and nothing else changed: only their
    #: price columns (`repriced`: some amount, rate or source differs) or only
    #: `priced_at` and `kept` (`restamped`: same prices, but kept by this recalculation
    #: or by the one before and not by this one) need writing. Every other entry the
    #: recalculation re-priced at the same prices is priced at `hours_priced_at`.
    repriced: frozenset[str] = frozenset()
    restamped: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (
            self.info
            or self.tasks
            or self.removed_tasks
            or self.hours
            or self.removed_hours
            or self.expenses
            or self.removed_expenses
            or self.records
            or self.removed_records
        )
