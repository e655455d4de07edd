"""Compare two projection schemas row by row, in SQL, and say what differs per project.

`applied_position` is not compared: it records how far a worker went, not a figure,
and a project nobody touched lately is legitimately applied to an older position.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.recalc.adapters.store import ProjectionStore

KEYS = {
    "projects": "project_id",
    "tasks": "task_id",
    "hours": "hour_id",
    "expenses": "expense_id",
    "billing_records": "billing_record_id",
}
#: `seq` is a storage key (migration 0008): a rebuild numbers its rows afresh
_SKIP = frozenset({"applied_position", "seq"})


@dataclass(frozen=True, slots=True)
class Difference:
    table: str
    key: str
    #: column -> (live, rebuilt); a missing row is the column "row" -> present/absent
    columns: dict[str, tuple[Any, Any]]

    def describe(self) -> str:
        parts = ", ".join(f"{c}: live {a!r} != replay {b!r}" for c, (a, b) in self.columns.items())
        return f"{self.table} {self.key}: {parts}"


async def _columns(conn: Any, schema: str, table: str) -> list[str]:
    rows = await conn.fetch(
        # (generated columns are functions of the others: migration 0009)
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = $1 AND table_name = $2 AND is_generated = 'NEVER'"
        " ORDER BY ordinal_position",
        schema,
        table,
    )
    return [r["column_name"] for r in rows if r["column_name"] not in _SKIP]


def _relation(schema: str, table: str) -> str:
    # Hours as readers see them: a recalculation's position may sit on the project row.
    if table == "hours":
        return ProjectionStore(schema).hour_lines()
    return f"{schema}.{table}"


def _load(raw: str | None) -> dict[str, Any] | None:
    # numbers as Decimal: 45.00 and 45.0 are the same amount, and no float rounding
    if raw is None:
        return None
    value: dict[str, Any] = json.loads(raw, parse_float=Decimal)
    return value


def _part(relation: str, key: str, part: tuple[int, int]) -> str:
    """The rows of `relation` whose key falls in part `index` of `parts` (by a hash of
    the key: a row and its counterpart in the other schema fall in the same part)."""
    index, parts = part
    if parts == 1:
        return relation
    return (
        f"(SELECT * FROM {relation} r WHERE (hashtext(r.{key}) & 2147483647) % {parts} = {index})"
    )


def in_order(differences: list[Difference]) -> list[Difference]:
    """Differences by table (in `KEYS` order), then by key."""
    tables = {table: i for i, table in enumerate(KEYS)}
    return sorted(differences, key=lambda d: (tables[d.table], d.key))


async def compare(
    conn: Any, live: str, rebuilt: str, part: tuple[int, int] = (0, 1)
) -> dict[str, list[Difference]]:
    """Every row that differs between the two schemas, grouped by project (a line
    that moved to another project is reported under both), in order (`in_order`).
    `part` = (index, parts) compares only that part of the rows: the parts of one
    comparison run side by side on connections of their own."""
    out: dict[str, list[Difference]] = defaultdict(list)
    for table, key in KEYS.items():
        columns = await _columns(conn, live, table)
        row_a = ", ".join(f"a.{c}" for c in columns)
        row_b = ", ".join(f"b.{c}" for c in columns)
        relation_a = _part(_relation(live, table), key, part)
        relation_b = _part(_relation(rebuilt, table), key, part)
        rows = await conn.fetch(
            f"SELECT coalesce(a.{key}, b.{key}) AS key, a.project_id AS pa, b.project_id AS pb,"
            f" CASE WHEN a.{key} IS NULL THEN NULL ELSE to_jsonb(a)::text END AS a,"
            f" CASE WHEN b.{key} IS NULL THEN NULL ELSE to_jsonb(b)::text END AS b"
            f" FROM {relation_a} a FULL JOIN {relation_b} b"
            f" ON a.{key} = b.{key}"
            f" WHERE ROW({row_a}) IS DISTINCT FROM ROW({row_b})"
        )
        for row in rows:
            a, b = _load(row["a"]), _load(row["b"])
            diff: dict[str, tuple[Any, Any]]
            if a is None or b is None:
                diff = {
                    "row": (
                        "absent" if a is None else "present",
                        "absent" if b is None else "present",
                    )
                }
            else:
                diff = {c: (a.get(c), b.get(c)) for c in columns if a.get(c) != b.get(c)}
            difference = Difference(table, str(row["key"]), diff)
            for project_id in {row["pa"], row["pb"]} - {None}:
                out[str(project_id)].append(difference)
    return {project_id: in_order(diffs) for project_id, diffs in out.items()}


async def behind_projects(conn: Any, live: str, rebuilt: str, position: int) -> set[str]:
    """Projects whose live projection does not include `position` yet: an event in
    (applied, position] touches them (their stream, or a task moved into them)."""
    rows = await conn.fetch(
        f"SELECT n.project_id FROM {rebuilt}.projects n"
        f" LEFT JOIN {live}.projects l ON l.project_id = n.project_id"
        " WHERE coalesce(l.applied_position, 0) < $1 AND EXISTS ("
        "  SELECT 1 FROM events e WHERE e.position > coalesce(l.applied_position, 0)"
        "  AND e.position <= $1 AND (e.stream = 'project-' || n.project_id"
        "  OR (e.type = 'TaskMoved' AND e.data->>'to_project_id' = n.project_id)))",
        position,
    )
    return {r["project_id"] for r in rows}
