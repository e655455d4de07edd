"""Composing a Tally HTTP process: one engine, the parts' lifespans, their routers.

`tally ledger`, `tally recalc` and `tally dev` differ only in which parts they hold,
so all three are built here the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.infra import health
from shared.infra.db import http_engine
from shared.infra.http import Guard, install_error_handlers
from shared.infra.openapi import install_openapi
from shared.infra.revocation import RevokedTokens
from shared.infra.settings import Settings

DESCRIPTION = (
    "Tally, the event-sourced system of record of project finances. Post facts to"
    " `POST /v1/events`; read each project's finances, tasks, hour entries and billing"
    " records, live or `as_of` any log position. Every route but the health checks needs"
    " a bearer token (`tally token create`); its scopes say what it may do. Errors have"
    ' one shape: `{"error": {"code", "message", "event_index"?, "field"?}}`.'
)

#: A part of a process: set up on start (state on `app.state`), torn down on stop.
Part = Callable[[FastAPI, Settings, AsyncEngine], AbstractAsyncContextManager[None]]


def compose_app(
    title: str, settings: Settings, routers: Sequence[APIRouter], parts: Sequence[Part]
) -> FastAPI:
    """An app serving `routers` and the health routes; its lifespan makes the engine
    (HTTP time-outs, `http_engine`) and enters `parts` in order (they stop in reverse
    order). Every answer carries `X-Request-Id`; an unhandled error is JSON (`Guard`)."""
    database_url = settings.require_database_url()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the engine of requests: short time-outs (parts with long work make their own)
        engine = http_engine(database_url, settings)
        app.state.engine = engine
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(engine.dispose)
            stack.push_async_callback(revoked.aclose)
            for part in parts:
                await stack.enter_async_context(part(app, settings, engine))
            yield

    app = FastAPI(title=title, version="1", lifespan=lifespan)
    install_openapi(app, DESCRIPTION)
    install_error_handlers(app)
    app.add_middleware(Guard)  # X-Request-Id; no unhandled error answers plain text
    app.state.token_secret = settings.require_token_keys()  # the current and previous
    # revoked token ids, read through the lifespan's engine, cached a few seconds
    revoked = RevokedTokens(lambda: app.state.engine, settings.token_revocation_refresh_seconds)
    app.state.revoked_tokens = revoked
    app.state.database_url = database_url
    for router in routers:
        app.include_router(router)
    app.include_router(health.router)
    return app
