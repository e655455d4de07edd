"""A history appended through the ledger and advanced live, for the audit tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from audit_histories import PROJECTS, parsed
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ledger.adapters.event_store import EventStore, Pending
from services.recalc.service_layer.advance import Advancer

NOON = datetime(2023, 6, 19, 12, tzinfo=UTC)

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
    ledger: EventStore
    advancer: Advancer
    positions: list[int]

    async def append(self, items: Sequence[tuple[str, dict[str, Any]]]) -> list[int]:
        """Append one by one (all must be accepted) and advance the live projection."""
        out = []
        for data in parsed(list(items)):
            (done,) = await self.ledger.append([Pending(0, uuid.uuid4(), data)], "test", NOON)
            await self.advancer.advance(self.engine, PROJECTS, done.position)
            out.append(done.position)
        self.positions.extend(out)
        return out
