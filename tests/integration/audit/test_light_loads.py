"""A worker holding projects without their hour entries (domain.needs) writes the
same projection as one that held every entry all along.

Each event of a random history is applied by a brand-new worker (nothing cached):
every project is loaded light, with its running sums from the stored task and
project rows, and only the entries its events read. The result is compared, table
by table and column by column, with a single advance of the whole log into a fresh
schema, where every state was built from the log in memory.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from audit_histories import PREAMBLE, PROJECTS, histories, parsed
from hypothesis import HealthCheck, given, settings

from services.ledger.adapters.event_store import EventStore, Pending
from services.ledger.domain.errors import RuleViolation
from services.recalc.adapters.store import ProjectionStore
from services.recalc.service_layer.advance import Advancer
from services.recalc.service_layer.compare import compare
from shared.infra.db import create_engine, raw

NOON = datetime(2023, 6, 19, 12, tzinfo=UTC)
TABLES = ("projects", "tasks", "hours", "expenses", "billing_records")


async def _next_schema(conn: Any) -> None:
    await conn.execute("CREATE SCHEMA projection_next")
    for table in TABLES:
        await conn.execute(
            f"CREATE TABLE projection_next.{table} (LIKE projection.{table} INCLUDING ALL)"
        )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories)
async def test_light_loads_write_what_whole_states_write(
    pg_server: Any, history: list[tuple[str, dict[str, Any]]]
) -> None:
    url = await pg_server.new_database()
    engine = create_engine(url, pool_size=2)
    ledger = EventStore(engine)
    try:
        head = 0
        for data in parsed(PREAMBLE + history):
            try:
                (appended,) = await ledger.append([Pending(0, uuid.uuid4(), data)], "t", now=NOON)
            except RuleViolation:
                continue  # refused (R9): not part of a valid history
            head = appended.position
            await Advancer(ProjectionStore(), publish=False).advance(engine, PROJECTS, head)
        async with engine.connect() as sa_conn:
            conn = await raw(sa_conn)
            await _next_schema(conn)
        whole = Advancer(ProjectionStore("projection_next"), publish=False)
        await whole.advance(engine, PROJECTS, head)
        async with engine.connect() as sa_conn:
            differences = await compare(await raw(sa_conn), "projection", "projection_next")
        assert differences == {}
    finally:
        await ledger.close()
        await engine.dispose()
