"""R9 for billing records: items, eligibility and the billed lock (R7, R10.10)."""

from __future__ import annotations

import pytest
from ledger_model_kit import add_items, bill, ev, log_hour, ok, refused, seeded

from services.ledger.domain.write_model import WriteModel


def with_items() -> WriteModel:
    m = seeded()
    log_hour(m, "H1")
    ok(
        m,
        ev(
            "ExpenseRecorded",
            expense_id="E1",
            project_id="P",
            expense_type="x",
            billable=True,
            actual_amount="50",
        ),
    )
    return m


def test_record_references() -> None:  # R9
    m = seeded()
    err = refused(
        m, ev("BillingRecordCreated", billing_record_id="B", project_id="P", description="x")
    )
    assert (err.code, err.field) == ("duplicate_id", "data.billing_record_id")
    err = refused(
        m, ev("BillingRecordCreated", billing_record_id="Z", project_id="ghost", description="x")
    )
    assert err.code == "unknown_project"
    for event in (
        ev("BillingRecordUpdated", billing_record_id="ghost", description="x"),
        add_items("ghost", hour_ids=[]),
        ev("BillingRecordItemsRemoved", billing_record_id="ghost"),
        ev("BillingRecordStatusChanged", billing_record_id="ghost", status="billed"),
    ):
        assert refused(m, event).code == "unknown_billing_record"


@pytest.mark.parametrize(
    ("items", "code", "field"),
    [
        ({"hour_ids": ["H1", "ghost"]}, "unknown_hour", "data.hour_ids[1]"),
        ({"expense_ids": ["ghost"]}, "unknown_expense", "data.expense_ids[0]"),
        ({"task_ids": ["ghost"]}, "unknown_task", "data.task_ids[0]"),
    ],
)
def test_unknown_items(items: dict[str, list[str]], code: str, field: str) -> None:  # R9
    err = refused(with_items(), add_items(**items))
    assert (err.code, err.field) == (code, field)


def test_items_of_another_project_are_refused() -> None:  # R7.1
    m = with_items()
    ok(m, ev("BillingRecordCreated", billing_record_id="BQ", project_id="Q", description="q"))
    for items, field in (
        ({"hour_ids": ["H1"]}, "data.hour_ids[0]"),
        ({"expense_ids": ["E1"]}, "data.expense_ids[0]"),
        ({"task_ids": ["F"]}, "data.task_ids[0]"),
    ):
        err = refused(m, add_items("BQ", **items))
        assert (err.code, err.field) == ("item_wrong_project", field)


def test_ineligible_items_are_refused() -> None:  # R7.1
    m = with_items()
    log_hour(m, "Hvac", counts_as_revenue=False)
    log_hour(m, "Hnb", task="N")
    ok(
        m,
        ev(
            "ExpenseRecorded", expense_id="Enb", project_id="P", expense_type="x", actual_amount="5"
        ),
    )
    ok(
        m,
        ev(
            "ExpenseRecorded",
            expense_id="Ezero",
            project_id="P",
            expense_type="x",
            billable=True,
            actual_amount="0",
        ),
    )
    for items in (
        {"hour_ids": ["Hvac"]},
        {"hour_ids": ["Hnb"]},
        {"expense_ids": ["Enb"]},
        {"expense_ids": ["Ezero"]},
        {"task_ids": ["T"]},
    ):
        assert refused(m, add_items(**items)).code == "item_not_eligible", items
    ok(m, ev("TaskUpdated", task_id="T", revenue_type="role_hourly_plus_fixed"))
    ok(m, add_items(task_ids=["T", "F"]), add_items(hour_ids=["H1"], expense_ids=["E1"]))


def test_item_on_another_record_is_refused_and_same_record_is_a_no_op() -> None:  # R10.10
    m = with_items()
    ok(m, ev("BillingRecordCreated", billing_record_id="B2", project_id="P", description="2"))
    ok(m, add_items(hour_ids=["H1", "H1"], expense_ids=["E1"], task_ids=["F"]))
    ok(m, add_items(hour_ids=["H1"], task_ids=["F"]))  # again: nothing changes
    for items in ({"hour_ids": ["H1"]}, {"expense_ids": ["E1"]}, {"task_ids": ["F"]}):
        assert refused(m, add_items("B2", **items)).code == "item_in_other_record"
    # one removal takes it off, a second one is refused
    ok(m, ev("BillingRecordItemsRemoved", billing_record_id="B", hour_ids=["H1"]))
    err = refused(m, ev("BillingRecordItemsRemoved", billing_record_id="B", hour_ids=["H1"]))
    assert (err.code, err.field) == ("item_not_in_record", "data.hour_ids[0]")
    ok(m, add_items("B2", hour_ids=["H1"]))


def test_removing_items_not_on_the_record_is_refused() -> None:  # R10.10
    m = with_items()
    for items in ({"expense_ids": ["E1"]}, {"task_ids": ["F"]}):
        event = ev("BillingRecordItemsRemoved", billing_record_id="B", **items)
        assert refused(m, event).code == "item_not_in_record"


def test_billed_record_refuses_every_change() -> None:  # R7.3
    m = with_items()
    ok(m, add_items(hour_ids=["H1"]))
    bill(m)
    for event in (
        ev("BillingRecordUpdated", billing_record_id="B", additional_amount="25"),
        add_items(expense_ids=["E1"]),
        ev("BillingRecordItemsRemoved", billing_record_id="B", hour_ids=["H1"]),
    ):
        err = refused(m, event)
        assert (err.code, err.field) == ("billing_record_billed", "data.billing_record_id")
    bill(m, status="not_billed")
    ok(m, ev("BillingRecordUpdated", billing_record_id="B", additional_amount="25"))


def test_hour_that_became_ineligible_stays_on_its_record() -> None:  # R10.10
    m = with_items()
    ok(m, add_items(hour_ids=["H1"]))
    task = m.tasks["T"]  # H1's task
    assert task.on_records == 1
    ok(m, ev("HoursEdited", hour_id="H1", counts_as_revenue=False))
    assert m.hours["H1"].record == "B"  # the edit does not take it off
    ok(m, add_items(hour_ids=["H1"]))  # still on it: a no-op, not a refusal
    assert m.hours["H1"].record == "B"
    assert task.on_records == 1  # counted once, not again by the no-op
    # it leaves the record like any item, and then may not come back
    ok(m, ev("BillingRecordItemsRemoved", billing_record_id="B", hour_ids=["H1"]))
    assert m.hours["H1"].record is None and task.on_records == 0
    assert refused(m, add_items(hour_ids=["H1"])).code == "item_not_eligible"
