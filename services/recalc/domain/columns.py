"""Hour entries priced as columns (issue 9): the chains of `pricing.Pricer` as
vectorised as-of look-ups and coalesces (R4.2, R4.4–R4.7, R5.1–R5.3, R7.3, R10.5,
R10.7). Pure: no I/O. A prototype beside the scalar path; nothing calls it yet.

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

Rules: docs/rules.md#r4, #r5.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from services.recalc.domain.lines import HourEntry, ProjectInfo, TaskState
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


class TooLarge(ValueError):
    """A rate or hours beyond what int64 prices exactly: price this project with the
    scalar `Pricer` instead."""


def scaled(value: Decimal, scale: int) -> int:
    """`value x scale` as an int, refusing anything that would need rounding."""
    out = value * scale
    if out != out.to_integral_value():
        raise ValueError(f"{value} has more places than 1/{scale}")
    return int(out)


# -- rate tables as arrays -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateArrays:
    """The tables of one level for many keys: periods sorted by (key, start), and per
    key the first period's start and value and the last period's end and value (R4.6)."""

    composite: I64  # key * SPAN + start
    key: I64
    end: I64
    value: I64
    first_start: I64  # by key; OPEN_START when open or no table
    first_value: I64
    last_end: I64  # by key; OPEN_END when open or no table
    last_value: I64

    @classmethod
    def build(cls, tables: Mapping[int, RateTable], keys: int) -> RateArrays:
        """`tables` by key index (0 <= key < `keys`), each sorted as `rates.make_table`."""
        rows: list[tuple[int, int, int, int]] = []
        first_start = np.full(keys, OPEN_START, dtype=np.int64)
        first_value = np.zeros(keys, dtype=np.int64)
        last_end = np.full(keys, OPEN_END, dtype=np.int64)
        last_value = np.zeros(keys, dtype=np.int64)
        for key, table in tables.items():
            for period in table:
                value = scaled(period.value, RATE_SCALE)
                if value > MAX_RATE:
                    raise TooLarge(f"rate {period.value}")
                start = OPEN_START if period.start is None else period.start.toordinal()
                end = OPEN_END if period.end is None else period.end.toordinal()
                rows.append((key, start, end, value))
            if table:
                first, last = table[0], table[-1]
                if first.start is not None:
                    first_start[key] = first.start.toordinal()
                first_value[key] = scaled(first.value, RATE_SCALE)
                if last.end is not None:
                    last_end[key] = last.end.toordinal()
                last_value[key] = scaled(last.value, RATE_SCALE)
        rows.sort()
        a = np.array(rows, dtype=np.int64).reshape(-1, 4)
        return cls(
            composite=a[:, 0] * SPAN + a[:, 1],
            key=a[:, 0].copy(),
            end=a[:, 2].copy(),
            value=a[:, 3].copy(),
            first_start=first_start,
            first_value=first_value,
            last_end=last_end,
            last_value=last_value,
        )

    def lookup(self, keys: I64, days: I64) -> tuple[Bools, I64]:
        """(found, value) per (key, day); a key < 0 (no role) finds nothing (R4.2)."""
        if len(self.key) == 0:
            return np.zeros(len(keys), dtype=np.bool_), np.zeros(len(keys), dtype=np.int64)
        i = np.searchsorted(self.composite, keys * SPAN + days, side="right") - 1
        j = np.maximum(i, 0)
        found = (i >= 0) & (self.key[j] == keys) & (self.end[j] >= days) & (keys >= 0)
        return found, self.value[j]

    def override_lookup(self, keys: I64, days: I64) -> tuple[Bools, I64]:
        """R4.6/R10.4: before the first period the first applies, after the last the
        last; a gap between periods falls through (`rates.override_rate_on`)."""
        found, value = self.lookup(keys, days)
        if len(self.key) == 0:
            return found, value
        has = np.zeros(len(self.first_start), dtype=np.bool_)
        has[self.key] = True
        k = np.maximum(keys, 0)
        known = (keys >= 0) & has[k]
        after = known & (days > self.last_end[k])
        before = known & (days < self.first_start[k])
        value = np.where(after, self.last_value[k], value)
        value = np.where(before, self.first_value[k], value)
        return found | after | before, value


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
    return Rates(
        user_cost=RateArrays.build(
            {i: ref.user_cost(u, position) for i, u in enumerate(users)}, len(users)
        ),
        user_billing=RateArrays.build(
            {i: ref.user_billing(u, position) for i, u in enumerate(users)}, len(users)
        ),
        role_cost=RateArrays.build(
            {i: ref.role_cost(r, position) for i, r in enumerate(roles)}, len(roles)
        ),
        role_billing=RateArrays.build(
            {i: ref.role_billing(r, position) for i, r in enumerate(roles)}, len(roles)
        ),
        company_billing=RateArrays.build(company, len(roles)),
        overrides=RateArrays.build({k: v or EMPTY for k, v in overrides.items()}, len(roles)),
        primary=np.array([-1 if p is None else role_index[p] for p in primary], dtype=np.int64),
    )


# -- tasks and entries as columns ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskColumns:
    cost_type: I8  # index into COST_TYPES
    revenue_type: I8  # index into REVENUE_TYPES
    fixed_cost: I64  # scaled; -1: none
    revenue_amount: I64  # scaled; -1: none
    first_role: I64  # the first assignment with a role (R10.5); -1: none
    #: per task, its assignments' (user index, role index), -1 for a missing side
    assignments: tuple[tuple[tuple[int, int], ...], ...]


def task_columns(
    tasks: Sequence[TaskState], users: Mapping[str, int], roles: Mapping[str, int]
) -> TaskColumns:
    def amount(value: Decimal | None) -> int:
        if value is None:
            return -1
        out = scaled(value, RATE_SCALE)
        if out > MAX_RATE:
            raise TooLarge(f"rate {value}")
        return out

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
    return TaskColumns(
        cost_type=np.array([COST_TYPES.index(t.cost_type) for t in tasks], dtype=np.int8),
        revenue_type=np.array([REVENUE_TYPES.index(t.revenue_type) for t in tasks], dtype=np.int8),
        fixed_cost=np.array([amount(t.fixed_hourly_cost) for t in tasks], dtype=np.int64),
        revenue_amount=np.array([amount(t.revenue_amount) for t in tasks], dtype=np.int64),
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
    """Both prices of every entry. A rate is meaningful only where its source is not
    NONE (R10.7: no rate, or an amount 0 by rule, shows rate and source null)."""

    cost_rate: I64  # x RATE_SCALE
    cost_source: I8
    cost: I64  # cents
    billing_rate: I64
    billing_source: I8
    revenue: I64  # cents


class _Chain:
    """One chain being coalesced: each level fills the entries still without a rate."""

    def __init__(self, n: int) -> None:
        self.rate = np.zeros(n, dtype=np.int64)
        self.source = np.zeros(n, dtype=np.int8)

    def open(self, idx: I64) -> I64:
        out: I64 = idx[self.source[idx] == NONE]
        return out

    def fill(self, idx: I64, found: Bools, value: I64, code: int) -> None:
        take = idx[found]
        self.rate[take] = value[found]
        self.source[take] = code

    def level(
        self, idx: I64, table: RateArrays, keys: I64, days: I64, code: int, override: bool = False
    ) -> None:
        """Look `keys` (per entry) up in `table` for the entries of `idx` still open."""
        idx = self.open(idx)
        look = table.override_lookup if override else table.lookup
        found, value = look(keys[idx], days[idx])
        self.fill(idx, found, value, code)

    def role_billing(self, idx: I64, rates: Rates, roles: I64, days: I64) -> None:
        """R4.4: project override (R4.6) -> company (R4.5) -> system."""
        self.level(idx, rates.overrides, roles, days, PROJECT_ROLE, override=True)
        self.level(idx, rates.company_billing, roles, days, COMPANY_ROLE)
        self.level(idx, rates.role_billing, roles, days, ROLE)

    def constant(self, idx: I64, values: I64) -> None:
        """A per-entry constant rate (`fixed_hourly`); -1 is "none"."""
        idx = self.open(idx)
        v = values[idx]
        self.fill(idx, v >= 0, v, TASK)


def role_candidates(entries: EntryColumns, tasks: TaskColumns, primary: I64, which: I64) -> I64:
    """R5.2/R5.3/R10.5 for the entries `which` (all on tasks): a matrix, one row per
    entry, of the hour's role, the roles the owner holds on the task's assignments (in
    their order), the owner's primary role and the task's first role assignment,
    repeats and gaps dropped, padded with -1 (`Pricer.role_candidates`). Built once
    per distinct (task, owner, hour role): a project has few of them."""
    task, owner, role = entries.task[which], entries.owner[which], entries.role[which]
    # one int64 per triple (role + 1: -1 is "none"), factorised on one axis
    owners = int(owner.max()) + 1 if len(owner) else 1
    roles_ = int(role.max()) + 2 if len(role) else 1
    code = (task * owners + owner) * roles_ + (role + 1)
    distinct, inverse = np.unique(code, return_inverse=True)
    lists: list[tuple[int, ...]] = []
    for c in distinct.tolist():
        t, rest = divmod(c, owners * roles_)
        o, r = divmod(rest, roles_)
        r -= 1
        held = [ar for au, ar in tasks.assignments[t] if au == o and au >= 0]
        roles = [r, *held, int(primary[o]), int(tasks.first_role[t])]
        lists.append(tuple(dict.fromkeys(x for x in roles if x >= 0)))
    width = max((len(c) for c in lists), default=0)
    matrix = np.full((len(lists), max(width, 1)), -1, dtype=np.int64)
    for i, c in enumerate(lists):
        matrix[i, : len(c)] = c
    out: I64 = matrix[inverse.reshape(-1)]
    return out


def price(entries: EntryColumns, tasks: TaskColumns, rates: Rates) -> Priced:
    """Both rates and amounts of every entry, as `pricing.price_hour` sets them."""
    n = len(entries)
    if n and int(entries.hours.max()) > MAX_HOURS:
        raise TooLarge("hours")
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
        cost.constant(fixed, tasks.fixed_cost[t])

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
        billing.constant(fixed, tasks.revenue_amount[t])
    # R10.7: hours not counting as revenue have no billing rate nor source
    billing.source[~entries.counts_as_revenue] = NONE

    for chain in (cost, billing):
        chain.rate[chain.source == NONE] = 0
    return Priced(
        cost_rate=cost.rate,
        cost_source=cost.source,
        cost=_cents(entries.hours, cost.rate),
        billing_rate=billing.rate,
        billing_source=billing.source,
        revenue=_cents(entries.hours, billing.rate),
    )


def _cents(hours: I64, rate: I64) -> I64:
    """hours x rate rounded half-up to cents (R3.3): both are >= 0, so floor division
    of (x + half a cent) is half-up."""
    return (hours * rate + _PER_CENT // 2) // _PER_CENT


def keep_billed(new: Priced, old: Priced, locked: Bools, locks_cost: bool) -> Priced:
    """R7.3 as masks: an entry on a billed record keeps its revenue (rate, source,
    amount), and its cost too when the project's `billed_locks_cost` is set (R10.9:
    read at the recalculation). `old` are the stored columns."""
    keep_cost = locked if locks_cost else np.zeros_like(locked)
    return Priced(
        cost_rate=np.where(keep_cost, old.cost_rate, new.cost_rate),
        cost_source=np.where(keep_cost, old.cost_source, new.cost_source).astype(np.int8),
        cost=np.where(keep_cost, old.cost, new.cost),
        billing_rate=np.where(locked, old.billing_rate, new.billing_rate),
        billing_source=np.where(locked, old.billing_source, new.billing_source).astype(np.int8),
        revenue=np.where(locked, old.revenue, new.revenue),
    )
