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
from typing import Any, TypeVar

from services.ledger.domain.entities import (
    ExpenseState,
    HourState,
    ProjectState,
    RecordState,
    TaskState,
)
from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.journal import Journal
from shared.events import EventData, RecordedEvent

log = logging.getLogger(__name__)

Handler = Callable[["WriteModel", Any], str]
HANDLERS: dict[str, Handler] = {}


def handles(event_type: type[EventData]) -> Callable[[Handler], Handler]:
    def wrap(fn: Handler) -> Handler:
        HANDLERS[event_type.__name__] = fn
        return fn

    return wrap


_T = TypeVar("_T")


def _known(table: dict[str, _T], key: str, kind: str, what: str, field: str) -> _T:
    """The entity `key` of `table`, or the refusal `unknown_<kind>` naming `field`."""
    found = table.get(key)
    if found is None:
        raise RuleViolation(f"unknown_{kind}", f"no {what} {key!r}", field)
    return found


class WriteModel:
    def __init__(self) -> None:
        self.position = 0
        self.versions: dict[str, int] = {}
        self.roles: set[str] = set()
        self.users: set[str] = set()
        self.companies: set[str] = set()
        self.projects: dict[str, ProjectState] = {}
        self.tasks: dict[str, TaskState] = {}
        self.hours: dict[str, HourState] = {}
        self.expenses: dict[str, ExpenseState] = {}
        self.records: dict[str, RecordState] = {}
        # ids are never reused, even after a delete (R9)
        self.deleted_hours: set[str] = set()
        self.deleted_expenses: set[str] = set()
        self.journal = Journal()

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
        handler = HANDLERS.get(data.event_type)
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
        handler = HANDLERS.get(event.type)
        if handler is not None:
            try:
                handler(self, event.data)
            except RuleViolation as exc:
                # The log is the truth: an event written under other rules still counts.
                log.warning("event %s at %s: %s", event.type, event.position, exc.message)
        self.versions[event.stream] = event.version
        self.position = event.position

    # -- lookups shared by the rules -------------------------------------------------

    def project(self, project_id: str, field: str) -> ProjectState:
        return _known(self.projects, project_id, "project", "project", field)

    def task(self, task_id: str, field: str) -> TaskState:
        return _known(self.tasks, task_id, "task", "task", field)

    def hour(self, hour_id: str, field: str) -> HourState:
        return _known(self.hours, hour_id, "hour", "hour entry", field)

    def expense(self, expense_id: str, field: str) -> ExpenseState:
        return _known(self.expenses, expense_id, "expense", "expense", field)

    def record(self, record_id: str, field: str) -> RecordState:
        return _known(self.records, record_id, "billing_record", "billing record", field)

    def need_role(self, role_id: str | None, field: str) -> None:
        if role_id is not None and role_id not in self.roles:
            raise RuleViolation("unknown_role", f"no job role {role_id!r}", field)

    def need_user(self, user_id: str | None, field: str) -> None:
        if user_id is not None and user_id not in self.users:
            raise RuleViolation("unknown_user", f"no user {user_id!r}", field)

    def need_company(self, company_id: str | None, field: str) -> None:
        if company_id is not None and company_id not in self.companies:
            raise RuleViolation("unknown_company", f"no company {company_id!r}", field)

    def hour_project(self, hour: HourState) -> str:
        if hour.task is not None:
            return self.tasks[hour.task].project
        assert hour.project is not None
        return hour.project

    def expense_project(self, expense: ExpenseState) -> str:
        if expense.task is not None:
            return self.tasks[expense.task].project
        return expense.project


def duplicate(kind: str, entity_id: str, field: str) -> RuleViolation:
    return RuleViolation("duplicate_id", f"{kind} {entity_id!r} already exists", field)


def build_model(events: list[RecordedEvent]) -> WriteModel:
    """A model at the end of `events` (tests and tools)."""
    model = WriteModel()
    for event in events:
        model.apply_recorded(event)
    return model


# Register every rule module's handlers (they import `handles` from here).
from services.ledger.domain import (  # noqa: E402
    rules_billing,
    rules_hours,
    rules_projects,
    rules_reference,
)

__all__ = [
    "HANDLERS",
    "RuleViolation",
    "WriteModel",
    "build_model",
    "rules_billing",
    "rules_hours",
    "rules_projects",
    "rules_reference",
]
