"""Finance reads (api.md): project totals, tasks, hours and billing records.

Every route takes `min_position` (read-your-writes: wait until the projection
includes it, at most `wait_ms`, else 409 not_caught_up). Money is a string with
two places, rates with 2 to 4 (R10.7).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.recalc.adapters.reads import ProjectionReader
from services.recalc.adapters.rows import TOTAL_COLUMNS, TOTAL_FIELDS
from shared.infra.db import raw
from shared.infra.http import ApiError, require

router = APIRouter(tags=["finances"], dependencies=[Depends(require("finance:read"))])

_CENT = Decimal("0.01")
_RATE = Decimal("0.0001")
POLL_SECONDS = 0.02

MinPosition = Annotated[
    int | None, Query(ge=0, description="wait until the projection includes this position")
]
WaitMs = Annotated[int, Query(ge=0, le=60_000, description="how long to wait for min_position")]


def money(value: Decimal | None) -> str:
    return str((value or Decimal(0)).quantize(_CENT, rounding=ROUND_HALF_UP))


def rate(value: Decimal | None) -> str | None:
    """2 to 4 decimal places (R10.7): 30 -> "30.00", 12.345 -> "12.345"."""
    if value is None:
        return None
    text = str(value.quantize(_RATE, rounding=ROUND_HALF_UP))
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.rstrip('0').ljust(2, '0')}"


@asynccontextmanager
async def _connection(request: Request) -> AsyncIterator[tuple[Any, ProjectionReader]]:
    state = request.app.state.recalc
    async with state.engine.connect() as sa_conn:
        yield await raw(sa_conn), state.reader


async def _wait_for(
    request: Request,
    project_of: Callable[[Any, ProjectionReader], Awaitable[str | None]],
    min_position: int | None,
    wait_ms: int,
) -> None:
    """Return once the projection includes `min_position`; 409 after `wait_ms`.
    A connection is held per check only, not across the sleeps."""
    if min_position is None:
        return
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        async with _connection(request) as (conn, reader):
            project_id = await project_of(conn, reader)
            if project_id is not None:
                if await reader.includes(conn, project_id, min_position):
                    return
            elif int(await conn.fetchval("SELECT position FROM log_head")) >= min_position:
                return  # the log has it and nothing names the resource: a 404 follows
        if time.monotonic() >= deadline:
            raise ApiError(
                409,
                "not_caught_up",
                f"the finance projection does not include position {min_position} yet;"
                " retry later or raise wait_ms",
            )
        await asyncio.sleep(POLL_SECONDS)


def _not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"no {what} {ident!r}")


async def _project_row(
    request: Request, project_id: str, min_position: int | None, wait_ms: int
) -> tuple[Any, Any]:
    async def project_of(_conn: Any, _reader: ProjectionReader) -> str:
        return project_id

    await _wait_for(request, project_of, min_position, wait_ms)
    async with _connection(request) as (conn, reader):
        row = await reader.project(conn, project_id)
    if row is None:
        raise _not_found("project", project_id)
    return row, reader


@router.get("/v1/projects/{project_id}/finances")
async def project_finances(
    request: Request, project_id: str, min_position: MinPosition = None, wait_ms: WaitMs = 5000
) -> dict[str, Any]:
    row, _ = await _project_row(request, project_id, min_position, wait_ms)
    body: dict[str, Any] = {"project_id": project_id, "position": row["applied_position"]}
    for name, column in zip(TOTAL_FIELDS, TOTAL_COLUMNS, strict=True):
        body[name] = money(row[column])
    return body


@router.get("/v1/projects/{project_id}/tasks")
async def project_tasks(
    request: Request, project_id: str, min_position: MinPosition = None, wait_ms: WaitMs = 5000
) -> dict[str, Any]:
    row, reader = await _project_row(request, project_id, min_position, wait_ms)
    async with _connection(request) as (conn, _):
        tasks = await reader.tasks(conn, project_id)
    return {
        "project_id": project_id,
        "position": row["applied_position"],
        "tasks": [
            {
                "task_id": t["task_id"],
                "name": t["name"],
                "status": t["status"],
                "planned_hours": str(t["planned_hours"]),
                "actual_hours": str(t["view_actual_hours"]),
                "planned_cost": money(t["view_planned_cost"]),
                "planned_revenue": money(t["view_planned_revenue"]),
                "actual_cost": money(t["view_actual_cost"]),
                "actual_revenue": money(t["view_actual_revenue"]),
            }
            for t in tasks
        ],
    }


@router.get("/v1/projects/{project_id}/hours")
async def project_hours(
    request: Request, project_id: str, min_position: MinPosition = None, wait_ms: WaitMs = 5000
) -> dict[str, Any]:
    row, reader = await _project_row(request, project_id, min_position, wait_ms)
    async with _connection(request) as (conn, _):
        hours = await reader.hours(conn, project_id)
    return {
        "project_id": project_id,
        "position": row["applied_position"],
        "hours": [
            {
                "hour_id": h["hour_id"],
                "task_id": h["task_id"],
                "owner_id": h["owner_id"],
                "entry_date": h["entry_date"].isoformat(),
                "hours": str(h["hours"]),
                "role_id": h["role_id"],
                "counts_as_revenue": h["counts_as_revenue"],
                "cost": money(h["cost"]),
                "revenue": money(h["revenue"]),
                "cost_rate": rate(h["cost_rate"]),
                "billing_rate": rate(h["billing_rate"]),
                "cost_rate_source": h["cost_rate_source"],
                "billing_rate_source": h["billing_rate_source"],
                "priced_at": h["priced_at"],
                "billing_record_id": h["billing_record_id"],
                "locked_by": h["locked_by"],
            }
            for h in hours
        ],
    }


@router.get("/v1/billing-records/{billing_record_id}")
async def billing_record(
    request: Request,
    billing_record_id: str,
    min_position: MinPosition = None,
    wait_ms: WaitMs = 5000,
) -> dict[str, Any]:

    async def project_of(conn: Any, reader: ProjectionReader) -> str | None:
        stored = await reader.record(conn, billing_record_id)
        if stored is not None:
            return str(stored["project_id"])
        return await reader.record_project(conn, billing_record_id)

    await _wait_for(request, project_of, min_position, wait_ms)
    async with _connection(request) as (conn, reader):
        row = await reader.record(conn, billing_record_id)
        position = None if row is None else await reader.applied_position(conn, row["project_id"])
    if row is None:
        raise _not_found("billing record", billing_record_id)
    return {
        "billing_record_id": billing_record_id,
        "project_id": row["project_id"],
        "position": position,
        "description": row["description"],
        "status": row["status"],
        "billing_date": row["billing_date"].isoformat() if row["billing_date"] else None,
        "po_number": row["po_number"],
        "invoice_id": row["invoice_id"],
        "hour_ids": list(row["hour_ids"]),
        "expense_ids": list(row["expense_ids"]),
        "task_ids": list(row["task_ids"]),
        "billable_hours_amount": money(row["view_billable_hours_amount"]),
        "billable_expenses_amount": money(row["view_billable_expenses_amount"]),
        "fixed_revenue_amount": money(row["view_fixed_revenue_amount"]),
        "additional_amount": money(row["view_additional_amount"]),
        "total": money(row["view_total"]),
    }
