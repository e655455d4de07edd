"""Manual recalculation (R6.2) and what the recalc service publishes (R6.4).

Rules: docs/rules.md#r6; fields: docs/contract.md#events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from shared.events.base import EventData, register
from shared.events.types import Frozen, Id, RecalcScope


@register
class FinancesRecalculationRequested(EventData):
    """One project per stored event: the ledger splits a bulk request (docs/contract.md#http)."""

    project_ids: tuple[Id, ...] = Field(min_length=1, max_length=1000)
    scope: RecalcScope = "all"


class ProjectTotals(Frozen):
    """A project's totals (R8); every amount has exactly two places."""

    planned_cost: Decimal
    actual_cost: Decimal
    planned_revenue: Decimal
    actual_revenue: Decimal
    planned_labor_cost: Decimal
    actual_labor_cost: Decimal
    planned_expense_cost: Decimal
    actual_expense_cost: Decimal
    fixed_cost: Decimal
    fixed_revenue: Decimal
    planned_profit: Decimal
    actual_profit: Decimal
    budget: Decimal
    budget_variance: Decimal
    billed_revenue: Decimal


class Cause(Frozen):
    type: str
    position: int


@register
class ProjectFinancesChanged(EventData):
    internal = True
    project_id: Id
    position: int
    totals: ProjectTotals
    cause: Cause


RecalcReason = Literal["manual", "task_status_changed", "task_moved", "project_reactivated"]


@register
class FinancesRecalculated(EventData):
    internal = True
    project_id: Id
    scope: RecalcScope
    reason: RecalcReason
    position: int
    before: ProjectTotals
    after: ProjectTotals
    hours_repriced: int
    hours_locked: int
