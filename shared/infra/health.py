"""Liveness and readiness routes, the same for every Tally process.

Needs `app.state.engine` and `app.state.database_url`.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shared.infra.dberrors import is_database_unavailable, unavailable_reason
from shared.infra.http import json_response
from shared.infra.migrate import is_current

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    """200 when the database answers and its schema is at the newest migration."""
    try:
        ready = await is_current(request.app.state.engine, request.app.state.database_url)
    except Exception as exc:  # any failure to ask means "not ready"
        # a short code only: the exception may name hosts, users or paths (logged instead)
        reason = unavailable_reason(exc) if is_database_unavailable(exc) else "error"
        log.warning("not ready: %s: %s", type(exc).__name__, exc)
        return json_response({"status": "unavailable", "reason": reason}, status_code=503)
    if not ready:
        return json_response({"status": "migrations_pending"}, status_code=503)
    return json_response({"status": "ready"})
