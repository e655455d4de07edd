"""A recalculation of 100,000 hour entries completes in the pure core (R6.1; speed brief)."""

from __future__ import annotations

from datetime import date, timedelta

from recalc_log import D, Log, rates

from services.recalc.domain.state import HourEntry, ProjectState
from shared.events import (
    FinancesRecalculated,
    FinancesRecalculationRequested,
    JobRoleDefined,
    ProjectCreated,
    TaskCreated,
    UserDefined,
)

ENTRIES = 100_000


def test_recalculating_100k_entries() -> None:  # R6.1, R1.4
    log = Log()
    log(ProjectCreated(project_id="P", name="P"))
    log(JobRoleDefined(role_id="R", name="R"))
    log(rates("role", "billing", "70", role_id="R"))
    for u in range(20):
        log(UserDefined(user_id=f"U{u}", name="u", primary_role_id="R"))
        log(rates("user", "cost", "10.5", user_id=f"U{u}"))
    for t in range(50):
        revenue = "role_hourly" if t % 2 else "user_hourly"
        log(TaskCreated(task_id=f"T{t}", project_id="P", name="t", revenue_type=revenue))
    state = log.book.projects["P"]
    # Lines as the worker would restore them (building 100,000 events would be slow).
    hours = [
        HourEntry(
            hour_id=f"h{i}",
            project_id="P",
            task_id=f"T{i % 50}",
            owner_id=f"U{i % 20}",
            entry_date=date(2023, 1, 1) + timedelta(days=i % 365),
            hours=D("1.25"),
            role_id=None,
            counts_as_revenue=True,
            cost=D("0.00"),
            revenue=D("0.00"),
            cost_rate=None,
            billing_rate=None,
            cost_rate_source=None,
            billing_rate_source=None,
            priced_at=1,
        )
        for i in range(ENTRIES)
    ]
    log.book.drop("P")
    log.book.add(ProjectState.restore(state.info, state.tasks.values(), hours, (), ()))
    log(rates("role", "billing", "80", role_id="R"))
    out = log(FinancesRecalculationRequested(project_ids=("P",)))
    [recalc] = [e for e in out if isinstance(e, FinancesRecalculated)]
    assert recalc.hours_repriced == ENTRIES
    # 1.25 h × 10.5 = 13.125 rounds half-up to 13.13 per entry (R3.3).
    assert recalc.after.actual_labor_cost == D("1313000.00")
    assert recalc.after.actual_revenue == D("10000000.00")  # 100,000 × 1.25 × 80
    assert len(log.book.take_changes("P").hours) == ENTRIES
