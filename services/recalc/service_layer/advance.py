"""advance(projects, upto): bring projects' projections to a log position, in one
transaction, from the log of record (R1.1).

Redelivered or stale work is harmless: each project's stored `applied_position` says
what is already in its projection, and events at or below it are skipped. An
advisory lock per project fences two worker instances (e.g. after a rebalance).

`tally replay --swap` replaces the projection schema by a rebuilt one: every
transaction here waits out a swap (`fence_swap`) and drops its in-memory caches when
the projection it writes is not the one it cached from (its generation).

Storage is the `Projections` port (ports.py), wired by `bootstrap.py`: PostgreSQL in
the service, memory in the unit tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from services.recalc.domain.columns import NotColumnar
from services.recalc.domain.finance_book import FinanceBook
from services.recalc.domain.hour_table import HourTable
from services.recalc.domain.hours_needed import hours_needed
from services.recalc.domain.project_lines import Sums, sums_of
from services.recalc.domain.reference import ReferenceData
from services.recalc.domain.views import RecordView, TaskView
from services.recalc.service_layer.cache import ProjectCache
from services.recalc.service_layer.phase_timer import SLOW_SECONDS
from services.recalc.service_layer.phase_timer import PhaseClock as _Clock
from services.recalc.service_layer.ports import (
    Projections,
    ProjectionTransaction,
    Stored,
    Writes,
)
from shared.events import EventData, RecordedEvent, TaskMoved, project_of_stream

log = logging.getLogger(__name__)

_REF_CHUNK = 5000
#: lines held in memory across cached projects: tasks, expenses and billing records
#: (a cached project holds no hour entry, only their running sums: `_transaction`).
DEFAULT_CACHE_WEIGHT = 200_000
#: projects loaded from the projection by one transaction (see `advance`)
MAX_COLD = 32
#: events applied by one transaction: a project far behind (a catch-up) is advanced in
#: steps; one transaction of 90k events held about 300 MiB more at its peak, and with
#: 20k a catch-up peaked at 434 MiB, with 10k at 368 MiB (docs/decisions.md)
MAX_EVENTS = 10_000


class Advancer:
    """Owns the in-memory book, reference data and project cache of one worker."""

    def __init__(
        self,
        projections: Projections,
        *,
        publish: bool = True,
        cache_weight: int = DEFAULT_CACHE_WEIGHT,
        slow_seconds: float = SLOW_SECONDS,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self.projections = projections
        self.slow_seconds = slow_seconds
        self.max_events = max_events
        self.publish = publish
        self.reference = ReferenceData()
        self.book = FinanceBook(self.reference)
        self.cache = ProjectCache(cache_weight, self.book.drop)
        self._reference_read = 0  # every reference event <= this is applied
        self._generation: int | None = None  # oid of the schema the caches came from
        #: projects whose entries the columns refused (`NotColumnar`): priced as objects
        self.by_objects: set[str] = set()
        #: hour tables loaded ahead of their transaction (`load_ahead`), by project:
        #: (schema generation, applied position, table) as read in one snapshot
        self._ahead: dict[str, tuple[int | None, int, HourTable]] = {}
        self._ahead_task: asyncio.Task[None] | None = None
        self._ahead_projects: frozenset[str] = frozenset()

    def load_ahead(self, projects: Sequence[str]) -> None:
        """Start loading the hour tables of `projects` (the next batch of
        recalculations) on a connection of its own, so that PostgreSQL reads them
        while this process prices the batch before. Only a guess: the transaction that
        re-prices a project takes its table only if the project's applied position is
        still the one read with it (every write of a project's rows moves it), and
        loads for itself otherwise. At most one load ahead runs at a time."""
        if self._ahead_task is not None and not self._ahead_task.done():
            return
        wanted = [p for p in projects if p not in self.by_objects]
        if wanted:
            self._ahead_projects = frozenset(wanted)
            self._ahead_task = asyncio.create_task(self._load_ahead(wanted))

    def forget_ahead(self) -> None:
        """Drop the tables loaded ahead that no transaction took (the worker is idle:
        they were a wrong guess), unless a load ahead is still running."""
        if self._ahead_task is None or self._ahead_task.done():
            self._ahead = {}

    def stop_loading_ahead(self) -> None:
        """Cancel a load ahead still running, and forget what was loaded."""
        if self._ahead_task is not None:
            self._ahead_task.cancel()
            self._ahead_task = None
        self._ahead = {}

    async def _load_ahead(self, projects: list[str]) -> None:
        try:
            # one snapshot: the applied positions say what the tables hold
            async with self.projections.snapshot() as txn:
                generation = await txn.generation()
                applied = await txn.applied_positions(projects)
                tables, _ = await txn.load_tables(projects, {}, self.reference.ids())
        except Exception:  # the transaction loads for itself
            log.debug("loading %d tables ahead failed", len(projects), exc_info=True)
            return
        self._ahead = {p: (generation, applied.get(p, 0), t) for p, t in tables.items()}

    async def _tables_ahead(
        self, projects: Sequence[str], applied: dict[str, int], light: dict[str, Any]
    ) -> dict[str, HourTable]:
        """The tables loaded ahead for `projects` that are still what is stored (the
        same schema and applied position, and no entry held as an object). Tables
        loaded ahead for other projects stay for their own transaction."""
        task = self._ahead_task
        if task is not None and not task.done() and self._ahead_projects & set(projects):
            await asyncio.shield(task)
        out: dict[str, HourTable] = {}
        for project_id in projects:
            found = self._ahead.pop(project_id, None)
            if found is None:
                continue
            generation, at, table = found
            state = light[project_id]
            if generation == self._generation and at == applied[project_id] and not state.hours:
                out[project_id] = table
        return out

    async def advance(self, projects: Iterable[str], upto: int) -> set[str]:
        """Advance `projects` (and the other side of any task move) to `upto`.
        Returns every project advanced; on error the failed transaction's projects are
        not (earlier groups may be: advancing is idempotent) and their caches dropped.

        Projects that must be loaded go at most `MAX_COLD` a transaction: a batch of
        hundreds of cold projects would otherwise hold all their lines (and their rows
        as fetched) at once, which is what sets the worker's peak memory."""
        wanted = sorted(set(projects))
        cold = [p for p in wanted if p not in self.cache]
        if len(cold) <= MAX_COLD:
            return await self._transaction(wanted, upto)
        hot = [p for p in wanted if p in self.cache]
        groups = [hot + cold[:MAX_COLD]]
        groups += [cold[i : i + MAX_COLD] for i in range(MAX_COLD, len(cold), MAX_COLD)]
        touched: set[str] = set()
        for group in groups:
            touched |= await self._transaction(group, upto)
        return touched

    async def _transaction(self, projects: list[str], upto: int) -> set[str]:
        """As many transactions as it takes: each applies at most `MAX_EVENTS` events
        (a project far behind is brought up in steps, so that what one transaction
        holds, and the worker's peak memory with it, stays bounded)."""
        touched: set[str] = set()
        while True:
            try:
                done, reached = await self._transaction_once(projects, upto)
            except NotColumnar as exc:
                # A rate the columns can't hold (stored under older input limits): the
                # transaction is rolled back; that project is priced as objects now on.
                if exc.project_id is None or exc.project_id in self.by_objects:
                    raise
                log.warning("%s: priced as objects from now on", exc)
                self.by_objects.add(exc.project_id)
                continue
            touched |= done
            if reached >= upto:
                return touched

    async def _transaction_once(self, projects: list[str], upto: int) -> tuple[set[str], int]:
        """One transaction; returns the projects advanced and the position they reached
        (`upto`, or less when the events to apply were more than `MAX_EVENTS`)."""
        touched: set[str] = set()
        clock = _Clock(self.slow_seconds)
        try:
            async with self.projections.transaction() as txn:
                stored, reached = await self._advance(txn, set(projects), upto, touched, clock)
            clock.mark("commit")
        except BaseException:
            for project_id in touched:
                self.cache.pop(project_id, None)
                self.book.drop(project_id)
            raise
        for project_id, entry in stored.items():
            # Stored now: the cache holds no entry, only running sums. An event that
            # reads entries loads them (`_fill_hours`): as columns for a recalculation.
            entry.state.release_hours()
            self.cache.put(project_id, entry)
        clock.mark("cache")
        clock.report(f"advance of {len(touched)} project(s) to {reached}")
        return touched, reached

    async def _advance(
        self,
        txn: ProjectionTransaction,
        wanted: set[str],
        upto: int,
        touched: set[str],
        clock: _Clock,
    ) -> tuple[dict[str, Stored], int]:
        applied: dict[str, int] = {}
        previous: dict[str, Stored | None] = {}
        self._fence_swap(await txn.fence_swap())
        while True:
            new = sorted(wanted - touched)
            touched.update(new)
            # in sorted order, so that two workers lock in the same order
            await txn.lock(new)
            stored_at = await txn.applied_positions(new)
            for project_id in new:
                applied[project_id] = stored_at.get(project_id, 0)
            clock.mark("lock")
            await self._hold(txn, new, applied, previous)
            clock.mark("load")
            await self._catch_up_reference(txn, upto)
            events = await txn.events_to_apply(
                {p: applied[p] for p in touched}, upto, self.max_events
            )
            # At the cap, every event up to the last one read is here (they come in
            # position order): the projects reach that position in this transaction.
            reached = events[-1].position if len(events) >= self.max_events else upto
            clock.mark("read")
            others = _move_partners(events, applied) - touched
            if not others:
                break
            wanted |= others  # fixpoint: a move needs both of its projects
        await self._fill_hours(txn, events, applied)
        clock.mark("load")
        outcomes: list[EventData] = []
        for event in events:
            owner = project_of_stream(event.stream)
            if owner is None or event.position <= applied.get(owner, 0):
                continue
            outcomes.extend(self.book.apply(event))
        clock.mark("apply")
        writes = Writes()
        result: dict[str, Stored] = {}
        for project_id in sorted(touched):
            entry = self._collect(project_id, max(applied[project_id], reached), previous, writes)
            if entry is not None:
                result[project_id] = entry
        clock.mark("collect")
        clock.note(
            f"; events {len(events)}, hours whole {len(writes.hours)}"
            f" priced {len(writes.priced)} restamped {len(writes.restamped)}"
        )
        await txn.write(writes)
        clock.mark("write")
        if self.publish:
            await txn.append_outcomes(outcomes)
        clock.mark("outbox")
        return result, reached

    def _fence_swap(self, generation: int | None) -> None:
        """After a schema swap, forget what was cached from the old schema."""
        if generation != self._generation:
            if self._generation is not None:
                log.info("projection %s was swapped: caches dropped", self.projections.name)
            for project_id in list(self.book.projects):
                self.cache.pop(project_id, None)
                self.book.drop(project_id)
            self._ahead = {}
            self._generation = generation

    async def _hold(
        self,
        txn: ProjectionTransaction,
        project_ids: Sequence[str],
        applied: dict[str, int],
        previous: dict[str, Stored | None],
    ) -> None:
        """Put each project's state in the book: the cached one if it is what is stored."""
        to_load: list[str] = []
        for project_id in project_ids:
            cached = self.cache.get(project_id)
            if cached is not None and cached.applied == applied[project_id]:
                if self.book.projects.get(project_id) is not cached.state:
                    self.book.drop(project_id)
                    self.book.add(cached.state)
                previous[project_id] = cached
                continue
            self.cache.pop(project_id, None)
            self.book.drop(project_id)
            to_load.append(project_id)
        loaded = await txn.load(to_load, light=True)
        for project_id in to_load:
            entry = loaded.get(project_id)
            previous[project_id] = entry
            if entry is not None:
                self.book.add(entry.state)

    async def _fill_hours(
        self, txn: ProjectionTransaction, events: Sequence[RecordedEvent], applied: dict[str, int]
    ) -> None:
        """Load the hour entries the events read (domain.needs) into the held states:
        named ones and a moved task's as objects, then every entry of a project to
        re-price as columns (the objects' rows are left to them: `HourTable.live`)."""
        needed = hours_needed(events)
        held = self.book.projects
        light = {p: s for p, s in held.items() if not s.hours_complete}
        named: set[str] = set()
        projects: list[str] = []
        for project_id, ids in needed.ids.items():
            state = light.get(project_id)
            if state is not None and (missing := ids - state.hours.keys()):
                named |= missing
                projects.append(project_id)
        if named:
            for project_id, hours in (await txn.load_hours(projects, named)).items():
                held[project_id].hold_hours(hours)
        for project_id, task_ids in needed.tasks.items():
            state = light.get(project_id)
            if state is not None and (tasks := task_ids - state.whole_tasks):
                loaded = await txn.load_hours([project_id], task_ids=tasks)
                state.hold_task_hours(tasks, loaded.get(project_id, ()))
        whole = sorted(
            p
            for p in needed.whole
            if p in light and light[p].columns is None and p not in self.by_objects
        )
        refused: list[str] = []
        if whole:
            tables = await self._tables_ahead(whole, applied, light)
            rest = [p for p in whole if p not in tables]
            if rest:
                loaded_now, refused = await txn.load_tables(
                    rest, {p: light[p].hours.keys() for p in rest}, self.reference.ids()
                )
                tables.update(loaded_now)
            for project_id, table in tables.items():
                light[project_id].hold_columns(table)
        # As objects: what the columns can't hold exactly (stored under older limits).
        objects = sorted(refused + [p for p in needed.whole if p in light and p in self.by_objects])
        loaded = await txn.load_hours(objects)
        for project_id in objects:  # (a project with no stored entry yet has none)
            held[project_id].complete_hours(loaded.get(project_id, ()))

    async def _catch_up_reference(self, txn: ProjectionTransaction, upto: int) -> None:
        while self._reference_read < upto:
            events = await txn.reference_events(self._reference_read, _REF_CHUNK, upto)
            for event in events:
                self.reference.apply(event)
            if len(events) < _REF_CHUNK:
                self._reference_read = upto
            else:
                self._reference_read = events[-1].position

    def _collect(
        self,
        project_id: str,
        applied: int,
        previous: dict[str, Stored | None],
        writes: Writes,
    ) -> Stored | None:
        """Gather one project's writes; returns what the cache should hold after commit."""
        state = self.book.projects.get(project_id)
        if state is None:  # not created (yet): nothing to store
            return None
        prev = previous.get(project_id)
        changes = state.take_changes()
        totals = self.book.totals(project_id)
        writes.projects.append((state.info, applied, totals, sums_of(state.task_actuals(None))))
        writes.removed_tasks.extend((project_id, t) for t in changes.removed_tasks)
        writes.removed_hours.extend((project_id, h) for h in changes.removed_hours)
        writes.removed_expenses.extend((project_id, e) for e in changes.removed_expenses)
        writes.removed_records.extend((project_id, r) for r in changes.removed_records)
        hours = state.hours
        whole = changes.hours - changes.repriced - changes.restamped
        writes.hours.extend(hours[h] for h in whole if h in hours)
        writes.priced.extend(hours[h] for h in changes.repriced if h in hours)
        writes.restamped.extend(hours[h] for h in changes.restamped if h in hours)
        if state.columns is not None:
            writes.tables[project_id] = state.columns
        writes.expenses.extend(state.expenses[e] for e in changes.expenses if e in state.expenses)
        task_views: dict[str, TaskView] = dict(prev.task_views) if prev else {}
        task_sums: dict[str, Sums] = dict(prev.task_sums) if prev else {}
        record_views: dict[str, RecordView] = dict(prev.record_views) if prev else {}
        if not changes.empty or prev is None or prev.totals != totals:
            # Views derive from sums over lines; recompute them all (O(tasks + records))
            # and write those that differ from what is stored.
            for task_id in changes.removed_tasks:
                task_views.pop(task_id, None)
                task_sums.pop(task_id, None)
            for record_id in changes.removed_records:
                record_views.pop(record_id, None)
            for task in state.tasks.values():
                task_id = task.task_id
                view = self.book.task_view(project_id, task_id)
                # The sums too: a capped task's view can stay while its revenue sum moves.
                sums = sums_of(state.task_actuals(task_id))
                if (
                    task_id in changes.tasks
                    or task_views.get(task_id) != view
                    or task_sums.get(task_id) != sums
                ):
                    writes.tasks.append((task, view, sums))
                    task_views[task_id] = view
                    task_sums[task_id] = sums
            for record in state.records.values():
                rview = self.book.record_view(record.billing_record_id)
                rid = record.billing_record_id
                if rid in changes.records or record_views.get(rid) != rview:
                    writes.records.append((record, rview))
                    record_views[rid] = rview
        return Stored(state, applied, totals, task_views, record_views, task_sums)


def _move_partners(events: Sequence[RecordedEvent], applied: dict[str, int]) -> set[str]:
    """Both projects of every task move among `events` still to apply."""
    out: set[str] = set()
    for event in events:
        if not isinstance(event.data, TaskMoved):
            continue
        pair = {event.data.to_project_id, project_of_stream(event.stream) or ""} - {""}
        if any(event.position > applied[p] for p in pair if p in applied):
            out |= pair
    return out
