"""Planned amounts (R5.4, R10.1, R10.6) and R1.5/R10.2 "today"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from recalc_log import D, Log, period, rates

from shared.events import (
    Assignment,
    JobRoleDefined,
    ProjectCreated,
    ProjectUpdated,
    TaskCreated,
    TaskUpdated,
    UserDefined,
)


def _log(**project: object) -> Log:
    log = Log()
    log(ProjectCreated.model_validate({"project_id": "P", "name": "P", **project}))
    log(UserDefined(user_id="U", name="U"))
    log(UserDefined(user_id="V", name="V"))
    log(rates("user", "cost", "10", user_id="U"))
    log(rates("user", "cost", "30", user_id="V"))
    return log


def _task(log: Log, **kw: object) -> object:
    log(TaskCreated.model_validate({"task_id": "T", "project_id": "P", "name": "T", **kw}))
    return log.book.projects["P"].tasks["T"]


def test_allocation_normalised_and_missing_counts_zero() -> None:  # R5.4, R10.6
    log = _log()
    two = (
        Assignment(user_id="U", allocation_percent=D(30)),
        Assignment(user_id="V", allocation_percent=D(10)),
        Assignment(user_id="V"),
    )
    assert _task(log, planned_hours=D(8), assignments=two).planned_cost == D("120.00")  # 6×10+2×30


def test_equal_shares_when_no_allocation() -> None:  # R10.6
    log = _log()
    task = _task(
        log, planned_hours=D(8), assignments=(Assignment(user_id="U"), Assignment(user_id="V"))
    )
    assert task.planned_cost == D("160.00")


def test_per_day_rates_over_working_days_rounded_once() -> None:  # R5.4, R3.3
    log = _log()
    log(
        rates(
            "user",
            "cost",
            period("10", end="2023-06-21"),
            period("10.01", start="2023-06-22"),
            user_id="U",
        )
    )
    # Fri 2023-06-23 .. Mon 2023-06-26 has two working days; 1 h over 3 assignments
    # would round per day to something else: 1/3 h × 10.01 on each of 2 days, ×3.
    task = _task(
        log,
        planned_hours=D(1),
        planned_start=date(2023, 6, 23),
        planned_completion=date(2023, 6, 26),
        assignments=(Assignment(user_id="U"),) * 3,
    )
    assert task.planned_cost == D("10.01")


def _rates_from_sunday(log: Log) -> None:
    """U costs 10 an hour up to Saturday 2023-06-24, 20 from Sunday 2023-06-25."""
    log(
        rates(
            "user",
            "cost",
            period("10", end="2023-06-24"),
            period("20", start="2023-06-25"),
            user_id="U",
        )
    )


@pytest.mark.parametrize(
    ("start", "completion", "cost"),
    [
        # a weekend-only range: its calendar days, 1 h each at 10 and 20
        (date(2023, 6, 24), date(2023, 6, 25), "30.00"),
        # one date only: that day, 2 h at 20
        (None, date(2023, 7, 1), "40.00"),
        (date(2023, 7, 1), None, "40.00"),
    ],
    ids=["weekend-only-range", "completion-only", "start-only"],
)
def test_ranges_without_working_days(
    start: date | None, completion: date | None, cost: str
) -> None:  # R10.6
    log = _log()
    _rates_from_sunday(log)
    task = _task(
        log,
        planned_hours=D(2),
        planned_start=start,
        planned_completion=completion,
        assignments=(Assignment(user_id="U"),),
    )
    assert task.planned_cost == D(cost)


def test_no_dates_uses_project_start_else_today() -> None:  # R5.4, R1.5, R10.2
    log = _log()
    _rates_from_sunday(log)
    # recorded at 23:30 at UTC-2 is 2023-06-25 in UTC: "today" is the UTC date.
    late = datetime(2023, 6, 24, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    log(
        TaskCreated(
            task_id="T",
            project_id="P",
            name="T",
            planned_hours=D(1),
            assignments=(Assignment(user_id="U"),),
        ),
        late,
    )
    assert log.book.projects["P"].tasks["T"].planned_cost == D("20.00")
    log(ProjectUpdated(project_id="P", planned_start=date(2023, 1, 2)))
    assert log.book.projects["P"].tasks["T"].planned_cost == D("20.00")  # R10.1: not re-priced
    log(TaskUpdated(task_id="T", planned_hours=D(2)), datetime(2023, 6, 25, tzinfo=UTC))
    assert log.book.projects["P"].tasks["T"].planned_cost == D("20.00")  # project start wins


def test_role_only_assignment_uses_its_role() -> None:  # R10.6
    log = _log()
    log(JobRoleDefined(role_id="R", name="R"))
    log(rates("role", "cost", "7", role_id="R"))
    log(rates("role", "billing", "9", role_id="R"))
    task = _task(log, planned_hours=D(2), assignments=(Assignment(role_id="R"),))
    assert (task.planned_cost, task.planned_hourly_revenue) == (D("14.00"), D("18.00"))


def test_user_assignment_on_role_type_puts_its_own_role_first() -> None:  # R10.6
    log = _log()
    log(JobRoleDefined(role_id="R", name="R"))
    log(rates("role", "cost", "7", role_id="R"))
    task = _task(
        log,
        cost_type="role_hourly",
        planned_hours=D(2),
        assignments=(Assignment(user_id="U", role_id="R"),),
    )
    assert task.planned_cost == D("14.00")


def test_no_assignments_zero_except_fixed_hourly() -> None:  # R5.4
    log = _log()
    task = _task(log, planned_hours=D(3), revenue_type="fixed_hourly", revenue_amount=D("12.5"))
    assert (task.planned_cost, task.planned_hourly_revenue) == (D("0.00"), D("37.50"))
    log(TaskUpdated(task_id="T", cost_type="fixed_hourly", fixed_hourly_cost=D(4)))
    assert log.book.projects["P"].tasks["T"].planned_cost == D("12.00")


def test_only_plan_fields_reprice_the_plan() -> None:  # R10.1
    log = _log()
    _task(log, planned_hours=D(1), assignments=(Assignment(user_id="U"),))
    log(rates("user", "cost", "50", user_id="U"))
    log(TaskUpdated(task_id="T", name="renamed"))
    assert log.book.projects["P"].tasks["T"].planned_cost == D("10.00")
    log(TaskUpdated(task_id="T", planned_hours=D(1)))
    task = log.book.projects["P"].tasks["T"]
    assert (task.planned_cost, task.plan_priced_at) == (D("50.00"), log.position)


def test_thirds_of_an_allocation_sum_exactly_before_rounding() -> None:  # R3.3, R10.6
    # 1 h split equally three ways at 0.005 an hour is exactly 0.005, rounded once: 0.01.
    # Pricing each third first (0.0016666…, cut at 28 digits) would sum to 0.0049999… → 0.00.
    log = _log()
    log(rates("user", "cost", "0.005", user_id="U"))
    thirds = tuple(Assignment(user_id="U", allocation_percent=D(1)) for _ in range(3))
    assert _task(log, planned_hours=D(1), assignments=thirds).planned_cost == D("0.01")
