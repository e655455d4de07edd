"""The `Projections` port in memory: the log, the projection and the finance outbox of
one process, for the service layer's unit tests and tools.

It keeps the port's contract (`tests/contracts/projections_contract.py` runs against
it and against PostgreSQL): what a load answers is a copy of what was written, never
an object a caller holds; an entry not kept reads as priced at the later of its own
position and its project's `hours_priced_at`; a transaction commits whole when its
block ends, or not at all. Transactions run one at a time (one lock for all, where
PostgreSQL locks a project each); a snapshot reads the state of its start and never
waits. Unlike PostgreSQL, a transaction does not read its own writes: writes are
applied at its commit (the advancer writes last).

Faults: `fail_next_write(exc)` fails the next transaction's write with `exc`, before
anything of it is applied (the transaction is then rolled back).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from services.recalc.domain.columns import NotColumnar
from services.recalc.domain.hour_table import HourTable, from_entries, set_row
from services.recalc.domain.project_lines import (
    BillingRecordState,
    ExpenseState,
    HourEntry,
    LineSums,
    ProjectInfo,
    Sums,
    TaskState,
)
from services.recalc.domain.state import ProjectState
from services.recalc.domain.views import RecordView, TaskView
from services.recalc.service_layer.ports import REFERENCE_TYPES, Stored, Writes
from shared.events import EventData, ProjectTotals, RecordedEvent, TaskMoved


@dataclass(slots=True)
class _Project:
    info: ProjectInfo
    applied: int
    totals: ProjectTotals
    own: Sums  # sums of the hours on the project itself


@dataclass(slots=True)
class _State:
    """What is committed. A commit builds a new one (the dicts copied, every changed
    line a new object), so a snapshot keeps reading the one it started with."""

    generation: int = 1
    projects: dict[str, _Project] = field(default_factory=dict)
    tasks: dict[str, tuple[TaskState, TaskView, Sums]] = field(default_factory=dict)
    #: by hour id: (storage key, entry as written)
    hours: dict[str, tuple[int, HourEntry]] = field(default_factory=dict)
    expenses: dict[str, ExpenseState] = field(default_factory=dict)
    records: dict[str, tuple[BillingRecordState, RecordView]] = field(default_factory=dict)
    next_seq: int = 1

    def copy(self) -> _State:
        return _State(
            self.generation,
            dict(self.projects),
            dict(self.tasks),
            dict(self.hours),
            dict(self.expenses),
            dict(self.records),
            self.next_seq,
        )


def _as_read(hour: HourEntry, info: ProjectInfo | None) -> HourEntry:
    """A copy of a stored entry as every load reads it (`rows.PRICED_AT`)."""
    out = copy.copy(hour)
    floor = info.hours_priced_at if info is not None else None
    if not out.kept and floor is not None:
        out.priced_at = max(out.priced_at, floor)
    return out


class MemoryProjectionTransaction:
    def __init__(self, owner: MemoryProjections, state: _State, head: int, *, readonly: bool):
        self._owner = owner
        self._state = state
        self._head = head  # the log as this transaction sees it: positions <= head
        self._readonly = readonly
        self.writes: list[Writes] = []
        self.outcomes: list[EventData] = []

    # -- the log ----------------------------------------------------------------------

    def _events(self, after: int, upto: int) -> list[RecordedEvent]:
        return self._owner.log[max(after, 0) : min(upto, self._head)]

    async def reference_events(self, after: int, limit: int, upto: int) -> list[RecordedEvent]:
        found = [e for e in self._events(after, upto) if e.type in REFERENCE_TYPES]
        return found[:limit]

    async def events_to_apply(
        self, applied: Mapping[str, int], upto: int, limit: int | None = None
    ) -> list[RecordedEvent]:
        if not applied:
            return []
        streams = {f"project-{p}": p for p in applied}
        out: list[RecordedEvent] = []
        for event in self._events(min(applied.values()), upto):
            project = streams.get(event.stream)
            if project is None and isinstance(event.data, TaskMoved):
                # (a move out of a project of `applied` comes with its stream: both
                # projects of a move are advanced together, `Advancer._advance`)
                target = event.data.to_project_id
                project = target if target in applied else None
            if project is not None and event.position > applied[project]:
                out.append(event)
                if limit is not None and len(out) >= limit:
                    break
        return out

    # -- locks ------------------------------------------------------------------------

    async def fence_swap(self) -> int | None:
        return self._state.generation

    async def generation(self) -> int | None:
        return self._state.generation

    async def lock(self, project_ids: Sequence[str]) -> None:
        """(Held already: transactions run one at a time.)"""

    # -- reads ------------------------------------------------------------------------

    async def applied_positions(self, project_ids: Sequence[str]) -> dict[str, int]:
        projects = self._state.projects
        return {p: projects[p].applied for p in project_ids if p in projects}

    async def load(self, project_ids: Sequence[str], *, light: bool = False) -> dict[str, Stored]:
        s = self._state
        wanted = {p for p in project_ids if p in s.projects}
        tasks = [t for t in s.tasks.values() if t[0].project_id in wanted]
        expenses = [e for e in s.expenses.values() if e.project_id in wanted]
        records = [r for r in s.records.values() if r[0].project_id in wanted]
        hours = [] if light else self._hours(wanted)
        out: dict[str, Stored] = {}
        for project_id in sorted(wanted):
            stored = s.projects[project_id]
            info = copy.deepcopy(stored.info)
            mine = [t for t in tasks if t[0].project_id == project_id]
            task_lines = [copy.deepcopy(t) for t, _, _ in mine]
            expense_lines = [copy.deepcopy(e) for e in expenses if e.project_id == project_id]
            own_records = [r for r in records if r[0].project_id == project_id]
            record_lines = [copy.deepcopy(r) for r, _ in own_records]
            record_views = {r.billing_record_id: v for r, v in own_records}
            if light:
                actuals: dict[str | None, LineSums] = {
                    t.task_id: LineSums(*sums) for t, _, sums in mine
                }
                actuals[None] = LineSums(*stored.own)
                state = ProjectState.restore_light(
                    info,
                    task_lines,
                    expense_lines,
                    record_lines,
                    actuals,
                    {k: v.billable_hours_amount for k, v in record_views.items()},
                )
            else:
                own_hours = [h for h in hours if h.project_id == project_id]
                state = ProjectState.restore(
                    info, task_lines, own_hours, expense_lines, record_lines
                )
            out[project_id] = Stored(
                state=state,
                applied=stored.applied,
                totals=stored.totals,
                task_views={t.task_id: v for t, v, _ in mine},
                record_views=record_views,
                task_sums={t.task_id: sums for t, _, sums in mine},
            )
        return out

    def _hours(
        self,
        projects: Collection[str],
        keep: Any = None,
    ) -> list[HourEntry]:
        """Stored entries of `projects` (those `keep` accepts), as read, in storage order."""
        s = self._state
        rows = sorted(
            (seq, h)
            for seq, h in s.hours.values()
            if h.project_id in projects and (keep is None or keep(h))
        )
        return [_as_read(h, self._info(h.project_id)) for _, h in rows]

    def _info(self, project_id: str) -> ProjectInfo | None:
        stored = self._state.projects.get(project_id)
        return None if stored is None else stored.info

    async def load_hours(
        self,
        project_ids: Collection[str],
        hour_ids: Collection[str] | None = None,
        *,
        task_ids: Collection[str] | None = None,
    ) -> dict[str, list[HourEntry]]:
        if hour_ids is not None:
            named = set(hour_ids)
            hours = self._hours(set(project_ids), lambda h: h.hour_id in named)
        elif task_ids is not None:
            tasks = set(task_ids)
            hours = self._hours(set(project_ids), lambda h: h.task_id in tasks)
        else:
            hours = self._hours(set(project_ids))
        out: dict[str, list[HourEntry]] = {}
        for hour in hours:
            out.setdefault(hour.project_id, []).append(hour)
        return out

    async def load_tables(
        self,
        project_ids: Sequence[str],
        held: Mapping[str, Collection[str]],
        candidates: Collection[str] = (),
    ) -> tuple[dict[str, HourTable], list[str]]:
        s = self._state
        tables: dict[str, HourTable] = {}
        refused: list[str] = []
        for project_id in project_ids:
            hours = self._hours({project_id})
            try:
                table = from_entries(hours)
            except NotColumnar:
                refused.append(project_id)
                continue
            seqs = {h.hour_id: s.hours[h.hour_id][0] for h in hours}
            tables[project_id] = dataclasses.replace(
                table,
                seq=np.array([seqs[h.hour_id] for h in hours], dtype=np.int64),
                seq_of={h: seqs[h] for h in held.get(project_id, ()) if h in seqs},
            )
        return tables, sorted(refused)

    # -- writes -----------------------------------------------------------------------

    async def write(self, writes: Writes) -> None:
        if self._readonly:
            raise RuntimeError("a snapshot writes nothing")
        fault, self._owner.fault = self._owner.fault, None
        if fault is not None:
            raise fault
        self.writes.append(copy.deepcopy(writes))

    async def append_outcomes(self, outcomes: Sequence[EventData]) -> None:
        if self._readonly:
            raise RuntimeError("a snapshot writes nothing")
        self.outcomes.extend(outcomes)

    def committed(self) -> _State:
        """The state after this transaction's writes."""
        s = self._state.copy()
        for writes in self.writes:
            _apply(s, writes)
        return s


def _apply(s: _State, w: Writes) -> None:
    """One `Writes` on `s`, in the order PostgreSQL applies them (`store.write`)."""
    for project_id, task_id in w.removed_tasks:
        if task_id in s.tasks and s.tasks[task_id][0].project_id == project_id:
            del s.tasks[task_id]
    for project_id, hour_id in w.removed_hours:
        if hour_id in s.hours and s.hours[hour_id][1].project_id == project_id:
            del s.hours[hour_id]
    for project_id, expense_id in w.removed_expenses:
        if expense_id in s.expenses and s.expenses[expense_id].project_id == project_id:
            del s.expenses[expense_id]
    for project_id, record_id in w.removed_records:
        if record_id in s.records and s.records[record_id][0].project_id == project_id:
            del s.records[record_id]
    by_seq = {seq: hour_id for hour_id, (seq, _) in s.hours.items()}
    for project_id, table in w.tables.items():
        for i in np.flatnonzero(table.written).tolist():
            row_id = by_seq.get(int(table.seq[i]))
            if row_id is None or s.hours[row_id][1].project_id != project_id:
                continue
            seq, hour = s.hours[row_id]
            hour = copy.copy(hour)
            set_row(hour, table, i)
            s.hours[row_id] = (seq, hour)
    for info, applied, totals, own in w.projects:
        s.projects[info.project_id] = _Project(info, applied, totals, own)
    for task, view, sums in w.tasks:
        s.tasks[task.task_id] = (task, view, sums)
    for hour in w.hours:
        found = s.hours.get(hour.hour_id)
        if found is None:
            s.hours[hour.hour_id] = (s.next_seq, hour)
            s.next_seq += 1
        else:
            s.hours[hour.hour_id] = (found[0], hour)
    for priced in w.priced:
        found = s.hours.get(priced.hour_id)
        if found is not None and found[1].project_id == priced.project_id:
            s.hours[priced.hour_id] = (
                found[0],
                dataclasses.replace(
                    found[1],
                    cost=priced.cost,
                    revenue=priced.revenue,
                    cost_rate=priced.cost_rate,
                    billing_rate=priced.billing_rate,
                    cost_rate_source=priced.cost_rate_source,
                    billing_rate_source=priced.billing_rate_source,
                    priced_at=priced.priced_at,
                    kept=False,
                ),
            )
    for restamped in w.restamped:
        found = s.hours.get(restamped.hour_id)
        if found is not None and found[1].project_id == restamped.project_id:
            s.hours[restamped.hour_id] = (
                found[0],
                dataclasses.replace(found[1], priced_at=restamped.priced_at, kept=restamped.kept),
            )
    for expense in w.expenses:
        s.expenses[expense.expense_id] = expense
    for record, record_view in w.records:
        s.records[record.billing_record_id] = (record, record_view)


class MemoryProjections:
    """The log (append with `append`), the projection and the finance outbox."""

    def __init__(self, name: str = "memory") -> None:
        self._name = name
        self.log: list[RecordedEvent] = []
        #: finance messages appended, in order
        self.outbox: list[EventData] = []
        self.fault: BaseException | None = None
        self._state = _State()
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self._name

    def append(
        self, stream: str, data: EventData, recorded_at: datetime | None = None
    ) -> RecordedEvent:
        """Add an event to the log, at the next position (committed at once)."""
        version = 1 + sum(1 for e in self.log if e.stream == stream)
        event = RecordedEvent(
            position=len(self.log) + 1,
            event_id=f"memory-{len(self.log) + 1}",
            stream=stream,
            version=version,
            recorded_at=recorded_at or datetime(2023, 6, 19, 12, tzinfo=UTC),
            actor="memory",
            data=data,
        )
        self.log.append(event)
        return event

    def swap(self, rebuilt: MemoryProjections | None = None) -> None:
        """As `tally replay --swap` does: the projection is replaced by `rebuilt`'s (by
        an equal one if None), and its generation changes."""
        source = self._state if rebuilt is None else rebuilt._state
        self._state = dataclasses.replace(source.copy(), generation=self._state.generation + 1)

    def fail_next_write(self, exc: BaseException) -> None:
        self.fault = exc

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryProjectionTransaction]:
        async with self._lock:
            txn = MemoryProjectionTransaction(self, self._state, len(self.log), readonly=False)
            yield txn
            # committed: every write of it at once
            self._state = txn.committed()
            self.outbox.extend(txn.outcomes)

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[MemoryProjectionTransaction]:
        yield MemoryProjectionTransaction(self, self._state, len(self.log), readonly=True)
