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

#: An entry's ids, sources and flags, as one text: few distinct values (an owner on a
#: task, priced from one source, on one record), so one memo hit gives them all and the
#: driver builds one string per row for them instead of nine. Ids can hold no '|'
#: (`shared.events.types.Id`) and none is empty, so '' stands for NULL.
_SHAPE = (
    "concat_ws('|', h.project_id, coalesce(h.task_id, ''), h.owner_id, coalesce(h.role_id, ''),"
    " h.counts_as_revenue::text, coalesce(h.cost_rate_source, ''),"
    " coalesce(h.billing_rate_source, ''), coalesce(h.billing_record_id, ''), h.kept::text)"
)
#: What `ValueMemo.hours` builds an entry from; numbers as text (see the module's doc)
#: (read from `ProjectionStore.hour_lines()`, so `priced_at` is as it stands)
HOUR_SELECT = (
    f"h.hour_id, {_SHAPE}, h.entry_date, h.hours::text, h.cost::text, h.revenue::text,"
    " h.cost_rate::text, h.billing_rate::text, h.priced_at"
)
Shape = tuple[str, str | None, str, str | None, bool, str | None, str | None, str | None, bool]


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


class _Shapes(dict[str, Shape]):
    def __missing__(self, key: str) -> Shape:
        p, t, o, r, counts, cs, bs, rec, kept = key.split("|")
        value = self[key] = (
            p,
            t or None,
            o,
            r or None,
            counts == "true",
            cs or None,
            bs or None,
            rec or None,
            kept == "true",
        )
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
        self.shapes = _Shapes()

    def _trim(self) -> None:
        if len(self.texts) > _MEMO_LIMIT:
            self.texts = _Texts({None: None})
        if len(self.numbers) > _MEMO_LIMIT:
            self.numbers = _Numbers({None: None})
        if len(self.days) > _MEMO_LIMIT:
            self.days = _Days()
        if len(self.shapes) > _MEMO_LIMIT:
            self.shapes = _Shapes()

    def hours(self, rows: Sequence[Any]) -> list[HourEntry]:
        self._trim()
        number, day, shapes = self.numbers, self.days, self.shapes
        entry = HourEntry
        out: list[HourEntry] = []
        add = out.append
        for hour_id, shape, entry_date, hours, cost, revenue, cost_rate, rate, at in rows:
            p, t, o, r, counts, cs, bs, rec, kept = shapes[shape]
            add(
                entry(
                    hour_id,
                    p,
                    t,
                    o,
                    day[entry_date],
                    number[hours],  # type: ignore[arg-type]
                    r,
                    counts,
                    number[cost],  # type: ignore[arg-type]
                    number[revenue],  # type: ignore[arg-type]
                    number[cost_rate],
                    number[rate],
                    cs,
                    bs,
                    at,
                    rec,
                    kept,
                )
            )
        return out

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
