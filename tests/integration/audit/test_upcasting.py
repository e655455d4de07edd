"""Upcasting: a v1 `ExpenseRecorded` stored before `currency` existed is read as v2
by every reader (GET /v1/events, the worker, `as_of`, `tally replay`); the log is
never rewritten."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import httpx
import pytest
from audit_kit import AuditLog, store_raw_event
from fastapi import FastAPI

from services.ledger.entrypoints.http import LedgerState
from services.ledger.entrypoints.http import router as ledger_router
from services.recalc.adapters.projection_reads import ProjectionReader
from services.recalc.adapters.store import ProjectionStore
from services.recalc.service_layer import asof
from services.recalc.service_layer.replay import Replayer
from shared.events import ExpenseRecorded
from shared.infra.auth import create_token
from shared.infra.db import plain_dsn
from shared.infra.http import install_error_handlers

pytestmark = pytest.mark.integration

SECRET = "u" * 40
V1_PAYLOAD = (
    '{"expense_id": "old", "project_id": "p1", "expense_type": "travel",'
    ' "actual_amount": "40.00", "billable": true}'
)


async def store_v1_row(log: AuditLog) -> int:
    """Append a v1 row as an older ledger wrote it (schema_version 1, no `currency`)."""
    conn = await asyncpg.connect(plain_dsn(log.url))
    try:
        return await store_raw_event(
            conn, "project-p1", "ExpenseRecorded", 1, V1_PAYLOAD, datetime(2023, 6, 20, tzinfo=UTC)
        )
    finally:
        await conn.close()


async def test_v1_expense_is_read_as_v2_everywhere(audit_log: AuditLog) -> None:
    assert ExpenseRecorded.schema_version == 2
    position = await store_v1_row(audit_log)

    # GET /v1/events
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_secret = SECRET
    app.state.ledger = LedgerState(
        writer=audit_log.ledger, engine=audit_log.engine, max_body_bytes=5 << 20
    )
    app.include_router(ledger_router)
    token = create_token(SECRET, "auditor", ["audit:read"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://t",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        body = (await http.get(f"/v1/events?after={position - 1}")).json()
    (event,) = body["events"]
    assert event["schema_version"] == 2
    assert Decimal(event["data"]["actual_amount"]) == Decimal("40")
    assert "currency" not in event["data"]  # absent: the installation's currency

    # the worker
    await audit_log.advancer.advance(["p1"], position)
    conn = await asyncpg.connect(plain_dsn(audit_log.url))
    try:
        row = await ProjectionReader(ProjectionStore()).project(conn, "p1")
        assert row["actual_expense_cost"] == Decimal("40.00")
        # as_of
        book = await asof.book_as_of(conn, "p1", position)
        assert "old" in book.projects["p1"].expenses
        # replay, and the log still holds the v1 row as written
        replayer = Replayer()
        await replayer.rebuild(conn)
        report = await replayer.compare(conn, wait_seconds=0)
        assert report.differences == {} and report.behind == []
        stored = await conn.fetchval(
            "SELECT schema_version FROM events WHERE position = $1", position
        )
        assert stored == 1
    finally:
        await conn.close()
