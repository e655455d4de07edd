"""Building events to append, for the ledger's integration tests."""

from __future__ import annotations

import uuid
from typing import Any

from services.ledger.adapters.event_store import Pending
from shared.events import parse_data


def pending(
    type_name: str, index: int = 0, event_id: uuid.UUID | None = None, **data: Any
) -> Pending:
    return Pending(
        index, event_id or uuid.uuid4(), parse_data(type_name, data), client_id=event_id is not None
    )
