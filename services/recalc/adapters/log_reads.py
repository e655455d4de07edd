"""The log events one transaction of the worker applies, each project from its own
applied position.

`eventlog.read_for_projects` reads every touched project from the lowest applied
position among them: when one project of a batch is far behind (or new), every
other project's already applied events come back too, are decoded, and are then
skipped. During a catch-up that is most of what a batch reads. Here the same two
branches (the projects' streams, and task moves into them) are cut per project in
SQL, so only events still to apply are decoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.events import RecordedEvent
from shared.infra.eventlog import decode_row

# The columns `decode_row` takes, in its order.
_COLUMNS = (
    "e.position, e.event_id, e.stream, e.version, e.type, e.schema_version, e.data::text,"
    " e.recorded_at, e.actor"
)

_SQL = (
    f"SELECT {_COLUMNS} FROM events e"
    " JOIN unnest($3::text[], $4::bigint[]) AS s(stream, after) ON e.stream = s.stream"
    " WHERE e.position > $1 AND e.position <= $2 AND e.position > s.after"
    f" UNION ALL SELECT {_COLUMNS} FROM events e"
    " JOIN unnest($5::text[], $4::bigint[]) AS m(project, after)"
    " ON e.data->>'to_project_id' = m.project"
    " WHERE e.type = 'TaskMoved' AND e.position > $1 AND e.position <= $2"
    " AND e.position > m.after AND NOT e.stream = ANY($3::text[])"
    " ORDER BY 1 LIMIT $6"
)


async def events_to_apply(
    conn: Any, applied: Mapping[str, int], upto: int, limit: int | None = None
) -> list[RecordedEvent]:
    """Every event in (applied[p], upto] that touches project p, for each p of
    `applied`, in position order: p's stream, and task moves into p. At most `limit`
    (the first ones: every event up to the last one returned is there)."""
    if not applied:
        return []
    projects = sorted(applied)
    afters = [applied[p] for p in projects]
    rows = await conn.fetch(
        _SQL,
        min(afters),
        upto,
        [f"project-{p}" for p in projects],
        afters,
        projects,
        limit,
    )
    return [decode_row(r) for r in rows]
