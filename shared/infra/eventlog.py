"""Reading the log of record. Every reader goes through here; only the ledger appends.

Positions are gap-free and become visible in commit order (the ledger serialises
appends on `log_head`), so `position > N` reads never miss an event that commits
later with a lower position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.events import RecordedEvent, encode_stored_envelope
from shared.events.codec import decode_logged

_COLUMNS = (
    "position, event_id, stream, version, type, schema_version, data::text, recorded_at, actor"
)


def decode_row(row: Sequence[Any]) -> RecordedEvent:
    position, event_id, stream, version, type_, schema_version, data, recorded_at, actor = row
    return RecordedEvent(
        position=position,
        event_id=str(event_id),
        stream=stream,
        version=version,
        recorded_at=recorded_at,
        actor=actor,
        data=decode_logged(type_, schema_version, data),
    )


async def head(conn: Any) -> int:
    """The highest committed position (0 for an empty log). `conn` is asyncpg's."""
    return int(await conn.fetchval("SELECT position FROM log_head"))


async def read_after(
    conn: Any,
    after: int,
    limit: int,
    *,
    stream: str | None = None,
    types: Sequence[str] | None = None,
    upto: int | None = None,
) -> list[RecordedEvent]:
    """Events with position > `after` (and <= `upto`), in position order."""
    clauses = ["position > $1"]
    args: list[Any] = [after]
    if stream is not None:
        args.append(stream)
        clauses.append(f"stream = ${len(args)}")
    if types:
        args.append(list(types))
        clauses.append(f"type = ANY(${len(args)}::text[])")
    if upto is not None:
        args.append(upto)
        clauses.append(f"position <= ${len(args)}")
    args.append(limit)
    sql = (
        f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(clauses)}"
        f" ORDER BY position LIMIT ${len(args)}"
    )
    return [decode_row(r) for r in await conn.fetch(sql, *args)]


async def read_envelopes_after(
    conn: Any, after: int, limit: int
) -> list[tuple[int, str, bytes, bytes]]:
    """(position, stream, envelope, schema header) of the events after `after`, encoded
    for publishing without a decode where none is needed (see the codec)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
        after,
        limit,
    )
    out = []
    for (
        position,
        event_id,
        stream,
        version,
        type_,
        schema_version,
        data,
        recorded_at,
        actor,
    ) in rows:
        value, header = encode_stored_envelope(
            position,
            str(event_id),
            stream,
            version,
            type_,
            schema_version,
            recorded_at,
            actor,
            data,
        )
        out.append((position, stream, value, header))
    return out


async def read_for_projects(
    conn: Any, project_ids: Sequence[str], after: int, upto: int
) -> list[RecordedEvent]:
    """Every event in (after, upto] that touches one of `project_ids`: the events of
    their streams, and task moves into them (a move lives in the source's stream)."""
    streams = [f"project-{p}" for p in project_ids]
    sql = (
        f"SELECT {_COLUMNS} FROM events WHERE position > $1 AND position <= $2"
        " AND stream = ANY($3::text[])"
        f" UNION ALL SELECT {_COLUMNS} FROM events WHERE position > $1 AND position <= $2"
        " AND type = 'TaskMoved' AND data->>'to_project_id' = ANY($4::text[])"
        " AND NOT stream = ANY($3::text[])"
        " ORDER BY position"
    )
    rows = await conn.fetch(sql, after, upto, streams, list(project_ids))
    return [decode_row(r) for r in rows]
