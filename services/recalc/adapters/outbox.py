"""The finance outbox: what the recalc service publishes, written in the transaction
of the projection change it reports (migration 0002)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.events import EventData, encode_data

NOTIFY_CHANNEL = "tally_finance"


def _identity(outcome: EventData) -> tuple[str, int]:
    project_id = getattr(outcome, "project_id", None)
    position = getattr(outcome, "position", None)
    if not isinstance(project_id, str) or not isinstance(position, int):
        raise TypeError(f"{outcome.event_type} names no project_id/position")
    return project_id, position


async def append_outcomes(conn: Any, outcomes: Sequence[EventData]) -> None:
    """Append `outcomes` in order. Call it last in the transaction: the seqs are taken
    under finance_head's row lock, so they are gap-free and become visible in commit
    order, and the lock is held only for the rest of this transaction."""
    if not outcomes:
        return
    top = int(
        await conn.fetchval("UPDATE finance_head SET seq = seq + $1 RETURNING seq", len(outcomes))
    )
    first = top - len(outcomes) + 1
    ids = [_identity(o) for o in outcomes]
    await conn.execute(
        "INSERT INTO finance_outbox (seq, project_id, position, type, schema_version, payload)"
        " SELECT s, p, pos, t, v, d::jsonb FROM unnest($1::bigint[], $2::text[], $3::bigint[],"
        " $4::text[], $5::smallint[], $6::text[]) AS u(s, p, pos, t, v, d)",
        list(range(first, top + 1)),
        [p for p, _ in ids],
        [pos for _, pos in ids],
        [o.event_type for o in outcomes],
        [o.schema_version for o in outcomes],
        [encode_data(o).decode() for o in outcomes],
    )
    await conn.execute(f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')")
