"""A whole Tally HTTP process (ledger + recalc reads, no worker), built by `compose_app`
as `tally dev` builds it, and a real uvicorn server for it on a loopback port."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from services.cli.serve import make_server
from services.ledger.app import ledger_lifespan
from services.ledger.entrypoints.http import router as ledger_router
from services.recalc.app import recalc_lifespan
from services.recalc.entrypoints.http import router as recalc_router
from shared.infra.app import compose_app
from shared.infra.auth import SCOPES, create_token
from shared.infra.embedded import free_port
from shared.infra.settings import Settings

SECRET = "s" * 40
ALL = {"Authorization": f"Bearer {create_token(SECRET, 'tester', SCOPES)}"}


def settings_for(database_url: str, **overrides: Any) -> Settings:
    return Settings(database_url=database_url, token_secret=SECRET, **overrides)


def tally_app(settings: Settings, extra: Sequence[APIRouter] = ()) -> FastAPI:
    """The ledger's and the recalc service's routes in one app; the worker stays off."""
    return compose_app(
        "Tally (test)",
        settings,
        [ledger_router, recalc_router, *extra],
        [ledger_lifespan, functools.partial(recalc_lifespan, run_worker=False)],
    )


@asynccontextmanager
async def served(app: FastAPI, settings: Settings) -> AsyncIterator[str]:
    """`app` behind uvicorn on 127.0.0.1:<free port>; yields the base URL."""
    port = free_port()
    server = make_server(app, "127.0.0.1", port, settings)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def event(type_name: str, event_id: str | None = None, **data: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type_name, "data": data}
    if event_id is not None:
        out["event_id"] = event_id
    return out
