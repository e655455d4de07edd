"""The ledger's write model: the state R9 needs, rebuilt from the log.

`decide` validates one new event against everything before it (the log, then the
earlier events of the same batch), applies it, and says which stream it belongs
to. Between `begin()` and `commit()` every change is journaled, so `rollback()`
leaves the model exactly as it was before the batch (or the group of batches), and
`rollback_to(mark())` takes back one batch of a group alone.

Rules: docs/rules.md#r9.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from services.ledger.domain import rules_billing, rules_hours, rules_projects, rules_reference
from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.write_state import WriteState
from shared.events import (
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordItemsRemoved,
    BillingRecordStatusChanged,
    BillingRecordUpdated,
    CompanyDefined,
    EventData,
    ExpenseDeleted,
    ExpenseRecorded,
    ExpenseUpdated,
    FinancesRecalculationRequested,
    HoursDeleted,
    HoursEdited,
    HoursLogged,
    JobRoleDefined,
    ProjectCreated,
    ProjectStatusChanged,
    ProjectUpdated,
    RatesSet,
    RecordedEvent,
    TaskCreated,
    TaskMoved,
    TaskStatusChanged,
    TaskUpdated,
    UserDefined,
    UserRolesChanged,
)

log = logging.getLogger(__name__)

#: a rule: checks one event against the state (raises RuleViolation), applies it, and
#: names the stream it belongs to
Handler = Callable[[WriteState, Any], str]

#: every event type the ledger accepts, and its rule (the recalc service's book has
#: the same explicit style: `services/recalc/domain/finance_book.py`)
HANDLERS: dict[type[EventData], Handler] = {
    JobRoleDefined: rules_reference.role_defined,
    UserDefined: rules_reference.user_defined,
    UserRolesChanged: rules_reference.user_roles_changed,
    CompanyDefined: rules_reference.company_defined,
    RatesSet: rules_reference.rates_set,
    ProjectCreated: rules_projects.project_created,
    ProjectUpdated: rules_projects.project_updated,
    ProjectStatusChanged: rules_projects.project_status_changed,
    TaskCreated: rules_projects.task_created,
    TaskUpdated: rules_projects.task_updated,
    TaskStatusChanged: rules_projects.task_status_changed,
    TaskMoved: rules_projects.task_moved,
    HoursLogged: rules_hours.hours_logged,
    HoursEdited: rules_hours.hours_edited,
    HoursDeleted: rules_hours.hours_deleted,
    ExpenseRecorded: rules_hours.expense_recorded,
    ExpenseUpdated: rules_hours.expense_updated,
    ExpenseDeleted: rules_hours.expense_deleted,
    BillingRecordCreated: rules_billing.record_created,
    BillingRecordUpdated: rules_billing.record_updated,
    BillingRecordStatusChanged: rules_billing.record_status_changed,
    BillingRecordItemsAdded: rules_billing.items_added,
    BillingRecordItemsRemoved: rules_billing.items_removed,
    FinancesRecalculationRequested: rules_billing.recalculation_requested,
}


class WriteModel(WriteState):
    """The state, with batches that can be taken back, and the rule of each event."""

    # -- batches ---------------------------------------------------------------------

    def begin(self) -> None:
        self.journal.begin()

    def commit(self, position: int) -> None:
        self.journal.commit()
        self.position = position

    def rollback(self) -> None:
        self.journal.rollback()

    def mark(self) -> int:
        """Where one batch of a group starts (see `rollback_to`)."""
        return self.journal.mark()

    def rollback_to(self, mark: int) -> None:
        """Take back the batch applied since `mark`, keep the ones before it."""
        self.journal.rollback_to(mark)

    def decide(self, data: EventData) -> tuple[str, int]:
        """Validate and apply one new event; its (stream, version). Raises RuleViolation."""
        handler = HANDLERS.get(type(data))
        if handler is None:
            raise RuleViolation("unknown_event_type", f"{data.event_type} is not accepted", "type")
        stream = handler(self, data)
        version = self.versions.get(stream, 0) + 1
        self.journal.set_item(self.versions, stream, version)
        return stream, version

    def apply_recorded(self, event: RecordedEvent) -> None:
        """Apply an event already in the log (committed: never journaled, never refused)."""
        if event.position != self.position + 1:
            raise ValueError(f"log gap: model at {self.position}, next is {event.position}")
        handler = HANDLERS.get(type(event.data))
        if handler is not None:
            try:
                handler(self, event.data)
            except RuleViolation as exc:
                # The log is the truth: an event written under other rules still counts.
                log.warning("event %s at %s: %s", event.type, event.position, exc.message)
        self.versions[event.stream] = event.version
        self.position = event.position


def build_model(events: list[RecordedEvent]) -> WriteModel:
    """A model at the end of `events` (tests and tools)."""
    model = WriteModel()
    for event in events:
        model.apply_recorded(event)
    return model
