"""R9 for hour entries and expenses: references, ids never reused, locks (R7.4, R10.10).

Rules: docs/rules.md#r7.4, #r10.10.
"""

from __future__ import annotations

from services.ledger.domain.entities import ExpenseState, HourState
from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.write_state import WriteState, duplicate
from shared.events import (
    ExpenseDeleted,
    ExpenseRecorded,
    ExpenseUpdated,
    HoursDeleted,
    HoursEdited,
    HoursLogged,
)


def hours_logged(m: WriteState, e: HoursLogged) -> str:
    if e.hour_id in m.hours or e.hour_id in m.deleted_hours:
        raise duplicate("hour entry", e.hour_id, "data.hour_id")
    m.need_user(e.owner_id, "data.owner_id")
    if e.task_id is not None:
        project = m.task(e.task_id, "data.task_id").project
    else:
        assert e.project_id is not None  # the schema asks for exactly one target
        m.project(e.project_id, "data.project_id")
        project = e.project_id
    m.need_role(e.role_id, "data.role_id")
    hour = HourState(e.task_id, e.project_id, e.counts_as_revenue)
    m.journal.set_item(m.hours, e.hour_id, hour)
    return f"project-{project}"


def _billed_record(m: WriteState, record_id: str | None) -> bool:
    return record_id is not None and m.records[record_id].billed


def hours_edited(m: WriteState, e: HoursEdited) -> str:
    hour = m.hour(e.hour_id, "data.hour_id")
    if _billed_record(m, hour.record):
        raise RuleViolation(
            "hour_locked",
            f"hour entry {e.hour_id!r} is on the billed record {hour.record!r} (R7.4)",
            "data.hour_id",
        )
    m.need_role(e.role_id, "data.role_id")
    if e.counts_as_revenue is not None:
        m.journal.set_attr(hour, "counts_as_revenue", e.counts_as_revenue)
    return f"project-{m.hour_project(hour)}"


def hours_deleted(m: WriteState, e: HoursDeleted) -> str:
    hour = m.hour(e.hour_id, "data.hour_id")
    if hour.record is not None:
        raise RuleViolation(
            "hour_in_billing_record",
            f"hour entry {e.hour_id!r} is on billing record {hour.record!r}:"
            " remove it from the record first (R7.4)",
            "data.hour_id",
        )
    project = m.hour_project(hour)
    m.journal.del_item(m.hours, e.hour_id)
    m.journal.add(m.deleted_hours, e.hour_id)
    return f"project-{project}"


def _check_expense_task(m: WriteState, task_id: str | None, project_id: str) -> None:
    if task_id is None:
        return
    task = m.task(task_id, "data.task_id")
    if task.project != project_id:
        raise RuleViolation(
            "task_not_in_project",
            f"task {task_id!r} belongs to project {task.project!r}, not {project_id!r}",
            "data.task_id",
        )


def expense_recorded(m: WriteState, e: ExpenseRecorded) -> str:
    if e.expense_id in m.expenses or e.expense_id in m.deleted_expenses:
        raise duplicate("expense", e.expense_id, "data.expense_id")
    m.project(e.project_id, "data.project_id")
    _check_expense_task(m, e.task_id, e.project_id)
    has_actual = e.actual_amount is not None and e.actual_amount > 0
    expense = ExpenseState(e.project_id, e.task_id, e.billable, has_actual)
    m.journal.set_item(m.expenses, e.expense_id, expense)
    return f"project-{e.project_id}"


def expense_updated(m: WriteState, e: ExpenseUpdated) -> str:
    expense = m.expense(e.expense_id, "data.expense_id")
    if _billed_record(m, expense.record):
        raise RuleViolation(
            "expense_locked",
            f"expense {e.expense_id!r} is on the billed record {expense.record!r} (R10.10)",
            "data.expense_id",
        )
    project = m.expense_project(expense)
    sent = e.provided()
    if "task_id" in sent and e.task_id != expense.task:
        _check_expense_task(m, e.task_id, project)
        if expense.record is not None:
            # the R7.4 count of items on records moves with the expense
            if expense.task is not None:
                old = m.tasks[expense.task]
                m.journal.set_attr(old, "on_records", old.on_records - 1)
            if e.task_id is not None:
                new = m.tasks[e.task_id]
                m.journal.set_attr(new, "on_records", new.on_records + 1)
        m.journal.set_attr(expense, "project", project)
        m.journal.set_attr(expense, "task", e.task_id)
    if e.billable is not None:
        m.journal.set_attr(expense, "billable", e.billable)
    if "actual_amount" in sent:
        has_actual = e.actual_amount is not None and e.actual_amount > 0
        m.journal.set_attr(expense, "has_actual", has_actual)
    return f"project-{project}"


def expense_deleted(m: WriteState, e: ExpenseDeleted) -> str:
    expense = m.expense(e.expense_id, "data.expense_id")
    if expense.record is not None:
        raise RuleViolation(
            "expense_in_billing_record",
            f"expense {e.expense_id!r} is on billing record {expense.record!r}:"
            " remove it from the record first (R10.10)",
            "data.expense_id",
        )
    project = m.expense_project(expense)
    m.journal.del_item(m.expenses, e.expense_id)
    m.journal.add(m.deleted_expenses, e.expense_id)
    return f"project-{project}"
