"""The log of record in memory: the `EventLog` port for tests and tools.

It keeps the port's contract (`tests/contracts/event_log_contract.py` runs against
it and against PostgreSQL): gap-free positions, a head that one writer holds at a
time, one event per id, steps that commit whole or not at all. Several handles
(`handle()`) share one log, as ledger processes share one database.

Faults are injected per handle, into every step that writes, before it writes
anything: `fail_next(exc)` fails the next one, `fail_if(rule)` every one whose rows
`rule` answers an exception for. `Refused` is a refusal (nothing of the step
committed, `refused` is true); any other exception is a step with an unknown
outcome, as a lost connection is.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.ledger.domain.appends import Known, Row
from shared.events import RecordedEvent, decode_data


class Refused(Exception):
    """The log's answer to a step it refuses (as a database's error)."""


class IdTaken(Refused):
    """An inserted event id is already in the log."""


@dataclass
class _Shared:
    rows: list[Row] = field(default_factory=list)
    ids: dict[uuid.UUID, int] = field(default_factory=dict)  # event id -> position
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _event(row: Row) -> RecordedEvent:
    recorded_at: datetime = row["recorded_at"]
    return RecordedEvent(
        position=row["position"],
        event_id=str(row["event_id"]),
        stream=row["stream"],
        version=row["version"],
        recorded_at=recorded_at,
        actor=row["actor"],
        data=decode_data(row["type"], row["schema_version"], row["data"]),
    )


class _Locked:
    def __init__(self, log: MemoryEventLog) -> None:
        self._log = log
        self.head = len(log.shared.rows)
        self.staged: list[Row] = []

    async def read_after(self, after: int, limit: int, upto: int) -> list[RecordedEvent]:
        return await self._log.read_after(after, limit, upto)

    async def known_events(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Known]:
        rows = self._log.shared.rows
        out: dict[uuid.UUID, Known] = {}
        for event_id in ids:
            position = self._log.shared.ids.get(event_id)
            if position is not None:
                e = _event(rows[position - 1])
                out[event_id] = Known(e.type, e.data, e.position, e.stream, e.version)
        return out

    async def insert(self, rows: list[Row], start: int) -> None:
        self._log.check_fault(rows)
        if start != self.head + len(self.staged):
            raise Refused(f"rows for {start + 1} but the head is {self.head}")
        self._log.check_ids(rows, self.staged)
        self.staged.extend(rows)


class MemoryEventLog:
    def __init__(self, shared: _Shared | None = None) -> None:
        self.shared = shared or _Shared()
        self._next: list[BaseException] = []
        self._rules: list[Callable[[Sequence[Row]], BaseException | None]] = []
        self.released = 0  # how often `release` was called (idle hand-backs)
        self.discarded = 0  # how often `discard` was called (after failures)

    def handle(self) -> MemoryEventLog:
        """Another writer on the same log (another ledger process)."""
        return MemoryEventLog(self.shared)

    def fail_next(self, exc: BaseException) -> None:
        self._next.append(exc)

    def fail_if(self, rule: Callable[[Sequence[Row]], BaseException | None]) -> None:
        self._rules.append(rule)

    def check_fault(self, rows: Sequence[Row]) -> None:
        if self._next:
            raise self._next.pop(0)
        for rule in self._rules:
            if (exc := rule(rows)) is not None:
                raise exc

    def check_ids(self, rows: Sequence[Row], staged: Sequence[Row] = ()) -> None:
        seen = {r["event_id"] for r in staged}
        for row in rows:
            if row["event_id"] in self.shared.ids or row["event_id"] in seen:
                raise IdTaken(f"event id {row['event_id']} is in the log")
            seen.add(row["event_id"])

    def _commit(self, rows: list[Row]) -> None:
        for row in rows:
            self.shared.rows.append(row)
            self.shared.ids[row["event_id"]] = row["position"]

    async def head(self) -> int:
        return len(self.shared.rows)

    async def read_after(self, after: int, limit: int, upto: int) -> list[RecordedEvent]:
        end = min(upto, len(self.shared.rows), after + limit)
        return [_event(row) for row in self.shared.rows[after:end]]

    async def insert_at(self, rows: list[Row], start: int) -> bool:
        async with self.shared.lock:
            self.check_fault(rows)
            if start != len(self.shared.rows):
                return False
            self.check_ids(rows)
            self._commit(rows)
            return True

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[_Locked]:
        async with self.shared.lock:
            locked = _Locked(self)
            yield locked
            self._commit(locked.staged)

    def id_taken(self, exc: BaseException) -> bool:
        return isinstance(exc, IdTaken)

    def refused(self, exc: BaseException) -> bool:
        return isinstance(exc, Refused)

    async def discard(self) -> None:
        self.discarded += 1

    async def release(self) -> None:
        self.released += 1
