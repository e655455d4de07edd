"""What the advancer needs from storage: the `Projections` port.

One transaction of the worker reads the log of record, loads and writes the
projection, and appends to the finance outbox, all or nothing (R1.1): so the port is
a unit of work, `Projections.transaction()`, whose handle does all three.

Two implementations keep one contract (`tests/contracts/projections_contract.py`):
`adapters/pg_projections.py` on PostgreSQL, and `adapters/memory_projections.py` in
memory, for the service layer's unit tests. The contract:

- A transaction commits when its block ends and takes everything back on an error.
  `snapshot()` is a read-only transaction: every read in it sees one moment.
- `lock` fences two workers: a project locked by one transaction is not locked by
  another until the first ends. `fence_swap` waits out a schema swap (`tally replay
  --swap`) and answers the generation of the projection: it changes with every swap,
  so that what was cached from the old one is dropped.
- Loads answer what was written, as it stands: an entry not kept by a recalculation
  reads as priced at the later of its own position and its project's
  `hours_priced_at` (R1.4, `price_writes`). A `light` load leaves the hour entries out
  (their running sums come with the task and project rows); `load_hours` and
  `load_tables` bring them in, as objects or as one `HourTable` a project.
- `events_to_apply` answers, for each project p of `applied`, every event in
  `(applied[p], upto]` of p's stream or moving a task into p, in position order, at
  most `limit` (the first ones). `reference_events` answers the reference events
  (roles, users, companies, rates) in `(after, upto]`, at most `limit`.
- `append_outcomes` appends finance messages in order, visible in commit order.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from services.recalc.domain.hour_table import HourTable
from services.recalc.domain.project_lines import (
    BillingRecordState,
    ExpenseState,
    HourEntry,
    ProjectInfo,
    Sums,
    TaskState,
)
from services.recalc.domain.state import ProjectState
from services.recalc.domain.views import RecordView, TaskView
from shared.events import EventData, ProjectTotals, RecordedEvent

#: the event types that make the reference data (R1.2, R4)
REFERENCE_TYPES = (
    "JobRoleDefined",
    "UserDefined",
    "UserRolesChanged",
    "CompanyDefined",
    "RatesSet",
)


@dataclass(slots=True)
class Stored:
    """One project as stored: its lines (its hour entries only when `state.hours_complete`),
    and the views, task sums and totals last written."""

    state: ProjectState
    applied: int
    totals: ProjectTotals | None
    task_views: dict[str, TaskView] = field(default_factory=dict)
    record_views: dict[str, RecordView] = field(default_factory=dict)
    task_sums: dict[str, Sums] = field(default_factory=dict)

    @property
    def weight(self) -> int:
        """What the cache bounds: lines held in memory."""
        s = self.state
        return 1 + len(s.hours) + len(s.tasks) + len(s.expenses) + len(s.records)


@dataclass(slots=True)
class Writes:
    """Everything one transaction writes, gathered across projects."""

    #: (info, applied position, totals, sums of the hours on the project itself)
    projects: list[tuple[ProjectInfo, int, ProjectTotals, Sums]] = field(default_factory=list)
    tasks: list[tuple[TaskState, TaskView, Sums]] = field(default_factory=list)
    hours: list[HourEntry] = field(default_factory=list)
    #: hours whose prices only changed (price columns and priced_at are written)
    priced: list[HourEntry] = field(default_factory=list)
    #: hours whose priced_at and kept only changed
    restamped: list[HourEntry] = field(default_factory=list)
    #: projects' entries held as columns: their rows marked `written` are written
    tables: dict[str, HourTable] = field(default_factory=dict)
    expenses: list[ExpenseState] = field(default_factory=list)
    records: list[tuple[BillingRecordState, RecordView]] = field(default_factory=list)
    # (project_id, line id) pairs: a moved line is deleted from its source only
    removed_tasks: list[tuple[str, str]] = field(default_factory=list)
    removed_hours: list[tuple[str, str]] = field(default_factory=list)
    removed_expenses: list[tuple[str, str]] = field(default_factory=list)
    removed_records: list[tuple[str, str]] = field(default_factory=list)


class ProjectionTransaction(Protocol):
    """One transaction on the log, the projection and the finance outbox."""

    async def fence_swap(self) -> int | None:
        """Wait out a schema swap; the projection's generation (None: no schema)."""
        ...

    async def generation(self) -> int | None:
        """The projection's generation, without waiting on a swap."""
        ...

    async def lock(self, project_ids: Sequence[str]) -> None:
        """Hold these projects until the transaction ends (take them in sorted order)."""
        ...

    async def applied_positions(self, project_ids: Sequence[str]) -> dict[str, int]:
        """The stored projects' applied positions (a project not stored is left out)."""
        ...

    async def load(self, project_ids: Sequence[str], *, light: bool = False) -> dict[str, Stored]:
        """The stored projects among `project_ids`; `light`: without their entries."""
        ...

    async def load_hours(
        self,
        project_ids: Collection[str],
        hour_ids: Collection[str] | None = None,
        *,
        task_ids: Collection[str] | None = None,
    ) -> dict[str, list[HourEntry]]:
        """Stored entries by project: all of `project_ids`', or those named by
        `hour_ids`, or those of the tasks `task_ids`."""
        ...

    async def load_tables(
        self,
        project_ids: Sequence[str],
        held: Mapping[str, Collection[str]],
        candidates: Collection[str] = (),
    ) -> tuple[dict[str, HourTable], list[str]]:
        """Every stored entry of `project_ids` as one table a project (a project with
        none gets an empty one), and the projects refused: values the columns can't
        hold, to be loaded as objects. `held`: by project, the entries the transaction
        holds as objects (the table maps them to their rows: `HourTable.seq_of`).
        `candidates`: ids the rows are likely to name (a hint)."""
        ...

    async def reference_events(self, after: int, limit: int, upto: int) -> list[RecordedEvent]:
        """Reference events (`REFERENCE_TYPES`) in `(after, upto]`, at most `limit`."""
        ...

    async def events_to_apply(
        self, applied: Mapping[str, int], upto: int, limit: int | None = None
    ) -> list[RecordedEvent]:
        """What each project of `applied` has still to apply (see the module's doc)."""
        ...

    async def write(self, writes: Writes) -> None:
        """Deletes first (a moved line leaves its source), then upserts and prices."""
        ...

    async def append_outcomes(self, outcomes: Sequence[EventData]) -> None:
        """Append finance messages, in order (call it last: see `adapters/outbox.py`)."""
        ...


class Projections(Protocol):
    @property
    def name(self) -> str:
        """What the logs call this projection (its schema)."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[ProjectionTransaction]:
        """A transaction that commits when its block ends (see the module's doc)."""
        ...

    def snapshot(self) -> AbstractAsyncContextManager[ProjectionTransaction]:
        """A read-only transaction that sees one moment."""
        ...
