"""The worked examples E1–E13 of examples.md, in the pricing core: each through
both pricing paths of a recalculation, the columns and the scalar reference
(issue 9: one meaning, two speeds)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from recalc_log import D, Log, period, rates

from shared.events import (
    Assignment,
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordStatusChanged,
    ExpenseRecorded,
    FinancesRecalculated,
    FinancesRecalculationRequested,
    HoursLogged,
    JobRoleDefined,
    ProjectCreated,
    ProjectStatusChanged,
    TaskCreated,
    TaskStatusChanged,
    UserDefined,
)


@pytest.fixture(autouse=True, params=[True, False], ids=["columns", "scalar"])
def pricing_path(request: pytest.FixtureRequest) -> Iterator[bool]:
    """Every `Log` of the test prices recalculations as columns, then as scalars."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Log, "columnar", request.param)
        yield request.param


def _log(**project: object) -> Log:
    log = Log()
    log(ProjectCreated.model_validate({"project_id": "P", "name": "P", **project}))
    return log


def _hours(
    hour_id: str, owner: str, hours: str, day: str = "2023-06-19", **kw: object
) -> HoursLogged:
    target = {} if "project_id" in kw else {"task_id": "T"}
    return HoursLogged.model_validate(
        {
            "hour_id": hour_id,
            "owner_id": owner,
            "entry_date": date.fromisoformat(day),
            "hours": D(hours),
            **target,
            **kw,
        }
    )


def _task(task_id: str = "T", **kw: object) -> TaskCreated:
    return TaskCreated.model_validate(
        {"task_id": task_id, "project_id": "P", "name": task_id, **kw}
    )


def test_e1_planned_and_actual_user_hourly_revenue() -> None:  # R5.3, R5.4
    log = _log()
    log(UserDefined(user_id="U", name="U"))
    log(rates("user", "billing", "30.00", user_id="U"))
    log(_task(planned_hours=D(2), assignments=(Assignment(user_id="U"),)))
    log(_hours("h1", "U", "1.5"))
    totals = log.totals()
    assert totals["planned_revenue"] == D("60.00")
    assert totals["actual_revenue"] == D("45.00")


def test_e2_billing_periods_by_entry_date() -> None:  # R4.1, R5.1
    log = _log()
    log(UserDefined(user_id="U", name="U"))
    log(
        rates(
            "user",
            "billing",
            period("20.00", end="2023-04-30"),
            period("25.00", start="2023-05-01"),
            user_id="U",
        )
    )
    log(_task())
    log(_hours("h1", "U", "2", "2023-04-28"))
    log(_hours("h2", "U", "3", "2023-05-02"))
    assert log.totals()["actual_revenue"] == D("115.00")


def test_e3_capped_revenue() -> None:  # R5.5
    log = _log()
    log(UserDefined(user_id="U", name="U"))
    log(_task(revenue_type="user_hourly_cap", revenue_amount=D("20.00")))
    log(rates("user", "billing", "25.00", user_id="U"))
    log(_hours("h1", "U", "1"))
    assert log.totals()["actual_revenue"] == D("20.00")
    assert log.hour("h1").revenue == D("25.00")  # the line stays uncapped (R10.10)


def test_e4_role_plan_plus_project_fixed_revenue() -> None:  # R5.4, R8
    log = _log(fixed_revenue=D("100.00"))
    log(JobRoleDefined(role_id="Consultant", name="Consultant"))
    log(rates("role", "billing", "20.00", role_id="Consultant"))
    log(
        _task(
            revenue_type="role_hourly",
            planned_hours=D(10),
            assignments=(Assignment(role_id="Consultant"),),
        )
    )
    assert log.totals()["planned_revenue"] == D("300.00")


def test_e5_planned_cost() -> None:  # R8
    log = _log(fixed_cost=D("200.00"))
    log(UserDefined(user_id="U", name="U"))
    log(rates("user", "cost", "15.00", user_id="U"))
    log(_task(planned_hours=D(5), assignments=(Assignment(user_id="U"),)))
    for i, amount in enumerate(("100.00", "50.00")):
        log(
            ExpenseRecorded(
                expense_id=f"x{i}",
                project_id="P",
                task_id="T",
                expense_type="travel",
                planned_amount=D(amount),
            )
        )
    log(
        ExpenseRecorded(
            expense_id="x9", project_id="P", expense_type="travel", planned_amount=D(100)
        )
    )
    assert log.totals()["planned_cost"] == D("525.00")


def test_e6_actual_cost() -> None:  # R5.2, R8
    log = _log(fixed_cost=D("200.00"))
    log(JobRoleDefined(role_id="Consultant", name="Consultant"))
    log(rates("role", "cost", "15.00", role_id="Consultant"))
    log(UserDefined(user_id="C", name="C", primary_role_id="Consultant"))
    log(UserDefined(user_id="W", name="W"))
    log(rates("user", "cost", "20.00", user_id="W"))
    log(_task(cost_type="role_hourly"))
    for i, amount in enumerate(("110.00", "40.00")):
        log(
            ExpenseRecorded(
                expense_id=f"x{i}",
                project_id="P",
                task_id="T",
                expense_type="t",
                actual_amount=D(amount),
            )
        )
    log(ExpenseRecorded(expense_id="x9", project_id="P", expense_type="t", actual_amount=D(100)))
    log(_hours("h1", "C", "6"))
    log(_hours("h2", "W", "10", project_id="P"))
    assert log.totals()["actual_cost"] == D("740.00")


def _e7_task() -> TaskCreated:
    return _task(
        revenue_type="role_hourly",
        planned_hours=D(40),
        planned_start=date(2023, 6, 19),
        planned_completion=date(2023, 6, 23),
        assignments=(Assignment(role_id="R"),),
    )


def _e7_overrides() -> object:
    return rates(
        "project_role",
        "billing",
        period("100.00", end="2023-06-20"),
        period("150.00", start="2023-06-21"),
        project_id="P",
        role_id="R",
    )


def test_e7_per_day_override_rates() -> None:  # R5.4, R4.4
    log = _log()
    log(JobRoleDefined(role_id="R", name="R"))
    log(_e7_overrides())  # type: ignore[arg-type]
    log(_e7_task())
    assert log.totals()["planned_revenue"] == D("5200.00")


def test_e7_task_first_is_zero_until_recalculated() -> None:  # R1.4
    log = _log()
    log(JobRoleDefined(role_id="R", name="R"))
    log(_e7_task())
    log(_e7_overrides())  # type: ignore[arg-type]
    assert log.totals()["planned_revenue"] == D("0.00")
    log(FinancesRecalculationRequested(project_ids=("P",), scope="planned"))
    assert log.totals()["planned_revenue"] == D("5200.00")


def test_e8_override_before_after_periods() -> None:  # R4.6
    log = _log()
    log(JobRoleDefined(role_id="R", name="R"))
    log(UserDefined(user_id="U", name="U", primary_role_id="R"))
    log(
        rates(
            "project_role",
            "billing",
            period("100.00", "2023-06-19", "2023-06-25"),
            period("150.00", start="2023-06-26"),
            project_id="P",
            role_id="R",
        )
    )
    log(_task(revenue_type="role_hourly"))
    log(_hours("h1", "U", "2", "2023-06-20"))
    log(_hours("h2", "U", "3", "2023-06-28"))
    assert log.totals()["actual_revenue"] == D("650.00")


def _e9(billed: bool) -> Log:
    log = _log()
    log(UserDefined(user_id="U", name="U"))
    log(_task())
    log(rates("user", "billing", "50.00", user_id="U"))
    log(_hours("h1", "U", "10"))
    log(rates("user", "billing", "75.00", user_id="U"))
    log(_hours("h2", "U", "2"))
    assert log.totals()["actual_revenue"] == D("650.00")
    if billed:
        log(BillingRecordCreated(billing_record_id="B", project_id="P", description="June"))
        log(BillingRecordItemsAdded(billing_record_id="B", hour_ids=("h1",)))
        log(BillingRecordStatusChanged(billing_record_id="B", status="billed"))
    log(FinancesRecalculationRequested(project_ids=("P",)))
    return log


def test_e9_rate_change_then_manual_recalculation() -> None:  # R1.4, R6.2
    log = _e9(billed=False)
    assert log.totals()["actual_revenue"] == D("900.00")
    recalculated = [e for e in log.published if isinstance(e, FinancesRecalculated)]
    assert [(e.reason, e.before.actual_revenue, e.after.actual_revenue) for e in recalculated] == [
        ("manual", D("650.00"), D("900.00"))
    ]


def test_e10_billed_hours_keep_their_revenue() -> None:  # R7.3, R7.5
    log = _e9(billed=True)
    totals = log.totals()
    assert totals["actual_revenue"] == D("650.00")
    assert totals["billed_revenue"] == D("500.00")
    recalculated = [e for e in log.published if isinstance(e, FinancesRecalculated)]
    assert (recalculated[-1].hours_repriced, recalculated[-1].hours_locked) == (2, 1)


def test_e11_zero_rate_stops_then_cleared_table_falls_through() -> None:  # R4.2, R10.7
    log = _log()
    log(JobRoleDefined(role_id="R", name="R"))
    log(rates("role", "billing", "40.00", role_id="R"))
    log(UserDefined(user_id="U", name="U", primary_role_id="R"))
    log(rates("user", "billing", "0.00", user_id="U"))
    log(_task())
    log(_hours("h1", "U", "1"))
    hour = log.hour("h1")
    assert (hour.revenue, hour.billing_rate, hour.billing_rate_source) == (D("0.00"), D(0), "user")
    log(rates("user", "billing", user_id="U"))
    log(FinancesRecalculationRequested(project_ids=("P",)))
    hour = log.hour("h1")
    assert (hour.revenue, hour.billing_rate_source) == (D("40.00"), "role")
    assert log.totals()["actual_revenue"] == D("40.00")


def test_e12_reactivation_reprices_plan_only() -> None:  # R6.3
    log = _log()
    log(UserDefined(user_id="U", name="U"))
    log(rates("user", "billing", "30.00", user_id="U"))
    log(_task(planned_hours=D(2), assignments=(Assignment(user_id="U"),)))
    log(_hours("h1", "U", "1"))
    log(ProjectStatusChanged(project_id="P", status="complete"))
    log(rates("user", "billing", "40.00", user_id="U"))
    before = log.totals()
    assert (before["planned_revenue"], before["actual_revenue"]) == (D("60.00"), D("30.00"))
    out = log(ProjectStatusChanged(project_id="P", status="current"))
    after = log.totals()
    assert (after["planned_revenue"], after["actual_revenue"]) == (D("80.00"), D("30.00"))
    recalculated = [e for e in out if isinstance(e, FinancesRecalculated)]
    assert [(e.scope, e.reason) for e in recalculated] == [("planned", "project_reactivated")]


def test_e13_billing_record_total() -> None:  # R7.2
    log = _log()
    log(UserDefined(user_id="U", name="U"))
    log(rates("user", "billing", "100.00", user_id="U"))
    log(_task())
    log(_task("F", revenue_type="fixed_revenue", revenue_amount=D("1000.00")))
    log(_hours("h1", "U", "3"))
    log(
        ExpenseRecorded(
            expense_id="x", project_id="P", expense_type="t", actual_amount=D(50), billable=True
        )
    )
    log(
        BillingRecordCreated(
            billing_record_id="B", project_id="P", description="d", additional_amount=D(25)
        )
    )
    log(
        BillingRecordItemsAdded(
            billing_record_id="B", hour_ids=("h1",), expense_ids=("x",), task_ids=("F",)
        )
    )
    view = log.book.record_view("B")
    assert (view.billable_hours_amount, view.billable_expenses_amount) == (D("300.00"), D("50.00"))
    assert (view.fixed_revenue_amount, view.additional_amount) == (D("1000.00"), D("25.00"))
    assert view.total == D("1375.00")
    log(TaskStatusChanged(task_id="F", status="complete"))
    assert log.totals()["billed_revenue"] == D("0.00")  # not billed yet (R7.5)
