"""`tally replay`: a clean log shows no difference; a corrupted projection shows
exactly the corrupted project; `--swap` makes the rebuild live while workers wait."""

from __future__ import annotations

import argparse

import asyncpg
import pytest
from audit_kit import AuditLog

from services.cli.replay import run
from services.recalc.adapters.projection_reads import ProjectionReader
from services.recalc.adapters.store import ProjectionStore
from services.recalc.entrypoints.bodies import hours_body
from services.recalc.service_layer import asof
from services.recalc.service_layer.replay import Replayer
from shared.infra.db import plain_dsn

pytestmark = pytest.mark.integration


def args(*, swap: bool = False) -> argparse.Namespace:
    return argparse.Namespace(swap=swap, batch=7, wait=0.0, max_lines=20)


async def connect(log: AuditLog) -> asyncpg.Connection:
    return await asyncpg.connect(plain_dsn(log.url))


async def test_clean_log_no_difference(
    audit_log: AuditLog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(audit_log.url, args()) == 0
    out = capsys.readouterr().out
    assert f"up to position {audit_log.positions[-1]}" in out
    assert "no difference" in out


async def test_corrupted_project_reported_exactly(
    audit_log: AuditLog, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = await connect(audit_log)
    try:
        await conn.execute("UPDATE projection.hours SET cost = cost + 1 WHERE hour_id = 'h2'")
        await conn.execute(
            "UPDATE projection.projects SET billed_revenue = 7 WHERE project_id = 'p2'"
        )
    finally:
        await conn.close()
    assert await run(audit_log.url, args()) == 1
    out = capsys.readouterr().out
    assert "project p1: 1 difference(s)" in out
    assert "hours h2: cost" in out
    assert "project p2: 1 difference(s)" in out
    assert "billed_revenue" in out
    assert "project p3" not in out
    assert "2 project(s) differ" in out


async def test_behind_projects_are_not_differences(audit_log: AuditLog) -> None:
    conn = await connect(audit_log)
    try:
        # the live projection of p2 forgets its last events: a lagging worker
        await conn.execute(
            "UPDATE projection.projects SET applied_position = 1 WHERE project_id = 'p2'"
        )
        replayer = Replayer(batch=5)
        await replayer.rebuild(conn)
        report = await replayer.compare(conn, wait_seconds=0)
    finally:
        await conn.close()
    assert report.behind == ["p2"]
    assert report.differences == {}


async def test_swap_makes_the_rebuild_live_and_workers_reload(
    audit_log: AuditLog, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = await connect(audit_log)
    try:
        await conn.execute("UPDATE projection.hours SET revenue = 999 WHERE hour_id = 'h1'")
        assert await run(audit_log.url, args(swap=True)) == 1  # it differed, now fixed
        assert "swapped" in capsys.readouterr().out
        old = await conn.fetchval(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'projection_old_%'"
        )
        assert old is not None
        assert await conn.fetchval(f"SELECT revenue FROM {old}.hours WHERE hour_id = 'h1'") == 999
        # the worker drops what it cached from the old schema at its next transaction
        generation = audit_log.advancer._generation
        await audit_log.append([("HoursEdited", {"hour_id": "h2", "hours": "4"})])
        assert audit_log.advancer._generation not in (None, generation)
        assert await run(audit_log.url, args()) == 0
        head = audit_log.positions[-1]
        reader = ProjectionReader(ProjectionStore())
        row = await reader.project(conn, "p1")
        live = hours_body(row, await reader.hours(conn, "p1"))
        book = await asof.book_as_of(conn, "p1", head)
        replayed = hours_body(asof.project_row(book, "p1", head), asof.hour_rows(book, "p1"))
        assert live == replayed
    finally:
        await conn.close()
