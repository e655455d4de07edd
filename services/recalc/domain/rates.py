"""Date-effective rate tables and their look-ups (R4.1, R4.2, R4.6).

Rules: docs/rules.md#r4.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from shared.events import RatePeriod

_MIN = date.min
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    """One period of a table; a missing bound is open (R4.1)."""

    value: Decimal
    start: date | None
    end: date | None


RateTable = tuple[Period, ...]
"""Periods sorted by start (open start first); the ledger refuses overlaps (R4.1)."""

EMPTY: RateTable = ()


def make_table(periods: Iterable[RatePeriod]) -> RateTable:
    """A table from the periods of a `RatesSet`, sorted so that look-ups can bisect."""
    rows = [Period(p.value, p.start_date, p.end_date) for p in periods]
    rows.sort(key=_start_key)
    return tuple(rows)


def _start_key(period: Period) -> date:
    return period.start or _MIN


def _covers(period: Period, day: date) -> bool:
    return (period.start is None or period.start <= day) and (
        period.end is None or day <= period.end
    )


def rate_on(table: RateTable, day: date) -> Decimal | None:
    """The value in force on `day`, or None in a gap or an empty table (R4.2)."""
    if not table:
        return None
    # Periods don't overlap, so the only candidate is the last one starting on or before day.
    index = bisect_right(table, day, key=_start_key) - 1
    if index < 0:
        return None
    period = table[index]
    return period.value if _covers(period, day) else None


def override_rate_on(table: RateTable, day: date) -> Decimal | None:
    """A project override on `day` (R4.6/R10.4): before the first period the first
    applies, after the last the last applies; a gap between periods falls through."""
    if not table:
        return None
    first, last = table[0], table[-1]
    if first.start is not None and day < first.start:
        return first.value
    # Sorted by start and non-overlapping, so the last period also ends latest.
    if last.end is not None and day > last.end:
        return last.value
    return rate_on(table, day)


def breaks(tables: Iterable[RateTable]) -> tuple[date, ...]:
    """The dates on which a look-up in any of `tables` may change value: each period's
    start and the day after its end, sorted. Between two consecutive breaks, `rate_on`
    and `override_rate_on` of every one of these tables return the same value (R4.1,
    R4.6), so a chain of them is constant there too."""
    out: set[date] = set()
    for table in tables:
        for period in table:
            if period.start is not None:
                out.add(period.start)
            if period.end is not None and period.end < date.max:
                out.add(period.end + _DAY)
    return tuple(sorted(out))
