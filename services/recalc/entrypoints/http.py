"""Finance reads (docs/contract.md#http): project totals, tasks, hours and billing records.

Every route takes `min_position` (read-your-writes: wait until the projection
includes it, at most `wait_ms`, else 409 not_caught_up), and `as_of` (audit: the
finances right after that log position, replayed from the log; see `audit`).
Money is a string with two places, rates with 2 to 4 (R10.7); bodies are built by
`bodies`, for live and `as_of` answers alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.recalc.adapters.projection_reads import ProjectionReader
from services.recalc.entrypoints import audit
from services.recalc.entrypoints.bodies import (
    finances_body,
    hours_body,
    money,
    rate,
    record_body,
    tasks_body,
)
from services.recalc.entrypoints.errors import unpriceable_error
from services.recalc.entrypoints.waiting import poll_until
from services.recalc.service_layer import asof
from shared.infra.auth import Principal
from shared.infra.db import raw
from shared.infra.http import ApiError, Bearer, MinPosition, PathId, errors, require

__all__ = ["money", "rate", "router"]


async def _reader_scope(request: Request, credentials: Bearer) -> Principal:
    # `as_of` is an audit read (audit:read); the live reads need finance:read
    # (docs/contract.md#credentials).
    # Async and awaited: FastAPI would run a plain function in a thread and drop the
    # coroutine it returned, unchecked.
    scope = "audit:read" if "as_of" in request.query_params else "finance:read"
    return await require(scope)(request, credentials)


router = APIRouter()
_finance = APIRouter(
    tags=["finances"],
    dependencies=[Depends(_reader_scope)],
    responses=errors(401, 403, 404, 409, 422, 503),
)


WaitMs = Annotated[
    int,
    Query(
        ge=0,
        le=60_000,
        description="a long poll: how long (ms, at most 60 s) to wait for `min_position`"
        " (or, with `as_of`, for the log to reach it); when it runs out, 409 `not_caught_up`",
    ),
]


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

    async def reached() -> bool:
        async with _connection(request) as (conn, reader):
            project_id = await project_of(conn, reader)
            if project_id is not None:
                if await reader.includes(conn, project_id, min_position):
                    return True
                parked = await reader.unpriceable(conn, project_id)
                if parked is not None:
                    raise unpriceable_error(project_id, parked.applied_position, parked.error)
                return False
            # the log has it and nothing names the resource: a 404 follows
            return int(await conn.fetchval("SELECT position FROM log_head")) >= min_position

    def not_yet() -> ApiError:
        return ApiError(
            409,
            "not_caught_up",
            f"the finance projection does not include position {min_position} yet;"
            " retry later or raise wait_ms",
        )

    await poll_until(reached, wait_ms, not_yet)


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
        parked = await reader.unpriceable(conn, project_id) if row is None else None
    if row is not None and row["unpriceable"] is not None:
        raise unpriceable_error(project_id, row["applied_position"], row["unpriceable"])
    if parked is not None:
        raise unpriceable_error(project_id, parked.applied_position, parked.error)
    if row is None:
        raise _not_found("project", project_id)
    return row, reader


@_finance.get("/v1/projects/{project_id}/finances")
async def project_finances(
    request: Request,
    project_id: PathId,
    min_position: MinPosition = None,
    as_of: audit.AsOf = None,
    wait_ms: WaitMs = 5000,
) -> dict[str, Any]:
    if as_of is not None:
        book = await audit.project_book(request, project_id, as_of, wait_ms)
        return finances_body(asof.project_row(book, project_id, as_of), as_of)
    row, _ = await _project_row(request, project_id, min_position, wait_ms)
    return finances_body(row)


# How each list of a project's lines is read live, read as of a position, and shaped.
_LINES: dict[str, tuple[Any, Any, Any]] = {
    "tasks": (ProjectionReader.tasks, asof.task_rows, tasks_body),
    "hours": (ProjectionReader.hours, asof.hour_rows, hours_body),
}


async def _project_lines(
    kind: str,
    request: Request,
    project_id: str,
    min_position: int | None,
    as_of: int | None,
    wait_ms: int,
) -> dict[str, Any]:
    read_live, read_as_of, body = _LINES[kind]
    if as_of is not None:
        book = await audit.project_book(request, project_id, as_of, wait_ms)
        project = asof.project_row(book, project_id, as_of)
        return body(project, read_as_of(book, project_id), as_of)  # type: ignore[no-any-return]
    row, reader = await _project_row(request, project_id, min_position, wait_ms)
    async with _connection(request) as (conn, _):
        lines = await read_live(reader, conn, project_id)
    return body(row, lines)  # type: ignore[no-any-return]


@_finance.get("/v1/projects/{project_id}/tasks")
async def project_tasks(
    request: Request,
    project_id: PathId,
    min_position: MinPosition = None,
    as_of: audit.AsOf = None,
    wait_ms: WaitMs = 5000,
) -> dict[str, Any]:
    return await _project_lines("tasks", request, project_id, min_position, as_of, wait_ms)


@_finance.get("/v1/projects/{project_id}/hours")
async def project_hours(
    request: Request,
    project_id: PathId,
    min_position: MinPosition = None,
    as_of: audit.AsOf = None,
    wait_ms: WaitMs = 5000,
) -> dict[str, Any]:
    return await _project_lines("hours", request, project_id, min_position, as_of, wait_ms)


@_finance.get("/v1/billing-records/{billing_record_id}")
async def billing_record(
    request: Request,
    billing_record_id: PathId,
    min_position: MinPosition = None,
    as_of: audit.AsOf = None,
    wait_ms: WaitMs = 5000,
) -> dict[str, Any]:
    if as_of is not None:
        row_as_of, at = await audit.record_as_of(request, billing_record_id, as_of, wait_ms)
        return record_body(row_as_of, at, as_of)

    async def project_of(conn: Any, reader: ProjectionReader) -> str | None:
        stored = await reader.record(conn, billing_record_id)
        if stored is not None:
            return str(stored["project_id"])
        return await reader.record_project(conn, billing_record_id)

    await _wait_for(request, project_of, min_position, wait_ms)
    async with _connection(request) as (conn, reader):
        row = await reader.record(conn, billing_record_id)
        position = None if row is None else await reader.applied_position(conn, row["project_id"])
        parked = None if row is None else await reader.unpriceable(conn, row["project_id"])
    if parked is not None:
        raise unpriceable_error(parked.project_id, parked.applied_position, parked.error)
    if row is None:
        raise _not_found("billing record", billing_record_id)
    return record_body(row, position)


router.include_router(_finance)
router.include_router(audit.router)
