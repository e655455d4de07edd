"""Totals (R8), fixed and capped revenue (R5.5, R10.8), records (R7.2, R10.10), views (R10.11)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from recalc_log import D, Log, rates

from services.recalc.domain.state import ProjectState
from shared.events import (
    Assignment,
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordItemsRemoved,
    BillingRecordUpdated,
    ExpenseDeleted,
    ExpenseRecorded,
    ExpenseUpdated,
    HoursDeleted,
    HoursEdited,
    HoursLogged,
    ProjectCreated,
    ProjectStatusChanged,
    TaskCreated,
    TaskStatusChanged,
    TaskUpdated,
    UserDefined,
)


def _log(**project: object) -> Log:
    log = Log()
    log(ProjectCreated.model_validate({"project_id": "P", "name": "P", **project}))
    log(UserDefined(user_id="U", name="U"))
    log(rates("user", "billing", "10", user_id="U"))
    log(rates("user", "cost", "4", user_id="U"))
    return log


def _hour(log: Log, hour_id: str, task_id: str, hours: str) -> None:
    log(
        HoursLogged(
            hour_id=hour_id,
            owner_id="U",
            task_id=task_id,
            entry_date=date(2023, 6, 19),
            hours=D(hours),
        )
    )


def _task(log: Log, task_id: str, **kw: object) -> None:
    log(TaskCreated.model_validate({"task_id": task_id, "project_id": "P", "name": task_id, **kw}))


def _hourly_task(log: Log, revenue_type: str, amount: Decimal) -> None:
    """Task T: 3 planned hours of U (billing 10), with `revenue_type` and `amount`."""
    _task(
        log,
        "T",
        revenue_type=revenue_type,
        revenue_amount=amount,
        planned_hours=D(3),
        assignments=(Assignment(user_id="U"),),
    )


def test_fixed_revenue_realised_when_complete() -> None:  # R5.5, R10.8
    log = _log()
    _task(log, "F", revenue_type="fixed_revenue", revenue_amount=D(500))
    _hour(log, "h", "F", "2")
    assert (log.totals()["planned_revenue"], log.totals()["actual_revenue"]) == (D(500), D(0))
    log(TaskStatusChanged(task_id="F", status="complete"))
    assert log.totals()["actual_revenue"] == D(500)
    log(TaskUpdated(task_id="F", revenue_amount=D(600)))
    assert log.task("F").actual_revenue == D(600)  # current amount
    log(TaskStatusChanged(task_id="F", status="in_progress"))
    assert log.totals()["actual_revenue"] == D(0)


def test_plus_fixed_adds_the_amount() -> None:  # R5.5
    log = _log()
    _hourly_task(log, "user_hourly_plus_fixed", D(100))
    _hour(log, "h", "T", "2")
    assert (log.task("T").planned_revenue, log.task("T").actual_revenue) == (D(130), D(20))
    log(TaskStatusChanged(task_id="T", status="complete"))
    assert log.task("T").actual_revenue == D(120)


def test_cap_applies_to_planned_and_actual_each() -> None:  # R5.5, R10.8
    log = _log()
    _hourly_task(log, "user_hourly_cap", D(25))
    _hour(log, "h", "T", "2")
    assert (log.task("T").planned_revenue, log.task("T").actual_revenue) == (D(25), D(20))
    _hour(log, "h2", "T", "2")
    assert log.task("T").actual_revenue == D(25)
    log(TaskUpdated(task_id="T", revenue_amount=None))
    assert log.task("T").actual_revenue == D(40)  # no amount, no cap


def test_project_totals() -> None:  # R8, R10.8, R10.11
    log = _log(budget=D("1000.005"), fixed_cost=D(100), fixed_revenue=D(300))
    _task(log, "T", planned_hours=D(5), assignments=(Assignment(user_id="U"),))
    _hour(log, "h", "T", "3")
    log(
        HoursLogged(
            hour_id="p", owner_id="U", project_id="P", entry_date=date(2023, 6, 19), hours=D(1)
        )
    )
    log(
        ExpenseRecorded(
            expense_id="x",
            project_id="P",
            expense_type="t",
            planned_amount=D("9.995"),
            actual_amount=D(8),
        )
    )
    log(TaskStatusChanged(task_id="T", status="dead"))  # dead tasks still count
    t = log.totals()
    assert (t["planned_labor_cost"], t["actual_labor_cost"]) == (D(20), D(16))
    assert (t["planned_expense_cost"], t["actual_expense_cost"]) == (D("10.00"), D(8))
    assert (t["planned_cost"], t["actual_cost"]) == (D(130), D(124))
    assert (t["planned_revenue"], t["actual_revenue"]) == (D(350), D(40))
    assert (t["planned_profit"], t["actual_profit"]) == (D(220), D(-84))
    assert (t["budget"], t["budget_variance"]) == (D("1000.01"), D("876.01"))
    log(ProjectStatusChanged(project_id="P", status="complete"))
    assert log.totals()["actual_revenue"] == D(340)
    view = log.task("T")
    assert (view.actual_hours, view.actual_cost, view.planned_cost) == (D(3), D(12), D(20))


def test_lines_can_be_edited_and_deleted() -> None:  # R8
    log = _log()
    _task(log, "T")
    _hour(log, "h", "T", "3")
    log(HoursEdited(hour_id="h", counts_as_revenue=False))
    assert (log.totals()["actual_revenue"], log.totals()["actual_labor_cost"]) == (D(0), D(12))
    log(HoursDeleted(hour_id="h"))
    log(ExpenseRecorded(expense_id="x", project_id="P", expense_type="t", actual_amount=D(8)))
    log(ExpenseUpdated(expense_id="x", actual_amount=D(5)))
    assert log.totals()["actual_cost"] == D(5)
    log(ExpenseDeleted(expense_id="x"))
    assert log.totals()["actual_cost"] == D(0)


def test_record_amounts_are_live() -> None:  # R7.2, R10.10
    log = _log()
    _task(log, "T", revenue_type="user_hourly_cap", revenue_amount=D(5))
    _hour(log, "h", "T", "2")
    log(
        ExpenseRecorded(
            expense_id="x", project_id="P", expense_type="t", actual_amount=D(8), billable=True
        )
    )
    log(BillingRecordCreated(billing_record_id="B", project_id="P", description="d"))
    log(BillingRecordItemsAdded(billing_record_id="B", hour_ids=("h",), expense_ids=("x",)))
    log(BillingRecordItemsAdded(billing_record_id="B", hour_ids=("h",)))  # already on it
    view = log.book.record_view("B")
    assert (view.hour_ids, view.billable_hours_amount, view.total) == (
        ("h",),
        D(20),
        D(28),
    )  # uncapped
    log(ExpenseUpdated(expense_id="x", actual_amount=D(9)))
    log(BillingRecordUpdated(billing_record_id="B", additional_amount=D("1.005")))
    assert log.book.record_view("B").total == D("30.01")
    log(HoursEdited(hour_id="h", counts_as_revenue=False))  # stays, with its new amount
    assert log.book.record_view("B").billable_hours_amount == D(0)
    log(BillingRecordItemsRemoved(billing_record_id="B", expense_ids=("x",)))
    view = log.book.record_view("B")
    assert (view.expense_ids, view.total) == ((), D("1.01"))


def test_restore_rebuilds_the_same_sums() -> None:  # R8
    log = _log(fixed_revenue=D(3))
    _task(log, "T", planned_hours=D(1), assignments=(Assignment(user_id="U"),))
    _hour(log, "h", "T", "3")
    log(
        ExpenseRecorded(
            expense_id="x", project_id="P", expense_type="t", actual_amount=D(8), billable=True
        )
    )
    log(BillingRecordCreated(billing_record_id="B", project_id="P", description="d"))
    log(BillingRecordItemsAdded(billing_record_id="B", hour_ids=("h",), expense_ids=("x",)))
    state = log.book.projects["P"]
    changes = log.book.take_changes("P")
    assert (
        changes.info
        and changes.tasks == {"T"}
        and changes.hours == {"h"}
        and changes.records == {"B"}
    )
    assert log.book.take_changes("P").empty
    restored = ProjectState.restore(
        state.info,
        state.tasks.values(),
        state.hours.values(),
        state.expenses.values(),
        state.records.values(),
    )
    before = log.book.totals("P")
    log.book.drop("P")
    log.book.add(restored)
    assert log.book.totals("P") == before
    assert log.book.record_view("B").total == D(38)
