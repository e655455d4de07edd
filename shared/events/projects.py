"""Projects and tasks (R2).

Rules: docs/rules.md#r2; fields: docs/contract.md#events.
"""

from __future__ import annotations

from decimal import Decimal

from shared.events.base import EventData, register
from shared.events.types import (
    Assignment,
    BusinessDate,
    CostType,
    Id,
    Money,
    PlannedHours,
    ProjectStatus,
    RevenueType,
    TaskStatus,
    Text,
)


@register
class ProjectCreated(EventData):
    project_id: Id
    name: Text
    status: ProjectStatus = "planning"
    company_id: Id | None = None
    planned_start: BusinessDate | None = None
    planned_completion: BusinessDate | None = None
    budget: Money | None = None
    fixed_cost: Money | None = None
    fixed_revenue: Money | None = None
    billed_locks_cost: bool = False
    follow_company_rate_changes: bool = False


@register
class ProjectUpdated(EventData):
    """Only the fields present change; `company_id: null` detaches the company."""

    project_id: Id
    name: Text | None = None
    company_id: Id | None = None
    planned_start: BusinessDate | None = None
    planned_completion: BusinessDate | None = None
    budget: Money | None = None
    fixed_cost: Money | None = None
    fixed_revenue: Money | None = None
    billed_locks_cost: bool | None = None
    follow_company_rate_changes: bool | None = None


@register
class ProjectStatusChanged(EventData):
    project_id: Id
    status: ProjectStatus


@register
class TaskCreated(EventData):
    task_id: Id
    project_id: Id
    name: Text
    status: TaskStatus = "new"
    planned_hours: PlannedHours = Decimal(0)
    planned_start: BusinessDate | None = None
    planned_completion: BusinessDate | None = None
    cost_type: CostType = "user_hourly"
    revenue_type: RevenueType = "user_hourly"
    fixed_hourly_cost: Money | None = None
    revenue_amount: Money | None = None
    assignments: tuple[Assignment, ...] = ()


@register
class TaskUpdated(EventData):
    """Only the fields present change (R10.1: plan fields re-price the plan)."""

    task_id: Id
    name: Text | None = None
    planned_hours: PlannedHours | None = None
    planned_start: BusinessDate | None = None
    planned_completion: BusinessDate | None = None
    cost_type: CostType | None = None
    revenue_type: RevenueType | None = None
    fixed_hourly_cost: Money | None = None
    revenue_amount: Money | None = None
    assignments: tuple[Assignment, ...] | None = None


PLAN_FIELDS = frozenset(
    {
        "planned_hours",
        "planned_start",
        "planned_completion",
        "cost_type",
        "revenue_type",
        "fixed_hourly_cost",
        "revenue_amount",
        "assignments",
    }
)
"""TaskUpdated fields that re-price the task's plan (R10.1)."""


@register
class TaskStatusChanged(EventData):
    task_id: Id
    status: TaskStatus


@register
class TaskMoved(EventData):
    task_id: Id
    to_project_id: Id


__all__ = [
    "PLAN_FIELDS",
    "ProjectCreated",
    "ProjectStatusChanged",
    "ProjectUpdated",
    "TaskCreated",
    "TaskMoved",
    "TaskStatusChanged",
    "TaskUpdated",
]
