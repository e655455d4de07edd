"""Read views of the book (docs/contract.md#http): a task's figures, a billing record's amounts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from services.recalc.domain.state import HourEntry


@dataclass(frozen=True, slots=True)
class TaskView:
    """One task's labour figures (R10.11: a task's expenses count on the project)."""

    task_id: str
    project_id: str
    name: str
    status: str
    planned_hours: Decimal
    actual_hours: Decimal
    planned_cost: Decimal
    planned_revenue: Decimal
    actual_cost: Decimal
    actual_revenue: Decimal


@dataclass(frozen=True, slots=True)
class RecordView:
    """A billing record with its live R7.2 amounts."""

    billing_record_id: str
    project_id: str
    description: str
    status: str
    hour_ids: tuple[str, ...]
    expense_ids: tuple[str, ...]
    task_ids: tuple[str, ...]
    billable_hours_amount: Decimal
    billable_expenses_amount: Decimal
    fixed_revenue_amount: Decimal
    additional_amount: Decimal
    total: Decimal


PricingObserver = Callable[[HourEntry, str, int, bool], None]
"""Called for every pricing of an hour entry: (entry as priced, cause type, position,
locked). `locked` is true when a recalculation kept the entry's billed revenue (R7.3)."""
