"""Loading hour entries lean: the big table, read for every project the worker holds.

A stored project of 100,000 entries is loaded in one statement, and the entries are
built positionally from it. Their values repeat a lot (the same owners, roles,
tasks, days, hours and rates on thousands of entries), so equal values share one
object: ids are interned, dates and numbers memoised. Numbers are read as text and
memoised by their text, so a shared Decimal keeps its written scale (95 and 95.00
stay apart, as PostgreSQL keeps them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from services.recalc.domain.state import HourEntry

#: HourEntry's fields in order; numbers as text (see the module's doc)
#: (read from `ProjectionStore.hour_lines()`, so `priced_at` is as it stands)
HOUR_SELECT = (
    "hour_id, project_id, task_id, owner_id, entry_date, hours::text, role_id,"
    " counts_as_revenue, cost::text, revenue::text, cost_rate::text, billing_rate::text,"
    " cost_rate_source, billing_rate_source, priced_at, billing_record_id, kept"
)
#: memo sizes past which a memo starts afresh (it only saves memory, never decides)
_MEMO_LIMIT = 50_000


class _Texts(dict[str | None, str | None]):
    def __missing__(self, key: str) -> str:
        self[key] = key
        return key


class _Numbers(dict[str | None, Decimal | None]):
    def __missing__(self, key: str) -> Decimal:
        value = self[key] = Decimal(key)
        return value


class _Days(dict[date, date]):
    def __missing__(self, key: date) -> date:
        self[key] = key
        return key


class ValueMemo:
    """Shared objects for repeated values, kept across loads (bounded). Dicts with
    `__missing__`: a hit is one C-level subscript, no Python call."""

    def __init__(self) -> None:
        self.texts = _Texts({None: None})
        self.numbers = _Numbers({None: None})
        self.days = _Days()

    def _trim(self) -> None:
        if len(self.texts) > _MEMO_LIMIT:
            self.texts = _Texts({None: None})
        if len(self.numbers) > _MEMO_LIMIT:
            self.numbers = _Numbers({None: None})
        if len(self.days) > _MEMO_LIMIT:
            self.days = _Days()

    def hours(self, rows: Sequence[Any]) -> list[HourEntry]:
        self._trim()
        text, number, day = self.texts, self.numbers, self.days
        entry = HourEntry
        return [
            entry(
                r[0],
                text[r[1]],  # type: ignore[arg-type]
                text[r[2]],
                text[r[3]],  # type: ignore[arg-type]
                day[r[4]],
                number[r[5]],  # type: ignore[arg-type]
                text[r[6]],
                r[7],
                number[r[8]],  # type: ignore[arg-type]
                number[r[9]],  # type: ignore[arg-type]
                number[r[10]],
                number[r[11]],
                text[r[12]],
                text[r[13]],
                r[14],
                text[r[15]],
                r[16],
            )
            for r in rows
        ]

    def compact(self, hours: Sequence[HourEntry]) -> None:
        """Make entries built from events share values as loaded ones do (an entry
        from an event holds its own copy of every id and number: ~2x the memory).
        Numbers are matched by their text, so their scale is kept."""
        self._trim()
        text, number, day = self.texts, self.numbers, self.days
        for h in hours:
            h.project_id = text[h.project_id]  # type: ignore[assignment]
            h.task_id = text[h.task_id]
            h.owner_id = text[h.owner_id]  # type: ignore[assignment]
            h.role_id = text[h.role_id]
            h.entry_date = day[h.entry_date]
            h.hours = number[str(h.hours)]  # type: ignore[assignment]
            h.cost = number[str(h.cost)]  # type: ignore[assignment]
            h.revenue = number[str(h.revenue)]  # type: ignore[assignment]
            h.cost_rate_source = text[h.cost_rate_source]
            h.billing_rate_source = text[h.billing_rate_source]
