"""Building events to append, for the ledger's integration tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.ledger.adapters.pg_event_log import PgEventLog
from services.ledger.domain.appends import Pending
from services.ledger.service_layer.group_commit import GroupCommit
from shared.events import parse_data


def pending(
    type_name: str, index: int = 0, event_id: uuid.UUID | None = None, **data: Any
) -> Pending:
    return Pending(
        index, event_id or uuid.uuid4(), parse_data(type_name, data), client_id=event_id is not None
    )


def engine_of(writer: GroupCommit) -> AsyncEngine:
    """The engine of a writer on PostgreSQL (to read its log directly)."""
    assert isinstance(writer.log, PgEventLog)
    return writer.log.engine
