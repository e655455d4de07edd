"""The ledger's composition root: its lifespan and a stand-alone app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ledger.bootstrap import group_commit
from services.ledger.entrypoints.http import LedgerState, router
from shared.infra.app import compose_app
from shared.infra.dberrors import is_database_unavailable
from shared.infra.runtime import settle_loaded_state
from shared.infra.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["create_app", "ledger_lifespan", "router"]


@asynccontextmanager
async def ledger_lifespan(
    app: FastAPI, settings: Settings, engine: AsyncEngine
) -> AsyncIterator[None]:
    """Put the ledger's state on `app.state.ledger`, its write model caught up with the
    log. A database that is down at start-up is not fatal: every append catches the
    model up under the log lock anyway, and answers 503 until the database is back."""
    writer = group_commit(engine)
    try:
        await writer.load()
        log.info("ledger write model at position %d", writer.model.position)
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        log.warning("database unreachable at start-up; the write model loads on first append")
    settle_loaded_state()
    app.state.ledger = LedgerState(
        writer=writer, engine=engine, max_body_bytes=settings.max_body_bytes
    )
    try:
        yield
    finally:
        await writer.close()


def create_app(settings: Settings) -> FastAPI:
    """The ledger alone, with its own engine."""
    return compose_app("Tally ledger", settings, [router], [ledger_lifespan])
