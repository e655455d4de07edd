"""The contract of the ledger's `EventLog` port (services/ledger/service_layer/ports.py).

One suite, two implementations: `tests/unit/ledger/test_memory_event_log.py` runs it
on the in-memory log, `tests/integration/ledger/test_pg_event_log.py` on PostgreSQL.
A subclass provides the `logs` fixture: two handles on one empty log (two writers).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.ledger.domain.appends import Row
from services.ledger.service_layer.ports import EventLog
from shared.events import JobRoleDefined, as_dict

Logs = tuple[EventLog, EventLog]
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def rows(start: int, *names: str, ids: list[uuid.UUID] | None = None) -> list[Row]:
    """One JobRoleDefined a name, at positions start + 1, ..."""
    out: list[Row] = []
    for i, name in enumerate(names):
        data = JobRoleDefined(role_id=name, name=name.upper())
        out.append(
            {
                "position": start + i + 1,
                "event_id": ids[i] if ids else uuid.uuid4(),
                "stream": f"role-{name}",
                "version": 1,
                "type": data.event_type,
                "schema_version": data.schema_version,
                "data": as_dict(data),
                "recorded_at": NOW,
                "actor": "tester",
            }
        )
    return out


def summary(events: list[Any]) -> list[tuple[int, str, str, str]]:
    return [(e.position, e.stream, e.type, e.data.role_id) for e in events]


class EventLogContract:
    async def test_an_empty_log(self, logs: Logs) -> None:
        log, _ = logs
        assert await log.head() == 0
        assert await log.read_after(0, 10, 100) == []

    async def test_rows_inserted_at_the_head_are_committed_in_order(self, logs: Logs) -> None:
        log, other = logs
        first = rows(0, "a", "b")
        assert await log.insert_at(first, 0) is True
        assert await log.insert_at(rows(2, "c"), 2) is True
        assert await other.head() == 3
        events = await other.read_after(0, 10, 3)
        assert summary(events) == [
            (1, "role-a", "JobRoleDefined", "a"),
            (2, "role-b", "JobRoleDefined", "b"),
            (3, "role-c", "JobRoleDefined", "c"),
        ]
        assert events[0].event_id == str(first[0]["event_id"])
        assert (events[0].actor, events[0].version, events[0].recorded_at) == ("tester", 1, NOW)

    async def test_read_after_keeps_to_its_window(self, logs: Logs) -> None:
        log, _ = logs
        await log.insert_at(rows(0, "a", "b", "c", "d"), 0)
        assert [e.position for e in await log.read_after(1, 2, 10)] == [2, 3]
        assert [e.position for e in await log.read_after(1, 10, 3)] == [2, 3]
        assert await log.read_after(4, 10, 10) == []

    async def test_rows_for_a_stale_head_write_nothing(self, logs: Logs) -> None:
        log, other = logs
        await other.insert_at(rows(0, "a"), 0)  # another writer moved the head
        assert await log.insert_at(rows(0, "b"), 0) is False
        assert await log.head() == 1
        assert summary(await log.read_after(0, 10, 10)) == [(1, "role-a", "JobRoleDefined", "a")]

    async def test_an_event_id_in_the_log_refuses_the_whole_step(self, logs: Logs) -> None:
        log, _ = logs
        taken = uuid.uuid4()
        await log.insert_at(rows(0, "a", ids=[taken]), 0)
        with pytest.raises(Exception) as caught:
            await log.insert_at(rows(1, "b", "c", ids=[uuid.uuid4(), taken]), 1)
        assert log.id_taken(caught.value) and log.refused(caught.value)
        await log.discard()
        assert await log.head() == 1
        assert [e.position for e in await log.read_after(0, 10, 10)] == [1]

    async def test_locked_reads_the_head_and_commits_when_the_block_ends(self, logs: Logs) -> None:
        log, other = logs
        ids = [uuid.uuid4(), uuid.uuid4()]
        await log.insert_at(rows(0, "a", "b", ids=ids), 0)
        async with log.locked() as locked:
            assert locked.head == 2
            assert [e.position for e in await locked.read_after(0, 10, 2)] == [1, 2]
            await locked.insert(rows(2, "c"), 2)
        assert await other.head() == 3
        assert summary(await other.read_after(2, 10, 3)) == [(3, "role-c", "JobRoleDefined", "c")]

    async def test_known_events_names_the_ids_the_log_holds(self, logs: Logs) -> None:
        log, _ = logs
        ids = [uuid.uuid4(), uuid.uuid4()]
        await log.insert_at(rows(0, "a", "b", ids=ids), 0)
        stranger = uuid.uuid4()
        async with log.locked() as locked:
            known = await locked.known_events([ids[1], stranger])
        assert set(known) == {ids[1]}
        seen = known[ids[1]]
        assert (seen.position, seen.stream, seen.version, seen.type) == (
            2,
            "role-b",
            1,
            "JobRoleDefined",
        )
        assert seen.same_as(JobRoleDefined(role_id="b", name="B"))
        assert not seen.same_as(JobRoleDefined(role_id="b", name="other"))

    async def test_an_error_in_a_locked_block_takes_it_all_back(self, logs: Logs) -> None:
        log, _ = logs
        with pytest.raises(RuntimeError):
            async with log.locked() as locked:
                await locked.insert(rows(0, "a", "b"), 0)
                raise RuntimeError("the writer gave up")
        await log.discard()
        assert await log.head() == 0
        assert await log.read_after(0, 10, 10) == []
        assert await log.insert_at(rows(0, "c"), 0) is True

    async def test_a_second_writer_waits_for_the_held_head(self, logs: Logs) -> None:
        log, other = logs
        async with log.locked() as locked:
            late = asyncio.create_task(other.insert_at(rows(0, "b"), 0))
            await asyncio.sleep(0.2)
            assert not late.done()  # it waits for the head
            await locked.insert(rows(0, "a"), 0)
        # the head moved while it waited: its rows were for a head that is gone
        assert await late is False
        assert summary(await other.read_after(0, 10, 10)) == [(1, "role-a", "JobRoleDefined", "a")]
