"""Fixtures of the recalc integration tests: a fresh log, an engine on it, a writer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from recalc_logkit import LogWriter
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.infra.db import create_engine


@pytest.fixture
async def recalc_engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(fresh_database_url, pool_size=4)
    yield eng
    await eng.dispose()


@pytest.fixture
def log_writer(fresh_database_url: str) -> LogWriter:
    return LogWriter(fresh_database_url)
