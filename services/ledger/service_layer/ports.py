"""What group commit needs from the log of record: the `EventLog` port.

Two implementations keep one contract (`tests/contracts/event_log_contract.py`):
`adapters/pg_event_log.py` on PostgreSQL, and `adapters/memory_event_log.py` in
memory, for the service layer's unit tests.

The contract, which group commit's guarantees rest on (see `group_commit.py`):

- Positions are gap-free and become visible in commit order: rows go in at
  `start + 1, start + 2, ...` only while the head is at `start`.
- `insert_at` is one step that commits by itself, or does nothing (returns False)
  when the head is no longer at `start`.
- `locked()` is a transaction that holds the head: no other writer appends until it
  ends; it commits when the block ends and takes everything back on an error.
- An event id is in the log at most once: an insert naming one already there fails
  with an error for which `id_taken` is true, and writes nothing.
- `refused(exc)`: the log answered with a refusal, so nothing of that step was
  committed (the step may be tried again, alone or split). Any other error (a lost
  connection, a time-out) leaves the outcome unknown.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from services.ledger.domain.appends import Known, Row
from shared.events import RecordedEvent


class LockedLog(Protocol):
    """The log inside a transaction that holds its head."""

    @property
    def head(self) -> int:
        """The head, read under the lock."""
        ...

    async def read_after(self, after: int, limit: int, upto: int) -> list[RecordedEvent]: ...

    async def known_events(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Known]:
        """The log's events with these ids (ids it does not hold are left out)."""
        ...

    async def insert(self, rows: list[Row], start: int) -> None:
        """Rows at `start + 1, ...`; the head moves with them (at the commit)."""
        ...


class EventLog(Protocol):
    async def head(self) -> int:
        """The highest committed position (0 for an empty log)."""
        ...

    async def read_after(self, after: int, limit: int, upto: int) -> list[RecordedEvent]:
        """Committed events with `after < position <= upto`, in position order."""
        ...

    async def insert_at(self, rows: list[Row], start: int) -> bool:
        """Insert `rows` (positions `start + 1, ...`) and commit, in one step, only if
        the head is at `start`; False, and nothing written, when it is not."""
        ...

    def locked(self) -> AbstractAsyncContextManager[LockedLog]:
        """A transaction holding the head (see the module's doc)."""
        ...

    def id_taken(self, exc: BaseException) -> bool:
        """`exc` says an inserted event id is already in the log (nothing written)."""
        ...

    def refused(self, exc: BaseException) -> bool:
        """`exc` is the log's answer: nothing of the failed step was committed."""
        ...

    async def discard(self) -> None:
        """After a failure: drop whatever session is held; the next step starts afresh."""
        ...

    async def release(self) -> None:
        """Give back what is held while idle (a pooled connection)."""
        ...
