"""Handlers of project and task events (R4.5, R6.3, R10.1, R10.3, R10.9).

Rules: docs/rules.md#r4.5, #r6.3, #r10.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.recalc.domain.event_step import Recalc, Step
from services.recalc.domain.planning import price_plan
from services.recalc.domain.rates import make_table
from services.recalc.domain.state import Assignment, ProjectInfo, ProjectState, TaskState
from shared.events import (
    PLAN_FIELDS,
    ProjectCreated,
    ProjectStatusChanged,
    ProjectUpdated,
    RatesSet,
    TaskCreated,
    TaskMoved,
    TaskStatusChanged,
    TaskUpdated,
)
from shared.events import Assignment as AssignmentData

_PROJECT_FIELDS = (
    "name",
    "planned_start",
    "planned_completion",
    "budget",
    "fixed_cost",
    "fixed_revenue",
    "billed_locks_cost",
    "follow_company_rate_changes",
)
_TASK_FIELDS = (
    "name",
    "planned_hours",
    "planned_start",
    "planned_completion",
    "cost_type",
    "revenue_type",
    "fixed_hourly_cost",
    "revenue_amount",
)


# Fields that can't be unset: an explicit null in an update changes nothing.
_REQUIRED = frozenset(
    {
        "name",
        "planned_hours",
        "cost_type",
        "revenue_type",
        "billed_locks_cost",
        "follow_company_rate_changes",
    }
)


def assignments_of(items: Iterable[AssignmentData]) -> tuple[Assignment, ...]:
    return tuple(Assignment(a.user_id, a.role_id, a.allocation_percent) for a in items)


def price_task_plan(step: Step, state: ProjectState, task: TaskState) -> None:
    """Price the plan at this event's position (R1.3, R5.4)."""
    if step.defer_plan is not None:
        step.defer_plan(state, task, step.position, step.today)
        return
    task.planned_cost, task.planned_hourly_revenue = price_plan(
        step.pricer(state), task, step.today
    )
    task.plan_priced_at = step.position


def project_created(step: Step, data: ProjectCreated) -> None:
    if data.project_id in step.projects:
        return
    info = ProjectInfo(
        project_id=data.project_id,
        name=data.name,
        status=data.status,
        company_id=data.company_id,
        company_attached_at=step.position if data.company_id is not None else None,
        planned_start=data.planned_start,
        planned_completion=data.planned_completion,
        budget=data.budget,
        fixed_cost=data.fixed_cost,
        fixed_revenue=data.fixed_revenue,
        billed_locks_cost=data.billed_locks_cost,
        follow_company_rate_changes=data.follow_company_rate_changes,
    )
    state = ProjectState(info)
    state.touch_info()
    step.projects[data.project_id] = state


def project_updated(step: Step, state: ProjectState, data: ProjectUpdated) -> None:
    """Settings change, nothing is re-priced (R10.1)."""
    info = state.info
    provided = data.provided()
    for name in _PROJECT_FIELDS:
        value = getattr(data, name)
        if name in provided and (value is not None or name not in _REQUIRED):
            setattr(info, name, value)
    # R10.3: a new company (or a re-attach after a detach) takes a fresh snapshot.
    if "company_id" in provided and data.company_id != info.company_id:
        info.company_id = data.company_id
        info.company_attached_at = step.position if data.company_id is not None else None
    state.touch_info()


def project_status_changed(step: Step, state: ProjectState, data: ProjectStatusChanged) -> None:
    old = state.info.status
    state.info.status = data.status
    state.touch_info()
    # R6.3: reactivating a complete project re-prices its plan.
    if old == "complete" and data.status not in ("complete", "dead"):
        step.recalcs.append(Recalc(state.info.project_id, "planned", "project_reactivated"))


def project_rates_set(step: Step, state: ProjectState, data: RatesSet) -> None:
    """A project override table (R4.4, R4.6); re-prices nothing (R1.4)."""
    if data.level != "project_role" or data.rate_type != "billing" or data.role_id is None:
        return
    table = make_table(data.periods)
    if table:
        state.info.role_overrides[data.role_id] = table
    else:
        state.info.role_overrides.pop(data.role_id, None)
    state.touch_info()


def task_created(step: Step, state: ProjectState, data: TaskCreated) -> None:
    task = TaskState(
        task_id=data.task_id,
        project_id=state.info.project_id,
        name=data.name,
        status=data.status,
        planned_hours=data.planned_hours,
        planned_start=data.planned_start,
        planned_completion=data.planned_completion,
        cost_type=data.cost_type,
        revenue_type=data.revenue_type,
        fixed_hourly_cost=data.fixed_hourly_cost,
        revenue_amount=data.revenue_amount,
        assignments=assignments_of(data.assignments),
    )
    price_task_plan(step, state, task)
    state.put_task(task)


def task_updated(step: Step, state: ProjectState, data: TaskUpdated) -> None:
    task = state.tasks.get(data.task_id)
    if task is None:
        return
    provided = data.provided()
    for name in _TASK_FIELDS:
        value = getattr(data, name)
        if name in provided and (value is not None or name not in _REQUIRED):
            setattr(task, name, value)
    if "assignments" in provided:
        task.assignments = assignments_of(data.assignments or ())
    # R10.1: only a plan field re-prices the plan; hour entries keep their prices (R10.8).
    if provided & PLAN_FIELDS:
        price_task_plan(step, state, task)
    state.touch_task(task.task_id)


def task_status_changed(step: Step, state: ProjectState, data: TaskStatusChanged) -> None:
    task = state.tasks.get(data.task_id)
    if task is None:
        return
    task.status = data.status
    state.touch_task(task.task_id)
    # R10.9: every status change recalculates, even to the same status.
    step.recalcs.append(Recalc(state.info.project_id, "all", "task_status_changed"))


def task_moved(step: Step, source: ProjectState, data: TaskMoved) -> None:
    """The task moves with its hours and expenses (R6.3); with hours, both projects
    are recalculated, source first (R10.9); without, only its plan moves."""
    target_id = data.to_project_id
    if target_id == source.info.project_id or data.task_id not in source.tasks:
        return
    target = step.projects.get(target_id)
    if target is None:
        raise KeyError(f"TaskMoved at {step.position}: target project {target_id} is not held")
    source.require_task_hours(data.task_id, "a task move")
    task = source.pop_task(data.task_id)
    assert task is not None
    task.project_id = target_id
    target.put_task(task)
    hours = [h for h in source.hours.values() if h.task_id == task.task_id]
    for hour in hours:
        source.pop_hour(hour.hour_id)
        hour.project_id = target_id
        target.put_hour(hour)
    expenses = [e for e in source.expenses.values() if e.task_id == task.task_id]
    for expense in expenses:
        source.pop_expense(expense.expense_id)
        expense.project_id = target_id
        target.put_expense(expense)
    if hours:
        step.recalcs.append(Recalc(source.info.project_id, "all", "task_moved"))
        step.recalcs.append(Recalc(target_id, "all", "task_moved"))
