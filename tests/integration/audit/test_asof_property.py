"""Issue 4.1: for random valid histories, `as_of=N` equals what the live projection
held right after N, for every read view, at every position, to the cent (R1.1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from audit_histories import PREAMBLE, PROJECTS, RECORDS, histories, parsed
from audit_kit import HISTORY_SETTINGS, NOON, append_if_valid, history_log
from hypothesis import given, settings

from services.recalc.adapters.projection_reads import ProjectionReader
from services.recalc.adapters.store import ProjectionStore
from services.recalc.bootstrap import projections
from services.recalc.entrypoints.bodies import (
    finances_body,
    hours_body,
    record_body,
    tasks_body,
)
from services.recalc.service_layer import asof
from services.recalc.service_layer.advance import Advancer
from shared.infra.db import raw

pytestmark = pytest.mark.integration

Views = dict[str, Any]


async def live_views(conn: Any, reader: ProjectionReader) -> Views:
    out: Views = {}
    for pid in PROJECTS:
        row = await reader.project(conn, pid)
        if row is not None:
            out[pid] = (
                finances_body(row),
                tasks_body(row, await reader.tasks(conn, pid)),
                hours_body(row, await reader.hours(conn, pid)),
            )
    for rid in RECORDS:
        row = await reader.record(conn, rid)
        if row is not None:
            out[rid] = record_body(row, await reader.applied_position(conn, row["project_id"]))
    return out


async def as_of_views(
    conn: Any, position: int, reference: asof.SharedReference | None = None
) -> Views:
    out: Views = {}
    for pid in PROJECTS:
        book = await asof.book_as_of(conn, pid, position, reference=reference)
        if pid in book.projects:
            project = asof.project_row(book, pid, position)
            out[pid] = (
                finances_body(project),
                tasks_body(project, asof.task_rows(book, pid)),
                hours_body(project, asof.hour_rows(book, pid)),
            )
    for rid in RECORDS:
        owner = await asof.record_project_as_of(conn, rid, position)
        if owner is not None:
            book = await asof.book_as_of(conn, owner, position, reference=reference)
            row = asof.record_row(book, rid)
            assert row is not None
            out[rid] = record_body(row, position)
    return out


@settings(HISTORY_SETTINGS, max_examples=15)
@given(history=histories)
async def test_as_of_equals_live_projection_at_every_position(
    pg_server: Any, history: list[tuple[str, dict[str, Any]]]
) -> None:
    async with history_log(pg_server) as (engine, ledger):
        advancer = Advancer(projections(engine), cache_weight=50)  # small: loads are exercised
        reader = ProjectionReader(ProjectionStore())
        snapshots: dict[int, Views] = {}
        for data in parsed(PREAMBLE + history):
            # "today" (R1.5) moves on through the history
            position = await append_if_valid(
                ledger, data, NOON + timedelta(days=len(snapshots) // 4)
            )
            if position is None:
                continue
            await advancer.advance(PROJECTS, position)
            async with engine.connect() as sa_conn:
                snapshots[position] = await live_views(await raw(sa_conn), reader)
        async with engine.connect() as sa_conn:
            conn = await raw(sa_conn)
            for position, live in snapshots.items():
                assert await as_of_views(conn, position) == live, f"as_of={position}"
            # the reads' shared reference data: fed forward as positions rise, then
            # ahead of every N as they fall
            shared = asof.SharedReference()
            for position, live in [*snapshots.items(), *reversed(snapshots.items())]:
                got = await as_of_views(conn, position, shared)
                assert got == live, f"as_of={position}, shared reference data"
