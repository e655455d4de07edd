"""Recalculation triggers, locks and moves (R6, R7.3, R10.9), and what is published (R6.4)."""

from __future__ import annotations

from datetime import date

from recalc_log import D, Log, rates

from shared.events import (
    Assignment,
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordStatusChanged,
    ExpenseRecorded,
    FinancesRecalculated,
    HoursLogged,
    ProjectCreated,
    ProjectFinancesChanged,
    ProjectStatusChanged,
    ProjectUpdated,
    TaskCreated,
    TaskMoved,
    TaskStatusChanged,
    UserDefined,
)


def _log() -> Log:
    log = Log()
    log(ProjectCreated(project_id="P", name="P"))
    log(ProjectCreated(project_id="Q", name="Q"))
    log(UserDefined(user_id="U", name="U"))
    log(rates("user", "cost", "10", user_id="U"))
    log(rates("user", "billing", "50", user_id="U"))
    log(
        TaskCreated(
            task_id="T",
            project_id="P",
            name="T",
            planned_hours=D(2),
            assignments=(Assignment(user_id="U"),),
        )
    )
    return log


def _hour(log: Log, hour_id: str = "h", task_id: str = "T") -> None:
    log(
        HoursLogged(
            hour_id=hour_id, owner_id="U", task_id=task_id, entry_date=date(2023, 6, 19), hours=D(1)
        )
    )


def _recalcs(out: list[object]) -> list[tuple[str, str, str]]:
    return [(e.project_id, e.scope, e.reason) for e in out if isinstance(e, FinancesRecalculated)]


def test_every_task_status_change_recalculates() -> None:  # R6.3, R10.9
    log = _log()
    _hour(log)
    log(rates("user", "billing", "60", user_id="U"))
    out = log(TaskStatusChanged(task_id="T", status="new"))  # same status
    assert _recalcs(out) == [("P", "all", "task_status_changed")]
    assert log.totals()["actual_revenue"] == D("60.00")
    assert log.totals()["planned_revenue"] == D("120.00")


def test_task_created_complete_does_not_recalculate() -> None:  # R10.9
    log = _log()
    out = log(TaskCreated(task_id="C", project_id="P", name="C", status="complete"))
    assert _recalcs(out) == []


def test_nothing_else_recalculates() -> None:  # R6.3, R1.4
    log = _log()
    _hour(log)
    log(rates("user", "billing", "60", user_id="U"))
    for data in (
        ProjectUpdated(project_id="P", budget=D(1)),
        ProjectStatusChanged(project_id="P", status="complete"),
        ProjectStatusChanged(project_id="P", status="dead"),
    ):
        assert _recalcs(log(data)) == []
    assert log.totals()["actual_revenue"] == D("50.00")
    # dead -> current is not a reactivation from complete.
    assert _recalcs(log(ProjectStatusChanged(project_id="P", status="current"))) == []


def test_move_with_hours_recalculates_source_then_target() -> None:  # R6.3, R10.9
    log = _log()
    _hour(log)
    log(
        ExpenseRecorded(
            expense_id="x", project_id="P", task_id="T", expense_type="t", actual_amount=D(7)
        )
    )
    log(rates("user", "billing", "60", user_id="U"))
    out = log(TaskMoved(task_id="T", to_project_id="Q"))
    assert _recalcs(out) == [("P", "all", "task_moved"), ("Q", "all", "task_moved")]
    changed = [e.project_id for e in out if isinstance(e, ProjectFinancesChanged)]
    assert changed == ["P", "Q"]
    p, q = log.totals("P"), log.totals("Q")
    assert (p["actual_revenue"], p["actual_expense_cost"], p["planned_revenue"]) == (
        D(0),
        D(0),
        D(0),
    )
    assert (q["actual_revenue"], q["actual_expense_cost"], q["planned_revenue"]) == (
        D(60),
        D(7),
        D(120),
    )
    assert log.hour("h", "Q").priced_at == log.position


def test_move_without_hours_only_moves_the_plan() -> None:  # R6.3
    log = _log()
    log(rates("user", "billing", "60", user_id="U"))
    out = log(TaskMoved(task_id="T", to_project_id="Q"))
    assert _recalcs(out) == []
    assert log.totals("Q")["planned_revenue"] == D("100.00")  # not re-priced
    assert log.totals("P")["planned_revenue"] == D("0.00")


def _billed(log: Log) -> None:
    _hour(log)
    _hour(log, "h2")
    log(BillingRecordCreated(billing_record_id="B", project_id="P", description="d"))
    log(BillingRecordItemsAdded(billing_record_id="B", hour_ids=("h",)))
    log(BillingRecordStatusChanged(billing_record_id="B", status="billed"))
    log(rates("user", "cost", "11", user_id="U"))
    log(rates("user", "billing", "60", user_id="U"))


def test_billed_hours_keep_revenue_and_reprice_cost() -> None:  # R7.3, R10.9
    log = _log()
    _billed(log)
    out = log(TaskStatusChanged(task_id="T", status="in_progress"))
    hour = log.hour("h")
    assert (hour.revenue, hour.cost, hour.priced_at) == (D("50.00"), D("11.00"), log.position)
    [recalc] = [e for e in out if isinstance(e, FinancesRecalculated)]
    assert (recalc.hours_repriced, recalc.hours_locked) == (2, 1)
    assert log.totals()["billed_revenue"] == D("50.00")


def test_billed_locks_cost_read_at_the_recalculation() -> None:  # R7.3, R10.9
    log = _log()
    _billed(log)
    log(ProjectUpdated(project_id="P", billed_locks_cost=True))
    priced_at = log.hour("h").priced_at
    out = log(TaskStatusChanged(task_id="T", status="in_progress"))
    hour = log.hour("h")
    assert (hour.revenue, hour.cost, hour.priced_at) == (D("50.00"), D("10.00"), priced_at)
    [recalc] = [e for e in out if isinstance(e, FinancesRecalculated)]
    assert (recalc.hours_repriced, recalc.hours_locked) == (1, 1)
    assert log.hour("h2").revenue == D("60.00")


def test_unbilling_lifts_the_lock() -> None:  # R7.3
    log = _log()
    _billed(log)
    log(BillingRecordStatusChanged(billing_record_id="B", status="not_billed"))
    assert log.hour("h").revenue == D("50.00")  # only the next recalculation re-prices
    log(TaskStatusChanged(task_id="T", status="in_progress"))
    assert log.hour("h").revenue == D("60.00")
    assert log.totals()["billed_revenue"] == D("0.00")


def test_published_totals_carry_the_cause() -> None:  # R6.4
    log = _log()
    out = log(
        HoursLogged(
            hour_id="h", owner_id="U", task_id="T", entry_date=date(2023, 6, 19), hours=D(1)
        )
    )
    [changed] = out
    assert isinstance(changed, ProjectFinancesChanged)
    assert (changed.position, changed.cause.type, changed.cause.position) == (
        log.position,
        "HoursLogged",
        log.position,
    )
    assert changed.totals.actual_revenue == D("50.00")
    assert log(ProjectUpdated(project_id="P", name="renamed")) == []  # totals unchanged
