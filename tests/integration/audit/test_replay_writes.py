"""How `tally replay` writes its rebuild: hours and expenses in COPY's text format (in
binary when a text value would need escaping)."""

from __future__ import annotations

import asyncpg
import pytest
from audit_kit import AuditLog

from services.recalc.service_layer.replay import NEXT, Replayer
from shared.infra.db import plain_dsn

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("description", ["tab\there", "two\nlines", "back\\slash", "cr\rhere"])
async def test_text_needing_escapes_is_written_in_binary(
    audit_log: AuditLog, description: str
) -> None:
    await audit_log.append(
        [
            (
                "ExpenseRecorded",
                {
                    "expense_id": "x9",
                    "project_id": "p1",
                    "expense_type": "travel",
                    "description": description,
                    "actual_amount": "12.50",
                    "billable": True,
                },
            )
        ]
    )
    conn = await asyncpg.connect(plain_dsn(audit_log.url))
    try:
        replayer = Replayer(batch=4)
        await replayer.rebuild(conn)
        assert (await replayer.compare(conn, wait_seconds=0)).differences == {}
        stored = await conn.fetchval(
            f"SELECT description FROM {NEXT}.expenses WHERE expense_id = 'x9'"
        )
        assert stored == description
    finally:
        await conn.close()
