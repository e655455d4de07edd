"""The recalc service as an app: its lifespan (worker + reads), wired by `bootstrap`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc import bootstrap
from services.recalc.adapters.projection_reads import ProjectionReader
from services.recalc.adapters.store import ProjectionStore
from services.recalc.entrypoints.http import router
from services.recalc.entrypoints.worker import Worker
from services.recalc.service_layer.asof import SharedReference
from shared.infra.app import compose_app
from shared.infra.db import work_engine
from shared.infra.runtime import wait_event, within
from shared.infra.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["RecalcState", "create_app", "recalc_lifespan", "router"]


@dataclass
class RecalcState:
    engine: AsyncEngine
    store: ProjectionStore
    reader: ProjectionReader
    worker: Worker | None = None
    task: asyncio.Task[None] | None = None
    #: the reference data of every `as_of` read, fed forward on demand
    reference: SharedReference = field(default_factory=SharedReference)


@asynccontextmanager
async def recalc_lifespan(
    app: FastAPI, settings: Settings, engine: AsyncEngine, *, run_worker: bool = True
) -> AsyncIterator[None]:
    """Put the reads' state on `app.state.recalc` and run the worker beside them."""
    store = bootstrap.projection_store()
    state = RecalcState(engine=engine, store=store, reader=bootstrap.reader(store))
    app.state.recalc = state
    stop = asyncio.Event()
    worker_engine: AsyncEngine | None = None
    if run_worker:
        # The reads use `engine` (HTTP time-outs); the worker's transactions may take
        # longer than a request's statement may, so it has an engine of its own.
        worker_engine = work_engine(settings.require_database_url(), settings)
        state.worker = bootstrap.worker(settings, worker_engine, store)
        state.task = asyncio.create_task(_supervise(state.worker, stop), name="recalc-worker")
    try:
        yield
    finally:
        stop.set()
        if state.task is not None:
            try:
                await within(15, asyncio.shield(state.task))
            except TimeoutError:
                state.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await state.task
        if worker_engine is not None:
            await worker_engine.dispose()


async def _supervise(worker: Worker, stop: asyncio.Event) -> None:
    """Keep the worker running: a broker or database outage restarts it after a pause."""
    while not stop.is_set():
        try:
            await worker.run(stop)
        except Exception:
            log.exception("recalc worker failed; restarting")
            await wait_event(stop, 2.0)


def create_app(settings: Settings) -> FastAPI:
    """The recalc service alone: the worker and its reads, with its own engine."""
    return compose_app("Tally finances", settings, [router], [recalc_lifespan])
