"""What one client batch turns into when it is appended: its answers and its rows.

`decide_batch` is pure apart from the write model it applies to (journaled by the
caller): it never touches the log, so group commit (`service_layer/group_commit.py`)
can run it batch after batch under one lock and one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.write_model import WriteModel
from shared.events import EventData, as_dict


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
# travel as ONE JSON document (see `adapters/pg_event_log.py`), so each row is a dict
# that orjson encodes in the same pass as the others.
Row = dict[str, Any]


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
