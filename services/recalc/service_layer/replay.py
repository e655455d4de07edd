"""Blue/green rebuild of the projections from the log (`tally replay`).

The projects are dealt to shards (projects linked by task moves together), one
process per core (`replay_shard`); each reads the reference data and its own project
streams in large batches, applies them in position order to a quiet book (nothing is
published, R1.1) and COPYs its projects to a fresh schema `projection_next`, compared
with the live `projection` table by table (differences are printed per project),
and, on request, swapped in: under the exclusive swap lock (workers wait), the
rebuild is caught up to the head of the log, the schemas are renamed in one
transaction, and workers drop their caches (`Advancer._fence_swap`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.recalc.adapters.outbox import append_outcomes
from services.recalc.adapters.pg_projections import SWAP_LOCK
from services.recalc.adapters.store import ProjectionStore
from services.recalc.domain.finance_book import FinanceBook
from services.recalc.service_layer import shard_pool
from services.recalc.service_layer.asof import reference_as_of
from services.recalc.service_layer.compare import (
    Difference,
    behind_projects,
    compare,
    in_order,
)
from services.recalc.service_layer.replay_copy import copy_projects
from services.recalc.service_layer.replay_shard import (
    ShardJob,
    plan,
    rebuild_shard,
    run_shard,
)
from shared.events import EventData, RecordedEvent, TaskMoved, project_of_stream
from shared.infra import eventlog

LIVE = "projection"
NEXT = "projection_next"
TABLES = ("projects", "tasks", "hours", "expenses", "billing_records")
BATCH = 10_000
COMPARE_WORK_MEM = "256MB"


@dataclass(slots=True)
class Report:
    position: int = 0  # the log position the rebuild includes
    events: int = 0
    read_seconds: float = 0.0
    write_seconds: float = 0.0
    differences: dict[str, list[Difference]] = field(default_factory=dict)
    behind: list[str] = field(default_factory=list)  # live projects not yet at `position`
    #: projects pricing could not apply, left out of the rebuild and of the comparison
    unpriceable: dict[str, str] = field(default_factory=dict)
    swapped_to: str | None = None  # the old schema's new name, after a swap

    @property
    def events_per_second(self) -> float:
        return self.events / self.read_seconds if self.read_seconds > 0 else 0.0


class Replayer:
    """The rebuild (in `jobs` shard processes, or in this one), then the comparison and
    the swap of `projection_next`."""

    def __init__(self, *, batch: int = BATCH, jobs: int = 1, dsn: str | None = None) -> None:
        if jobs > 1 and dsn is None:
            raise ValueError("parallel shards open their own connections: give the dsn")
        self.batch = batch
        self.jobs = max(1, jobs)
        self.dsn = dsn
        self.position = 0
        self.projects = 0
        self.report = Report()

    async def create_next(self, conn: Any) -> None:
        """The empty schema `projection_next`, with the live tables' columns but neither
        their indexes nor their stored generated columns (`complete_next` adds both)."""
        await conn.execute(f"DROP SCHEMA IF EXISTS {NEXT} CASCADE")
        await conn.execute(f"CREATE SCHEMA {NEXT}")
        for table in TABLES:
            await conn.execute(
                f"CREATE TABLE {NEXT}.{table} (LIKE {LIVE}.{table} INCLUDING ALL EXCLUDING INDEXES)"
            )
            deferred = await _deferrable_columns(conn, table)
            if deferred:
                drops = ", ".join(f"DROP COLUMN {name}" for name, _, _ in deferred)
                await conn.execute(f"ALTER TABLE {NEXT}.{table} {drops}")

    async def complete_next(self, conn: Any) -> None:
        """Add to `projection_next` the stored generated columns (one rewrite of each
        table) and then the indexes and keys `create_next` left out, as the live
        tables have them, so that it can become the live schema. Idempotent."""
        for table in TABLES:
            present = {
                r["attname"]
                for r in await conn.fetch(
                    "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass"
                    " AND attnum > 0 AND NOT attisdropped",
                    f"{NEXT}.{table}",
                )
            }
            missing = [c for c in await _deferrable_columns(conn, table) if c[0] not in present]
            if missing:
                adds = ", ".join(
                    f"ADD COLUMN {name} {kind} GENERATED ALWAYS AS ({expression}) STORED"
                    for name, kind, expression in missing
                )
                await conn.execute(f"ALTER TABLE {NEXT}.{table} {adds}")
        for table in TABLES:
            await _add_indexes(conn, table)

    async def rebuild(self, conn: Any, pool: ProcessPoolExecutor | None = None) -> Report:
        """Replay the whole log into `projection_next` (live reads keep working), in
        `pool` (`shard_pool.start(jobs)`, left running) or in a pool of its own."""
        if self.jobs == 1:
            return await self._rebuild(conn, None)
        if pool is not None:
            return await self._rebuild(conn, pool)
        # The shard processes start (and import) while the schema is made and the
        # streams are dealt.
        with shard_pool.start(self.jobs) as own:
            return await self._rebuild(conn, own)

    async def _rebuild(self, conn: Any, pool: ProcessPoolExecutor | None) -> Report:
        await self.create_next(conn)
        upto = await eventlog.head(conn)
        started = time.perf_counter()
        streams = await plan(conn, upto, self.jobs)
        jobs = [ShardJob(self.dsn or "", NEXT, s, upto, self.batch) for s in streams]
        if pool is None:
            async with conn.transaction():
                _, result = await rebuild_shard(conn, jobs[0])
            results = [result]
        else:
            loop = asyncio.get_running_loop()
            results = list(
                await asyncio.gather(*(loop.run_in_executor(pool, run_shard, j) for j in jobs))
            )
        elapsed = time.perf_counter() - started
        self.position = upto
        self.projects = sum(r.projects for r in results)
        report = self.report
        report.unpriceable = {p: e for r in results for p, e in r.unpriceable}
        report.position = upto
        report.events = upto  # positions are gap-free: the whole log up to `upto`
        # Shards overlap: the rebuild's time is the slowest shard's, split as it was.
        slowest = max(results, key=lambda r: r.read_seconds + r.write_seconds)
        total = slowest.read_seconds + slowest.write_seconds or 1.0
        report.read_seconds = elapsed * slowest.read_seconds / total
        report.write_seconds = elapsed * slowest.write_seconds / total
        return report

    async def compare(self, conn: Any, *, wait_seconds: float = 10.0) -> Report:
        """Differences between the live projection and the rebuild, per project. Live
        projects that have not applied the rebuild's position yet are waited for, then
        reported as behind (not as differences)."""
        deadline = time.monotonic() + wait_seconds
        while True:
            behind = await behind_projects(conn, LIVE, NEXT, self.position)
            behind -= self.report.unpriceable.keys()
            if not behind or time.monotonic() >= deadline:
                break
            await _sleep(0.2)
        self.report.behind = sorted(behind)
        if self.jobs == 1 or self.dsn is None:
            differences = await _compare_part(conn, (0, 1))
        else:  # one part of the rows a connection (and a core) each
            parts = await asyncio.gather(
                *(self._compare_apart((i, self.jobs)) for i in range(self.jobs))
            )
            merged: dict[str, list[Difference]] = {}
            for part in parts:
                for project_id, diffs in part.items():
                    merged.setdefault(project_id, []).extend(diffs)
            differences = {pid: in_order(diffs) for pid, diffs in merged.items()}
        self.report.differences = {
            pid: diffs
            for pid, diffs in differences.items()
            if pid not in behind and pid not in self.report.unpriceable
        }
        return self.report

    async def _compare_apart(self, part: tuple[int, int]) -> dict[str, list[Difference]]:
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        try:
            return await _compare_part(conn, part)
        finally:
            await conn.close()

    async def swap(self, conn: Any) -> str:
        """Catch the rebuild up to the head and make it the live schema. Workers are
        excluded meanwhile; finance messages the live workers have not published yet
        (their projects lag behind the head) are published here, once."""
        await self.complete_next(conn)  # before the lock: workers go on meanwhile
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", SWAP_LOCK)
            head = await eventlog.head(conn)
            outcomes = await self._catch_up(conn, head)
            await conn.execute(f"UPDATE {NEXT}.projects SET applied_position = $1", head)
            live = {
                r["project_id"]: int(r["applied_position"])
                for r in await conn.fetch(
                    f"SELECT project_id, applied_position FROM {LIVE}.projects"
                )
            }
            await append_outcomes(
                conn,
                [
                    o
                    for o in outcomes
                    if getattr(o, "position", 0) > live.get(getattr(o, "project_id", ""), 0)
                ],
            )
            old = f"projection_old_{datetime.now(UTC):%Y%m%d%H%M%S}"
            await conn.execute(f"ALTER SCHEMA {LIVE} RENAME TO {old}")
            await conn.execute(f"ALTER SCHEMA {NEXT} RENAME TO {LIVE}")
        self.report.swapped_to = old
        return old

    async def _catch_up(self, conn: Any, head: int) -> list[EventData]:
        """Apply (position, head] to the projects it touches, loaded from the rebuild
        (as a worker would), rewrite them whole; what they publish, in order."""
        events: list[RecordedEvent] = []
        while self.position < head:
            batch = await eventlog.read_after(conn, self.position, self.batch, upto=head)
            if not batch:
                raise RuntimeError(f"log head is {head} but no event after {self.position}")
            events.extend(batch)
            self.position = batch[-1].position
        touched: set[str] = set()
        for event in events:
            project_id = project_of_stream(event.stream)
            if project_id is not None:
                touched.add(project_id)
                if isinstance(event.data, TaskMoved):
                    touched.add(event.data.to_project_id)
        outcomes: list[EventData] = []
        if touched:
            ids = sorted(touched)
            book = FinanceBook(await reference_as_of(conn, head))
            for entry in (await ProjectionStore(NEXT).load(conn, ids)).values():
                book.add(entry.state)
            for event in events:
                outcomes.extend(book.apply(event))
            await self._delete_projects(conn, ids)
            await copy_projects(conn, NEXT, book, ids, head)
        self.report.events += len(events)
        self.report.position = head
        return outcomes

    async def _delete_projects(self, conn: Any, project_ids: Iterable[str]) -> None:
        ids = list(project_ids)
        if ids:
            for table in TABLES:
                await conn.execute(
                    f"DELETE FROM {NEXT}.{table} WHERE project_id = ANY($1::text[])", ids
                )


async def _compare_part(conn: Any, part: tuple[int, int]) -> dict[str, list[Difference]]:
    async with conn.transaction():
        # Each table is one hash full join of both schemas; with the default
        # work_mem the hours' spill to temporary files in batches.
        await conn.execute(f"SET LOCAL work_mem = '{COMPARE_WORK_MEM}'")
        return await compare(conn, LIVE, NEXT, part)


async def _add_indexes(conn: Any, table: str) -> None:
    """The live `table`'s indexes (its keys as constraints) that `NEXT`'s lacks, by name.
    Built once the rows are in, a sort each, they cost less than kept up row by row
    during the COPY (a third of PostgreSQL's time of a replay's COPY of hours), and a
    rebuild that is only compared does not read them."""
    indexes = (
        "SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition,"
        " c.conname AS constraint_name, pg_get_constraintdef(c.oid) AS constraint_definition"
        " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid"
        " WHERE x.indrelid = $1::regclass ORDER BY i.relname"
    )
    present = {r["name"] for r in await conn.fetch(indexes, f"{NEXT}.{table}")}
    for row in await conn.fetch(indexes, f"{LIVE}.{table}"):
        if row["name"] in present:
            continue
        if row["constraint_name"] is not None:
            await conn.execute(
                f"ALTER TABLE {NEXT}.{table} ADD CONSTRAINT {row['constraint_name']}"
                f" {row['constraint_definition']}"
            )
            continue
        live_on, next_on = f" ON {LIVE}.{table} ", f" ON {NEXT}.{table} "
        if live_on not in row["definition"]:
            raise RuntimeError(f"cannot place index {row['definition']!r} on {NEXT}")
        await conn.execute(row["definition"].replace(live_on, next_on, 1))


async def _deferrable_columns(conn: Any, table: str) -> list[tuple[str, str, str]]:
    """(name, type, expression) of the live `table`'s stored generated columns that no
    index reads, in column order. They are functions of the row's other columns that
    only the worker's loads read (the hours' columnar form, migration 0009): a rebuild
    is written and compared without them, and computing them on every row was a third
    of PostgreSQL's time of a replay's COPY of hours (docs/decisions.md)."""
    rows = await conn.fetch(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS kind,"
        " pg_get_expr(d.adbin, d.adrelid) AS expression"
        " FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = $1::regclass AND a.attgenerated = 's' AND NOT a.attisdropped"
        " AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid"
        "  AND (a.attnum = ANY(i.indkey) OR i.indexprs IS NOT NULL OR i.indpred IS NOT NULL))"
        " ORDER BY a.attnum",
        f"{LIVE}.{table}",
    )
    return [(r["attname"], r["kind"], r["expression"]) for r in rows]


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
