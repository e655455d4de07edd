"""Audit reads: `as_of=N` on every finance read, and an hour entry's pricing history.

`as_of` answers are computed by replaying the log up to N (`service_layer.asof`)
and formatted by the same functions as the live reads (`bodies`). Both need the
scope `audit:read` (docs/contract.md#credentials).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.recalc.domain.finance_book import FinanceBook
from services.recalc.entrypoints.bodies import hours, money, rate
from services.recalc.entrypoints.errors import pricing_errors
from services.recalc.entrypoints.waiting import poll_until
from services.recalc.service_layer import asof
from services.recalc.service_layer.history import hour_history
from shared.infra import eventlog
from shared.infra.db import raw
from shared.infra.http import ApiError, AsOf, PathId, errors, require

__all__ = ["AsOf", "router"]

router = APIRouter(
    tags=["audit"],
    dependencies=[Depends(require("audit:read"))],
    responses=errors(401, 403, 404, 409, 422, 503),
)

WaitMs = Annotated[
    int,
    Query(
        ge=0,
        le=60_000,
        description="a long poll: how long (ms, at most 60 s) to wait for the log to reach"
        " `as_of`; when it runs out, 409 `not_caught_up`",
    ),
]


@asynccontextmanager
async def log_connection(request: Request) -> AsyncIterator[Any]:
    async with request.app.state.recalc.engine.connect() as sa_conn:
        yield await raw(sa_conn)


async def wait_for_log(request: Request, position: int, wait_ms: int) -> None:
    """Return once the log reaches `position`; 409 not_caught_up after `wait_ms`."""

    async def reached() -> bool:
        async with log_connection(request) as conn:
            return await eventlog.head(conn) >= position

    def not_yet() -> ApiError:
        return ApiError(
            409,
            "not_caught_up",
            f"the log does not reach position {position} yet; retry later or raise wait_ms",
        )

    await poll_until(reached, wait_ms, not_yet)


def not_found(what: str, ident: str, as_of: int) -> ApiError:
    return ApiError(404, "not_found", f"no {what} {ident!r} as of position {as_of}")


async def project_book(request: Request, project_id: str, as_of: int, wait_ms: int) -> FinanceBook:
    """The replayed book holding `project_id` as of `as_of`; 404 before it existed."""
    await wait_for_log(request, as_of, wait_ms)
    async with log_connection(request) as conn:
        with pricing_errors():
            book = await asof.book_as_of(
                conn, project_id, as_of, reference=request.app.state.recalc.reference
            )
    if project_id not in book.projects:
        raise not_found("project", project_id, as_of)
    return book


async def record_as_of(
    request: Request, record_id: str, as_of: int, wait_ms: int
) -> tuple[dict[str, Any], int]:
    """The billing record's row as of `as_of`, and that position."""
    await wait_for_log(request, as_of, wait_ms)
    async with log_connection(request) as conn:
        project_id = await asof.record_project_as_of(conn, record_id, as_of)
        book = None
        if project_id is not None:
            with pricing_errors():
                book = await asof.book_as_of(
                    conn, project_id, as_of, reference=request.app.state.recalc.reference
                )
    row = None if book is None else asof.record_row(book, record_id)
    if row is None:
        raise not_found("billing record", record_id, as_of)
    return row, as_of


@router.get("/v1/projects/{project_id}/hours/{hour_id}/history")
async def hour_pricing_history(
    request: Request,
    project_id: PathId,
    hour_id: PathId,
    as_of: AsOf = None,
    wait_ms: WaitMs = 5000,
) -> dict[str, Any]:
    """Every time the entry was priced: logged, edited, each recalculation; at which
    position and why, with which rates from which level, and whether a lock held."""
    async with log_connection(request) as conn:
        upto = as_of if as_of is not None else await eventlog.head(conn)
    await wait_for_log(request, upto, wait_ms)
    async with log_connection(request) as conn:
        with pricing_errors():
            pricings = await hour_history(
                conn, project_id, hour_id, upto, request.app.state.recalc.reference
            )
    if not pricings:
        raise not_found("hour entry", hour_id, upto)
    return {
        "project_id": project_id,
        "hour_id": hour_id,
        "as_of": upto,
        "history": [
            {
                "position": p.position,
                "cause": {"type": p.cause_type, "position": p.position},
                "kind": p.kind,
                "project_id": p.project_id,
                "task_id": p.task_id,
                "owner_id": p.owner_id,
                "entry_date": p.entry_date.isoformat(),
                "hours": hours(p.hours),
                "role_id": p.role_id,
                "counts_as_revenue": p.counts_as_revenue,
                "cost": money(p.cost),
                "revenue": money(p.revenue),
                "cost_rate": rate(p.cost_rate),
                "cost_rate_source": p.cost_rate_source,
                "billing_rate": rate(p.billing_rate),
                "billing_rate_source": p.billing_rate_source,
                "priced_at": p.priced_at,
                "locked": p.locked,
                "locked_by": p.locked_by,
            }
            for p in pricings
        ],
    }
