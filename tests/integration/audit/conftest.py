"""Fixtures of the audit tests: a history appended through the ledger, advanced live."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from audit_histories import PREAMBLE
from audit_kit import STORY, AuditLog

from services.ledger.bootstrap import group_commit
from services.recalc.bootstrap import projections
from services.recalc.service_layer.advance import Advancer
from shared.infra.db import create_engine


@pytest.fixture
async def audit_log(fresh_database_url: str) -> AsyncIterator[AuditLog]:
    engine = create_engine(fresh_database_url, pool_size=4)
    log = AuditLog(
        fresh_database_url, engine, group_commit(engine), Advancer(projections(engine)), []
    )
    try:
        await log.append(PREAMBLE + STORY)
        yield log
    finally:
        await log.ledger.close()
        await engine.dispose()
