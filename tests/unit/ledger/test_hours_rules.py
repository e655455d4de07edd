"""R9 for hour entries and expenses: references, ids never reused, locks."""

from __future__ import annotations

from ledger_model_kit import add_items, bill, ev, log_hour, ok, refused, seeded


def test_hours_references() -> None:  # R9
    m = seeded()
    base = {"hour_id": "H", "entry_date": "2023-06-19", "hours": "1"}
    cases = [
        ({"owner_id": "ghost", "task_id": "T"}, "unknown_user", "data.owner_id"),
        ({"owner_id": "U", "task_id": "ghost"}, "unknown_task", "data.task_id"),
        ({"owner_id": "U", "project_id": "ghost"}, "unknown_project", "data.project_id"),
        ({"owner_id": "U", "task_id": "T", "role_id": "ghost"}, "unknown_role", "data.role_id"),
    ]
    for extra, code, field in cases:
        err = refused(m, ev("HoursLogged", **base, **extra))
        assert (err.code, err.field) == (code, field)
    for event in (
        ev("HoursEdited", hour_id="ghost", hours="1"),
        ev("HoursDeleted", hour_id="ghost"),
    ):
        assert refused(m, event).code == "unknown_hour"


def test_hour_ids_are_never_reused_even_after_delete() -> None:  # R9
    m = seeded()
    log_hour(m, "H1")
    err = refused(
        m,
        ev(
            "HoursLogged",
            hour_id="H1",
            owner_id="U",
            project_id="P",
            entry_date="2023-06-19",
            hours="1",
        ),
    )
    assert (err.code, err.field) == ("duplicate_id", "data.hour_id")
    ok(m, ev("HoursDeleted", hour_id="H1"))
    assert refused(m, ev("HoursEdited", hour_id="H1", hours="1")).code == "unknown_hour"
    err = refused(
        m,
        ev(
            "HoursLogged",
            hour_id="H1",
            owner_id="U",
            project_id="P",
            entry_date="2023-06-19",
            hours="1",
        ),
    )
    assert err.code == "duplicate_id"


def test_hours_on_the_project_go_to_its_stream() -> None:  # events.md
    m = seeded()
    out = ok(
        m,
        ev(
            "HoursLogged",
            hour_id="H",
            owner_id="U",
            project_id="Q",
            entry_date="2023-06-19",
            hours="1",
        ),
    )
    assert out == [("project-Q", 2)]


def test_billed_hours_cannot_be_edited_unbilled_can() -> None:  # R7.4
    m = seeded()
    log_hour(m, "H1")
    ok(m, add_items(hour_ids=["H1"]))
    ok(m, ev("HoursEdited", hour_id="H1", hours="3"))  # on a record, not billed: fine
    bill(m)
    err = refused(m, ev("HoursEdited", hour_id="H1", hours="4"))
    assert (err.code, err.field) == ("hour_locked", "data.hour_id")
    bill(m, status="not_billed")  # R7.3: lifting the lock
    ok(m, ev("HoursEdited", hour_id="H1", hours="4"))


def test_hours_on_any_record_cannot_be_deleted() -> None:  # R7.4
    m = seeded()
    log_hour(m, "H1")
    ok(m, add_items(hour_ids=["H1"]))
    err = refused(m, ev("HoursDeleted", hour_id="H1"))
    assert (err.code, err.field) == ("hour_in_billing_record", "data.hour_id")


def test_expense_references() -> None:  # R9
    m = seeded()
    err = refused(m, ev("ExpenseRecorded", expense_id="E", project_id="ghost", expense_type="x"))
    assert (err.code, err.field) == ("unknown_project", "data.project_id")
    err = refused(
        m, ev("ExpenseRecorded", expense_id="E", project_id="P", task_id="ghost", expense_type="x")
    )
    assert (err.code, err.field) == ("unknown_task", "data.task_id")
    # the task must be one of the expense's project
    err = refused(
        m, ev("ExpenseRecorded", expense_id="E", project_id="Q", task_id="T", expense_type="x")
    )
    assert (err.code, err.field) == ("task_not_in_project", "data.task_id")
    ok(m, ev("ExpenseRecorded", expense_id="E", project_id="P", expense_type="x"))
    err = refused(m, ev("ExpenseRecorded", expense_id="E", project_id="P", expense_type="x"))
    assert (err.code, err.field) == ("duplicate_id", "data.expense_id")
    ok(m, ev("TaskCreated", task_id="TQ", project_id="Q", name="TQ"))
    err = refused(m, ev("ExpenseUpdated", expense_id="E", task_id="TQ"))
    assert err.code == "task_not_in_project"
    for event in (
        ev("ExpenseUpdated", expense_id="ghost", description="x"),
        ev("ExpenseDeleted", expense_id="ghost"),
    ):
        assert refused(m, event).code == "unknown_expense"


def test_expense_ids_are_never_reused() -> None:  # R9
    m = seeded()
    ok(m, ev("ExpenseRecorded", expense_id="E", project_id="P", expense_type="x"))
    ok(m, ev("ExpenseDeleted", expense_id="E"))
    err = refused(m, ev("ExpenseRecorded", expense_id="E", project_id="P", expense_type="x"))
    assert err.code == "duplicate_id"


def test_expense_on_billed_record_is_locked_and_undeletable() -> None:  # R10.10
    m = seeded()
    ok(
        m,
        ev(
            "ExpenseRecorded",
            expense_id="E",
            project_id="P",
            expense_type="x",
            billable=True,
            actual_amount="50",
        ),
    )
    ok(m, add_items(expense_ids=["E"]))
    err = refused(m, ev("ExpenseDeleted", expense_id="E"))
    assert (err.code, err.field) == ("expense_in_billing_record", "data.expense_id")
    ok(m, ev("ExpenseUpdated", expense_id="E", description="taxi"))  # not billed yet
    bill(m)
    err = refused(m, ev("ExpenseUpdated", expense_id="E", description="cab"))
    assert (err.code, err.field) == ("expense_locked", "data.expense_id")
