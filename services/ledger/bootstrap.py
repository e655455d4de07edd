"""The ledger's composition root: group commit on the log of record in PostgreSQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.ledger.adapters.pg_event_log import PgEventLog
from services.ledger.domain.write_model import WriteModel
from services.ledger.service_layer.group_commit import MAX_GROUP_EVENTS, GroupCommit


def group_commit(
    engine: AsyncEngine,
    model: WriteModel | None = None,
    *,
    max_group_events: int = MAX_GROUP_EVENTS,
) -> GroupCommit:
    """The one writer of the log for this process."""
    return GroupCommit(PgEventLog(engine), model, max_group_events=max_group_events)
