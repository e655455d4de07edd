"""A history appended through the ledger and advanced live, for the audit tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from audit_histories import PROJECTS, parsed
from hypothesis import HealthCheck, settings
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ledger.bootstrap import group_commit
from services.ledger.domain.appends import Pending
from services.ledger.domain.errors import RuleViolation
from services.ledger.service_layer.group_commit import GroupCommit
from services.recalc.service_layer.advance import Advancer
from shared.infra.db import create_engine

NOON = datetime(2023, 6, 19, 12, tzinfo=UTC)

#: The property tests over random histories: each example gets a database of its own.
HISTORY_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextlib.asynccontextmanager
async def history_log(pg_server: Any) -> AsyncIterator[tuple[AsyncEngine, GroupCommit]]:
    """A fresh database, its engine and a ledger on it, for one example."""
    engine = create_engine(await pg_server.new_database(), pool_size=2)
    ledger = group_commit(engine)
    try:
        yield engine, ledger
    finally:
        await ledger.close()
        await engine.dispose()


async def append_if_valid(ledger: GroupCommit, data: Any, now: datetime) -> int | None:
    """Append one event; None when the ledger refuses it (R9): not part of a valid
    history."""
    try:
        (appended,) = await ledger.append([Pending(0, uuid.uuid4(), data)], "test", now=now)
    except RuleViolation:
        return None
    return appended.position


# After the preamble: a billed record, a move with hours, a manual recalculation.
STORY: list[tuple[str, dict[str, Any]]] = [
    ("BillingRecordItemsAdded", {"billing_record_id": "b1", "hour_ids": ["h1"]}),
    ("BillingRecordStatusChanged", {"billing_record_id": "b1", "status": "billed"}),
    (
        "RatesSet",
        {"level": "user", "rate_type": "billing", "user_id": "u1", "periods": [{"value": "50"}]},
    ),
    ("FinancesRecalculationRequested", {"project_ids": ["p1"], "scope": "all"}),
    (
        "HoursLogged",
        {
            "hour_id": "h3",
            "owner_id": "u1",
            "task_id": "t3",
            "entry_date": "2023-06-21",
            "hours": "3",
        },
    ),
    ("TaskMoved", {"task_id": "t3", "to_project_id": "p1"}),
    ("BillingRecordStatusChanged", {"billing_record_id": "b1", "status": "not_billed"}),
    ("TaskStatusChanged", {"task_id": "t1", "status": "complete"}),
]


@dataclass
class AuditLog:
    url: str
    engine: AsyncEngine
    ledger: GroupCommit
    advancer: Advancer
    positions: list[int]

    async def append(self, items: Sequence[tuple[str, dict[str, Any]]]) -> list[int]:
        """Append one by one (all must be accepted) and advance the live projection."""
        out = []
        for data in parsed(list(items)):
            (done,) = await self.ledger.append([Pending(0, uuid.uuid4(), data)], "test", NOON)
            await self.advancer.advance(PROJECTS, done.position)
            out.append(done.position)
        self.positions.extend(out)
        return out


async def store_raw_event(
    conn: Any, stream: str, type_: str, schema_version: int, payload: str, recorded_at: datetime
) -> int:
    """Append `payload` as it stands, bypassing the ledger's validation (as an older
    ledger wrote it, or in a form the ledger would not write); its position."""
    async with conn.transaction():
        head = int(await conn.fetchval("SELECT position FROM log_head FOR UPDATE"))
        version = await conn.fetchval(
            "SELECT coalesce(max(version), 0) + 1 FROM events WHERE stream = $1", stream
        )
        await conn.execute(
            "INSERT INTO events (position, event_id, stream, version, type,"
            " schema_version, data, recorded_at, actor)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, 'old')",
            head + 1,
            uuid.uuid4(),
            stream,
            version,
            type_,
            schema_version,
            payload,
            recorded_at,
        )
        await conn.execute("UPDATE log_head SET position = $1", head + 1)
    return head + 1
