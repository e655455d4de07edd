"""The recalc service's composition root: the projection store, the advancer on it,
the reads on it, and the Kafka worker that drives the advancer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.adapters.pg_projections import PgProjections
from services.recalc.adapters.projection_reads import ProjectionReader
from services.recalc.adapters.store import ProjectionStore
from services.recalc.adapters.unpriceable import ParkedList
from services.recalc.entrypoints.worker import Worker
from services.recalc.service_layer.advance import Advancer
from shared.infra.settings import Settings


def projection_store(schema: str | None = None) -> ProjectionStore:
    """The projection tables (`schema`: the live one by default)."""
    return ProjectionStore() if schema is None else ProjectionStore(schema)


def projections(engine: AsyncEngine, store: ProjectionStore | None = None) -> PgProjections:
    """The advancer's storage: transactions on `engine` over the log, the projection
    tables of `store` (the live ones by default) and the finance outbox."""
    return PgProjections(engine, store or ProjectionStore())


def advancer(settings: Settings, engine: AsyncEngine, store: ProjectionStore) -> Advancer:
    return Advancer(projections(engine, store), slow_seconds=settings.slow_transaction_seconds)


def reader(store: ProjectionStore) -> ProjectionReader:
    return ProjectionReader(store)


def worker(settings: Settings, engine: AsyncEngine, store: ProjectionStore) -> Worker:
    """The worker on `engine` (one of its own: its transactions may outlast a request's
    time-outs), advancing the projection `store` holds."""
    return Worker(settings, advancer(settings, engine, store), ParkedList(engine, store.schema))
