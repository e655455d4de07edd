"""The PostgreSQL projection keeps the `Projections` contract (the same suite runs in
memory)."""

from __future__ import annotations

import pytest
from projections_contract import ProjectionsContract, World
from recalc_dump import outbox
from recalc_logkit import LogWriter
from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.bootstrap import projections

pytestmark = pytest.mark.integration


class TestPgProjections(ProjectionsContract):
    @pytest.fixture
    def world(self, recalc_engine: AsyncEngine, log_writer: LogWriter) -> World:
        async def sent() -> list[tuple[str, int, str]]:
            rows = await outbox(log_writer.url)
            return [(r["project_id"], int(r["position"]), r["type"]) for r in rows]

        return World(projections(recalc_engine), log_writer.append, sent)
