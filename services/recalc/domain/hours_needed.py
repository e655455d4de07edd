"""Which hour entries applying an event reads, so that a project can be held without
the entries no event of the moment needs.

A project's hour entries are most of its lines, and most events read none of them
(a new entry is priced from the task and the reference data; totals come from the
running sums). The worker holds projects without their entries and, before applying
a batch, loads what these functions say the batch reads: named entries for edits,
deletes and billing items; every entry of a moved task (R6.3), which moves them;
every entry, as columns (`hour_table`), of a project a recalculation (R6.1) re-prices.

Rules: docs/rules.md#r6.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.events import (
    BillingRecordItemsAdded,
    BillingRecordItemsRemoved,
    FinancesRecalculationRequested,
    HoursDeleted,
    HoursEdited,
    RecordedEvent,
    TaskMoved,
    TaskStatusChanged,
    project_of_stream,
)


@dataclass(slots=True)
class HoursNeeded:
    """Per project: every entry (`whole`), those of some tasks (`tasks`), or just
    some entries (`ids`)."""

    whole: set[str] = field(default_factory=set)
    tasks: dict[str, set[str]] = field(default_factory=dict)
    ids: dict[str, set[str]] = field(default_factory=dict)

    def add(self, event: RecordedEvent) -> None:
        project = project_of_stream(event.stream)
        if project is None:
            return
        data = event.data
        if isinstance(data, TaskStatusChanged):  # R6.3: recalculates, scope all
            self.whole.add(project)
        elif isinstance(data, FinancesRecalculationRequested):
            if data.scope == "all":
                self.whole.add(project)
        elif isinstance(data, TaskMoved):  # both sides may be recalculated (R6.3)
            self.tasks.setdefault(project, set()).add(data.task_id)
            self.whole.update((project, data.to_project_id))
        elif isinstance(data, HoursEdited | HoursDeleted):
            self.ids.setdefault(project, set()).add(data.hour_id)
        elif (
            isinstance(data, BillingRecordItemsAdded | BillingRecordItemsRemoved) and data.hour_ids
        ):
            self.ids.setdefault(project, set()).update(data.hour_ids)


def hours_needed(events: Iterable[RecordedEvent]) -> HoursNeeded:
    needed = HoursNeeded()
    for event in events:
        needed.add(event)
    return needed
