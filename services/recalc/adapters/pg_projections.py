"""The `Projections` port on PostgreSQL: one database transaction over the log of
record, the projection tables of one schema (`store.ProjectionStore`) and the finance
outbox.

Locks are advisory and transaction-scoped: one a project (`lock_key`), and the swap
lock, held shared by every transaction and exclusive by `tally replay --swap`. The
generation of the projection is its schema's oid, which a swap changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.adapters.log_reads import events_to_apply
from services.recalc.adapters.outbox import append_outcomes
from services.recalc.adapters.store import ProjectionStore
from services.recalc.domain.hour_table import HourTable
from services.recalc.domain.project_lines import HourEntry
from services.recalc.service_layer.ports import REFERENCE_TYPES, Stored, Writes
from shared.events import EventData, RecordedEvent
from shared.infra import eventlog
from shared.infra.db import raw

#: held shared by every transaction of the worker, exclusive by `tally replay --swap`
SWAP_LOCK = "tally.projection.swap"


def lock_key(project_id: str) -> str:
    return f"tally.project:{project_id}"


class PgProjectionTransaction:
    """The port's transaction on one connection (asyncpg's, inside a transaction)."""

    def __init__(self, conn: Any, store: ProjectionStore) -> None:
        self.conn = conn
        self.store = store

    async def fence_swap(self) -> int | None:
        # Two statements: the generation must be read after the lock is granted.
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))", SWAP_LOCK
        )
        return await self.generation()

    async def generation(self) -> int | None:
        oid = await self.conn.fetchval("SELECT to_regnamespace($1)::oid", self.store.schema)
        return None if oid is None else int(oid)

    async def lock(self, project_ids: Sequence[str]) -> None:
        # One statement: unnest yields the array in order, each lock taken in turn.
        if project_ids:
            await self.conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k",
                [lock_key(p) for p in project_ids],
            )

    async def applied_positions(self, project_ids: Sequence[str]) -> dict[str, int]:
        return await self.store.applied_positions(self.conn, project_ids)

    async def load(self, project_ids: Sequence[str], *, light: bool = False) -> dict[str, Stored]:
        return await self.store.load(self.conn, project_ids, light=light)

    async def load_hours(
        self,
        project_ids: Collection[str],
        hour_ids: Collection[str] | None = None,
        *,
        task_ids: Collection[str] | None = None,
    ) -> dict[str, list[HourEntry]]:
        return await self.store.load_hours(self.conn, project_ids, hour_ids, task_ids=task_ids)

    async def load_tables(
        self,
        project_ids: Sequence[str],
        held: Mapping[str, Collection[str]],
        candidates: Collection[str] = (),
    ) -> tuple[dict[str, HourTable], list[str]]:
        return await self.store.load_tables(self.conn, project_ids, held, candidates)

    async def reference_events(self, after: int, limit: int, upto: int) -> list[RecordedEvent]:
        return await eventlog.read_after(self.conn, after, limit, types=REFERENCE_TYPES, upto=upto)

    async def events_to_apply(
        self, applied: Mapping[str, int], upto: int, limit: int | None = None
    ) -> list[RecordedEvent]:
        return await events_to_apply(self.conn, applied, upto, limit)

    async def write(self, writes: Writes) -> None:
        await self.store.write(self.conn, writes)

    async def append_outcomes(self, outcomes: Sequence[EventData]) -> None:
        await append_outcomes(self.conn, outcomes)


class PgProjections:
    """Transactions on `engine`, on the projection tables `store` names."""

    def __init__(self, engine: AsyncEngine, store: ProjectionStore) -> None:
        self.engine = engine
        self.store = store

    @property
    def name(self) -> str:
        return self.store.schema

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgProjectionTransaction]:
        async with self.engine.connect() as sa_conn:
            conn = await raw(sa_conn)
            async with conn.transaction():
                yield PgProjectionTransaction(conn, self.store)

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[PgProjectionTransaction]:
        async with self.engine.connect() as sa_conn:
            conn = await raw(sa_conn)
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                yield PgProjectionTransaction(conn, self.store)
