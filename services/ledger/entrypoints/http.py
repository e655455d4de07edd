"""The ledger's HTTP routes (docs/contract.md#http): append, read the log, ask for recalculations.

Every route finds its state under `request.app.state.ledger` (a `LedgerState`),
so `tally dev` can mount this router next to the recalc service's.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ledger.domain.appends import Appended, Pending
from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.recalc_split import split_recalculation
from services.ledger.entrypoints.parsing import (
    parse_batch,
    parse_event_id,
    read_json,
    schema_error,
)
from services.ledger.entrypoints.schemas import (
    Appended as AppendedBody,
)
from services.ledger.entrypoints.schemas import (
    BulkRecalculateBody,
    EventPage,
    RecalculateBody,
    RecalculationAccepted,
    RecalculationsAccepted,
)
from services.ledger.service_layer.group_commit import GroupCommit
from shared.events import FinancesRecalculationRequested, envelope_dict
from shared.events.batch import EventBatch, batch_examples
from shared.infra.auth import Principal
from shared.infra.db import raw
from shared.infra.dberrors import is_database_unavailable
from shared.infra.eventlog import read_after
from shared.infra.http import (
    After,
    ApiError,
    EventTypeName,
    PathId,
    StreamName,
    database_unavailable,
    errors,
    json_response,
    require,
)
from shared.infra.openapi import request_body

log = logging.getLogger(__name__)
router = APIRouter(tags=["ledger"])


@dataclass
class LedgerState:
    """Everything the ledger's routes need; lives at `app.state.ledger`."""

    writer: GroupCommit
    engine: AsyncEngine  # reads of the log (`GET /v1/events`)
    max_body_bytes: int


def _state(request: Request) -> LedgerState:
    state: LedgerState = request.app.state.ledger
    return state


@contextlib.asynccontextmanager
async def append_errors() -> AsyncIterator[None]:
    """503 when the database cannot be reached or does not answer in time, saying
    whether the append may have happened (reads get their 503 from `Guard`)."""
    try:
        yield
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        raise database_unavailable(exc, write=True) from exc


def _refused(exc: RuleViolation) -> ApiError:
    return ApiError(409, exc.code, exc.message, event_index=exc.event_index, field=exc.field)


async def _append(state: LedgerState, batch: list[Pending], who: Principal) -> list[Appended]:
    async with append_errors():
        return await state.writer.append(batch, who.subject)


#: A token that may append at least one kind of event (`parsing.scope_for` checks
#: each event's own scope once the body is read).
_WRITE_SCOPES = ("events:write", "rates:write", "finance:recalculate")
#: The caller of `POST /v1/events`, refused (401, 403) before the body is read.
caller = require(*_WRITE_SCOPES)


@router.post(
    "/v1/events",
    status_code=201,
    response_model=AppendedBody,
    responses={
        200: {"model": AppendedBody, "description": "every event was appended before"},
        **errors(400, 401, 403, 409, 413, 415, 422, 503),
    },
    openapi_extra=request_body(EventBatch, batch_examples()),
)
async def post_events(request: Request, who: Annotated[Principal, Depends(caller)]) -> Any:
    """Append a batch of 1 to 1,000 events, all or nothing."""
    state = _state(request)
    body = await read_json(request, state.max_body_bytes)
    batch = parse_batch(body, who)
    try:
        results = await _append(state, batch, who)
    except RuleViolation as exc:
        raise _refused(exc) from None
    status = 200 if all(r.duplicate for r in results) else 201
    return json_response({"events": [r.as_json() for r in results]}, status_code=status)


@router.get("/v1/events", response_model=EventPage, responses=errors(401, 403, 422, 503))
async def get_events(
    request: Request,
    _: Annotated[Principal, Depends(require("audit:read"))],
    after: After = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    stream: StreamName = None,
    type: EventTypeName = None,
) -> Any:
    """The log in position order, for audits and for catching up."""
    async with _state(request).engine.connect() as conn:
        events = await read_after(
            await raw(conn), after, limit, stream=stream, types=[type] if type else None
        )
    next_after = events[-1].position if events else after
    return json_response({"events": [envelope_dict(e) for e in events], "next_after": next_after})


async def _recalc_body(request: Request, model: type[RecalculateBody]) -> RecalculateBody:
    body = await read_json(request, _state(request).max_body_bytes)
    try:
        return model.model_validate({} if body is None else body)
    except ValidationError as exc:
        raise schema_error(exc, "", None) from None


def _request_id(request: Request, body: RecalculateBody) -> uuid.UUID | None:
    """The retry key: the body's event_id, else the Idempotency-Key header."""
    given = parse_event_id(body.event_id, None)
    if given is not None:
        return given
    key = request.headers.get("idempotency-key")
    if not key:
        return None
    try:
        return uuid.UUID(key)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"tally:recalculate:{key}")


async def _request_recalculation(
    request: Request, who: Principal, body: RecalculateBody, project_ids: tuple[str, ...]
) -> list[Appended]:
    given = _request_id(request, body)
    event = FinancesRecalculationRequested(project_ids=project_ids, scope=body.scope)
    # each part's index is where its project is first named (for errors)
    batch = [
        Pending(project_ids.index(part.project_ids[0]), eid, part, client_id=given is not None)
        for eid, part in split_recalculation(given or uuid.uuid4(), event)
    ]
    return await _append(_state(request), batch, who)


@router.post(
    "/v1/projects/{project_id}/recalculate",
    status_code=202,
    response_model=RecalculationAccepted,
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422, 503),
    openapi_extra=request_body(RecalculateBody, required=False),
)
async def recalculate_project(
    project_id: PathId,
    request: Request,
    who: Annotated[Principal, Depends(require("finance:recalculate"))],
) -> Any:
    """Append a manual recalculation of one project (R6.2)."""
    body = await _recalc_body(request, RecalculateBody)
    try:
        results = await _request_recalculation(request, who, body, (project_id,))
    except RuleViolation as exc:
        if exc.code == "unknown_project":
            raise ApiError(404, exc.code, exc.message) from None
        raise _refused(exc) from None
    out: dict[str, Any] = {"position": results[0].position}
    if results[0].duplicate:
        out["duplicate"] = True
    return json_response(out, status_code=202)


@router.post(
    "/v1/recalculations",
    status_code=202,
    response_model=RecalculationsAccepted,
    responses=errors(400, 401, 403, 409, 413, 415, 422, 503),
    openapi_extra=request_body(BulkRecalculateBody),
)
async def recalculate_projects(
    request: Request,
    who: Annotated[Principal, Depends(require("finance:recalculate"))],
) -> Any:
    """Append one manual recalculation per named project (a project named twice once)."""
    body = await _recalc_body(request, BulkRecalculateBody)
    assert isinstance(body, BulkRecalculateBody)
    try:
        results = await _request_recalculation(request, who, body, body.project_ids)
    except RuleViolation as exc:
        field = f"project_ids[{exc.event_index}]" if exc.code == "unknown_project" else None
        raise ApiError(409, exc.code, exc.message, field=field) from None
    return json_response({"positions": [r.position for r in results]}, status_code=202)
