"""The comparison of `tally replay` in parts side by side: each row falls in one part,
and the parts together report what one comparison reports, in the same order."""

from __future__ import annotations

import asyncpg
import pytest
from audit_kit import AuditLog

from services.recalc.service_layer.compare import compare
from services.recalc.service_layer.replay import LIVE, NEXT, Replayer
from shared.infra.db import plain_dsn

pytestmark = pytest.mark.integration


async def test_parts_together_report_every_difference(audit_log: AuditLog) -> None:
    conn = await asyncpg.connect(plain_dsn(audit_log.url))
    try:
        await Replayer(batch=4).rebuild(conn)
        hours = [r["hour_id"] for r in await conn.fetch(f"SELECT hour_id FROM {LIVE}.hours")]
        assert len(hours) >= 3
        await conn.execute(f"UPDATE {LIVE}.hours SET cost = cost + 1")
        await conn.execute(f"UPDATE {LIVE}.projects SET billed_revenue = 7")
        whole = await compare(conn, LIVE, NEXT)
        parts = [await compare(conn, LIVE, NEXT, (i, 3)) for i in range(3)]
        keys = [{(d.table, d.key) for diffs in p.values() for d in diffs} for p in parts]
        assert sum(len(k) for k in keys) == len(set().union(*keys))  # disjoint
        assert set().union(*keys) == {(d.table, d.key) for ds in whole.values() for d in ds}
        assert {("hours", h) for h in hours} <= set().union(*keys)

        replayer = Replayer(jobs=2, dsn=plain_dsn(audit_log.url))
        replayer.position = audit_log.positions[-1]
        report = await replayer.compare(conn, wait_seconds=0)
        assert report.differences == whole
        for diffs in whole.values():
            assert [d.table for d in diffs] == sorted(
                (d.table for d in diffs), key=["projects", "tasks", "hours"].index
            )
    finally:
        await conn.close()
