"""Finances as of a log position: replay the log up to N with the pure core (R1.1).

`book_as_of(conn, project, N)` replays the project and every project linked to it
by a task move up to N (their histories shape the moved tasks, and a move needs
both of its projects held), with reference data as known up to N. The `*_rows`
functions turn the replayed book into mappings with the column names of the
projection tables, so the live reads and the `as_of` reads share their formatting
(`entrypoints.bodies`) and compare equal, to the cent.

Rules: docs/rules.md#r1.1; docs/contract.md#as-of.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from services.recalc.adapters.projection_rows import (
    HOUR,
    PROJECT,
    RECORD,
    RECORD_VIEW,
    TASK,
    TASK_VIEW,
    TOTAL_COLUMNS,
    TOTAL_FIELDS,
)
from services.recalc.domain.finance_book import FinanceBook
from services.recalc.domain.reference import ReferenceData
from services.recalc.domain.state import ProjectState
from services.recalc.domain.views import PricingObserver
from services.recalc.service_layer.isolation import CannotPrice, describe
from services.recalc.service_layer.ports import REFERENCE_TYPES
from shared.events import project_of_stream
from shared.infra import eventlog

READ_CHUNK = 10_000

Row = dict[str, Any]


async def linked_projects(conn: Any, project_id: str, upto: int) -> set[str]:
    """`project_id` and, transitively, every project a task moved into or out of it
    at a position <= `upto`."""
    found = {project_id}
    frontier = {project_id}
    while frontier:
        rows = await conn.fetch(
            "SELECT stream, data->>'to_project_id' AS target FROM events"
            " WHERE type = 'TaskMoved' AND position <= $1"
            " AND (stream = ANY($2::text[]) OR data->>'to_project_id' = ANY($3::text[]))",
            upto,
            [f"project-{p}" for p in frontier],
            list(frontier),
        )
        linked: set[str] = set()
        for row in rows:
            source = project_of_stream(row["stream"])
            linked |= {p for p in (source, row["target"]) if p}
        frontier = linked - found
        found |= frontier
    return found


async def reference_as_of(conn: Any, upto: int) -> ReferenceData:
    reference = ReferenceData()
    await _feed(conn, reference, 0, upto)
    return reference


async def _feed(conn: Any, reference: ReferenceData, after: int, upto: int) -> None:
    """Apply the reference events in (after, upto] to `reference`, in position order."""
    while True:
        events = await eventlog.read_after(
            conn, after, READ_CHUNK, types=REFERENCE_TYPES, upto=upto
        )
        for event in events:
            reference.apply(event)
        if len(events) < READ_CHUNK:
            return
        after = events[-1].position


class SharedReference:
    """One `ReferenceData` for all the `as_of` reads of a process, fed forward as far
    as the latest position asked for. Every look-up of the pricing core names the
    position it answers for (R1.2), so reference data fed past N answers as known at
    N: a read at N needs it fed at least to N, and a read at an earlier position
    reuses it as it is (the worker relies on the same: its reference runs ahead of the
    events of a batch). This saves reading the reference data on every read (a
    position slider asks at many positions)."""

    def __init__(self) -> None:
        self._reference = ReferenceData()
        self._fed = 0  # fed with every reference event at or before this position
        self._lock = asyncio.Lock()

    async def at_least(self, conn: Any, upto: int) -> ReferenceData:
        if upto > self._fed:
            async with self._lock:
                if upto > self._fed:
                    await _feed(conn, self._reference, self._fed, upto)
                    self._fed = upto
        return self._reference


async def replay_projects(
    conn: Any,
    project_ids: Iterable[str],
    upto: int,
    observer: PricingObserver | None = None,
    reference: SharedReference | None = None,
) -> FinanceBook:
    """A book holding `project_ids` as the live projection held them right after `upto`.
    The set must be closed under task moves (see `linked_projects`). The book is quiet
    (nothing to publish: no totals around every event, no outcomes), so its totals are
    summed once here, where a total pricing cannot carry would fail. The reference data
    comes from `reference` when given, else is read up to `upto`."""
    known = (
        await reference_as_of(conn, upto)
        if reference is None
        else await reference.at_least(conn, upto)
    )
    book = FinanceBook(known, quiet=True)
    book.observer = observer
    ids = sorted(project_ids)
    # An observer is told each event's type: it needs them whole.
    events: eventlog.History = (
        await eventlog.read_history(conn, ids, 0, upto)
        if observer is None
        else list(await eventlog.read_for_projects(conn, ids, 0, upto))
    )
    apply = book.apply_stored
    for event in events:
        try:
            apply(event)
        except Exception as exc:  # pure code: not the database, a project it cannot price
            project_id = project_of_stream(event.stream) or event.stream
            raise CannotPrice(project_id, event.position, describe(exc)) from exc
    for project_id in book.projects:
        try:
            book.totals(project_id)
        except Exception as exc:
            raise CannotPrice(project_id, upto, describe(exc)) from exc
    return book


async def book_as_of(
    conn: Any,
    project_id: str,
    upto: int,
    observer: PricingObserver | None = None,
    reference: SharedReference | None = None,
) -> FinanceBook:
    return await replay_projects(
        conn, await linked_projects(conn, project_id, upto), upto, observer, reference
    )


async def record_project_as_of(conn: Any, record_id: str, upto: int) -> str | None:
    """The project of a billing record created at or before `upto` (records never move)."""
    stream = await conn.fetchval(
        "SELECT stream FROM events WHERE type = 'BillingRecordCreated'"
        " AND data->>'billing_record_id' = $1 AND position <= $2 ORDER BY position LIMIT 1",
        record_id,
        upto,
    )
    return None if stream is None else project_of_stream(str(stream))


# -- rows with the projection's column names -------------------------------------------


def project_row(book: FinanceBook, project_id: str, position: int) -> Row:
    state = book.projects[project_id]
    row: Row = {c.name: c.get(state.info) for c in PROJECT}
    row["applied_position"] = position
    totals = book.totals(project_id)
    for name, column in zip(TOTAL_FIELDS, TOTAL_COLUMNS, strict=True):
        row[column] = getattr(totals, name)
    return row


def task_rows(book: FinanceBook, project_id: str) -> list[Row]:
    state = book.projects[project_id]
    out: list[Row] = []
    for task_id in sorted(state.tasks):
        task = state.tasks[task_id]
        view = book.task_view(project_id, task_id)
        row: Row = {c.name: c.get(task) for c in TASK}
        row.update({c.name: c.get(view) for c in TASK_VIEW})
        out.append(row)
    return out


def locked_by(state: ProjectState, record_id: str | None) -> str | None:
    """The record holding an entry, while that record is billed (R7.3)."""
    record = state.records.get(record_id) if record_id is not None else None
    return record_id if record is not None and record.status == "billed" else None


def hour_rows(book: FinanceBook, project_id: str) -> list[Row]:
    state = book.projects[project_id]
    out: list[Row] = []
    for hour in sorted(state.hours.values(), key=lambda h: (h.entry_date, h.hour_id)):
        row: Row = {c.name: c.get(hour) for c in HOUR}
        row["locked_by"] = locked_by(state, hour.billing_record_id)
        out.append(row)
    return out


def record_row(book: FinanceBook, record_id: str) -> Row | None:
    for state in book.projects.values():
        record = state.records.get(record_id)
        if record is None:
            continue
        view = book.record_view(record_id)
        row: Row = {c.name: c.get(record) for c in RECORD}
        row["hour_ids"] = list(record.hour_ids)
        row["expense_ids"] = list(record.expense_ids)
        row["task_ids"] = list(record.task_ids)
        row.update({c.name: c.get(view) for c in RECORD_VIEW})
        return row
    return None
