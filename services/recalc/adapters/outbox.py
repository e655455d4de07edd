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
    ids = [_identity(o) for o in outcomes]
    # One statement (one round trip): take the seqs, insert, notify.
    await conn.execute(
        "WITH head AS (UPDATE finance_head SET seq = seq + cardinality($1::text[])"
        " RETURNING seq - cardinality($1::text[]) AS base),"
        " added AS (INSERT INTO finance_outbox"
        " (seq, project_id, position, type, schema_version, payload)"
        " SELECT head.base + u.n, u.p, u.pos, u.t, u.v, u.d::jsonb FROM head,"
        " unnest($1::text[], $2::bigint[], $3::text[], $4::smallint[], $5::text[])"
        " WITH ORDINALITY AS u(p, pos, t, v, d, n))"
        f" SELECT pg_notify('{NOTIFY_CHANNEL}', '')",
        [p for p, _ in ids],
        [pos for _, pos in ids],
        [o.event_type for o in outcomes],
        [o.schema_version for o in outcomes],
        [encode_data(o).decode() for o in outcomes],
    )
