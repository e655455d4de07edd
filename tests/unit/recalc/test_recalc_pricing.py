"""Hour entry pricing: the cost and revenue chains (R4.4, R4.5, R5.1–R5.3, R10.3, R10.5, R10.7)."""

from __future__ import annotations

from datetime import date

from recalc_log import D, Log, rates

from shared.events import (
    Assignment,
    CompanyDefined,
    FinancesRecalculationRequested,
    HoursEdited,
    HoursLogged,
    JobRoleDefined,
    ProjectCreated,
    ProjectUpdated,
    TaskCreated,
    UserDefined,
    UserRolesChanged,
)


def _setup(**task: object) -> Log:
    log = Log()
    log(ProjectCreated(project_id="P", name="P"))
    for role, cost, billing in (("A", "10", "100"), ("B", "20", "200"), ("C", None, "300")):
        log(JobRoleDefined(role_id=role, name=role))
        if cost:
            log(rates("role", "cost", cost, role_id=role))
        log(rates("role", "billing", billing, role_id=role))
    log(UserDefined(user_id="U", name="U", primary_role_id="A"))
    log(TaskCreated.model_validate({"task_id": "T", "project_id": "P", "name": "T", **task}))
    return log


def _log_hour(log: Log, hour_id: str = "h", owner: str = "U", **kw: object) -> object:
    target = {} if "project_id" in kw else {"task_id": "T"}
    log(
        HoursLogged.model_validate(
            {
                "hour_id": hour_id,
                "owner_id": owner,
                "entry_date": date(2023, 6, 19),
                "hours": D("1.5"),
                **target,
                **kw,
            }
        )
    )
    return log.hour(hour_id)


def test_user_hourly_cost_falls_back_to_primary_role() -> None:  # R5.2
    log = _setup()
    hour = _log_hour(log)
    assert (hour.cost, hour.cost_rate, hour.cost_rate_source) == (D("15.00"), D(10), "role")
    log(rates("user", "cost", "12.345", user_id="U"))
    hour = _log_hour(log, "h2")
    assert (hour.cost, hour.cost_rate_source) == (D("18.52"), "user")  # 18.5175 half-up (R3.3)


def test_role_hourly_chain_tries_each_role_in_turn() -> None:  # R5.2, R10.5
    log = _setup(
        cost_type="role_hourly",
        revenue_type="role_hourly",
        assignments=(Assignment(role_id="B"), Assignment(user_id="U", role_id="C")),
    )
    # The hour's role first.
    hour = _log_hour(log, role_id="B")
    assert (hour.cost_rate, hour.billing_rate) == (D(20), D(200))
    # No hour role: the role U holds on the task (C) — C has no cost rate, so the
    # cost falls through to U's primary role A (R10.5).
    hour = _log_hour(log, "h2")
    assert (hour.cost_rate, hour.billing_rate) == (D(10), D(300))
    # Another user without roles on the task: the first role assignment (B).
    log(UserDefined(user_id="V", name="V"))
    hour = _log_hour(log, "h3", owner="V")
    assert (hour.cost_rate, hour.billing_rate, hour.billing_rate_source) == (D(20), D(200), "role")


def test_user_hourly_revenue_chain() -> None:  # R5.3
    log = _setup(assignments=(Assignment(role_id="C"),))
    log(UserDefined(user_id="V", name="V"))
    assert _log_hour(log, owner="V").billing_rate == D(300)  # first role assignment
    assert _log_hour(log, "h2").billing_rate == D(100)  # primary role
    log(rates("user", "billing", "55", user_id="U"))
    hour = _log_hour(log, "h3")
    assert (hour.billing_rate, hour.billing_rate_source, hour.revenue) == (
        D(55),
        "user",
        D("82.50"),
    )


def test_fixed_and_null_types() -> None:  # R5.2, R5.3, R10.7
    log = _setup(
        cost_type="fixed_hourly",
        fixed_hourly_cost=D(8),
        revenue_type="fixed_hourly",
        revenue_amount=D(0),
    )
    hour = _log_hour(log)
    assert (hour.cost, hour.cost_rate_source) == (D("12.00"), "task")
    assert (hour.revenue, hour.billing_rate, hour.billing_rate_source) == (D("0.00"), D(0), "task")
    log(
        TaskCreated(
            task_id="N", project_id="P", name="N", cost_type="no_cost", revenue_type="not_billable"
        )
    )
    log(
        HoursLogged(
            hour_id="n", owner_id="U", task_id="N", entry_date=date(2023, 6, 19), hours=D(1)
        )
    )
    hour = log.hour("n")
    assert (hour.cost, hour.cost_rate, hour.cost_rate_source) == (D("0.00"), None, None)
    assert (hour.revenue, hour.billing_rate, hour.billing_rate_source) == (D("0.00"), None, None)


def test_hours_not_counting_as_revenue() -> None:  # R5.3, R10.7
    log = _setup()
    hour = _log_hour(log, counts_as_revenue=False)
    assert (hour.revenue, hour.billing_rate, hour.cost) == (D("0.00"), None, D("15.00"))


def test_project_hours_ignore_their_role() -> None:  # R5.2, R5.3, R10.7
    log = _setup()
    hour = _log_hour(log, project_id="P", role_id="B")
    assert (hour.cost_rate, hour.billing_rate) == (D(10), D(100))


def test_role_billing_chain_override_company_system() -> None:  # R4.4
    log = _setup(revenue_type="role_hourly")
    log(CompanyDefined(company_id="Co", name="Co"))
    log(rates("company_role", "billing", "150", company_id="Co", role_id="A"))
    log(ProjectUpdated(project_id="P", company_id="Co"))
    assert _log_hour(log).billing_rate_source == "company_role"
    log(rates("project_role", "billing", "175", project_id="P", role_id="A"))
    hour = _log_hour(log, "h2")
    assert (hour.billing_rate, hour.billing_rate_source) == (D(175), "project_role")


def test_company_rates_as_known_at_attach() -> None:  # R4.5, R10.3
    log = _setup(revenue_type="role_hourly")
    log(CompanyDefined(company_id="Co", name="Co"))
    log(rates("company_role", "billing", "150", company_id="Co", role_id="A"))
    log(ProjectUpdated(project_id="P", company_id="Co"))
    log(rates("company_role", "billing", "160", company_id="Co", role_id="A"))
    assert _log_hour(log).billing_rate == D(150)  # snapshot at attach
    log(ProjectUpdated(project_id="P", company_id="Co"))  # same id: no new snapshot
    assert _log_hour(log, "h2").billing_rate == D(150)
    log(ProjectUpdated(project_id="P", follow_company_rate_changes=True))
    assert _log_hour(log, "h3").billing_rate == D(160)
    log(ProjectUpdated(project_id="P", follow_company_rate_changes=False))
    assert _log_hour(log, "h4").billing_rate == D(150)
    log(ProjectUpdated(project_id="P", company_id=None))
    assert _log_hour(log, "h5").billing_rate == D(100)  # detached: system rate
    log(ProjectUpdated(project_id="P", company_id="Co"))
    assert _log_hour(log, "h6").billing_rate == D(160)  # re-attach: fresh snapshot


def test_user_roles_changed_reprices_nothing_until_recalculation() -> None:  # R10.1
    log = _setup()
    _log_hour(log)
    log(UserRolesChanged(user_id="U", primary_role_id="B"))
    assert log.hour("h").cost_rate == D(10)
    log(FinancesRecalculationRequested(project_ids=("P",)))
    assert log.hour("h").cost_rate == D(20)


def test_hours_edited_reprices_the_entry_completely() -> None:  # R10.1, R1.3
    log = _setup()
    _log_hour(log)
    log(rates("role", "cost", "11", role_id="A"))
    log(HoursEdited(hour_id="h", hours=D(2)))
    hour = log.hour("h")
    assert (hour.cost, hour.revenue, hour.priced_at) == (D("22.00"), D("200.00"), log.position)
    assert log.totals()["actual_labor_cost"] == D("22.00")
