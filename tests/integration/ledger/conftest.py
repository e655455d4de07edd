"""Fixtures for the ledger's integration tests: a store on an empty log of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ledger.bootstrap import group_commit
from services.ledger.service_layer.group_commit import GroupCommit
from shared.infra.db import create_engine


@pytest.fixture
async def fresh_engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(fresh_database_url, pool_size=4)
    yield eng
    await eng.dispose()


@pytest.fixture
async def store(fresh_engine: AsyncEngine) -> AsyncIterator[GroupCommit]:
    s = group_commit(fresh_engine)
    await s.load()
    yield s
    await s.close()
