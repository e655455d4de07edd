"""Why an hour entry's amounts are what they are: every pricing of it, from the log.

The project's log is replayed (as `as_of` does) with the book's pricing observer
recording each time the entry was priced: logged, edited, or re-priced by a
recalculation, with the rates, their sources and whether a billed record's lock
kept its revenue (R7.3) or also its cost (`billed_locks_cost`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from services.recalc.domain.state import HourEntry
from services.recalc.service_layer.asof import SharedReference, book_as_of

_KINDS = {"HoursLogged": "logged", "HoursEdited": "edited"}


@dataclass(frozen=True, slots=True)
class Pricing:
    """One pricing of one entry, as it stood right after it."""

    position: int
    cause_type: str
    kind: str  # logged | edited | recalculated
    project_id: str
    task_id: str | None
    owner_id: str
    entry_date: date
    hours: Decimal
    role_id: str | None
    counts_as_revenue: bool
    cost: Decimal
    revenue: Decimal
    cost_rate: Decimal | None
    cost_rate_source: str | None
    billing_rate: Decimal | None
    billing_rate_source: str | None
    priced_at: int
    locked: bool
    locked_by: str | None


class HistoryRecorder:
    """A `PricingObserver` keeping the pricings of one entry."""

    def __init__(self, hour_id: str) -> None:
        self.hour_id = hour_id
        self.pricings: list[Pricing] = []

    def __call__(self, hour: HourEntry, cause_type: str, position: int, locked: bool) -> None:
        if hour.hour_id != self.hour_id:
            return
        self.pricings.append(
            Pricing(
                position=position,
                cause_type=cause_type,
                kind=_KINDS.get(cause_type, "recalculated"),
                project_id=hour.project_id,
                task_id=hour.task_id,
                owner_id=hour.owner_id,
                entry_date=hour.entry_date,
                hours=hour.hours,
                role_id=hour.role_id,
                counts_as_revenue=hour.counts_as_revenue,
                cost=hour.cost,
                revenue=hour.revenue,
                cost_rate=hour.cost_rate,
                cost_rate_source=hour.cost_rate_source,
                billing_rate=hour.billing_rate,
                billing_rate_source=hour.billing_rate_source,
                priced_at=hour.priced_at,
                locked=locked,
                locked_by=hour.billing_record_id if locked else None,
            )
        )


async def hour_history(
    conn: Any,
    project_id: str,
    hour_id: str,
    upto: int,
    reference: SharedReference | None = None,
) -> list[Pricing]:
    """Every pricing of `hour_id` up to `upto`, oldest first ([] if never priced)."""
    recorder = HistoryRecorder(hour_id)
    await book_as_of(conn, project_id, upto, observer=recorder, reference=reference)
    return recorder.pricings
