"""Hour entries come back from the projection exactly as they were written: every
field, NULLs included (the loader folds ids, sources and flags into one text)."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest
from recalc_scenarios import rid
from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.adapters.store import ProjectionStore, Writes
from services.recalc.domain.state import HourEntry
from shared.infra.db import raw

pytestmark = pytest.mark.integration


def _entries(project: str) -> list[HourEntry]:
    out: list[HourEntry] = []
    options = itertools.product(
        (None, "t.1"),  # task_id (None: hours on the project)
        (None, "role:a"),  # role_id
        (True, False),  # counts_as_revenue
        (None, "user"),  # cost_rate_source (with or without a rate)
        (None, "rec-1"),  # billing_record_id
        (True, False),  # kept
    )
    for n, (task, role, counts, source, record, kept) in enumerate(options):
        rate = None if source is None else Decimal("95.50")
        out.append(
            HourEntry(
                hour_id=f"{project}-h{n}",
                project_id=project,
                task_id=task,
                owner_id="u_1",
                entry_date=date(2024, 2, 29),
                hours=Decimal("1.25"),
                role_id=role,
                counts_as_revenue=counts,
                cost=Decimal("0.00") if rate is None else Decimal("119.38"),
                revenue=Decimal("0"),
                cost_rate=rate,
                billing_rate=None if counts else Decimal("120"),
                cost_rate_source=source,
                billing_rate_source=None if counts else "project_role",
                priced_at=n + 1,
                billing_record_id=record,
                kept=kept,
            )
        )
    return out


async def test_every_field_of_an_entry_survives_a_write_and_a_load(
    recalc_engine: AsyncEngine,
) -> None:
    project = rid("p")
    written = _entries(project)
    store = ProjectionStore()
    async with recalc_engine.connect() as sa_conn:
        conn = await raw(sa_conn)
        async with conn.transaction():
            await store.write(conn, Writes(hours=written))
        async with conn.transaction():  # through the cursor, in chunks
            loaded = (await store.load_hours(conn, [project]))[project]
        outside = (await store.load_hours(conn, [project]))[project]  # one fetch
        named = (await store.load_hours(conn, [project], {written[5].hour_id}))[project]
    by_id = {h.hour_id: h for h in loaded}
    assert len(by_id) == len(written) == 64
    for entry in written:
        got = by_id[entry.hour_id]
        assert got == entry
        # the written scale is kept (95.50, not 95.5; 0, not 0.00)
        assert str(got.cost_rate) == str(entry.cost_rate)
        assert str(got.revenue) == "0"
    assert sorted(h.hour_id for h in outside) == sorted(by_id)
    assert named == [written[5]]
