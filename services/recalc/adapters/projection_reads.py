"""Read queries of the finance routes: the live projection, and how far it is caught up."""

from __future__ import annotations

from typing import Any

from services.recalc.adapters.store import ProjectionStore
from services.recalc.adapters.unpriceable import COLUMNS, Unpriceable

#: a parked project is held back until its projection gets past the failed position
_HOLDS_BACK = "coalesce(p.applied_position, 0) < u.position"


class ProjectionReader:
    """What the routes read, from one projection schema. Ids sort by code point
    (COLLATE "C"), as the `as_of` reads sort them in Python."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store

    async def applied_position(self, conn: Any, project_id: str) -> int | None:
        value = await conn.fetchval(
            f"SELECT applied_position FROM {self.store.table('projects')} WHERE project_id = $1",
            project_id,
        )
        return None if value is None else int(value)

    async def includes(self, conn: Any, project_id: str, position: int) -> bool:
        """Does the projection of `project_id` include log position `position`?

        Yes when it is applied that far, or when the log is that long and no event in
        (applied, position] touches the project (its stream, or a task moved into it):
        the same WHERE clauses as `eventlog.read_for_projects`."""
        applied = await self.applied_position(conn, project_id) or 0
        if applied >= position:
            return True
        # The stream's last event at or below `position`, found backwards on the
        # (stream, version) index (versions and positions rise together in a stream),
        # so a poll reads a few rows, not the project's whole stream.
        return bool(
            await conn.fetchval(
                "SELECT (SELECT position FROM log_head) >= $2"
                " AND COALESCE((SELECT position FROM events WHERE stream = $3"
                " AND position <= $2 ORDER BY version DESC LIMIT 1), 0) <= $1"
                " AND NOT EXISTS (SELECT 1 FROM events WHERE type = 'TaskMoved'"
                " AND data->>'to_project_id' = $4 AND position > $1 AND position <= $2)",
                applied,
                position,
                f"project-{project_id}",
                project_id,
            )
        )

    async def project(self, conn: Any, project_id: str) -> Any:
        """The project's row, with `unpriceable`: the error that parked it while it
        holds the project back (see `unpriceable`), else null."""
        return await conn.fetchrow(
            f"SELECT p.*, (SELECT u.error FROM unpriceable_projects u"
            f" WHERE u.project_id = p.project_id AND {_HOLDS_BACK}) AS unpriceable"
            f" FROM {self.store.table('projects')} p WHERE p.project_id = $1",
            project_id,
        )

    async def unpriceable(self, conn: Any, project_id: str) -> Unpriceable | None:
        """The project's parked record (adapters.unpriceable) while the projection has
        not got past the position that failed; None otherwise."""
        row = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM unpriceable_projects u"
            f" LEFT JOIN {self.store.table('projects')} p USING (project_id)"
            f" WHERE u.project_id = $1 AND {_HOLDS_BACK}",
            project_id,
        )
        return None if row is None else Unpriceable(*row)

    async def tasks(self, conn: Any, project_id: str) -> list[Any]:
        return list(
            await conn.fetch(
                f"SELECT * FROM {self.store.table('tasks')} WHERE project_id = $1"
                ' ORDER BY task_id COLLATE "C"',
                project_id,
            )
        )

    async def hours(self, conn: Any, project_id: str) -> list[Any]:
        # locked_by: the record holding the entry, while that record is billed (R7.3).
        return list(
            await conn.fetch(
                f"SELECT h.*, CASE WHEN r.status = 'billed' THEN r.billing_record_id END"
                f" AS locked_by FROM {self.store.hour_lines()} h"
                f" LEFT JOIN {self.store.table('billing_records')} r"
                " ON r.billing_record_id = h.billing_record_id"
                ' WHERE h.project_id = $1 ORDER BY h.entry_date, h.hour_id COLLATE "C"',
                project_id,
            )
        )

    async def record(self, conn: Any, record_id: str) -> Any:
        return await conn.fetchrow(
            f"SELECT * FROM {self.store.table('billing_records')} WHERE billing_record_id = $1",
            record_id,
        )

    async def record_project(self, conn: Any, record_id: str) -> str | None:
        value = await conn.fetchval(
            "SELECT stream FROM events WHERE type = 'BillingRecordCreated'"
            " AND data->>'billing_record_id' = $1 LIMIT 1",
            record_id,
        )
        return None if value is None else str(value).removeprefix("project-")
