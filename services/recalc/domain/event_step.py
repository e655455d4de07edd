"""What a handler knows while one event is applied, and what it asks for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from services.recalc.domain.pricing import Pricer
from services.recalc.domain.reference import ReferenceData
from services.recalc.domain.state import HourEntry, ProjectState, TaskState
from services.recalc.domain.views import PricingObserver
from shared.events import RecalcReason, RecordedEvent
from shared.events.types import RecalcScope


def today_of(recorded_at: datetime) -> date:
    """R1.5/R10.2: "today" is the UTC date of the event's `recorded_at`."""
    if recorded_at.tzinfo is None:
        return recorded_at.date()  # the log stores UTC; a naive stamp is taken as such
    return recorded_at.astimezone(UTC).date()


@dataclass(frozen=True, slots=True)
class Recalc:
    """A recalculation a handler asks for (R6); the book runs them in order."""

    project_id: str
    scope: RecalcScope
    reason: RecalcReason


@dataclass(slots=True)
class Step:
    """One event being applied: its position, its "today", and where to find things."""

    event: RecordedEvent
    reference: ReferenceData
    projects: dict[str, ProjectState]
    record_projects: dict[str, str]
    observer: PricingObserver | None
    today: date
    #: price a recalculation of many entries as columns (`hour_table`); False: the
    #: scalar path, the reference the columns are tested against
    columnar: bool = True
    #: a quiet book's: prices a task's plan later, as at this position and "today"
    #: (finance_book.py); None: now
    defer_plan: Callable[[ProjectState, TaskState, int, date], None] | None = None
    recalcs: list[Recalc] = field(default_factory=list)

    @property
    def position(self) -> int:
        return self.event.position

    def pricer(self, state: ProjectState) -> Pricer:
        return Pricer(self.reference, state.info, self.event.position)

    def observe(self, hour: HourEntry, locked: bool = False) -> None:
        if self.observer is not None:
            self.observer(hour, self.event.type, self.event.position, locked)
