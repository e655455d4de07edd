"""Appending to the log of record in PostgreSQL.

Why appends are serialised. Every append takes the row lock on `log_head` first
and holds it until it commits. That buys three things no cheaper scheme gives:

1. Positions are gap-free: the next position is `head + 1`, computed under the
   lock, so a rolled-back append never burns a number (a sequence would).
2. Positions become visible in commit order. With a sequence, writer A could
   take 7, writer B take 8 and commit first; a reader tailing `position > N`
   would see 8, move on, and never see 7. Under the lock, nobody gets 8 before
   7 has committed, so `read_after(last_seen)` never skips an event.
3. Validation is exact: the write model is caught up to the head while the lock
   is held, so R9 checks see every event that precedes the batch, even those
   another ledger process appended a moment ago.

The price is one writer at a time; the locked section is therefore kept to a few
round trips (lock and head, known event ids, one statement that inserts the rows,
moves the head and notifies) and the pure-Python validation in between. Parsing
and schema validation happen before the lock is taken.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.write_model import WriteModel
from shared.events import EventData, as_dict, decode_data, encode_data
from shared.infra.db import raw
from shared.infra.eventlog import head, read_after

NOTIFY_CHANNEL = "tally_log"
_CATCH_UP_CHUNK = 5000

_INSERT = """
WITH ins AS (
    INSERT INTO events
        (position, event_id, stream, version, type, schema_version, data, recorded_at, actor)
    SELECT p, e, s, v, t, sv, d::jsonb, $8, $9
    FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::int[], $5::text[],
                $6::smallint[], $7::text[]) AS u(p, e, s, v, t, sv, d)
), moved AS (
    UPDATE log_head SET position = $10 RETURNING position
)
SELECT pg_notify('tally_log', position::text) FROM moved
"""


@dataclass(frozen=True, slots=True)
class Pending:
    """One event to append. `index` is its place in the client's batch (for errors);
    `client_id` says whether the id came from the client (only those can repeat)."""

    index: int
    event_id: uuid.UUID
    data: EventData
    client_id: bool = True


@dataclass(frozen=True, slots=True)
class Appended:
    event_id: str
    position: int
    stream: str
    version: int
    duplicate: bool = False

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "position": self.position,
            "stream": self.stream,
            "version": self.version,
        }
        if self.duplicate:
            out["duplicate"] = True
        return out


def _conflict(index: int, event_id: uuid.UUID) -> RuleViolation:
    return RuleViolation(
        "event_id_conflict",
        f"event_id {event_id} was already used for a different event",
        "event_id",
        index,
    )


class EventStore:
    """The one writer of the log for this process; holds the write model."""

    def __init__(self, engine: AsyncEngine, model: WriteModel | None = None) -> None:
        self.engine = engine
        self.model = model or WriteModel()
        # one batch at a time in this process: the model is shared by every request
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Bring the write model up to the log's head (at start-up)."""
        async with self._lock, self.engine.connect() as conn:
            pg = await raw(conn)
            await self._catch_up(pg, await head(pg))

    async def _catch_up(self, pg: Any, upto: int) -> None:
        while self.model.position < upto:
            events = await read_after(pg, self.model.position, _CATCH_UP_CHUNK, upto=upto)
            if not events:
                raise RuntimeError(f"log head is {upto} but no event after {self.model.position}")
            for event in events:
                self.model.apply_recorded(event)

    async def append(
        self, batch: Sequence[Pending], actor: str, now: datetime | None = None
    ) -> list[Appended]:
        """Append `batch` atomically; duplicates answer their original place.
        Raises RuleViolation (nothing appended, model unchanged)."""
        recorded_at = now or datetime.now(UTC)
        async with self._lock, self.engine.connect() as conn:
            pg = await raw(conn)
            model = self.model
            try:
                async with pg.transaction():
                    start = int(await pg.fetchval("SELECT position FROM log_head FOR UPDATE"))
                    await self._catch_up(pg, start)
                    known = await _known(pg, [p.event_id for p in batch if p.client_id])
                    model.begin()
                    results, rows = _decide(model, batch, known, start)
                    if rows:
                        columns = [list(c) for c in zip(*rows, strict=True)]
                        await pg.fetchval(_INSERT, *columns, recorded_at, actor, start + len(rows))
            except BaseException:
                # refused, or the transaction failed (even at COMMIT): take the batch back
                if model.journal.active:
                    model.rollback()
                raise
            model.commit(start + len(rows))
        return results


# (type, payload as a dict of provided fields, position, stream, version)
Known = tuple[str, dict[str, Any], int, str, int]


async def _known(pg: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, Known]:
    if not ids:
        return {}
    rows = await pg.fetch(
        "SELECT event_id, type, schema_version, data::text, position, stream, version"
        " FROM events WHERE event_id = ANY($1::uuid[])",
        ids,
    )
    return {r[0]: (r[1], as_dict(decode_data(r[1], r[2], r[3])), r[4], r[5], r[6]) for r in rows}


Row = tuple[int, uuid.UUID, str, int, str, int, str]


def _decide(
    model: WriteModel, batch: Sequence[Pending], known: dict[uuid.UUID, Known], start: int
) -> tuple[list[Appended], list[Row]]:
    results: list[Appended] = []
    rows: list[Row] = []
    for p in batch:
        data = p.data
        seen = known.get(p.event_id)
        if seen is not None:
            if seen[0] != data.event_type or seen[1] != as_dict(data):
                raise _conflict(p.index, p.event_id)
            results.append(Appended(str(p.event_id), seen[2], seen[3], seen[4], duplicate=True))
            continue
        try:
            stream, version = model.decide(data)
        except RuleViolation as exc:
            raise exc.at(p.index) from None
        position = start + len(rows) + 1
        payload = encode_data(data)
        rows.append(
            (
                position,
                p.event_id,
                stream,
                version,
                data.event_type,
                data.schema_version,
                payload.decode(),
            )
        )
        results.append(Appended(str(p.event_id), position, stream, version))
        # a later event of the same batch with this id is its duplicate (or a conflict)
        known[p.event_id] = (data.event_type, as_dict(data), position, stream, version)
    return results, rows
