"""How `tally replay` writes its rebuild: hours and expenses in COPY's text format (in
binary when a text value would need escaping), and the hours' stored generated columns
and the tables' indexes left out of `projection_next` until a swap needs them."""

from __future__ import annotations

import asyncpg
import pytest
from audit_kit import AuditLog

from services.recalc.service_layer import replay_copy
from services.recalc.service_layer.replay import LIVE, NEXT, Replayer
from shared.infra.db import plain_dsn

pytestmark = pytest.mark.integration

GENERATED = ("project_key", "owner_key", "cost_x", "revenue_x", "cost_rate_x", "packed")


async def _generated(conn: asyncpg.Connection, schema: str) -> set[str]:
    rows = await conn.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass"
        " AND attgenerated = 's' AND NOT attisdropped",
        f"{schema}.hours",
    )
    return {r["attname"] for r in rows}


async def _indexes(conn: asyncpg.Connection, schema: str) -> list[tuple[str, str, str]]:
    """(table, index, definition without the schema) of every index, keys included."""
    rows = await conn.fetch(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1, 2",
        schema,
    )
    return [(r[0], r[1], r[2].replace(f" {schema}.", " ")) for r in rows]


async def test_generated_columns_and_indexes_come_with_the_swap_as_the_live_ones(
    audit_log: AuditLog,
) -> None:
    conn = await asyncpg.connect(plain_dsn(audit_log.url))
    try:
        replayer = Replayer(batch=4)
        await replayer.rebuild(conn)
        assert set(GENERATED) <= await _generated(conn, LIVE)
        assert await _generated(conn, NEXT) == set()
        assert (await replayer.compare(conn, wait_seconds=0)).differences == {}
        assert await _indexes(conn, NEXT) == []
        await replayer.complete_next(conn)
        assert await _generated(conn, NEXT) == await _generated(conn, LIVE)
        assert await _indexes(conn, NEXT) == await _indexes(conn, LIVE)
        assert len(await _indexes(conn, LIVE)) >= 9
        await replayer.complete_next(conn)  # nothing left to add
        assert await _indexes(conn, NEXT) == await _indexes(conn, LIVE)
        columns = sorted(await _generated(conn, LIVE))
        count = await conn.fetchval(f"SELECT count(*) FROM {LIVE}.hours")
        assert count > 0
        equal = " AND ".join(f"a.{c} IS NOT DISTINCT FROM b.{c}" for c in columns)
        same = await conn.fetchval(
            f"SELECT count(*) FROM {LIVE}.hours a JOIN {NEXT}.hours b USING (hour_id) WHERE {equal}"
        )
        assert same == count
    finally:
        await conn.close()


@pytest.mark.parametrize("description", ["tab\there", "two\nlines", "back\\slash", "cr\rhere"])
async def test_text_needing_escapes_is_written_in_binary(
    audit_log: AuditLog, description: str
) -> None:
    await audit_log.append(
        [
            (
                "ExpenseRecorded",
                {
                    "expense_id": "x9",
                    "project_id": "p1",
                    "expense_type": "travel",
                    "description": description,
                    "actual_amount": "12.50",
                    "billable": True,
                },
            )
        ]
    )
    conn = await asyncpg.connect(plain_dsn(audit_log.url))
    try:
        replayer = Replayer(batch=4)
        await replayer.rebuild(conn)
        assert (await replayer.compare(conn, wait_seconds=0)).differences == {}
        stored = await conn.fetchval(
            f"SELECT description FROM {NEXT}.expenses WHERE expense_id = 'x9'"
        )
        assert stored == description
    finally:
        await conn.close()


async def test_text_goes_in_pieces(audit_log: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_copy, "CHUNK", 2)
    conn = await asyncpg.connect(plain_dsn(audit_log.url))
    try:
        replayer = Replayer(batch=4)
        await replayer.rebuild(conn)
        assert (await replayer.compare(conn, wait_seconds=0)).differences == {}
        for table in ("hours",):
            count = await conn.fetchval(f"SELECT count(*) FROM {NEXT}.{table}")
            assert count > replay_copy.CHUNK
            assert count == await conn.fetchval(f"SELECT count(*) FROM {LIVE}.{table}")
    finally:
        await conn.close()
