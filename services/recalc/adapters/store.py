"""The projection tables: set-based loads and writes, one schema named by the caller.

Every statement names its schema from `ProjectionStore.schema` (default `projection`)
so that `tally replay` can fill `projection_next` with the same code. Writes are one
statement per table per transaction (`unnest` of one array per column), never one
round trip per row.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from services.recalc.adapters.hours_as_columns import IdKeys, load_tables, write_tables
from services.recalc.adapters.hours_as_objects import HOUR_SELECT, ValueMemo
from services.recalc.adapters.price_writes import restamp, update_prices
from services.recalc.adapters.projection_rows import (
    EXPENSE,
    HOUR,
    OWN_SUMS,
    PRICED_AT,
    PROJECT,
    RECORD,
    RECORD_ITEMS,
    RECORD_VIEW,
    TASK,
    TASK_SUMS,
    TASK_VIEW,
    TOTAL_COLUMNS,
    TOTAL_FIELDS,
    Column,
    expense_from,
    info_from,
    record_from,
    record_view_from,
    sums_from,
    task_from,
    task_view_from,
    totals_from,
)
from services.recalc.domain.hour_table import HourTable
from services.recalc.domain.project_lines import Sums, sums_of
from services.recalc.domain.state import (
    HourEntry,
    LineSums,
    ProjectInfo,
    ProjectState,
)
from services.recalc.service_layer.ports import Stored, Writes
from shared.events import ProjectTotals

#: hour rows fetched at a time when loading
HOUR_CHUNK = 10_000
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class _Row:
    """Adapts (line, view, sums) so one column list can read all of them."""

    __slots__ = ("line", "sums", "view")

    def __init__(self, line: Any, view: Any, sums: Any = None) -> None:
        self.line = line
        self.view = view
        self.sums = sums


def _param_type(column: Column) -> str:
    return "text" if column.pg_type in ("jsonb", "text[]") else column.pg_type


def _select_expr(column: Column, alias: str) -> str:
    if column.pg_type == "jsonb":
        return f"{alias}::jsonb"
    if column.pg_type == "text[]":
        return f"ARRAY(SELECT jsonb_array_elements_text({alias}::jsonb))"
    return alias


class ProjectionStore:
    def __init__(self, schema: str = "projection") -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"bad schema name {schema!r}")
        self.schema = schema
        self.memo = ValueMemo()
        #: ids by the hashes hour rows store, learnt by `load_tables`
        self.ids = IdKeys()

    def table(self, name: str) -> str:
        return f"{self.schema}.{name}"

    def hour_lines(self) -> str:
        """The hour table as every reader sees it, as a FROM item (alias it): the same
        columns, `priced_at` as it stands (`rows.PRICED_AT`)."""
        columns = ", ".join(
            f"{PRICED_AT} AS priced_at" if c.name == "priced_at" else f"h.{c.name}" for c in HOUR
        )
        return (
            f"(SELECT {columns} FROM {self.table('hours')} h"
            f" LEFT JOIN {self.table('projects')} p ON p.project_id = h.project_id)"
        )

    # -- reads ----------------------------------------------------------------------

    async def applied_positions(self, conn: Any, project_ids: Sequence[str]) -> dict[str, int]:
        rows = await conn.fetch(
            f"SELECT project_id, applied_position FROM {self.table('projects')}"
            " WHERE project_id = ANY($1::text[])",
            list(project_ids),
        )
        return {r["project_id"]: int(r["applied_position"]) for r in rows}

    async def load(
        self, conn: Any, project_ids: Sequence[str], *, light: bool = False
    ) -> dict[str, Stored]:
        """The stored projects among `project_ids` (one query per table). `light`: without
        their hour entries, whose running sums come from the task and project rows
        (`load_hours` then adds the entries an event needs)."""
        ids = list(project_ids)
        if not ids:
            return {}
        where = "WHERE project_id = ANY($1::text[])"
        projects = await conn.fetch(f"SELECT * FROM {self.table('projects')} {where}", ids)
        if not projects:
            return {}
        tasks = await conn.fetch(f"SELECT * FROM {self.table('tasks')} {where}", ids)
        hours = [] if light else await self._load_hours(conn, ids)
        expenses = await conn.fetch(f"SELECT * FROM {self.table('expenses')} {where}", ids)
        records = await conn.fetch(f"SELECT * FROM {self.table('billing_records')} {where}", ids)
        by_project: dict[str, dict[str, list[Any]]] = {
            r["project_id"]: {"t": [], "h": [], "e": [], "r": []} for r in projects
        }
        for key, rows in (("t", tasks), ("e", expenses), ("r", records)):
            for row in rows:
                bucket = by_project.get(row["project_id"])
                if bucket is not None:
                    bucket[key].append(row)
        for hour in hours:
            bucket = by_project.get(hour.project_id)
            if bucket is not None:
                bucket["h"].append(hour)
        out: dict[str, Stored] = {}
        for row in projects:
            pid = row["project_id"]
            bucket = by_project[pid]
            info = info_from(row)
            task_lines = [task_from(t) for t in bucket["t"]]
            expense_lines = [expense_from(e) for e in bucket["e"]]
            record_lines = [record_from(r) for r in bucket["r"]]
            record_views = {r["billing_record_id"]: record_view_from(r) for r in bucket["r"]}
            line_sums = {t["task_id"]: sums_from(t, "line_") for t in bucket["t"]}
            task_sums = {task_id: sums_of(sums) for task_id, sums in line_sums.items()}
            if light:
                actuals: dict[str | None, LineSums] = {**line_sums, None: sums_from(row, "own_")}
                state = ProjectState.restore_light(
                    info,
                    task_lines,
                    expense_lines,
                    record_lines,
                    actuals,
                    # R7.2: a record's hours amount is the sum of its entries' revenue
                    {k: v.billable_hours_amount for k, v in record_views.items()},
                )
            else:
                state = ProjectState.restore(
                    info, task_lines, bucket["h"], expense_lines, record_lines
                )
            out[pid] = Stored(
                state=state,
                applied=int(row["applied_position"]),
                totals=totals_from(row),
                task_views={t["task_id"]: task_view_from(t) for t in bucket["t"]},
                record_views=record_views,
                task_sums=task_sums,
            )
        return out

    async def load_hours(
        self,
        conn: Any,
        project_ids: Collection[str],
        hour_ids: Collection[str] | None = None,
        *,
        task_ids: Collection[str] | None = None,
    ) -> dict[str, list[HourEntry]]:
        """Stored hour entries by project: every one of `project_ids`, or only those
        named by `hour_ids`, or only those of the tasks `task_ids` (of any of those
        projects)."""
        if not project_ids:
            return {}
        if hour_ids is None and task_ids is None:
            hours = await self._load_hours(conn, list(project_ids))
        else:
            column, ids = ("hour_id", hour_ids) if hour_ids is not None else ("task_id", task_ids)
            if not ids:
                return {}
            hours = self.memo.hours(
                await conn.fetch(
                    f"SELECT {HOUR_SELECT} FROM {self.hour_lines()} h"
                    f" WHERE project_id = ANY($1::text[]) AND {column} = ANY($2::text[])",
                    list(project_ids),
                    list(ids),
                )
            )
        out: dict[str, list[HourEntry]] = {}
        for hour in hours:
            out.setdefault(hour.project_id, []).append(hour)
        return out

    async def load_tables(
        self,
        conn: Any,
        project_ids: Sequence[str],
        held: Mapping[str, Collection[str]],
        candidates: Collection[str] = (),
    ) -> tuple[dict[str, HourTable], list[str]]:
        """Every stored entry of `project_ids` as columns (`hours_as_columns.load_tables`);
        `candidates`: ids the rows are likely to name (the reference's users and roles)."""
        return await load_tables(conn, self.table, project_ids, held, self.ids, candidates)

    async def _load_hours(self, conn: Any, ids: list[str]) -> list[HourEntry]:
        """In chunks through a cursor (inside a transaction): the fetched rows of a
        100,000-entry project would otherwise all be alive at once beside the entries
        built from them, which sets the worker's peak memory."""
        sql = f"SELECT {HOUR_SELECT} FROM {self.hour_lines()} h WHERE project_id = ANY($1::text[])"
        if not conn.is_in_transaction():
            return self.memo.hours(await conn.fetch(sql, ids))
        hours: list[HourEntry] = []
        cursor = await conn.cursor(sql, ids)
        while rows := await cursor.fetch(HOUR_CHUNK):
            hours.extend(self.memo.hours(rows))
        return hours

    # -- writes ---------------------------------------------------------------------

    async def write(self, conn: Any, writes: Writes) -> None:
        """Deletes first (a moved line is removed from its source, then upserted)."""
        self.memo.compact(writes.hours)  # (the entries share the memo's values)
        await self._delete(conn, "tasks", "task_id", writes.removed_tasks)
        await self._delete(conn, "hours", "hour_id", writes.removed_hours)
        await self._delete(conn, "expenses", "expense_id", writes.removed_expenses)
        await self._delete(conn, "billing_records", "billing_record_id", writes.removed_records)
        # Before the whole rows: an entry the batch also changed as an object is
        # written whole, and its row in a table was never marked (`HourTable.live`).
        await write_tables(conn, self.table("hours"), writes.tables)
        await self._upsert_projects(conn, writes.projects)
        await self._upsert(
            conn,
            "tasks",
            "task_id",
            _wrap(TASK, TASK_VIEW, TASK_SUMS),
            [_Row(t, v, sums) for t, v, sums in writes.tasks],
        )
        await self._upsert(conn, "hours", "hour_id", HOUR, writes.hours)
        await update_prices(conn, self.table("hours"), writes.priced)
        await restamp(conn, self.table("hours"), writes.restamped)
        await self._upsert(conn, "expenses", "expense_id", EXPENSE, writes.expenses)
        await self._upsert(
            conn,
            "billing_records",
            "billing_record_id",
            _wrap(RECORD + RECORD_ITEMS, RECORD_VIEW),
            [_Row(r, v) for r, v in writes.records],
        )

    async def _delete(
        self, conn: Any, table: str, key: str, pairs: Iterable[tuple[str, str]]
    ) -> None:
        pairs = list(pairs)
        if not pairs:
            return
        await conn.execute(
            f"DELETE FROM {self.table(table)} t USING unnest($1::text[], $2::text[]) AS d(p, k)"
            f" WHERE t.project_id = d.p AND t.{key} = d.k",
            [p for p, _ in pairs],
            [k for _, k in pairs],
        )

    async def _upsert(
        self,
        conn: Any,
        table: str,
        key: str,
        columns: Sequence[Column],
        rows: Sequence[Any],
    ) -> None:
        if not rows:
            return
        names = [c.name for c in columns]
        params = ", ".join(f"${i}::{_param_type(c)}[]" for i, c in enumerate(columns, 1))
        aliases = [f"c{i}" for i in range(len(columns))]
        select = ", ".join(_select_expr(c, a) for c, a in zip(columns, aliases, strict=True))
        updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n != key)
        sql = (
            f"INSERT INTO {self.table(table)} ({', '.join(names)})"
            f" SELECT {select} FROM unnest({params}) AS u({', '.join(aliases)})"
            f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
        )
        await conn.execute(sql, *[[c.get(r) for r in rows] for c in columns])

    async def _upsert_projects(
        self, conn: Any, rows: Sequence[tuple[ProjectInfo, int, ProjectTotals, Sums]]
    ) -> None:
        columns = [
            *(Column(c.name, c.pg_type, _from_info(c)) for c in PROJECT),
            Column("applied_position", "bigint", lambda r: r[1]),
            *(
                Column(col, "numeric", _from_totals(f))
                for f, col in zip(TOTAL_FIELDS, TOTAL_COLUMNS, strict=True)
            ),
            *(Column(c.name, c.pg_type, _from_own(c)) for c in OWN_SUMS),
        ]
        await self._upsert(conn, "projects", "project_id", columns, rows)

    async def set_applied(self, conn: Any, project_ids: Sequence[str], upto: int) -> None:
        """Projects whose row exists but whose lines did not change."""
        await conn.execute(
            f"UPDATE {self.table('projects')} SET applied_position = $2"
            " WHERE project_id = ANY($1::text[]) AND applied_position < $2",
            list(project_ids),
            upto,
        )


def _wrap(
    lines: Sequence[Column], views: Sequence[Column], sums: Sequence[Column] = ()
) -> list[Column]:
    return [
        *(Column(c.name, c.pg_type, _on_line(c)) for c in lines),
        *(Column(c.name, c.pg_type, _on_view(c)) for c in views),
        *(Column(c.name, c.pg_type, _on_sums(c)) for c in sums),
    ]


def _on_line(column: Column) -> Any:
    return lambda row: column.get(row.line)


def _on_view(column: Column) -> Any:
    return lambda row: column.get(row.view)


def _on_sums(column: Column) -> Any:
    return lambda row: column.get(row.sums)


def _from_own(column: Column) -> Any:
    return lambda row: column.get(row[3])


def _from_info(column: Column) -> Any:
    return lambda row: column.get(row[0])


def _from_totals(name: str) -> Any:
    return lambda row: getattr(row[2], name)
