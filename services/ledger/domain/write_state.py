"""What the ledger knows of the log (the entities R9's checks read), and the look-ups
the rule modules share. The rules decide on it; `write_model.WriteModel` adds the
batches (journal) and the dispatch of each event type to its rule.

Rules: docs/rules.md#r9.
"""

from __future__ import annotations

from typing import TypeVar

from services.ledger.domain.entities import (
    ExpenseState,
    HourState,
    ProjectState,
    RecordState,
    TaskState,
)
from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.journal import Journal

_T = TypeVar("_T")


def _known(table: dict[str, _T], key: str, kind: str, what: str, field: str) -> _T:
    """The entity `key` of `table`, or the refusal `unknown_<kind>` naming `field`."""
    found = table.get(key)
    if found is None:
        raise RuleViolation(f"unknown_{kind}", f"no {what} {key!r}", field)
    return found


class WriteState:
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
