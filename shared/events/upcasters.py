"""The upcasters of Tally's events: one function per schema step, never removed.

Rule (docs/upcasting.md): a stored event keeps the schema version it was written
with; on read, `codec.decode_data` applies `(type, v) -> v + 1` steps from the
registry until the payload has the class's current shape, then validates it.
"""

from __future__ import annotations

from shared.events.upcasting import Payload, upcaster


@upcaster("ExpenseRecorded", 1)
def expense_recorded_v1_to_v2(payload: Payload) -> Payload:
    """v2 added the optional `currency` (None: the installation's currency, R3.4).

    A v1 expense was always in the installation's currency, which is exactly what an
    absent `currency` means in v2, so the payload carries over unchanged. The field is
    deliberately not written as an explicit null: it would count as "provided" and a
    client retrying its v1 event (same event_id, same payload) would then look like a
    different event to the ledger's idempotency check (event_id_conflict)."""
    return dict(payload)
