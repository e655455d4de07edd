"""Hour entries priced as columns (issue 9): the chains of `pricing.Pricer` as
vectorised as-of look-ups and coalesces (R4.2, R4.4–R4.7, R5.1–R5.3, R7.3, R10.5,
R10.7). Pure: no I/O. The scalar `Pricer` stays the reference (single events, and
whatever this module refuses: `NotColumnar`); a property test holds the two equal.

Exact by construction: no float ever holds a rate or an amount. Rates are int64 in
1/10,000 (R3.2: at most four places), hours int64 in 1/100, so `hours x rate` is
an exact count of 1/1,000,000 and `(x + 5_000) // 10_000` is that amount rounded
half-up to cents (R3.3; every factor is >= 0, R9). Dates are `date.toordinal()`.

A look-up finds, per (key, day), the last period of the key's table starting on or
before the day, and keeps it when the period has not ended: one `searchsorted` on
a `key * SPAN + day` composite, because periods of one table never overlap (R4.1),
the rule of `rates.rate_on`. Each chain is a coalesce in chain order: every level
fills only the entries still without a rate, so "a gap falls through, a 0 stops"
(R4.2, R10.5) holds level by level.

Every table is resolved "as known at" the one position of the recalculation before
any look-up (`rate_arrays`), so the joins are on (key, business date) only.

A rate keeps its written scale (95 and 95.00 are stored apart, as the scalar path
stores the reference's Decimal): beside each scaled rate goes its number of places.

Rules: docs/rules.md#r4, #r5.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from services.recalc.domain.project_lines import HourEntry, ProjectInfo, TaskState
from services.recalc.domain.rates import EMPTY, RateTable
from services.recalc.domain.reference import ReferenceData

I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
Bools = npt.NDArray[np.bool_]

RATE_SCALE = 10_000
HOURS_SCALE = 100
#: rate x hours is in 1/(RATE_SCALE x HOURS_SCALE); a cent is this many of those
_PER_CENT = RATE_SCALE * HOURS_SCALE // 100
SPAN = 1 << 20  # every ordinal of 1900..2199 (R9) is below 2**20
OPEN_START = 0
OPEN_END = SPAN - 1
MAX_HOURS = 24 * HOURS_SCALE  # R3.2
#: the largest scaled rate whose amount fits int64 (about 3.8e11 a hour: below the
#: log's own limit of 1e12, so `price` refuses such a project: use the scalar path)
MAX_RATE = (np.iinfo(np.int64).max - _PER_CENT) // MAX_HOURS
#: the most places a rate's written scale may have here (more is refused, as is a
#: value that needs them: R3.2 allows four)
MAX_PLACES = 30

#: rate sources, as int8 codes; 0 is "no rate" (R10.7: rate and source null)
SOURCES: tuple[str | None, ...] = (None, "user", "role", "company_role", "project_role", "task")
NONE, USER, ROLE, COMPANY_ROLE, PROJECT_ROLE, TASK = range(6)

COST_TYPES = ("user_hourly", "role_hourly", "fixed_hourly", "no_cost")
REVENUE_TYPES = (
    "user_hourly",
    "user_hourly_cap",
    "user_hourly_plus_fixed",
    "role_hourly",
    "role_hourly_cap",
    "role_hourly_plus_fixed",
    "fixed_hourly",
    "fixed_revenue",
    "not_billable",
)
_USER_REVENUE = np.array([0, 1, 2], dtype=np.int8)
_ROLE_REVENUE = np.array([3, 4, 5], dtype=np.int8)
_FIXED_HOURLY_REVENUE = 6
#: revenue "type" of hours on the project itself (R5.3, last bullet)
PROJECT_HOURS = -1


class NotColumnar(ValueError):
    """A value these columns can't hold exactly (more places than R3.2 allows, a
    negative, or an amount beyond int64, as only an event stored under older input
    limits can hold): price the project with the scalar `Pricer` instead."""

    def __init__(self, what: str, project_id: str | None = None) -> None:
        super().__init__(what if project_id is None else f"project {project_id}: {what}")
        self.project_id = project_id


def scaled(value: Decimal, scale: int) -> int:
    """`value x scale` as an int, refusing anything that would need rounding."""
    out = value * scale
    if out != out.to_integral_value() or value < 0:
        raise NotColumnar(f"{value} is not a multiple of 1/{scale} of at least 0")
    return int(out)


def places(value: Decimal) -> int:
    """The written scale of `value` as PostgreSQL's numeric keeps it (`scale()`)."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # never NaN nor infinite (R9)
    return min(max(0, -exponent), MAX_PLACES)


def rate_of(value: Decimal) -> tuple[int, int]:
    """A rate as (scaled value, places), refused beyond what an amount can carry."""
    out = scaled(value, RATE_SCALE)
    if out > MAX_RATE:
        raise NotColumnar(f"rate {value}")
    return out, places(value)


# -- rate tables as arrays -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateArrays:
    """The tables of one level for many keys: periods sorted by (key, start), and per
    key the first period's start and value and the last period's end and value (R4.6).
    Every value goes with its places (`places`)."""

    composite: I64  # key * SPAN + start
    key: I64
    end: I64
    value: I64
    places: I64
    first_start: I64  # by key; OPEN_START when open or no table
    first_value: I64
    first_places: I64
    last_end: I64  # by key; OPEN_END when open or no table
    last_value: I64
    last_places: I64

    @classmethod
    def build(
        cls, tables: Mapping[int, RateTable], keys: int, memo: dict[int, Any] | None = None
    ) -> RateArrays:
        """`tables` by key index (0 <= key < `keys`), each sorted as `rates.make_table`.
        `memo`: each table's periods as integers, by the table's id (`ReferenceData.derived`)."""
        rows: list[tuple[int, int, int, int, int]] = []
        first_start = np.full(keys, OPEN_START, dtype=np.int64)
        first = np.zeros((2, keys), dtype=np.int64)
        last_end = np.full(keys, OPEN_END, dtype=np.int64)
        last = np.zeros((2, keys), dtype=np.int64)
        for key, table in tables.items():
            if not table:
                continue
            periods = _periods(table, {} if memo is None else memo)
            rows.extend((key, *period) for period in periods)
            head, tail = periods[0], periods[-1]
            if table[0].start is not None:
                first_start[key] = head[0]
            first[:, key] = head[2:]
            if table[-1].end is not None:
                last_end[key] = tail[1]
            last[:, key] = tail[2:]
        rows.sort()
        a = np.array(rows, dtype=np.int64).reshape(-1, 5)
        return cls(
            composite=a[:, 0] * SPAN + a[:, 1],
            key=a[:, 0].copy(),
            end=a[:, 2].copy(),
            value=a[:, 3].copy(),
            places=a[:, 4].copy(),
            first_start=first_start,
            first_value=first[0],
            first_places=first[1],
            last_end=last_end,
            last_value=last[0],
            last_places=last[1],
        )

    def lookup(self, keys: I64, days: I64) -> tuple[Bools, I64, I64]:
        """(found, value, places) per (key, day); a key < 0 (no role) finds nothing
        (R4.2)."""
        if len(self.key) == 0:
            none = np.zeros(len(keys), dtype=np.int64)
            return np.zeros(len(keys), dtype=np.bool_), none, none
        i = np.searchsorted(self.composite, keys * SPAN + days, side="right") - 1
        j = np.maximum(i, 0)
        found = (i >= 0) & (self.key[j] == keys) & (self.end[j] >= days) & (keys >= 0)
        return found, self.value[j], self.places[j]

    def override_lookup(self, keys: I64, days: I64) -> tuple[Bools, I64, I64]:
        """R4.6/R10.4: before the first period the first applies, after the last the
        last; a gap between periods falls through (`rates.override_rate_on`)."""
        found, value, places_ = self.lookup(keys, days)
        if len(self.key) == 0:
            return found, value, places_
        has = np.zeros(len(self.first_start), dtype=np.bool_)
        has[self.key] = True
        k = np.maximum(keys, 0)
        known = (keys >= 0) & has[k]
        after = known & (days > self.last_end[k])
        before = known & (days < self.first_start[k])
        value = np.where(after, self.last_value[k], value)
        places_ = np.where(after, self.last_places[k], places_)
        value = np.where(before, self.first_value[k], value)
        places_ = np.where(before, self.first_places[k], places_)
        return found | after | before, value, places_


def _periods(table: RateTable, memo: dict[int, Any]) -> list[tuple[int, int, int, int]]:
    """(start, end, scaled value, places) of each period; open bounds as OPEN_*."""
    found = memo.get(id(table))
    if found is None or found[0] is not table:
        rows = [
            (
                OPEN_START if p.start is None else p.start.toordinal(),
                OPEN_END if p.end is None else p.end.toordinal(),
                *rate_of(p.value),
            )
            for p in table
        ]
        found = memo[id(table)] = (table, rows)
    periods: list[tuple[int, int, int, int]] = found[1]
    return periods


@dataclass(frozen=True, slots=True)
class Rates:
    """Every table a project's hours may read, as known at one position, and each
    user's primary role at that position (-1: none)."""

    user_cost: RateArrays
    user_billing: RateArrays
    role_cost: RateArrays
    role_billing: RateArrays  # system level
    company_billing: RateArrays  # the project's company, snapshot or followed (R4.5)
    overrides: RateArrays  # the project's own (R4.6)
    primary: I64  # by user index


def rate_arrays(
    ref: ReferenceData,
    info: ProjectInfo,
    position: int,
    users: Sequence[str],
    roles: Sequence[str],
) -> Rates:
    """The project's tables as known at `position`, keyed by the indexes of `users`
    and `roles` (which must hold every user and role the entries and tasks name)."""
    role_index = {r: i for i, r in enumerate(roles)}
    # R4.5/R10.3, as `Pricer.company_at`
    company_at = position if info.follow_company_rate_changes else info.company_attached_at
    company: dict[int, RateTable] = {}
    if info.company_id is not None and company_at is not None:
        for i, r in enumerate(roles):
            company[i] = ref.company_role_billing(info.company_id, r, company_at)
    overrides = {
        role_index[r]: table for r, table in info.role_overrides.items() if r in role_index
    }
    primary = [ref.user_roles(u, position)[0] for u in users]
    memo = ref.derived
    return Rates(
        user_cost=RateArrays.build(
            {i: ref.user_cost(u, position) for i, u in enumerate(users)}, len(users), memo
        ),
        user_billing=RateArrays.build(
            {i: ref.user_billing(u, position) for i, u in enumerate(users)}, len(users), memo
        ),
        role_cost=RateArrays.build(
            {i: ref.role_cost(r, position) for i, r in enumerate(roles)}, len(roles), memo
        ),
        role_billing=RateArrays.build(
            {i: ref.role_billing(r, position) for i, r in enumerate(roles)}, len(roles), memo
        ),
        company_billing=RateArrays.build(company, len(roles), memo),
        # a project's own tables are not the reference's: no memo
        overrides=RateArrays.build({k: v or EMPTY for k, v in overrides.items()}, len(roles)),
        primary=np.array([-1 if p is None else role_index[p] for p in primary], dtype=np.int64),
    )


# -- tasks and entries as columns ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskColumns:
    cost_type: I8  # index into COST_TYPES
    revenue_type: I8  # index into REVENUE_TYPES
    fixed_cost: I64  # scaled; -1: none
    fixed_cost_places: I64
    revenue_amount: I64  # scaled; -1: none
    revenue_amount_places: I64
    first_role: I64  # the first assignment with a role (R10.5); -1: none
    #: per task, its assignments' (user index, role index), -1 for a missing side
    assignments: tuple[tuple[tuple[int, int], ...], ...]


def task_columns(
    tasks: Sequence[TaskState], users: Mapping[str, int], roles: Mapping[str, int]
) -> TaskColumns:
    def amounts(values: Iterable[Decimal | None]) -> I64:
        pairs = [(-1, 0) if v is None else rate_of(v) for v in values]
        return np.array(pairs, dtype=np.int64).reshape(-1, 2)

    assignments = tuple(
        tuple(
            (
                -1 if a.user_id is None else users.get(a.user_id, -2),
                -1 if a.role_id is None else roles[a.role_id],
            )
            for a in t.assignments
        )
        for t in tasks
    )
    first = [next((r for _, r in a if r >= 0), -1) for a in assignments]
    fixed_cost = amounts(t.fixed_hourly_cost for t in tasks)
    revenue_amount = amounts(t.revenue_amount for t in tasks)
    return TaskColumns(
        cost_type=np.array([COST_TYPES.index(t.cost_type) for t in tasks], dtype=np.int8),
        revenue_type=np.array([REVENUE_TYPES.index(t.revenue_type) for t in tasks], dtype=np.int8),
        fixed_cost=fixed_cost[:, 0].copy(),
        fixed_cost_places=fixed_cost[:, 1].copy(),
        revenue_amount=revenue_amount[:, 0].copy(),
        revenue_amount_places=revenue_amount[:, 1].copy(),
        first_role=np.array(first, dtype=np.int64),
        assignments=assignments,
    )


@dataclass(frozen=True, slots=True)
class EntryColumns:
    task: I64  # task index; -1: hours on the project itself
    owner: I64  # user index
    role: I64  # the hour's role; -1: none
    day: I64  # date ordinal
    hours: I64  # x HOURS_SCALE
    counts_as_revenue: Bools

    def __len__(self) -> int:
        return len(self.day)


def entry_columns(
    hours: Iterable[HourEntry],
    tasks: Mapping[str, int],
    users: Mapping[str, int],
    roles: Mapping[str, int],
) -> EntryColumns:
    """Columns from entry objects (the loader should rather build them from `COPY`)."""
    rows = [
        (
            -1 if h.task_id is None else tasks[h.task_id],
            users[h.owner_id],
            -1 if h.role_id is None else roles[h.role_id],
            h.entry_date.toordinal(),
            scaled(h.hours, HOURS_SCALE),
            h.counts_as_revenue,
        )
        for h in hours
    ]
    a = np.array([r[:5] for r in rows], dtype=np.int64).reshape(-1, 5)
    return EntryColumns(
        task=a[:, 0].copy(),
        owner=a[:, 1].copy(),
        role=a[:, 2].copy(),
        day=a[:, 3].copy(),
        hours=a[:, 4].copy(),
        counts_as_revenue=np.array([r[5] for r in rows], dtype=np.bool_),
    )


# -- pricing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Priced:
    """Both prices of every entry. A rate (and its places) is meaningful only where
    its source is not NONE, and is 0 there (R10.7: no rate, or an amount 0 by rule,
    shows rate and source null)."""

    cost_rate: I64  # x RATE_SCALE
    cost_places: I64
    cost_source: I8
    cost: I64  # cents
    billing_rate: I64
    billing_places: I64
    billing_source: I8
    revenue: I64  # cents

    def where(self, mask: Bools, other: Priced) -> Priced:
        """This where `mask`, `other` elsewhere."""
        return Priced(
            *(
                np.where(mask, mine, theirs).astype(mine.dtype)
                for mine, theirs in zip(_fields(self), _fields(other), strict=True)
            )
        )

    def differs(self, other: Priced) -> Bools:
        """Per entry: does any amount, rate, places or source differ?"""
        out = np.zeros(len(self.cost), dtype=np.bool_)
        for mine, theirs in zip(_fields(self), _fields(other), strict=True):
            out |= mine != theirs
        return out


def _fields(priced: Priced) -> tuple[npt.NDArray[np.generic], ...]:
    return (
        priced.cost_rate,
        priced.cost_places,
        priced.cost_source,
        priced.cost,
        priced.billing_rate,
        priced.billing_places,
        priced.billing_source,
        priced.revenue,
    )


class _Chain:
    """One chain being coalesced: each level fills the entries still without a rate."""

    def __init__(self, n: int) -> None:
        self.rate = np.zeros(n, dtype=np.int64)
        self.places = np.zeros(n, dtype=np.int64)
        self.source = np.zeros(n, dtype=np.int8)

    def open(self, idx: I64) -> I64:
        out: I64 = idx[self.source[idx] == NONE]
        return out

    def fill(self, idx: I64, found: Bools, value: I64, places_: I64, code: int) -> None:
        take = idx[found]
        self.rate[take] = value[found]
        self.places[take] = places_[found]
        self.source[take] = code

    def level(
        self, idx: I64, table: RateArrays, keys: I64, days: I64, code: int, override: bool = False
    ) -> None:
        """Look `keys` (per entry) up in `table` for the entries of `idx` still open."""
        idx = self.open(idx)
        look = table.override_lookup if override else table.lookup
        found, value, places_ = look(keys[idx], days[idx])
        self.fill(idx, found, value, places_, code)

    def role_billing(self, idx: I64, rates: Rates, roles: I64, days: I64) -> None:
        """R4.4: project override (R4.6) -> company (R4.5) -> system."""
        self.level(idx, rates.overrides, roles, days, PROJECT_ROLE, override=True)
        self.level(idx, rates.company_billing, roles, days, COMPANY_ROLE)
        self.level(idx, rates.role_billing, roles, days, ROLE)

    def constant(self, idx: I64, values: I64, places_: I64) -> None:
        """A per-entry constant rate (`fixed_hourly`); -1 is "none"."""
        idx = self.open(idx)
        v = values[idx]
        self.fill(idx, v >= 0, v, places_[idx], TASK)

    def done(self) -> None:
        """R10.7: no rate, no places where there is no source."""
        none = self.source == NONE
        self.rate[none] = 0
        self.places[none] = 0


def role_candidates(entries: EntryColumns, tasks: TaskColumns, primary: I64, which: I64) -> I64:
    """R5.2/R5.3/R10.5 for the entries `which` (all on tasks): a matrix, one row per
    entry, of the hour's role, the roles the owner holds on the task's assignments (in
    their order), the owner's primary role and the task's first role assignment
    (`Pricer.role_candidates`). A gap is -1 and finds nothing; a repeat finds nothing
    the first try did not: neither changes a chain, so neither is dropped."""
    task, owner = entries.task[which], entries.owner[which]
    held: dict[tuple[int, int], list[int]] = {}
    for t, assignments in enumerate(tasks.assignments):
        for user, role in assignments:
            if user >= 0 and role >= 0:
                held.setdefault((t, user), []).append(role)
    width = max((len(roles) for roles in held.values()), default=0)
    out = np.full((len(which), width + 3), -1, dtype=np.int64)
    out[:, 0] = entries.role[which]
    if held:
        owners = max(int(owner.max()) + 1 if len(owner) else 1, max(u for _, u in held) + 1)
        keys = np.array([t * owners + u for t, u in held], dtype=np.int64)
        order = np.argsort(keys)
        keys = keys[order]
        roles = np.full((len(keys), width), -1, dtype=np.int64)
        for i, pair_roles in enumerate(held.values()):
            roles[i, : len(pair_roles)] = pair_roles
        roles = roles[order]
        code = task * owners + owner
        at = np.minimum(np.searchsorted(keys, code), len(keys) - 1)
        hit = keys[at] == code
        out[hit, 1 : width + 1] = roles[at[hit]]
    out[:, width + 1] = primary[owner]
    out[:, width + 2] = tasks.first_role[task]
    return out


def price(entries: EntryColumns, tasks: TaskColumns, rates: Rates) -> Priced:
    """Both rates and amounts of every entry, as `pricing.price_hour` sets them."""
    n = len(entries)
    if n and (int(entries.hours.max()) > MAX_HOURS or int(entries.hours.min()) < 0):
        raise NotColumnar("hours")
    day = entries.day
    on_task = entries.task >= 0
    t = np.where(on_task, entries.task, 0)
    every = np.arange(n, dtype=np.int64)
    cost_type = np.where(on_task, tasks.cost_type[t] if len(tasks.cost_type) else 0, 0)
    revenue_type = np.where(
        on_task, tasks.revenue_type[t] if len(tasks.revenue_type) else 0, PROJECT_HOURS
    )
    primary = np.where(entries.owner >= 0, rates.primary[np.maximum(entries.owner, 0)], -1)
    first_role = np.where(on_task, tasks.first_role[t] if len(tasks.first_role) else -1, -1)

    # Role candidates, for the entries of role types only (hours on the project
    # never: R10.7 drops their role and neither of their chains tries candidates).
    role_typed = on_task & (
        (cost_type == COST_TYPES.index("role_hourly")) | np.isin(revenue_type, _ROLE_REVENUE)
    )
    which = np.flatnonzero(role_typed)
    candidates = np.full((n, 1), -1, dtype=np.int64)
    if len(which):
        found = role_candidates(entries, tasks, rates.primary, which)
        candidates = np.full((n, found.shape[1]), -1, dtype=np.int64)
        candidates[which] = found

    # Cost (R5.2, R4.7)
    cost = _Chain(n)
    user = every[cost_type == COST_TYPES.index("user_hourly")]  # and project hours
    cost.level(user, rates.user_cost, entries.owner, day, USER)
    cost.level(user, rates.role_cost, primary, day, ROLE)
    by_role = every[on_task & (cost_type == COST_TYPES.index("role_hourly"))]
    for j in range(candidates.shape[1]):
        cost.level(by_role, rates.role_cost, candidates[:, j], day, ROLE)
    fixed = every[on_task & (cost_type == COST_TYPES.index("fixed_hourly"))]
    if len(fixed):
        cost.constant(fixed, tasks.fixed_cost[t], tasks.fixed_cost_places[t])

    # Revenue (R5.3, R4.4)
    billing = _Chain(n)
    by_user = every[(revenue_type == PROJECT_HOURS) | np.isin(revenue_type, _USER_REVENUE)]
    billing.level(by_user, rates.user_billing, entries.owner, day, USER)
    billing.role_billing(by_user, rates, primary, day)
    billing.role_billing(by_user[revenue_type[by_user] != PROJECT_HOURS], rates, first_role, day)
    by_role = every[np.isin(revenue_type, _ROLE_REVENUE)]
    for j in range(candidates.shape[1]):
        billing.role_billing(by_role, rates, candidates[:, j], day)
    fixed = every[revenue_type == _FIXED_HOURLY_REVENUE]
    if len(fixed):
        billing.constant(fixed, tasks.revenue_amount[t], tasks.revenue_amount_places[t])
    # R10.7: hours not counting as revenue have no billing rate nor source
    billing.source[~entries.counts_as_revenue] = NONE

    cost.done()
    billing.done()
    return Priced(
        cost_rate=cost.rate,
        cost_places=cost.places,
        cost_source=cost.source,
        cost=_cents(entries.hours, cost.rate),
        billing_rate=billing.rate,
        billing_places=billing.places,
        billing_source=billing.source,
        revenue=_cents(entries.hours, billing.rate),
    )


def _cents(hours: I64, rate: I64) -> I64:
    """hours x rate rounded half-up to cents (R3.3): both are >= 0, so floor division
    of (x + half a cent) is half-up. No overflow: hours <= MAX_HOURS, rate <= MAX_RATE."""
    return (hours * rate + _PER_CENT // 2) // _PER_CENT


def keep_billed(new: Priced, old: Priced, locked: Bools) -> Priced:
    """R7.3 as a mask: an entry on a billed record keeps its revenue (rate, source,
    amount) and takes its new cost. `old` are the stored columns. (With the project's
    `billed_locks_cost`, R10.9, such an entry is kept whole: `hour_table.reprice`.)"""
    keep = old.where(locked, new)
    return Priced(
        cost_rate=new.cost_rate,
        cost_places=new.cost_places,
        cost_source=new.cost_source,
        cost=new.cost,
        billing_rate=keep.billing_rate,
        billing_places=keep.billing_places,
        billing_source=keep.billing_source,
        revenue=keep.revenue,
    )


def sums_by(codes: I64, count: int, values: I64) -> I64:
    """Σ `values` per code (0 <= code < `count`), exactly: integer arithmetic, refused
    (`NotColumnar`) where a sum could leave int64."""
    if len(values) and int(np.abs(values).max()) * len(values) >= 2**62:
        raise NotColumnar("sum")
    out = np.zeros(count, dtype=np.int64)
    np.add.at(out, codes, values)
    return out
