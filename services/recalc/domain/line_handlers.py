"""Handlers of hour, expense and billing record events (R5.1–R5.3, R7, R10.10).

Rules: docs/rules.md#r5, #r7, #r10.10.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.recalc.domain.event_step import Step
from services.recalc.domain.money import ZERO_CENTS
from services.recalc.domain.pricing import Pricer, price_hour
from services.recalc.domain.state import BillingRecordState, ExpenseState, HourEntry, ProjectState
from shared.events import (
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordItemsRemoved,
    BillingRecordStatusChanged,
    BillingRecordUpdated,
    ExpenseDeleted,
    ExpenseRecorded,
    ExpenseUpdated,
    HoursDeleted,
    HoursEdited,
    HoursLogged,
)
from shared.events.trusted import LoggedHours

_HOUR_FIELDS = ("hours", "entry_date", "role_id", "counts_as_revenue")
_EXPENSE_FIELDS = (
    "task_id",
    "expense_type",
    "description",
    "planned_amount",
    "actual_amount",
    "planned_date",
    "paid_date",
    "billable",
    "reimbursable",
)
_NULLABLE_EXPENSE = frozenset(
    {"task_id", "description", "planned_amount", "actual_amount", "planned_date", "paid_date"}
)
_RECORD_FIELDS = ("description", "billing_date", "po_number", "invoice_id", "additional_amount")


def hours_logged(step: Step, state: ProjectState, data: HoursLogged) -> None:
    """Price the new entry at its own position (R1.3)."""
    step.observe(log_hour(step.pricer(state), state, data, step.position))


def log_hour(
    pricer: Pricer,
    state: ProjectState,
    data: HoursLogged | LoggedHours,
    position: int,
    *,
    tracked: bool = True,
) -> HourEntry:
    """`hours_logged` with a given pricer: one made at `position`, or at an earlier
    position of the same project with no reference, project or task change since (it
    answers as one made at `position` would; a quiet book reuses it, finance_book.py).
    Not `tracked`: the entry is not marked as changed (a state nobody writes changes
    of)."""
    task = state.tasks.get(data.task_id) if data.task_id is not None else None
    hour = HourEntry(  # positional: a replay makes one per entry of the log
        data.hour_id,  # hour_id
        state.info.project_id,  # project_id
        data.task_id,  # task_id
        data.owner_id,  # owner_id
        data.entry_date,  # entry_date
        data.hours,  # hours
        data.role_id,  # role_id
        data.counts_as_revenue,  # counts_as_revenue
        ZERO_CENTS,  # cost
        ZERO_CENTS,  # revenue
        None,  # cost_rate
        None,  # billing_rate
        None,  # cost_rate_source
        None,  # billing_rate_source
        position,  # priced_at
    )
    price_hour(pricer, task, hour, cost_only=False)
    hour.priced_at = position
    if tracked:
        state.put_hour(hour)
    else:
        state.put_hour_untracked(hour)
    return hour


def hours_edited(step: Step, state: ProjectState, data: HoursEdited) -> None:
    """R10.1: an edit re-prices the entry completely, at the edit's position."""
    hour = edit_hour(step.pricer(state), state, data, step.position)
    if hour is not None:
        step.observe(hour)


def edit_hour(
    pricer: Pricer, state: ProjectState, data: HoursEdited, position: int
) -> HourEntry | None:
    """`hours_edited` with a given pricer (as `log_hour`); the entry, if held."""
    hour = state.hours.get(data.hour_id)
    if hour is None:
        return None
    state.account_hour(hour, -1)
    provided = data.provided()
    for name in _HOUR_FIELDS:
        if name in provided and (getattr(data, name) is not None or name == "role_id"):
            setattr(hour, name, getattr(data, name))
    task = state.tasks.get(hour.task_id) if hour.task_id is not None else None
    price_hour(pricer, task, hour, cost_only=False)
    hour.priced_at = position
    state.account_hour(hour, 1)
    state.touch_hour(hour.hour_id)
    return hour


def _off_its_record(
    state: ProjectState, record_id: str | None, item_id: str, items: Callable[[Any], list[str]]
) -> None:
    """A deleted line leaves its billing record. The ledger refuses deleting what is on
    a record (R7.4, R10.10); the record is kept consistent all the same."""
    record = state.records.get(record_id) if record_id is not None else None
    if record is not None and item_id in items(record):
        items(record).remove(item_id)
        state.touch_record(record.billing_record_id)


def hours_deleted(step: Step, state: ProjectState, data: HoursDeleted) -> None:
    hour = state.pop_hour(data.hour_id)
    if hour is not None:
        _off_its_record(state, hour.billing_record_id, hour.hour_id, lambda r: r.hour_ids)


def expense_recorded(step: Step, state: ProjectState, data: ExpenseRecorded) -> None:
    expense = ExpenseState(
        expense_id=data.expense_id,
        project_id=state.info.project_id,
        task_id=data.task_id,
        expense_type=data.expense_type,
        description=data.description,
        planned_amount=data.planned_amount,
        actual_amount=data.actual_amount,
        planned_date=data.planned_date,
        paid_date=data.paid_date,
        billable=data.billable,
        reimbursable=data.reimbursable,
    )
    state.put_expense(expense)


def expense_updated(step: Step, state: ProjectState, data: ExpenseUpdated) -> None:
    expense = state.expenses.get(data.expense_id)
    if expense is None:
        return
    state.account_expense(expense, -1)
    provided = data.provided()
    for name in _EXPENSE_FIELDS:
        value = getattr(data, name)
        # expense_type and the flags can't be unset: a null changes nothing.
        if name in provided and (value is not None or name in _NULLABLE_EXPENSE):
            setattr(expense, name, value)
    state.account_expense(expense, 1)
    state.touch_expense(expense.expense_id)


def expense_deleted(step: Step, state: ProjectState, data: ExpenseDeleted) -> None:
    expense = state.pop_expense(data.expense_id)
    if expense is not None:
        _off_its_record(
            state, expense.billing_record_id, expense.expense_id, lambda r: r.expense_ids
        )


def record_created(step: Step, state: ProjectState, data: BillingRecordCreated) -> None:
    if data.billing_record_id in state.records:
        return
    record = BillingRecordState(
        billing_record_id=data.billing_record_id,
        project_id=state.info.project_id,
        description=data.description,
        billing_date=data.billing_date,
        po_number=data.po_number,
        invoice_id=data.invoice_id,
        additional_amount=data.additional_amount,
    )
    state.put_record(record)
    step.record_projects[record.billing_record_id] = state.info.project_id


def record_updated(step: Step, state: ProjectState, data: BillingRecordUpdated) -> None:
    record = state.records.get(data.billing_record_id)
    if record is None:
        return
    provided = data.provided()
    for name in _RECORD_FIELDS:
        if name in provided and (getattr(data, name) is not None or name != "description"):
            setattr(record, name, getattr(data, name))
    state.touch_record(record.billing_record_id)


def record_status_changed(
    step: Step, state: ProjectState, data: BillingRecordStatusChanged
) -> None:
    """`billed` locks; the lock acts at the next recalculation (R7.3)."""
    record = state.records.get(data.billing_record_id)
    if record is None:
        return
    record.status = data.status
    state.touch_record(record.billing_record_id)


def _set_hour_record(state: ProjectState, hour: HourEntry, record_id: str | None) -> None:
    state.account_hour(hour, -1)
    hour.billing_record_id = record_id
    state.account_hour(hour, 1)
    state.touch_hour(hour.hour_id)


def _set_expense_record(state: ProjectState, expense: ExpenseState, record_id: str | None) -> None:
    state.account_expense(expense, -1)
    expense.billing_record_id = record_id
    state.account_expense(expense, 1)
    state.touch_expense(expense.expense_id)


def _detach(state: ProjectState, record_id: str | None, ids_of: str, item_id: str) -> None:
    # An item sits on at most one record (R10.10): leave the old one first.
    record = state.records.get(record_id) if record_id is not None else None
    if record is not None:
        items: list[str] = getattr(record, ids_of)
        if item_id in items:
            items.remove(item_id)
            state.touch_record(record.billing_record_id)


def items_added(step: Step, state: ProjectState, data: BillingRecordItemsAdded) -> None:
    record = state.records.get(data.billing_record_id)
    if record is None:
        return
    rid = record.billing_record_id
    for hour_id in data.hour_ids:
        hour = state.hours.get(hour_id)
        if hour is not None and hour.billing_record_id != rid:
            _detach(state, hour.billing_record_id, "hour_ids", hour_id)
            _set_hour_record(state, hour, rid)
            record.hour_ids.append(hour_id)
    for expense_id in data.expense_ids:
        expense = state.expenses.get(expense_id)
        if expense is not None and expense.billing_record_id != rid:
            _detach(state, expense.billing_record_id, "expense_ids", expense_id)
            _set_expense_record(state, expense, rid)
            record.expense_ids.append(expense_id)
    for task_id in data.task_ids:
        task = state.tasks.get(task_id)
        if task is not None and task.billing_record_id != rid:
            _detach(state, task.billing_record_id, "task_ids", task_id)
            task.billing_record_id = rid
            state.touch_task(task_id)
            record.task_ids.append(task_id)
    state.touch_record(rid)


def items_removed(step: Step, state: ProjectState, data: BillingRecordItemsRemoved) -> None:
    record = state.records.get(data.billing_record_id)
    if record is None:
        return
    rid = record.billing_record_id
    for hour_id in data.hour_ids:
        hour = state.hours.get(hour_id)
        if hour is not None and hour.billing_record_id == rid:
            _set_hour_record(state, hour, None)
        if hour_id in record.hour_ids:
            record.hour_ids.remove(hour_id)
    for expense_id in data.expense_ids:
        expense = state.expenses.get(expense_id)
        if expense is not None and expense.billing_record_id == rid:
            _set_expense_record(state, expense, None)
        if expense_id in record.expense_ids:
            record.expense_ids.remove(expense_id)
    for task_id in data.task_ids:
        task = state.tasks.get(task_id)
        if task is not None and task.billing_record_id == rid:
            task.billing_record_id = None
            state.touch_task(task_id)
        if task_id in record.task_ids:
            record.task_ids.remove(task_id)
    state.touch_record(rid)
