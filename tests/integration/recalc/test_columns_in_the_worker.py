"""One meaning, two speeds, through the worker (issue 9): random histories appended
to the log in several batches and advanced by an `Advancer` after each (so each
project is held light between batches and its entries are loaded as columns from
PostgreSQL for every recalculation, priced as columns and written back row by
changed row), against a fresh `Advancer` whose book prices with the scalar reference
(`FinanceBook.columnar = False`), advancing the whole log in one go into another
schema. The stored projections must be equal, numbers as text (their written
scale); the outcomes published on the way must be the scalar book's."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from recalc_logkit import LogWriter

from services.recalc.adapters.store import ProjectionStore
from services.recalc.bootstrap import projections
from services.recalc.service_layer.advance import Advancer
from shared.events import EventData, RecordedEvent, encode_data
from shared.infra.db import create_engine, plain_dsn

# the unit tests' random histories and in-memory log (tests/unit/recalc)
sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "recalc"))
from recalc_dump import TABLES
from recalc_histories import PROJECTS, histories
from recalc_log import Log

pytestmark = pytest.mark.integration


async def _rows(conn: Any, store: ProjectionStore) -> dict[str, dict[str, dict[str, Any]]]:
    """Every stored row by table and id, numbers as text; hours with `priced_at`
    as readers see it, without their storage key."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for table, key in TABLES.items():
        source = store.hour_lines() if table == "hours" else store.table(table)
        rows = await conn.fetch(f"SELECT {key} AS id, to_jsonb(t) - 'seq' AS row FROM {source} t")
        lines = {}
        for r in rows:
            lines[r["id"]] = json.loads(r["row"], parse_float=str, parse_int=str)
        out[table] = lines
    return out


def _streams(events: list[EventData]) -> tuple[list[EventData | tuple[EventData, str]], Log]:
    """Each event with its project (as the ledger's stream), and the scalar book fed
    them all (`recalc_log.Log`)."""
    log = Log(columnar=False)
    items: list[EventData | tuple[EventData, str]] = []
    for data in events:
        log(data)
        stream = log.events[-1].stream
        project = stream.removeprefix("project-") if stream.startswith("project-") else None
        items.append(data if project is None else (data, project))
    return items, log


class ColumnStore(ProjectionStore):
    """Counts the rows it loads as columns (`hours_as_columns`)."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[tuple[str, int]] = []

    async def load_tables(
        self, conn: Any, project_ids: Any, held: Any, candidates: Any = ()
    ) -> Any:
        tables, refused = await super().load_tables(conn, project_ids, held, candidates)
        self.loaded += [(p, len(t)) for p, t in tables.items()]
        return tables, refused


async def _check(url: str, events: list[EventData], cuts: list[int]) -> None:
    items, scalar = _streams(events)
    writer = LogWriter(url)
    engine = create_engine(url, pool_size=2)
    try:
        store = ColumnStore()
        worker = Advancer(projections(engine, store))
        start = 0
        # cuts in tenths of the history; the last batch is the closing recalculation of
        # each project (`histories`), held light: its entries come as columns
        closing = len(items) - len(PROJECTS)
        for end in [*sorted({closing * c // 10 for c in cuts}), closing, len(items)]:
            if end <= start:
                continue
            store.loaded.clear()
            batch: list[RecordedEvent] = await writer.append(items[start:end])
            await worker.advance(PROJECTS, batch[-1].position)
            start = end
        assert sorted(p for p, _ in store.loaded) == sorted(PROJECTS)
        assert sum(n for _, n in store.loaded) == sum(
            len(scalar.book.projects[p].hours) for p in PROJECTS
        )
        last = writer.recorded[-1].position
        conn = await asyncpg.connect(plain_dsn(url))
        try:
            await conn.execute("CREATE SCHEMA projection_next")
            for table in TABLES:
                await conn.execute(
                    f"CREATE TABLE projection_next.{table} (LIKE projection.{table} INCLUDING ALL)"
                )
            reference = Advancer(
                projections(engine, ProjectionStore("projection_next")), publish=False
            )
            reference.book.columnar = False  # the scalar path prices every recalculation
            await reference.advance(PROJECTS, last)

            got = await _rows(conn, ProjectionStore())
            want = await _rows(conn, ProjectionStore("projection_next"))
            assert got.keys() == want.keys()
            for table in TABLES:
                assert got[table].keys() == want[table].keys(), table
                for key, line in want[table].items():
                    assert got[table][key] == line, f"{table} {key}"

            outbox = await conn.fetch("SELECT type, payload::text FROM finance_outbox ORDER BY seq")
            published = [(r["type"], json.loads(r["payload"], parse_float=str)) for r in outbox]
            assert published == [
                (e.event_type, json.loads(encode_data(e), parse_float=str))
                for e in scalar.published
            ]
        finally:
            await conn.close()
    finally:
        await engine.dispose()


@settings(
    max_examples=25,
    deadline=None,
    # a database per example: shrinking would take minutes (the unit property test
    # shrinks the same histories in memory, test_columns.py)
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(histories(max_events=40), st.lists(st.integers(3, 9), min_size=2, max_size=4))
def test_the_worker_prices_columns_from_the_store_like_the_scalar_book(
    pg_server: Any, events: list[EventData], cuts: list[int]
) -> None:
    async def run() -> None:
        await _check(await pg_server.new_database(), events, cuts)

    asyncio.run(run())
