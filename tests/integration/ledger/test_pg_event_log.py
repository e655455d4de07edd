"""The PostgreSQL log keeps the `EventLog` contract (the same suite runs in memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from event_log_contract import EventLogContract, Logs
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ledger.adapters.pg_event_log import PgEventLog

pytestmark = pytest.mark.integration


class TestPgEventLog(EventLogContract):
    @pytest.fixture
    async def logs(self, fresh_engine: AsyncEngine) -> AsyncIterator[Logs]:
        one, two = PgEventLog(fresh_engine), PgEventLog(fresh_engine)
        yield one, two
        await one.release()
        await two.release()
