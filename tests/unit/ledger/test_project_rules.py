"""R9 for projects and tasks: references, date ranges, moves."""

from __future__ import annotations

from ledger_model_kit import add_items, ev, log_hour, ok, refused, seeded

from services.ledger.domain.write_model import WriteModel


def test_project_references_and_duplicates() -> None:  # R9
    m = seeded()
    err = refused(m, ev("ProjectCreated", project_id="P", name="again"))
    assert (err.code, err.field) == ("duplicate_id", "data.project_id")
    err = refused(m, ev("ProjectCreated", project_id="Z", name="Z", company_id="ghost"))
    assert (err.code, err.field) == ("unknown_company", "data.company_id")
    err = refused(m, ev("ProjectUpdated", project_id="ghost", name="x"))
    assert err.code == "unknown_project"
    err = refused(m, ev("ProjectUpdated", project_id="P", company_id="ghost"))
    assert err.code == "unknown_company"
    err = refused(m, ev("ProjectStatusChanged", project_id="ghost", status="current"))
    assert err.code == "unknown_project"
    # detaching the company (null) is fine
    assert ok(m, ev("ProjectUpdated", project_id="P", company_id=None)) == [
        ("project-P", 6)
    ]  # 5 seeded events in P


def test_planned_completion_before_start_is_refused() -> None:  # R10.6
    m = seeded()
    err = refused(
        m,
        ev(
            "ProjectCreated",
            project_id="Z",
            name="Z",
            planned_start="2023-06-20",
            planned_completion="2023-06-19",
        ),
    )
    assert (err.code, err.field) == ("invalid_date_range", "data.planned_completion")
    err = refused(
        m,
        ev(
            "TaskCreated",
            task_id="Z",
            project_id="P",
            name="Z",
            planned_start="2023-06-20",
            planned_completion="2023-06-19",
        ),
    )
    assert err.code == "invalid_date_range"


def test_date_range_is_checked_after_merging_an_update() -> None:  # R10.6
    m = seeded()
    ok(
        m,
        ev("TaskUpdated", task_id="T", planned_start="2023-06-19", planned_completion="2023-06-23"),
    )
    err = refused(m, ev("TaskUpdated", task_id="T", planned_start="2023-06-24"))
    assert err.code == "invalid_date_range"
    ok(m, ev("ProjectUpdated", project_id="P", planned_completion="2023-06-30"))
    err = refused(m, ev("ProjectUpdated", project_id="P", planned_start="2023-07-01"))
    assert err.code == "invalid_date_range"
    # clearing the completion lifts the constraint
    ok(m, ev("ProjectUpdated", project_id="P", planned_completion=None))
    ok(m, ev("ProjectUpdated", project_id="P", planned_start="2023-07-01"))


def test_task_references() -> None:  # R9
    m = seeded()
    err = refused(m, ev("TaskCreated", task_id="T", project_id="P", name="again"))
    assert (err.code, err.field) == ("duplicate_id", "data.task_id")
    err = refused(m, ev("TaskCreated", task_id="Z", project_id="ghost", name="Z"))
    assert (err.code, err.field) == ("unknown_project", "data.project_id")
    err = refused(
        m,
        ev(
            "TaskCreated",
            task_id="Z",
            project_id="P",
            name="Z",
            assignments=[{"user_id": "U"}, {"role_id": "ghost"}],
        ),
    )
    assert (err.code, err.field) == ("unknown_role", "data.assignments[1].role_id")
    err = refused(m, ev("TaskUpdated", task_id="T", assignments=[{"user_id": "ghost"}]))
    assert (err.code, err.field) == ("unknown_user", "data.assignments[0].user_id")
    for event in (
        ev("TaskUpdated", task_id="ghost", name="x"),
        ev("TaskStatusChanged", task_id="ghost", status="complete"),
        ev("TaskMoved", task_id="ghost", to_project_id="Q"),
    ):
        assert refused(m, event).code == "unknown_task"


def test_move_to_own_or_unknown_project_is_refused() -> None:  # R9
    m = seeded()
    err = refused(m, ev("TaskMoved", task_id="T", to_project_id="P"))
    assert (err.code, err.field) == ("task_already_in_project", "data.to_project_id")
    err = refused(m, ev("TaskMoved", task_id="T", to_project_id="ghost"))
    assert (err.code, err.field) == ("unknown_project", "data.to_project_id")


def test_moved_task_takes_its_hours_and_expenses_along() -> None:  # R6.3, events.md
    m = seeded()
    log_hour(m, "H1")
    ok(
        m,
        ev("ExpenseRecorded", expense_id="E1", project_id="P", task_id="T", expense_type="travel"),
    )
    assert ok(m, ev("TaskMoved", task_id="T", to_project_id="Q"))[0][0] == "project-P"
    assert ok(m, ev("TaskStatusChanged", task_id="T", status="complete"))[0][0] == "project-Q"
    assert ok(m, ev("HoursEdited", hour_id="H1", hours="3"))[0][0] == "project-Q"
    assert ok(m, ev("ExpenseUpdated", expense_id="E1", description="x"))[0][0] == "project-Q"


def test_task_with_items_on_a_record_cannot_move() -> None:  # R7.4
    for items in ({"hour_ids": ["H1"]}, {"expense_ids": ["E1"]}, {"task_ids": ["F"]}):
        m = seeded()
        ok(m, ev("TaskUpdated", task_id="F", revenue_type="user_hourly_plus_fixed"))
        log_hour(m, "H1", task="F")
        ok(
            m,
            ev(
                "ExpenseRecorded",
                expense_id="E1",
                project_id="P",
                task_id="F",
                expense_type="travel",
                billable=True,
                actual_amount="5",
            ),
        )
        ok(m, add_items(**items))
        err = refused(m, ev("TaskMoved", task_id="F", to_project_id="Q"))
        assert (err.code, err.field) == ("task_on_billing_record", "data.task_id")
        # removed from the record, the task may move again
        ok(m, ev("BillingRecordItemsRemoved", billing_record_id="B", **items))
        ok(m, ev("TaskMoved", task_id="F", to_project_id="Q"))


def test_fixed_revenue_task_on_billed_record_is_locked() -> None:  # R10.10
    m = seeded()
    ok(m, add_items(task_ids=["F"]))
    ok(m, ev("BillingRecordStatusChanged", billing_record_id="B", status="billed"))
    err = refused(m, ev("TaskUpdated", task_id="F", revenue_amount="5"))
    assert (err.code, err.field) == ("task_locked", "data.revenue_amount")
    err = refused(m, ev("TaskUpdated", task_id="F", revenue_type="user_hourly_plus_fixed"))
    assert (err.code, err.field) == ("task_locked", "data.revenue_type")
    # other fields, and the same values, stay editable
    ok(m, ev("TaskUpdated", task_id="F", name="renamed", revenue_amount="1000"))


def test_recalculation_needs_known_projects() -> None:  # R9
    m: WriteModel = seeded()
    err = refused(m, ev("FinancesRecalculationRequested", project_ids=["P", "ghost"]))
    assert (err.code, err.field) == ("unknown_project", "data.project_ids[1]")
    assert ok(m, ev("FinancesRecalculationRequested", project_ids=["Q"]))[0][0] == "project-Q"
