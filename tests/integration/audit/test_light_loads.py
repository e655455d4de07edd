"""A worker holding projects without their hour entries (domain.needs) writes the
same projection as one that held every entry all along.

Each event of a random history is applied by a brand-new worker (nothing cached):
every project is loaded light, with its running sums from the stored task and
project rows, and only the entries its events read. The result is compared, table
by table and column by column, with a single advance of the whole log into a fresh
schema, where every state was built from the log in memory.
"""

from __future__ import annotations

from typing import Any

from audit_histories import PREAMBLE, PROJECTS, histories, parsed
from audit_kit import HISTORY_SETTINGS, NOON, append_if_valid, history_log
from hypothesis import given, settings

from services.recalc.adapters.store import ProjectionStore
from services.recalc.bootstrap import projections
from services.recalc.service_layer.advance import Advancer
from services.recalc.service_layer.compare import compare
from shared.infra.db import raw

TABLES = ("projects", "tasks", "hours", "expenses", "billing_records")


async def _next_schema(conn: Any) -> None:
    await conn.execute("CREATE SCHEMA projection_next")
    for table in TABLES:
        await conn.execute(
            f"CREATE TABLE projection_next.{table} (LIKE projection.{table} INCLUDING ALL)"
        )


@settings(HISTORY_SETTINGS, max_examples=12)
@given(history=histories)
async def test_light_loads_write_what_whole_states_write(
    pg_server: Any, history: list[tuple[str, dict[str, Any]]]
) -> None:
    async with history_log(pg_server) as (engine, ledger):
        head = 0
        for data in parsed(PREAMBLE + history):
            position = await append_if_valid(ledger, data, NOON)
            if position is None:
                continue
            head = position
            await Advancer(projections(engine), publish=False).advance(PROJECTS, head)
        async with engine.connect() as sa_conn:
            conn = await raw(sa_conn)
            await _next_schema(conn)
        whole = Advancer(projections(engine, ProjectionStore("projection_next")), publish=False)
        await whole.advance(PROJECTS, head)
        async with engine.connect() as sa_conn:
            differences = await compare(await raw(sa_conn), "projection", "projection_next")
        assert differences == {}
