"""R9 for billing records: items, eligibility and the billed lock (R7, R10.10);
and manual recalculation requests (R6.2).

Rules: docs/rules.md#r7, #r6.2, #r10.10.
"""

from __future__ import annotations

from services.ledger.domain.entities import (
    FIXED_REVENUE_TYPES,
    ExpenseState,
    HourState,
    RecordState,
)
from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.write_state import WriteState, duplicate
from shared.events import (
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordItemsRemoved,
    BillingRecordStatusChanged,
    BillingRecordUpdated,
    FinancesRecalculationRequested,
)


def record_created(m: WriteState, e: BillingRecordCreated) -> str:
    if e.billing_record_id in m.records:
        raise duplicate("billing record", e.billing_record_id, "data.billing_record_id")
    m.project(e.project_id, "data.project_id")
    m.journal.set_item(m.records, e.billing_record_id, RecordState(e.project_id))
    return f"project-{e.project_id}"


def _unbilled(m: WriteState, record_id: str) -> RecordState:
    record = m.record(record_id, "data.billing_record_id")
    if record.billed:
        raise RuleViolation(
            "billing_record_billed",
            f"billing record {record_id!r} is billed: set it back to not_billed first (R7.3)",
            "data.billing_record_id",
        )
    return record


def record_updated(m: WriteState, e: BillingRecordUpdated) -> str:
    return f"project-{_unbilled(m, e.billing_record_id).project}"


def record_status_changed(m: WriteState, e: BillingRecordStatusChanged) -> str:
    record = m.record(e.billing_record_id, "data.billing_record_id")
    m.journal.set_attr(record, "billed", e.status == "billed")
    return f"project-{record.project}"


def _refuse(code: str, message: str, field: str) -> RuleViolation:
    return RuleViolation(code, message, field)


def _place(
    record_id: str, record: RecordState, project: str, holder: str | None, what: str, field: str
) -> bool:
    """Whether the item must be added: False when it is already on this record."""
    if project != record.project:
        raise _refuse(
            "item_wrong_project",
            f"{what} belongs to project {project!r}, the record to {record.project!r} (R7.1)",
            field,
        )
    if holder == record_id:
        return False  # R10.10: adding it again changes nothing
    if holder is not None:
        raise _refuse("item_in_other_record", f"{what} is already on record {holder!r}", field)
    return True


def _not_eligible(what: str, why: str, field: str) -> RuleViolation:
    return _refuse("item_not_eligible", f"{what} cannot be billed: {why} (R7.1)", field)


def items_added(m: WriteState, e: BillingRecordItemsAdded) -> str:
    rid = e.billing_record_id
    record = _unbilled(m, rid)
    j = m.journal
    for i, hour_id in enumerate(e.hour_ids):
        field = f"data.hour_ids[{i}]"
        hour = m.hour(hour_id, field)
        what = f"hour entry {hour_id!r}"
        if not _place(rid, record, m.hour_project(hour), hour.record, what, field):
            continue
        if not hour.counts_as_revenue:
            raise _not_eligible(what, "it does not count as revenue", field)
        if hour.task is not None and m.tasks[hour.task].revenue_type == "not_billable":
            raise _not_eligible(what, "its task is not billable", field)
        j.set_attr(hour, "record", rid)
        if hour.task is not None:
            task = m.tasks[hour.task]
            j.set_attr(task, "on_records", task.on_records + 1)
    for i, expense_id in enumerate(e.expense_ids):
        field = f"data.expense_ids[{i}]"
        expense = m.expense(expense_id, field)
        what = f"expense {expense_id!r}"
        if not _place(rid, record, m.expense_project(expense), expense.record, what, field):
            continue
        if not expense.billable:
            raise _not_eligible(what, "it is not billable", field)
        if not expense.has_actual:
            raise _not_eligible(what, "its actual amount is not above 0", field)
        j.set_attr(expense, "record", rid)
        if expense.task is not None:
            task = m.tasks[expense.task]
            j.set_attr(task, "on_records", task.on_records + 1)
    for i, task_id in enumerate(e.task_ids):
        field = f"data.task_ids[{i}]"
        task = m.task(task_id, field)
        what = f"task {task_id!r}"
        if not _place(rid, record, task.project, task.record, what, field):
            continue
        if task.revenue_type not in FIXED_REVENUE_TYPES:
            raise _not_eligible(what, f"its revenue type is {task.revenue_type}", field)
        j.set_attr(task, "record", rid)
    return f"project-{record.project}"


def _not_in_record(what: str, record_id: str, field: str) -> RuleViolation:
    return _refuse("item_not_in_record", f"{what} is not on record {record_id!r}", field)


def _take_off(
    m: WriteState, rid: str, line: HourState | ExpenseState, what: str, field: str
) -> None:
    """An hour entry or an expense leaves record `rid`; its task holds one item fewer."""
    if line.record != rid:
        raise _not_in_record(what, rid, field)
    j = m.journal
    j.set_attr(line, "record", None)
    if line.task is not None:
        task = m.tasks[line.task]
        j.set_attr(task, "on_records", task.on_records - 1)


def items_removed(m: WriteState, e: BillingRecordItemsRemoved) -> str:
    rid = e.billing_record_id
    record = _unbilled(m, rid)
    j = m.journal
    for i, hour_id in enumerate(e.hour_ids):
        field = f"data.hour_ids[{i}]"
        _take_off(m, rid, m.hour(hour_id, field), f"hour entry {hour_id!r}", field)
    for i, expense_id in enumerate(e.expense_ids):
        field = f"data.expense_ids[{i}]"
        _take_off(m, rid, m.expense(expense_id, field), f"expense {expense_id!r}", field)
    for i, task_id in enumerate(e.task_ids):
        field = f"data.task_ids[{i}]"
        task = m.task(task_id, field)
        if task.record != rid:
            raise _not_in_record(f"task {task_id!r}", rid, field)
        j.set_attr(task, "record", None)
    return f"project-{record.project}"


def recalculation_requested(m: WriteState, e: FinancesRecalculationRequested) -> str:
    # the ledger stores one event per project (see domain.recalc_split)
    for i, project_id in enumerate(e.project_ids):
        m.project(project_id, f"data.project_ids[{i}]")
    return f"project-{e.project_ids[0]}"
