"""The in-memory log keeps the `EventLog` contract (the same suite runs on PostgreSQL)."""

from __future__ import annotations

import pytest
from event_log_contract import EventLogContract, Logs

from services.ledger.adapters.memory_event_log import MemoryEventLog


class TestMemoryEventLog(EventLogContract):
    @pytest.fixture
    def logs(self) -> Logs:
        log = MemoryEventLog()
        return log, log.handle()
