"""Read whole projection schemas back, to compare two of them."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.recalc.adapters.store import ProjectionStore
from shared.infra.db import plain_dsn

TABLES = {
    "projects": "project_id",
    "tasks": "task_id",
    "hours": "hour_id",
    "expenses": "expense_id",
    "billing_records": "billing_record_id",
}


async def dump(url: str, schema: str = "projection") -> dict[str, list[dict[str, Any]]]:
    conn = await asyncpg.connect(plain_dsn(url))
    store = ProjectionStore(schema)
    try:
        out: dict[str, list[dict[str, Any]]] = {}
        for table, key in TABLES.items():
            # hours as readers see them (priced_at as it stands)
            source = store.hour_lines() if table == "hours" else f"{schema}.{table}"
            rows = await conn.fetch(f"SELECT * FROM {source} h ORDER BY {key}")
            out[table] = [dict(r) for r in rows]
        return out
    finally:
        await conn.close()


async def outbox(url: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        rows = await conn.fetch("SELECT * FROM finance_outbox ORDER BY seq")
        return [dict(r) for r in rows]
    finally:
        await conn.close()
