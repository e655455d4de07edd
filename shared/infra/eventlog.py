"""Reading the log of record. Every reader goes through here; only the ledger appends.

Positions are gap-free and become visible in commit order (the ledger serialises
appends on `log_head`), so `position > N` reads never miss an event that commits
later with a lower position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from shared.events import HoursLogged, RecordedEvent, encode_stored_envelope
from shared.events.codec import decode_data, decode_logged
from shared.events.envelope import HoursLoggedAt
from shared.events.trusted import LoggedHours, logged_hours

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


def _for_projects_sql(columns: str) -> str:
    """Every event in ($1, $2] of the streams $3, and the task moves into the projects
    $4 from other streams (a move lives in the source's stream), in position order."""
    return (
        f"SELECT {columns} FROM events WHERE position > $1 AND position <= $2"
        " AND stream = ANY($3::text[])"
        f" UNION ALL SELECT {columns} FROM events WHERE position > $1 AND position <= $2"
        " AND type = 'TaskMoved' AND data->>'to_project_id' = ANY($4::text[])"
        " AND NOT stream = ANY($3::text[])"
        " ORDER BY position"
    )


async def read_for_projects(
    conn: Any, project_ids: Sequence[str], after: int, upto: int
) -> list[RecordedEvent]:
    """Every event in (after, upto] that touches one of `project_ids`: the events of
    their streams, and task moves into them."""
    streams = [f"project-{p}" for p in project_ids]
    rows = await conn.fetch(_for_projects_sql(_COLUMNS), after, upto, streams, list(project_ids))
    return [decode_row(r) for r in rows]


# -- a project's history, for a replay ----------------------------------------------------

#: The envelope's other fields of an `HoursLogged` event at the current schema are not
#: read: nothing a replay does with one needs them, and reading them (a uuid, a
#: timestamp) was a third of the read (docs/decisions.md, "A replay reads `HoursLogged` bare").
_HISTORY_COLUMNS = (
    "position, CASE WHEN NOT {bare} THEN event_id END, stream,"
    " CASE WHEN NOT {bare} THEN version END, type, schema_version, data::text,"
    " CASE WHEN NOT {bare} THEN recorded_at END, CASE WHEN NOT {bare} THEN actor END"
).format(bare=f"(type = 'HoursLogged' AND schema_version = {HoursLogged.schema_version})")
"""`_COLUMNS`, in their order, with NULLs for the columns not read."""

History = list[RecordedEvent | HoursLoggedAt]


def decode_history_row(row: Sequence[Any]) -> RecordedEvent | HoursLoggedAt:
    """A row of `_HISTORY_COLUMNS`: an `HoursLogged` event at the current schema as an
    `HoursLoggedAt` (its fields as the trusted decode gives them, or validated when it
    refuses them), any other as a `RecordedEvent`."""
    if row[1] is None:  # bare (event_id not read): HoursLogged at the current schema
        fields: LoggedHours | HoursLogged | None = logged_hours(row[6])  # (indexed: faster)
        if fields is None:
            fields = cast(HoursLogged, decode_data(row[4], row[5], row[6]))
        return HoursLoggedAt(row[0], row[2], fields)
    return decode_row(row)


#: A window of the history of some streams: the events in ($1, $2] of the streams $3,
#: in position order, as `decode_history_row` reads them. A window of positions, not a
#: page of events (`LIMIT`): the planner's bitmap scan of a page read every position
#: from $1 to the end of the log and sorted the rows it kept, for every page.
HISTORY_WINDOW_SQL = (
    f"SELECT {_HISTORY_COLUMNS} FROM events WHERE position > $1 AND position <= $2"
    " AND stream = ANY($3::text[]) ORDER BY position"
)


async def read_history(conn: Any, project_ids: Sequence[str], after: int, upto: int) -> History:
    """`read_for_projects` for a replay without an observer: the same events, the
    `HoursLogged` ones bare (`decode_history_row`)."""
    streams = [f"project-{p}" for p in project_ids]
    sql = _for_projects_sql(_HISTORY_COLUMNS)
    return [
        decode_history_row(r)
        for r in await conn.fetch(sql, after, upto, streams, list(project_ids))
    ]
