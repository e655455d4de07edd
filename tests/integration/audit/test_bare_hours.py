"""A replay reads `HoursLogged` bare (`eventlog.read_history`): its fields without its
envelope, built by the trusted decode. A payload stored in another form than the
ledger writes (here "1.50" hours and a float) is validated instead, and every reader
(the worker, `as_of`, `tally replay`) still agrees on it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest
from audit_kit import AuditLog, store_raw_event

from services.recalc.service_layer import asof
from services.recalc.service_layer.replay import Replayer
from shared.events import HoursLogged, HoursLoggedAt, RecordedEvent
from shared.events.trusted import LoggedHours
from shared.infra import eventlog
from shared.infra.db import plain_dsn

pytestmark = pytest.mark.integration

ODD = (
    '{"hour_id": "odd", "owner_id": "u1", "task_id": "t1", "entry_date": "2023-06-21",'
    ' "hours": "1.50", "counts_as_revenue": true}'
)


async def test_hours_read_bare_agree_with_every_reader(audit_log: AuditLog) -> None:
    conn = await asyncpg.connect(plain_dsn(audit_log.url))
    try:
        position = await store_raw_event(
            conn, "project-p1", "HoursLogged", 1, ODD, datetime(2023, 6, 21, tzinfo=UTC)
        )
        history = await eventlog.read_history(conn, ["p1"], 0, position)
        whole = await eventlog.read_for_projects(conn, ["p1"], 0, position)
        # the same events, in the same order; every HoursLogged bare, the rest whole
        assert [e.position for e in history] == [e.position for e in whole]
        for bare, event in zip(history, whole, strict=True):
            if isinstance(event.data, HoursLogged):
                assert isinstance(bare, HoursLoggedAt)
                assert bare.stream == event.stream
                names = LoggedHours._fields
                assert [getattr(bare.data, n) for n in names] == [
                    getattr(event.data, n) for n in names
                ]
            else:
                assert isinstance(bare, RecordedEvent) and bare == event
        odd = history[-1]
        assert isinstance(odd, HoursLoggedAt) and isinstance(odd.data, HoursLogged)  # validated
        assert str(odd.data.hours) == "1.5"

        await audit_log.advancer.advance(["p1"], position)
        live = await conn.fetchrow(
            "SELECT hours, cost, revenue FROM projection.hours WHERE hour_id = 'odd'"
        )
        book = await asof.book_as_of(conn, "p1", position)
        entry = book.projects["p1"].hours["odd"]
        assert (entry.hours, entry.cost, entry.revenue) == (
            live["hours"],
            live["cost"],
            live["revenue"],
        )
        assert entry.hours == Decimal("1.5")
        replayer = Replayer()
        await replayer.rebuild(conn)
        report = await replayer.compare(conn, wait_seconds=0)
        assert report.differences == {} and report.behind == []
    finally:
        await conn.close()
