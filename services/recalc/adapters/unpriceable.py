"""The list of projects the recalc worker parked because it could not price them.

See migration 0006: a project whose events pricing cannot apply is parked here
with its error, so that it never holds back another project's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.infra.db import raw


@dataclass(frozen=True, slots=True)
class Unpriceable:
    """A parked project: priced up to `applied_position`, failing to reach `position`."""

    project_id: str
    position: int
    applied_position: int
    error: str
    first_failed_at: datetime
    last_failed_at: datetime
    attempts: int

    def as_json(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "position": self.position,
            "applied_position": self.applied_position,
            "error": self.error,
            "first_failed_at": self.first_failed_at.isoformat(),
            "last_failed_at": self.last_failed_at.isoformat(),
            "attempts": self.attempts,
        }


async def park(conn: Any, project_id: str, position: int, schema: str, error: str) -> None:
    """Record (or record again) that `project_id` cannot be priced up to `position`."""
    await conn.execute(
        "INSERT INTO unpriceable_projects (project_id, position, applied_position, error)"
        f" SELECT $1, $2, COALESCE((SELECT applied_position FROM {schema}.projects"
        " WHERE project_id = $1), 0), $3"
        " ON CONFLICT (project_id) DO UPDATE SET position = GREATEST("
        "unpriceable_projects.position, EXCLUDED.position),"
        " applied_position = EXCLUDED.applied_position, error = EXCLUDED.error,"
        " last_failed_at = now(), attempts = unpriceable_projects.attempts + 1",
        project_id,
        position,
        error,
    )


async def release(conn: Any, project_ids: list[str]) -> None:
    """These projects were priced again: off the list."""
    if project_ids:
        await conn.execute(
            "DELETE FROM unpriceable_projects WHERE project_id = ANY($1::text[])", project_ids
        )


#: an `Unpriceable`'s columns, of `unpriceable_projects` read as `u`
COLUMNS = ", ".join(
    f"u.{c}"
    for c in (
        "project_id",
        "position",
        "applied_position",
        "error",
        "first_failed_at",
        "last_failed_at",
        "attempts",
    )
)


async def parked(conn: Any) -> list[Unpriceable]:
    """Every parked project, oldest failure first."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM unpriceable_projects u ORDER BY u.first_failed_at, u.project_id"
    )
    return [Unpriceable(*row) for row in rows]


class ParkedList:
    """The list as the worker uses it: read it at start, and settle each batch (park
    what failed alone, release what was priced again) in one transaction."""

    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self.engine = engine
        self.schema = schema

    async def read(self) -> list[Unpriceable]:
        async with self.engine.connect() as sa_conn:
            return await parked(await raw(sa_conn))

    async def settle(self, failed: dict[str, str], released: list[str], upto: int) -> None:
        async with self.engine.connect() as sa_conn:
            conn = await raw(sa_conn)
            async with conn.transaction():
                for project_id, error in sorted(failed.items()):
                    await park(conn, project_id, upto, self.schema, error)
                await release(conn, released)
