"""Which hour entries applying events reads (domain.needs): what a worker loads
for a project it holds without its entries."""

from __future__ import annotations

from datetime import UTC, datetime

from services.recalc.domain.hours_needed import hours_needed
from shared.events import (
    BillingRecordItemsAdded,
    BillingRecordItemsRemoved,
    BillingRecordStatusChanged,
    EventData,
    FinancesRecalculationRequested,
    HoursDeleted,
    HoursEdited,
    ProjectStatusChanged,
    RecordedEvent,
    TaskMoved,
    TaskStatusChanged,
    TaskUpdated,
)


def _on(project: str, data: EventData, position: int = 1) -> RecordedEvent:
    return RecordedEvent(
        position=position,
        event_id=f"e{position}",
        stream=f"project-{project}",
        version=position,
        recorded_at=datetime(2023, 6, 19, tzinfo=UTC),
        actor="t",
        data=data,
    )


def test_recalculations_and_moves_read_every_entry() -> None:  # R6.1, R6.3
    needed = hours_needed(
        [
            _on("a", TaskStatusChanged(task_id="t", status="complete")),
            _on("b", FinancesRecalculationRequested(project_ids=("b",), scope="all")),
            _on("c", TaskMoved(task_id="t", to_project_id="d")),
        ]
    )
    assert needed.whole == {"a", "b", "c", "d"}
    assert needed.ids == {}


def test_a_planned_recalculation_reads_no_entry() -> None:  # R6.1: planned-only
    needed = hours_needed(
        [
            _on("a", FinancesRecalculationRequested(project_ids=("a",), scope="planned")),
            _on("a", ProjectStatusChanged(project_id="a", status="current")),
            _on("a", TaskUpdated(task_id="t", name="x")),
            _on("a", BillingRecordStatusChanged(billing_record_id="b", status="billed")),
        ]
    )
    assert (needed.whole, needed.ids) == (set(), {})


def test_edits_deletes_and_billing_items_read_the_entries_they_name() -> None:
    needed = hours_needed(
        [
            _on("a", HoursEdited(hour_id="h1", hours="2")),
            _on("a", HoursDeleted(hour_id="h2")),
            _on("b", BillingRecordItemsAdded(billing_record_id="r", hour_ids=("h3", "h4"))),
            _on("b", BillingRecordItemsRemoved(billing_record_id="r", hour_ids=("h4",))),
            _on("b", BillingRecordItemsAdded(billing_record_id="r", expense_ids=("x",))),
        ]
    )
    assert needed.whole == set()
    assert needed.ids == {"a": {"h1", "h2"}, "b": {"h3", "h4"}}
