"""Project totals (R8), task figures (R5.5) and billing record amounts (R7.2).

All are read from the running sums of `ProjectState`, so they cost O(tasks +
records), never O(hour entries).

Rules: docs/rules.md#r8, #r5.5, #r7.2.
"""

from __future__ import annotations

from decimal import Decimal

from services.recalc.domain.money import ZERO_CENTS, cents, optional_cents
from services.recalc.domain.state import BillingRecordState, ProjectState, TaskState
from services.recalc.domain.views import RecordView, TaskView
from shared.events import ProjectTotals

CAPPED = frozenset({"user_hourly_cap", "role_hourly_cap"})
PLUS_FIXED = frozenset({"user_hourly_plus_fixed", "role_hourly_plus_fixed"})
FIXED_ITEMS = PLUS_FIXED | {"fixed_revenue"}


def _cap(task: TaskState, hourly: Decimal) -> Decimal:
    # R5.5/R10.8: the cap is a total on the hourly revenue; no amount means no cap.
    if task.revenue_type in CAPPED and task.revenue_amount is not None:
        return min(hourly, cents(task.revenue_amount))
    return hourly


def _fixed_part(task: TaskState) -> Decimal:
    """The task's fixed revenue (R5.5): the revenue amount, 0 when missing."""
    if task.revenue_type in FIXED_ITEMS:
        return optional_cents(task.revenue_amount)
    return ZERO_CENTS


def task_planned_revenue(task: TaskState) -> Decimal:
    hourly = ZERO_CENTS if task.revenue_type == "fixed_revenue" else task.planned_hourly_revenue
    return _cap(task, hourly) + _fixed_part(task)


def task_actual_revenue(state: ProjectState, task: TaskState) -> Decimal:
    hourly = state.task_actuals(task.task_id).revenue
    realised = _fixed_part(task) if task.status == "complete" else ZERO_CENTS
    return _cap(task, hourly) + realised


def task_view(state: ProjectState, task: TaskState) -> TaskView:
    sums = state.task_actuals(task.task_id)
    return TaskView(
        task_id=task.task_id,
        project_id=task.project_id,
        name=task.name,
        status=task.status,
        planned_hours=task.planned_hours,
        actual_hours=sums.hours,
        planned_cost=task.planned_cost,
        planned_revenue=task_planned_revenue(task),
        actual_cost=cents(sums.cost),
        actual_revenue=task_actual_revenue(state, task),
    )


def record_view(state: ProjectState, record: BillingRecordState) -> RecordView:
    record_id = record.billing_record_id
    hours = cents(state.record_hours_revenue.get(record_id, ZERO_CENTS))
    expenses = cents(state.record_expenses.get(record_id, ZERO_CENTS))
    fixed = sum(
        (
            optional_cents(state.tasks[t].revenue_amount)
            for t in record.task_ids
            if t in state.tasks
        ),
        ZERO_CENTS,
    )
    additional = optional_cents(record.additional_amount)
    return RecordView(
        billing_record_id=record_id,
        project_id=record.project_id,
        description=record.description,
        status=record.status,
        hour_ids=tuple(record.hour_ids),
        expense_ids=tuple(record.expense_ids),
        task_ids=tuple(record.task_ids),
        billable_hours_amount=hours,
        billable_expenses_amount=expenses,
        fixed_revenue_amount=fixed,
        additional_amount=additional,
        total=hours + expenses + fixed + additional,
    )


def task_sums(state: ProjectState) -> tuple[Decimal, Decimal, Decimal]:
    """Σ over tasks of (planned cost, planned revenue, actual revenue), refreshing only
    the tasks marked dirty since the last call: an hour entry costs O(1), not O(tasks)."""
    if state.dirty_tasks:
        cost, planned, actual = state.task_figures_sum
        figures = state.task_figures
        for task_id in state.dirty_tasks:
            old = figures.pop(task_id, None)
            if old is not None:
                cost, planned, actual = cost - old[0], planned - old[1], actual - old[2]
            task = state.tasks.get(task_id)
            if task is not None:
                new = (
                    task.planned_cost,
                    task_planned_revenue(task),
                    task_actual_revenue(state, task),
                )
                figures[task_id] = new
                cost, planned, actual = cost + new[0], planned + new[1], actual + new[2]
        state.dirty_tasks.clear()
        state.task_figures_sum = (cost, planned, actual)
    return state.task_figures_sum


def project_totals(state: ProjectState) -> ProjectTotals:
    """R8, every figure a sum of rounded lines (R3.3)."""
    info = state.info
    planned_labor, planned_task_revenue, actual_task_revenue = task_sums(state)
    actual_labor = sum((s.cost for s in state.actuals.values()), ZERO_CENTS)
    own_hours_revenue = state.task_actuals(None).revenue
    fixed_cost = optional_cents(info.fixed_cost)
    fixed_revenue = optional_cents(info.fixed_revenue)
    planned_expense = cents(state.expense_planned)
    actual_expense = cents(state.expense_actual)
    planned_cost = planned_labor + planned_expense + fixed_cost
    actual_cost = actual_labor + actual_expense + fixed_cost
    planned_revenue = planned_task_revenue + fixed_revenue
    # R10.11: project fixed revenue is actual only while the status is exactly complete.
    realised = fixed_revenue if info.status == "complete" else ZERO_CENTS
    actual_revenue = actual_task_revenue + own_hours_revenue + realised
    budget = optional_cents(info.budget)
    billed = sum(
        (record_view(state, r).total for r in state.records.values() if r.status == "billed"),
        ZERO_CENTS,
    )
    return ProjectTotals(
        planned_cost=cents(planned_cost),
        actual_cost=cents(actual_cost),
        planned_revenue=cents(planned_revenue),
        actual_revenue=cents(actual_revenue),
        planned_labor_cost=cents(planned_labor),
        actual_labor_cost=cents(actual_labor),
        planned_expense_cost=planned_expense,
        actual_expense_cost=actual_expense,
        fixed_cost=fixed_cost,
        fixed_revenue=fixed_revenue,
        planned_profit=cents(planned_revenue - planned_cost),
        actual_profit=cents(actual_revenue - actual_cost),
        budget=budget,
        budget_variance=cents(budget - actual_cost),
        billed_revenue=cents(billed),
    )
