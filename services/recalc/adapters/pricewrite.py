"""Writing what a recalculation changed: price columns, or `priced_at` alone.

A recalculation of a 100,000-entry project changes few distinct values: every
entry gets the same `priced_at`, and the rates and sources come from a handful of
rate periods. So a statement carries the entry ids, their two amounts, and an
index into a small table of distinct (cost rate, billing rate, sources); numbers
travel as text (asyncpg's binary numeric encoding costs more than the statement).
Each statement is restricted to the projects written, so PostgreSQL scans their
rows (the project index), not the whole table, however many projects there are.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from services.recalc.domain.state import HourEntry


def _by_position(hours: Sequence[HourEntry]) -> dict[int, list[HourEntry]]:
    out: dict[int, list[HourEntry]] = {}
    for hour in hours:
        out.setdefault(hour.priced_at, []).append(hour)
    return out


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


async def update_prices(conn: Any, table: str, hours: Sequence[HourEntry]) -> None:
    """Cost, revenue, both rates, both sources and priced_at of existing rows."""
    for position, group in _by_position(hours).items():
        # Keys by object identity: every object stays alive (held by `group`) for the
        # duration, and identity keeps 95 and 95.00 apart (equal Decimals, other text).
        texts: dict[int, str] = {}
        kinds: dict[tuple[int, int, str | None, str | None], int] = {}
        kind_rows: list[tuple[str | None, str | None, str | None, str | None]] = []
        ids: list[str] = []
        costs: list[str] = []
        revenues: list[str] = []
        keys: list[int] = []
        projects: set[str] = set()
        for hour in group:
            ids.append(hour.hour_id)
            projects.add(hour.project_id)
            for amount, out in ((hour.cost, costs), (hour.revenue, revenues)):
                text = texts.get(id(amount))
                if text is None:
                    text = texts[id(amount)] = str(amount)
                out.append(text)
            kind = (
                id(hour.cost_rate),
                id(hour.billing_rate),
                hour.cost_rate_source,
                hour.billing_rate_source,
            )
            index = kinds.get(kind)
            if index is None:
                index = kinds[kind] = len(kind_rows) + 1  # WITH ORDINALITY counts from 1
                kind_rows.append(
                    (
                        _text(hour.cost_rate),
                        _text(hour.billing_rate),
                        hour.cost_rate_source,
                        hour.billing_rate_source,
                    )
                )
            keys.append(index)
        await conn.execute(
            f"UPDATE {table} h SET cost = u.cost::numeric, revenue = u.revenue::numeric,"
            " cost_rate = k.cost_rate::numeric, billing_rate = k.billing_rate::numeric,"
            " cost_rate_source = k.cost_source, billing_rate_source = k.billing_source,"
            " priced_at = $9"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])"
            " AS u(hour_id, cost, revenue, k)"
            " JOIN unnest($5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY"
            " AS k(cost_rate, billing_rate, cost_source, billing_source, k) ON k.k = u.k"
            " WHERE h.project_id = ANY($10::text[]) AND h.hour_id = u.hour_id",
            ids,
            costs,
            revenues,
            keys,
            [r[0] for r in kind_rows],
            [r[1] for r in kind_rows],
            [r[2] for r in kind_rows],
            [r[3] for r in kind_rows],
            position,
            sorted(projects),
        )


async def restamp(
    conn: Any,
    table: str,
    hours: Sequence[HourEntry],
    project_hours: Mapping[str, Collection[str]] | None = None,
) -> None:
    """priced_at alone: one statement per position and project. `project_hours` (every
    hour id of a project, as its rows will be once this transaction's other writes
    are made) lets a restamp of most of a project name the rows it leaves alone
    instead: a recalculation restamps nearly every entry of a big project."""
    project_hours = project_hours or {}
    for position, group in _by_position(hours).items():
        by_project: dict[str, list[str]] = {}
        for hour in group:
            by_project.setdefault(hour.project_id, []).append(hour.hour_id)
        named: list[str] = []
        named_projects: list[str] = []
        for project_id, ids in by_project.items():
            every = project_hours.get(project_id)
            if every is None or len(ids) * 2 < len(every):
                named.extend(ids)
                named_projects.append(project_id)
                continue
            chosen = set(ids)
            others = [h for h in every if h not in chosen]
            await conn.execute(
                f"UPDATE {table} SET priced_at = $2"
                " WHERE project_id = $1 AND NOT (hour_id = ANY($3::text[]))",
                project_id,
                position,
                others,
            )
        if named:
            await conn.execute(
                f"UPDATE {table} SET priced_at = $2"
                " WHERE project_id = ANY($3::text[]) AND hour_id = ANY($1::text[])",
                named,
                position,
                sorted(named_projects),
            )
