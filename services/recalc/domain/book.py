"""The finance book: applies project-stream events to the priced state (R5–R8)."""

from __future__ import annotations

from services.recalc.domain.reference import ReferenceData
from services.recalc.domain.state import Changes, ProjectState
from services.recalc.domain.views import PricingObserver, RecordView, TaskView
from shared.events import EventData, ProjectTotals, RecordedEvent


class FinanceBook:
    """Projects held in memory, priced from the log (R1.1)."""

    def __init__(self, reference: ReferenceData) -> None:
        self.reference = reference
        self.projects: dict[str, ProjectState] = {}
        self.observer: PricingObserver | None = None

    def add(self, state: ProjectState) -> None:
        raise NotImplementedError

    def drop(self, project_id: str) -> None:
        raise NotImplementedError

    def apply(self, event: RecordedEvent) -> list[EventData]:
        raise NotImplementedError

    def totals(self, project_id: str) -> ProjectTotals:
        raise NotImplementedError

    def task_view(self, project_id: str, task_id: str) -> TaskView:
        raise NotImplementedError

    def record_view(self, billing_record_id: str) -> RecordView:
        raise NotImplementedError

    def take_changes(self, project_id: str) -> Changes:
        return self.projects[project_id].take_changes()
