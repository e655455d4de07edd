"""Writing what a recalculation changed: the price columns of entries whose prices
differ, and `priced_at`/`kept` of the few whose kept state flipped. Every other entry
the recalculation re-priced is priced at the project's `hours_priced_at`, written once
on its row (`rows.PRICED_AT`).

The rates and sources of a recalculation come from a handful of rate periods. So a
statement carries the entry ids, their two amounts, and an index into a small table
of distinct (cost rate, billing rate, sources); numbers travel as text (asyncpg's
binary numeric encoding costs more than the statement). Each statement is
restricted to the projects written, so PostgreSQL scans their rows (the project
index), not the whole table, however many projects there are.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    """Cost, revenue, both rates, both sources and priced_at of existing rows (each
    re-priced, so not kept)."""
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
            " priced_at = $9, kept = false"
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


async def restamp(conn: Any, table: str, hours: Sequence[HourEntry]) -> None:
    """priced_at and kept alone: one statement per position (few rows: see the module)."""
    for position, group in _by_position(hours).items():
        await conn.execute(
            f"UPDATE {table} h SET priced_at = $2, kept = u.kept"
            " FROM unnest($1::text[], $3::boolean[]) AS u(hour_id, kept)"
            " WHERE h.project_id = ANY($4::text[]) AND h.hour_id = u.hour_id",
            [h.hour_id for h in group],
            position,
            [h.kept for h in group],
            sorted({h.project_id for h in group}),
        )
