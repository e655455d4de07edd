"""What the write model remembers of each entity: only what validation needs.

Slotted classes: the model holds every hour entry of the log (about a million in
the benchmark), so each entry must stay small.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal


class ProjectState:
    __slots__ = ("planned_completion", "planned_start")

    def __init__(self, planned_start: date | None, planned_completion: date | None) -> None:
        self.planned_start = planned_start
        self.planned_completion = planned_completion


class TaskState:
    __slots__ = (
        "on_records",
        "planned_completion",
        "planned_start",
        "project",
        "record",
        "revenue_amount",
        "revenue_type",
    )

    def __init__(
        self,
        project: str,
        planned_start: date | None,
        planned_completion: date | None,
        revenue_type: str,
        revenue_amount: Decimal | None,
    ) -> None:
        self.project = project
        self.planned_start = planned_start
        self.planned_completion = planned_completion
        self.revenue_type = revenue_type
        self.revenue_amount = revenue_amount
        #: the billing record holding this task as a fixed-revenue item
        self.record: str | None = None
        #: how many of its hours and expenses sit on billing records (R7.4)
        self.on_records = 0


class HourState:
    """`project` is set only for hours on the project itself; task hours follow their
    task's project, so a move never has to touch its hours."""

    __slots__ = ("counts_as_revenue", "project", "record", "task")

    def __init__(self, task: str | None, project: str | None, counts_as_revenue: bool) -> None:
        self.task = task
        self.project = project
        self.counts_as_revenue = counts_as_revenue
        self.record: str | None = None


class ExpenseState:
    """Like hours, an expense with a task follows its task's project."""

    __slots__ = ("billable", "has_actual", "project", "record", "task")

    def __init__(self, project: str, task: str | None, billable: bool, has_actual: bool) -> None:
        self.project = project
        self.task = task
        self.billable = billable
        self.has_actual = has_actual
        self.record: str | None = None


class RecordState:
    __slots__ = ("billed", "project")

    def __init__(self, project: str) -> None:
        self.project = project
        self.billed = False


FIXED_REVENUE_TYPES = frozenset(
    {"fixed_revenue", "user_hourly_plus_fixed", "role_hourly_plus_fixed"}
)
"""Revenue types whose task can be a billing record's fixed-revenue item (R7.1)."""
