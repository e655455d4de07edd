"""Blue/green rebuild of the projections from the log (`tally replay`).

The whole log is read in large batches and applied to one in-memory book, with the
reference data applied in position order, exactly as the workers and `as_of` do
(R1.1). Everything is written in bulk to a fresh schema `projection_next`, compared
with the live `projection` table by table (differences are printed per project),
and, on request, swapped in: under the exclusive swap lock (workers wait), the
rebuild is caught up to the head of the log, the schemas are renamed in one
transaction, and workers drop their caches (`Advancer._fence_swap`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.recalc.adapters.outbox import append_outcomes
from services.recalc.adapters.store import ProjectionStore, Writes
from services.recalc.domain.book import FinanceBook
from services.recalc.domain.reference import ReferenceData
from services.recalc.service_layer.advance import REFERENCE_TYPES, SWAP_LOCK
from services.recalc.service_layer.compare import Difference, behind_projects, compare
from shared.events import EventData, TaskMoved, project_of_stream
from shared.infra import eventlog

LIVE = "projection"
NEXT = "projection_next"
TABLES = ("projects", "tasks", "hours", "expenses", "billing_records")
BATCH = 10_000
WRITE_CHUNK = 20_000  # lines per bulk statement

_REFERENCE = frozenset(REFERENCE_TYPES)


@dataclass(slots=True)
class Report:
    position: int = 0  # the log position the rebuild includes
    events: int = 0
    read_seconds: float = 0.0
    write_seconds: float = 0.0
    differences: dict[str, list[Difference]] = field(default_factory=dict)
    behind: list[str] = field(default_factory=list)  # live projects not yet at `position`
    swapped_to: str | None = None  # the old schema's new name, after a swap

    @property
    def events_per_second(self) -> float:
        return self.events / self.read_seconds if self.read_seconds > 0 else 0.0


class Replayer:
    """Holds the rebuilt book between the rebuild, the comparison and the swap."""

    def __init__(self, *, batch: int = BATCH) -> None:
        self.batch = batch
        self.reference = ReferenceData()
        self.book = FinanceBook(self.reference)
        self.position = 0
        self.report = Report()
        self.store = ProjectionStore(NEXT)

    def apply(self, events: Iterable[Any]) -> tuple[set[str], list[EventData]]:
        """Apply events in position order; the projects they touch and the outcomes."""
        touched: set[str] = set()
        outcomes: list[EventData] = []
        reference, book = self.reference, self.book
        for event in events:
            data = event.data
            if data.event_type in _REFERENCE:
                reference.apply(event)
            project_id = project_of_stream(event.stream)
            if project_id is not None:
                touched.add(project_id)
                if isinstance(data, TaskMoved):
                    touched.add(data.to_project_id)
                outcomes.extend(book.apply(event))
            self.position = event.position
        return touched, outcomes

    async def read(
        self, conn: Any, upto: int, *, keep_outcomes: bool = False
    ) -> tuple[set[str], list[EventData]]:
        """Read and apply (self.position, upto] in batches."""
        touched: set[str] = set()
        outcomes: list[EventData] = []
        started = time.perf_counter()
        while self.position < upto:
            events = await eventlog.read_after(conn, self.position, self.batch, upto=upto)
            if not events:
                raise RuntimeError(f"log head is {upto} but no event after {self.position}")
            more_touched, more_outcomes = self.apply(events)
            touched |= more_touched
            if keep_outcomes:
                outcomes.extend(more_outcomes)
            self.report.events += len(events)
        self.report.read_seconds += time.perf_counter() - started
        self.report.position = self.position
        return touched, outcomes

    async def create_next(self, conn: Any) -> None:
        await conn.execute(f"DROP SCHEMA IF EXISTS {NEXT} CASCADE")
        await conn.execute(f"CREATE SCHEMA {NEXT}")
        for table in TABLES:
            await conn.execute(f"CREATE TABLE {NEXT}.{table} (LIKE {LIVE}.{table} INCLUDING ALL)")

    async def write(self, conn: Any, project_ids: Iterable[str]) -> None:
        """Write the whole state of `project_ids` to `projection_next`, in bulk."""
        started = time.perf_counter()
        book = self.book
        writes = Writes()
        lines = 0
        for project_id in sorted(project_ids):
            state = book.projects.get(project_id)
            if state is None:
                continue
            state.take_changes()  # everything is written: nothing is pending any more
            writes.projects.append((state.info, self.position, book.totals(project_id)))
            writes.tasks.extend(
                (task, book.task_view(project_id, task_id)) for task_id, task in state.tasks.items()
            )
            writes.hours.extend(state.hours.values())
            writes.expenses.extend(state.expenses.values())
            writes.records.extend(
                (record, book.record_view(record_id)) for record_id, record in state.records.items()
            )
            lines += 1 + len(state.tasks) + len(state.hours) + len(state.expenses)
            if lines >= WRITE_CHUNK:
                await self.store.write(conn, writes)
                writes, lines = Writes(), 0
        await self.store.write(conn, writes)
        self.report.write_seconds += time.perf_counter() - started

    async def rebuild(self, conn: Any) -> Report:
        """Replay the whole log into `projection_next` (live reads keep working)."""
        await self.create_next(conn)
        upto = await eventlog.head(conn)
        await self.read(conn, upto)
        async with conn.transaction():
            await self.write(conn, self.book.projects)
        return self.report

    async def compare(self, conn: Any, *, wait_seconds: float = 10.0) -> Report:
        """Differences between the live projection and the rebuild, per project. Live
        projects that have not applied the rebuild's position yet are waited for, then
        reported as behind (not as differences)."""
        deadline = time.monotonic() + wait_seconds
        while True:
            behind = await behind_projects(conn, LIVE, NEXT, self.position)
            if not behind or time.monotonic() >= deadline:
                break
            await _sleep(0.2)
        self.report.behind = sorted(behind)
        differences = await compare(conn, LIVE, NEXT)
        self.report.differences = {
            pid: diffs for pid, diffs in differences.items() if pid not in behind
        }
        return self.report

    async def swap(self, conn: Any) -> str:
        """Catch the rebuild up to the head and make it the live schema. Workers are
        excluded meanwhile; finance messages the live workers have not published yet
        (their projects lag behind the head) are published here, once."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", SWAP_LOCK)
            head = await eventlog.head(conn)
            touched, outcomes = await self.read(conn, head, keep_outcomes=True)
            await self._delete_projects(conn, touched)
            await self.write(conn, touched)
            await conn.execute(f"UPDATE {NEXT}.projects SET applied_position = $1", head)
            live = {
                r["project_id"]: int(r["applied_position"])
                for r in await conn.fetch(
                    f"SELECT project_id, applied_position FROM {LIVE}.projects"
                )
            }
            await append_outcomes(
                conn,
                [
                    o
                    for o in outcomes
                    if getattr(o, "position", 0) > live.get(getattr(o, "project_id", ""), 0)
                ],
            )
            old = f"projection_old_{datetime.now(UTC):%Y%m%d%H%M%S}"
            await conn.execute(f"ALTER SCHEMA {LIVE} RENAME TO {old}")
            await conn.execute(f"ALTER SCHEMA {NEXT} RENAME TO {LIVE}")
        self.report.swapped_to = old
        return old

    async def _delete_projects(self, conn: Any, project_ids: Iterable[str]) -> None:
        ids = list(project_ids)
        if ids:
            for table in TABLES:
                await conn.execute(
                    f"DELETE FROM {NEXT}.{table} WHERE project_id = ANY($1::text[])", ids
                )


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
