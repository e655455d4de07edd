"""What one client batch turns into inside a group append: its answers and its rows.

`decide_batch` is pure apart from the write model it applies to (journaled by the
caller): it never touches the database, so the event store can run it batch after
batch under one lock and one transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.write_model import WriteModel
from shared.events import EventData, as_dict, decode_data


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


@dataclass(frozen=True, slots=True)
class Known:
    """An event id already taken: in the log, or by an earlier batch of the group.
    The payload is compared only when the id comes again (rare), so it is kept as
    the event and turned into a dict then, not for every event appended."""

    type: str
    data: EventData
    position: int
    stream: str
    version: int

    def same_as(self, data: EventData) -> bool:
        return self.type == data.event_type and as_dict(self.data) == as_dict(data)


# One row of `events`, by column name (`data` as `as_dict` gives it): a group's rows
# travel as ONE JSON document (see the event store's insert), so each row is a dict
# that orjson encodes in the same pass as the others.
Row = dict[str, Any]


async def known_events(pg: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, Known]:
    """The log's events with these ids (`pg` is asyncpg's connection).

    One index probe per id, whatever the table's statistics say: with
    `event_id = ANY($1)` and a few hundred ids the planner may choose a sequential
    scan testing every row against the whole array (seen: 70 ms on 60k rows)."""
    if not ids:
        return {}
    rows = await pg.fetch(
        "SELECT e.event_id, e.type, e.schema_version, e.data::text, e.position, e.stream,"
        " e.version FROM unnest($1::uuid[]) AS u(id) CROSS JOIN LATERAL"
        " (SELECT * FROM events WHERE event_id = u.id OFFSET 0) AS e",
        ids,
    )
    return {r[0]: Known(r[1], decode_data(r[1], r[2], r[3]), r[4], r[5], r[6]) for r in rows}


def _conflict(index: int, event_id: uuid.UUID) -> RuleViolation:
    return RuleViolation(
        "event_id_conflict",
        f"event_id {event_id} was already used for a different event",
        "event_id",
        index,
    )


def decide_batch(
    model: WriteModel,
    batch: Sequence[Pending],
    known: dict[uuid.UUID, Known],
    after: int,
    recorded_at: datetime,
    actor: str,
) -> tuple[list[Appended], list[Row], dict[uuid.UUID, Known]]:
    """Validate and apply `batch` on `model`, its new events placed after position
    `after`: (answers, rows to insert, ids it took). `known` is only read: the caller
    adds the ids taken once the batch as a whole is accepted, so that a refused batch
    leaves no id behind. Raises RuleViolation (the caller undoes the model)."""
    results: list[Appended] = []
    rows: list[Row] = []
    taken: dict[uuid.UUID, Known] = {}
    for p in batch:
        data = p.data
        seen = taken.get(p.event_id) or known.get(p.event_id)
        if seen is not None:
            if not seen.same_as(data):
                raise _conflict(p.index, p.event_id)
            results.append(
                Appended(str(p.event_id), seen.position, seen.stream, seen.version, duplicate=True)
            )
            continue
        try:
            stream, version = model.decide(data)
        except RuleViolation as exc:
            raise exc.at(p.index) from None
        position = after + len(rows) + 1
        rows.append(
            {
                "position": position,
                "event_id": p.event_id,
                "stream": stream,
                "version": version,
                "type": data.event_type,
                "schema_version": data.schema_version,
                "data": as_dict(data),  # what `encode_data` would write
                "recorded_at": recorded_at,
                "actor": actor,
            }
        )
        results.append(Appended(str(p.event_id), position, stream, version))
        # a later event with this id (this batch or a later one of the group) is its
        # duplicate, or a conflict
        taken[p.event_id] = Known(data.event_type, data, position, stream, version)
    return results, rows, taken


# -- groups -----------------------------------------------------------------------


@dataclass(slots=True)
class Request:
    """One caller's batch, waiting for (or in) a group; `answer` is what it awaits."""

    batch: Sequence[Pending]
    actor: str
    recorded_at: datetime
    answer: asyncio.Future[list[Appended]]


# per request of a group: its answers, or why it was refused
Outcomes = list[list[Appended] | Exception]


def decide_group(
    model: WriteModel, group: list[Request], known: dict[uuid.UUID, Known], start: int
) -> tuple[Outcomes, list[Row]]:
    """Each batch in turn from its own journal mark: a refused one is taken back
    alone, and the ids it took are forgotten with it. The caller has begun the
    model's journal, and commits or rolls back the group."""
    outcomes: Outcomes = []
    rows: list[Row] = []
    for request in group:
        mark = model.mark()
        try:
            results, mine, taken = decide_batch(
                model, request.batch, known, start + len(rows), request.recorded_at, request.actor
            )
        except Exception as exc:  # refused (or a bug in a rule): this batch alone fails
            model.rollback_to(mark)
            outcomes.append(exc)
            continue
        rows.extend(mine)
        known.update(taken)
        outcomes.append(results)
    return outcomes, rows


def may_repeat(group: list[Request], outcomes: Outcomes) -> bool:
    """Was a batch with client ids refused? It may be a retry of events the log
    holds (re-creating what exists), which only asking the log can tell."""
    return any(
        isinstance(outcome, RuleViolation) and any(p.client_id for p in request.batch)
        for request, outcome in zip(group, outcomes, strict=True)
    )
