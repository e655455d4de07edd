"""A terse in-memory log for the pricing core's unit tests.

`Log()(event_data)` wraps the payload in a `RecordedEvent` with the next position,
the right stream and a `recorded_at`, feeds the `ReferenceData` and the
`FinanceBook`, and returns what the book published.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from services.recalc.domain.finance_book import FinanceBook
from services.recalc.domain.reference import ReferenceData
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
    RatePeriod,
    RatesSet,
    RecordedEvent,
    TaskCreated,
    TaskMoved,
    UserDefined,
    UserRolesChanged,
)

D = Decimal
MONDAY = date(2023, 6, 19)
NOON = datetime(2023, 6, 19, 12, tzinfo=UTC)


def period(value: str, start: str | None = None, end: str | None = None) -> RatePeriod:
    return RatePeriod(
        value=D(value),
        start_date=date.fromisoformat(start) if start else None,
        end_date=date.fromisoformat(end) if end else None,
    )


def rates(level: str, rate_type: str, *periods: RatePeriod | str, **ids: str) -> RatesSet:
    """A `RatesSet`; a bare string is one open period of that value."""
    rows = tuple(period(p) if isinstance(p, str) else p for p in periods)
    return RatesSet.model_validate({"level": level, "rate_type": rate_type, "periods": rows, **ids})


class Log:
    #: the path a recalculation prices entries held as objects by, unless told:
    #: columns (`hour_table`) or the scalar reference (`FinanceBook(columnar=...)`)
    columnar = True

    def __init__(self, recorded_at: datetime = NOON, *, columnar: bool | None = None) -> None:
        self.reference = ReferenceData()
        if columnar is not None:
            self.columnar = columnar
        self.book = FinanceBook(self.reference, columnar=self.columnar)
        self.position = 0
        self.recorded_at = recorded_at
        self.events: list[RecordedEvent] = []
        self.published: list[EventData] = []
        self._task_project: dict[str, str] = {}
        self._hour_project: dict[str, str] = {}
        self._expense_project: dict[str, str] = {}
        self._record_project: dict[str, str] = {}
        self._hour_task: dict[str, str | None] = {}
        self._expense_task: dict[str, str | None] = {}

    def __call__(self, data: EventData, recorded_at: datetime | None = None) -> list[EventData]:
        self.position += 1
        event = RecordedEvent(
            position=self.position,
            event_id=f"e{self.position}",
            stream=self._stream(data),
            version=self.position,
            recorded_at=recorded_at or self.recorded_at,
            actor="test",
            data=data,
        )
        self.events.append(event)
        if isinstance(data, TaskMoved):
            # The task moves with its hours and expenses (R6.3).
            self._task_project[data.task_id] = data.to_project_id
            for hour_id, task_id in self._hour_task.items():
                if task_id == data.task_id:
                    self._hour_project[hour_id] = data.to_project_id
            for expense_id, task_id in self._expense_task.items():
                if task_id == data.task_id:
                    self._expense_project[expense_id] = data.to_project_id
        return self.feed(event)

    def feed(self, event: RecordedEvent) -> list[EventData]:
        self.reference.apply(event)
        out = self.book.apply(event) if event.stream.startswith("project-") else []
        self.published.extend(out)
        return out

    def _stream(self, data: EventData) -> str:
        project = self._project_of(data)
        if project is not None:
            return f"project-{project}"
        if isinstance(data, JobRoleDefined):
            return f"role-{data.role_id}"
        if isinstance(data, UserDefined | UserRolesChanged):
            return f"user-{data.user_id}"
        if isinstance(data, CompanyDefined):
            return f"company-{data.company_id}"
        if isinstance(data, RatesSet):
            level, _, first, _ = data.table_key()
            return f"{level.split('_')[0]}-{first}"
        raise AssertionError(f"no stream for {data!r}")

    def _project_of(self, data: EventData) -> str | None:
        fields: dict[str, Any] = dict(data)
        if isinstance(data, FinancesRecalculationRequested):
            return data.project_ids[0]
        if isinstance(data, RatesSet):
            return data.project_id
        if isinstance(data, TaskCreated):
            self._task_project[data.task_id] = data.project_id
        if isinstance(data, HoursLogged):
            project = data.project_id or self._task_project[data.task_id or ""]
            self._hour_project[data.hour_id] = project
            self._hour_task[data.hour_id] = data.task_id
            return project
        if isinstance(data, HoursEdited | HoursDeleted):
            return self._hour_project[data.hour_id]
        if isinstance(data, ExpenseRecorded):
            self._expense_project[data.expense_id] = data.project_id
            self._expense_task[data.expense_id] = data.task_id
        if isinstance(data, ExpenseUpdated | ExpenseDeleted):
            return self._expense_project[data.expense_id]
        if isinstance(data, BillingRecordCreated):
            self._record_project[data.billing_record_id] = data.project_id
        if isinstance(
            data,
            BillingRecordUpdated
            | BillingRecordItemsAdded
            | BillingRecordItemsRemoved
            | BillingRecordStatusChanged,
        ):
            return self._record_project[data.billing_record_id]
        if "project_id" in fields:
            return str(fields["project_id"])
        if "task_id" in fields:
            return self._task_project[str(fields["task_id"])]
        return None

    # -- reads ---------------------------------------------------------------------

    def totals(self, project_id: str = "P") -> dict[str, Decimal]:
        return dict(self.book.totals(project_id))

    def hour(self, hour_id: str, project_id: str = "P") -> Any:
        return self.book.projects[project_id].hours[hour_id]

    def task(self, task_id: str, project_id: str = "P") -> Any:
        return self.book.task_view(project_id, task_id)
