"""A project's stored hour entries held as columns: what a recalculation (R6.1) reads
and re-prices without an object per entry (issue 9).

The worker holds a project without its entries (`ProjectState.restore_light`). When
an event re-prices them all, it loads them as one `HourTable` (ids as small integer
codes into the table's dictionaries, numbers scaled as `columns` wants them) and the
recalculation prices them with `columns.price`. Entries the batch also holds as
objects (an edit, a billing item, a moved task's hours) or removed are left to the
objects: the table's row for them is out (`exclude`), the object is priced by the
scalar path beside it. What a recalculation changed is marked in `written`; the
adapter writes exactly those rows back, keyed by `seq` (its storage key).

Rules: docs/rules.md#r6, #r7.3, #r10.9.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from services.recalc.domain.columns import (
    HOURS_SCALE,
    I64,
    SOURCES,
    Bools,
    EntryColumns,
    Priced,
    keep_billed,
    price,
    rate_arrays,
    rate_of,
    scaled,
    sums_by,
    task_columns,
)
from services.recalc.domain.project_lines import HourEntry, ProjectInfo, TaskState
from services.recalc.domain.reference import ReferenceData


@dataclass(slots=True)
class HourTable:
    """One project's stored entries, one row each, in the adapter's order."""

    seq: I64  # the storage key of the row (opaque here)
    task: I64  # index into `task_ids`
    owner: I64  # index into `users`
    role: I64  # index into `roles`; -1: none
    record: I64  # index into `records`; -1: none
    day: I64  # date ordinal
    hours: I64  # x columns.HOURS_SCALE
    counts_as_revenue: Bools
    prices: Priced
    kept: Bools
    priced_at: I64
    task_ids: tuple[str | None, ...]
    users: tuple[str, ...]
    roles: tuple[str, ...]
    records: tuple[str, ...]
    #: storage keys of the entries the batch may hold as objects, by hour id
    seq_of: dict[str, int]
    #: rows whose prices, priced_at or kept a recalculation changed: to write back
    written: Bools

    def __len__(self) -> int:
        return len(self.seq)

    def live(self, held: Iterable[str]) -> Bools:
        """Rows whose entries are not `held` (as objects, or removed) by the state."""
        out = np.ones(len(self.seq), dtype=np.bool_)
        keys = [self.seq_of[h] for h in held if h in self.seq_of]
        if keys:
            out &= ~np.isin(self.seq, np.array(keys, dtype=np.int64))
        return out


@dataclass(frozen=True, slots=True)
class Repriced:
    """What one recalculation did to the live rows of a table."""

    repriced: int  # rows priced again (not kept whole, R10.9)
    locked: int  # rows on billed records (R7.3)
    #: by index of `HourTable.task_ids`: entries, Σ hours (x HOURS_SCALE), the most
    #: places an entry's hours are written with, Σ cost and Σ revenue in cents
    count_by_task: I64
    hours_by_task: I64
    places_by_task: I64
    cost_by_task: I64
    revenue_by_task: I64
    #: Σ revenue in cents by index of `HourTable.records`
    revenue_by_record: I64
    #: rows whose prices changed (written whole: prices, priced_at, kept false)
    changed: Bools
    #: rows whose prices stay but whose kept state flipped (priced_at and kept)
    restamped: Bools
    #: rows priced at this position (`changed` among them)
    again: Bools


def reprice(
    table: HourTable,
    live: Bools,
    tasks: Mapping[str, TaskState],
    info: ProjectInfo,
    reference: ReferenceData,
    position: int,
    billed: Collection[str],
) -> Repriced:
    """Re-price the `live` rows of `table` at `position`, in place, as
    `recalc._reprice_hours` does an object each: an entry on a billed record keeps its
    revenue (R7.3), and stays whole (`kept`) when the project's billed records lock
    cost (R10.9); every other one is priced at `position`. Rows whose stored prices or
    kept state change are marked `written`. Raises `NotColumnar` (nothing changed) for
    a value the columns can't hold exactly."""
    task_list = list(tasks.values())
    users = list(table.users)
    roles = list(table.roles)
    _extend(users, (a.user_id for t in task_list for a in t.assignments))
    _extend(roles, (a.role_id for t in task_list for a in t.assignments))
    _extend(roles, (reference.user_roles(u, position)[0] for u in users))
    user_index = {u: i for i, u in enumerate(users)}
    role_index = {r: i for i, r in enumerate(roles)}
    task_index = {t.task_id: i for i, t in enumerate(task_list)}
    # R5.3: an entry whose task is not held is priced as hours on the project
    task_code = np.array(
        [-1 if t is None else task_index.get(t, -1) for t in table.task_ids] or [-1],
        dtype=np.int64,
    )
    entries = EntryColumns(
        task=task_code[table.task],
        owner=table.owner,
        role=table.role,
        day=table.day,
        hours=table.hours,
        counts_as_revenue=table.counts_as_revenue,
    )
    rates = rate_arrays(reference, info, position, users, roles)
    new = price(entries, task_columns(task_list, user_index, role_index), rates)

    old = table.prices
    is_billed = np.array([r in billed for r in table.records] or [False], dtype=np.bool_)
    locked = (table.record >= 0) & is_billed[np.maximum(table.record, 0)]
    # R10.9: the setting is read now, at the recalculation.
    whole = locked if info.billed_locks_cost else np.zeros_like(locked)
    merged = keep_billed(new, old, locked)
    again = live & ~whole  # priced at this position
    changed = again & merged.differs(old)
    # kept by the recalculation before and not by this one, or the other way round
    restamped = (again & ~changed & table.kept) | (live & whole & ~table.kept)

    prices = merged.where(again, old)
    tasks_ = table.task[live], len(table.task_ids)
    # hours are stored normalised (`shared.events.types`): 1.5 has one place, 2 none
    hours_places = np.where(table.hours % 100 == 0, 0, np.where(table.hours % 10 == 0, 1, 2))
    places_by_task = np.zeros(len(table.task_ids), dtype=np.int64)
    np.maximum.at(places_by_task, tasks_[0], hours_places[live])
    cost_by_task = sums_by(*tasks_, prices.cost[live])
    revenue_by_task = sums_by(*tasks_, prices.revenue[live])
    on_record = live & (table.record >= 0)
    revenue_by_record = sums_by(
        table.record[on_record], len(table.records), prices.revenue[on_record]
    )
    table.prices = prices
    table.priced_at = np.where(again, position, table.priced_at)
    table.kept = np.where(live & whole, True, np.where(again, False, table.kept))
    table.written |= changed | restamped
    return Repriced(
        repriced=int(np.count_nonzero(again)),
        locked=int(np.count_nonzero(live & locked)),
        count_by_task=sums_by(*tasks_, np.ones(int(np.count_nonzero(live)), dtype=np.int64)),
        hours_by_task=sums_by(*tasks_, table.hours[live]),
        places_by_task=places_by_task,
        cost_by_task=cost_by_task,
        revenue_by_task=revenue_by_task,
        revenue_by_record=revenue_by_record,
        changed=changed,
        restamped=restamped,
        again=again,
    )


# -- entries held as objects, as a table and back ---------------------------------------


class _Scaled(dict[int, tuple[int, int]]):
    """(scaled value, places) of a rate by the identity of its Decimal: entries share
    few objects, and equal values of other scales (95, 95.00) are other objects. The
    entries keep every object alive while the memo lives, so an id is never reused."""

    def of(self, value: Decimal | None) -> tuple[int, int]:
        if value is None:
            return 0, 0
        found = self.get(id(value))
        if found is None:
            found = self[id(value)] = rate_of(value)
        return found


def from_entries(hours: Sequence[HourEntry]) -> HourTable:
    """The entries of a state that holds them all as objects, as a table (`seq` is the
    row's index in `hours`). Raises `NotColumnar` for what the columns can't hold."""
    tasks: dict[str | None, int] = {}
    users: dict[str, int] = {}
    roles: dict[str | None, int] = {None: -1}
    records: dict[str | None, int] = {None: -1}
    source = {s: i for i, s in enumerate(SOURCES)}
    rates = _Scaled()
    amounts: dict[Decimal, int] = {}
    days: dict[date, int] = {}
    rows = [
        (
            tasks.setdefault(h.task_id, len(tasks)),
            users.setdefault(h.owner_id, len(users)),
            roles.setdefault(h.role_id, len(roles) - 1),
            records.setdefault(h.billing_record_id, len(records) - 1),
            days.get(h.entry_date) or days.setdefault(h.entry_date, h.entry_date.toordinal()),
            _amount(amounts, h.hours, HOURS_SCALE),
            h.counts_as_revenue,
            *rates.of(h.cost_rate),
            source[h.cost_rate_source],
            _amount(amounts, h.cost, 100),
            *rates.of(h.billing_rate),
            source[h.billing_rate_source],
            _amount(amounts, h.revenue, 100),
            h.kept,
            h.priced_at,
        )
        for h in hours
    ]
    a = np.array(rows, dtype=np.int64).reshape(-1, 17)
    del roles[None], records[None]
    return HourTable(
        seq=np.arange(len(rows), dtype=np.int64),
        task=a[:, 0].copy(),
        owner=a[:, 1].copy(),
        role=a[:, 2].copy(),
        record=a[:, 3].copy(),
        day=a[:, 4].copy(),
        hours=a[:, 5].copy(),
        counts_as_revenue=a[:, 6] == 1,
        prices=Priced(
            cost_rate=a[:, 7].copy(),
            cost_places=a[:, 8].copy(),
            cost_source=a[:, 9].astype(np.int8),
            cost=a[:, 10].copy(),
            billing_rate=a[:, 11].copy(),
            billing_places=a[:, 12].copy(),
            billing_source=a[:, 13].astype(np.int8),
            revenue=a[:, 14].copy(),
        ),
        kept=a[:, 15] == 1,
        priced_at=a[:, 16].copy(),
        task_ids=tuple(tasks),
        users=tuple(users),
        roles=tuple(r for r in roles if r is not None),
        records=tuple(r for r in records if r is not None),
        seq_of={},
        written=np.zeros(len(rows), dtype=np.bool_),
    )


def _amount(memo: dict[Decimal, int], value: Decimal, scale: int) -> int:
    out = memo.get(value)
    if out is None:
        out = memo[value] = scaled(value, scale)
    return out


def apply_to(hours: Sequence[HourEntry], table: HourTable, done: Repriced, position: int) -> None:
    """Set on the entries (rows of `table`, by `seq`, from `from_entries`) what a
    recalculation of the table did, as `pricing.price_hour` would have."""
    rate: dict[tuple[int, int], Decimal] = {}
    cents: dict[int, Decimal] = {}

    def rate_value(value: int, places_: int) -> Decimal:
        key = (value, places_)
        out = rate.get(key)
        if out is None:
            out = rate[key] = rate_decimal(value, places_)
        return out

    def amount(value: int) -> Decimal:
        out = cents.get(value)
        if out is None:
            out = cents[value] = cents_decimal(value)
        return out

    for i in np.flatnonzero(done.changed).tolist():
        _set_prices(hours[i], table.prices, i, rate_value, amount)
    for i in np.flatnonzero(done.again).tolist():
        hour = hours[i]
        hour.priced_at = position
        hour.kept = False
    for i in np.flatnonzero(done.restamped & ~done.again).tolist():
        hours[i].kept = True


def set_row(hour: HourEntry, table: HourTable, i: int) -> None:
    """Set on `hour` the prices, `priced_at` and `kept` of row `i` of `table`, as
    stored: what writing the row back writes (`HourTable.written`)."""
    _set_prices(hour, table.prices, i, rate_decimal, cents_decimal)
    hour.priced_at = int(table.priced_at[i])
    hour.kept = bool(table.kept[i])


def _set_prices(
    hour: HourEntry,
    p: Priced,
    i: int,
    rate: Callable[[int, int], Decimal],
    cents: Callable[[int], Decimal],
) -> None:
    """Both prices of row `i` on `hour` (`rate` and `cents` turn the scaled integers
    into the Decimals the scalar path holds)."""
    cs, bs = int(p.cost_source[i]), int(p.billing_source[i])
    hour.cost = cents(int(p.cost[i]))
    hour.cost_rate = rate(int(p.cost_rate[i]), int(p.cost_places[i])) if cs else None
    hour.cost_rate_source = SOURCES[cs]
    hour.revenue = cents(int(p.revenue[i]))
    hour.billing_rate = rate(int(p.billing_rate[i]), int(p.billing_places[i])) if bs else None
    hour.billing_rate_source = SOURCES[bs]


def _extend(names: list[str], more: Iterable[str | None]) -> None:
    known = set(names)
    for name in more:
        if name is not None and name not in known:
            known.add(name)
            names.append(name)


def rate_decimal(value: int, places: int) -> Decimal:
    """A rate (x RATE_SCALE) as written with `places` places."""
    return Decimal(value).scaleb(-4).quantize(Decimal(1).scaleb(-places))


def cents_decimal(value: int) -> Decimal:
    """An amount in cents as the scalar path holds it (scale 2)."""
    return Decimal(value).scaleb(-2)


def hours_decimal(value: int, places: int) -> Decimal:
    """A sum of hours (x HOURS_SCALE) as a sum of the entries' Decimals is written: with
    the most places among them."""
    return Decimal(value).scaleb(-2).quantize(Decimal(1).scaleb(-places))
