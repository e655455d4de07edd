"""The columnar pricing prototype (`columns.py`) against the scalar path, to the cent
(issue 9): random reference data, tasks and entries go through the book as a log
(`recalc_log.Log`), a recalculation re-prices them with the scalar `Pricer` (R6.1,
R7.3), and `columns.price` + `keep_billed` must give every entry the same rates,
sources and amounts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from recalc_log import Log, rates

from services.recalc.domain import columns
from services.recalc.domain.columns import (
    RATE_SCALE,
    SOURCES,
    Priced,
    entry_columns,
    keep_billed,
    price,
    rate_arrays,
    task_columns,
)
from shared.events import (
    Assignment,
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordStatusChanged,
    CompanyDefined,
    FinancesRecalculationRequested,
    HoursLogged,
    JobRoleDefined,
    ProjectCreated,
    RatePeriod,
    TaskCreated,
    UserDefined,
)

BASE = date(2023, 6, 1)
USERS = ("U0", "U1", "U2")
ROLES = ("R0", "R1", "R2")
COST = columns.COST_TYPES
REVENUE = columns.REVENUE_TYPES

values = st.one_of(
    st.just(Decimal(0)),  # a real 0 stops the search (R4.2)
    st.integers(1, 3_000_000).map(lambda v: Decimal(v).scaleb(-4)),
    # three places: with whole hours, half a cent is frequent (R3.3 half-up)
    st.integers(1, 30_000).map(lambda v: Decimal(v).scaleb(-3)),
)
hour_amounts = st.one_of(
    st.integers(1, 2400).map(lambda v: Decimal(v).scaleb(-2)),
    st.integers(1, 24).map(Decimal),
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[RatePeriod, ...]:
    """0-3 periods over 40 days, sorted, never overlapping, gaps or not, ends open or not."""
    count = draw(st.sampled_from((0, 1, 1, 2, 2, 3)))
    cuts = sorted(draw(st.sets(st.integers(0, 40), min_size=2 * count, max_size=2 * count)))
    out = []
    for i in range(count):
        start: date | None = BASE + timedelta(days=cuts[2 * i])
        end: date | None = BASE + timedelta(days=cuts[2 * i + 1])
        if i == 0 and draw(st.booleans()):
            start = None
        if i == count - 1 and draw(st.booleans()):
            end = None
        out.append(RatePeriod(value=draw(values), start_date=start, end_date=end))
    return tuple(out)


@st.composite
def logs(draw: st.DrawFn) -> tuple[Log, set[str]]:
    """A project priced by the book, then recalculated after rate changes; and the
    hours on billed records."""
    log = Log()
    for r in ROLES:
        log(JobRoleDefined(role_id=r, name=r))
    for u in USERS:
        primary = draw(st.sampled_from((None, *ROLES)))
        log(UserDefined(user_id=u, name=u, primary_role_id=primary))

    def set_tables() -> None:
        for r in ROLES:
            for rate_type in ("cost", "billing"):
                if draw(st.booleans()):
                    log(rates("role", rate_type, *draw(tables()), role_id=r))
            if draw(st.booleans()):
                log(rates("company_role", "billing", *draw(tables()), company_id="Co", role_id=r))
        for u in USERS:
            for rate_type in ("cost", "billing"):
                if draw(st.booleans()):
                    log(rates("user", rate_type, *draw(tables()), user_id=u))

    log(CompanyDefined(company_id="Co", name="Co"))
    set_tables()
    log(
        ProjectCreated(
            project_id="P",
            name="P",
            company_id=draw(st.sampled_from((None, "Co"))),
            billed_locks_cost=draw(st.booleans()),
            follow_company_rate_changes=draw(st.booleans()),
        )
    )
    for r in draw(st.sets(st.sampled_from(ROLES), max_size=3)):
        log(rates("project_role", "billing", *draw(tables()), project_id="P", role_id=r))
    revenue_types = {}
    for t in range(draw(st.integers(1, 3))):
        assignments = draw(
            st.lists(
                st.tuples(st.sampled_from((None, *USERS)), st.sampled_from((None, *ROLES))).filter(
                    lambda a: a != (None, None)
                ),
                max_size=3,
            )
        )
        cost_type, revenue_type = draw(st.sampled_from(COST)), draw(st.sampled_from(REVENUE))
        revenue_types[f"T{t}"] = revenue_type
        log(
            TaskCreated(
                task_id=f"T{t}",
                project_id="P",
                name="T",
                cost_type=cost_type,
                revenue_type=revenue_type,
                fixed_hourly_cost=draw(st.one_of(st.none(), values)),
                revenue_amount=draw(st.one_of(st.none(), values)),
                assignments=tuple(Assignment(user_id=u, role_id=r) for u, r in assignments),
            )
        )
    billable = []
    for h in range(draw(st.integers(1, 40))):
        task = draw(st.sampled_from((None, *revenue_types)))
        counts = draw(st.sampled_from((True, True, True, False)))
        target = {"project_id": "P"} if task is None else {"task_id": task}
        log(
            HoursLogged(
                hour_id=f"h{h}",
                owner_id=draw(st.sampled_from(USERS)),
                entry_date=BASE + timedelta(days=draw(st.integers(-20, 60))),
                hours=draw(hour_amounts),
                role_id=draw(st.sampled_from((None, *ROLES))),
                counts_as_revenue=counts,
                **target,
            )
        )
        if counts and (task is None or revenue_types[task] != "not_billable"):  # R7.1
            billable.append(f"h{h}")
    billed = set(draw(st.lists(st.sampled_from(billable), unique=True))) if billable else set()
    if billed:
        log(BillingRecordCreated(billing_record_id="B", project_id="P", description="B"))
        log(BillingRecordItemsAdded(billing_record_id="B", hour_ids=tuple(sorted(billed))))
        log(BillingRecordStatusChanged(billing_record_id="B", status="billed"))
    set_tables()  # rates change (R1.4: nothing re-priced) ...
    return log, billed


def _columns(priced: list[tuple[Decimal, Decimal | None, str | None]]) -> tuple[list[int], ...]:
    amounts = [int(a * 100) for a, _, _ in priced]
    rates_ = [0 if r is None else int(r * RATE_SCALE) for _, r, _ in priced]
    sources = [SOURCES.index(s) for _, _, s in priced]
    return amounts, rates_, sources


def _as_priced(hours: list) -> Priced:  # type: ignore[type-arg]
    cost = _columns([(h.cost, h.cost_rate, h.cost_rate_source) for h in hours])
    revenue = _columns([(h.revenue, h.billing_rate, h.billing_rate_source) for h in hours])
    return Priced(
        cost_rate=np.array(cost[1], dtype=np.int64),
        cost_source=np.array(cost[2], dtype=np.int8),
        cost=np.array(cost[0], dtype=np.int64),
        billing_rate=np.array(revenue[1], dtype=np.int64),
        billing_source=np.array(revenue[2], dtype=np.int8),
        revenue=np.array(revenue[0], dtype=np.int64),
    )


def _same(got: Priced, want: Priced) -> None:
    for name in Priced.__slots__:
        a, b = getattr(got, name), getattr(want, name)
        bad = np.flatnonzero(a != b)
        assert len(bad) == 0, f"{name} differs at entries {bad.tolist()}: {a[bad]} != {b[bad]}"


@settings(max_examples=150, deadline=None)
@given(logs())
def test_columns_price_every_entry_as_the_scalar_pricer(case: tuple[Log, set[str]]) -> None:
    log, billed = case
    state = log.book.projects["P"]
    hours = list(state.hours.values())
    old = _as_priced(hours)  # as priced when logged
    log(FinancesRecalculationRequested(project_ids=("P",)))  # ... until a recalculation
    want = _as_priced(hours)  # the scalar Pricer's, R7.3 locks applied

    users = {u: i for i, u in enumerate(USERS)}
    roles = {r: i for i, r in enumerate(ROLES)}
    tasks = list(state.tasks.values())
    entries = entry_columns(hours, {t.task_id: i for i, t in enumerate(tasks)}, users, roles)
    arrays = rate_arrays(log.reference, state.info, log.position, USERS, ROLES)
    fresh = price(entries, task_columns(tasks, users, roles), arrays)
    locked = np.array([h.hour_id in billed for h in hours], dtype=np.bool_)
    got = keep_billed(fresh, old, locked, state.info.billed_locks_cost)
    _same(got, want)
    # and no float anywhere: every money and rate column is an integer
    for name in Priced.__slots__:
        assert getattr(got, name).dtype.kind in "iu", name
        assert getattr(fresh, name).dtype.kind in "iu", name


def test_no_float_in_money_or_rate_columns() -> None:
    log = Log()
    log(JobRoleDefined(role_id="R0", name="R0"))
    log(rates("role", "cost", "12.3456", role_id="R0"))
    log(rates("role", "billing", "99.5", role_id="R0"))
    log(UserDefined(user_id="U0", name="U0", primary_role_id="R0"))
    log(ProjectCreated(project_id="P", name="P"))
    log(TaskCreated(task_id="T0", project_id="P", name="T"))
    log(
        HoursLogged(hour_id="h", owner_id="U0", task_id="T0", entry_date=BASE, hours=Decimal("1.5"))
    )
    state = log.book.projects["P"]
    arrays = rate_arrays(log.reference, state.info, log.position, ("U0",), ("R0",))
    for table in (arrays.user_cost, arrays.role_cost, arrays.role_billing, arrays.overrides):
        for name in table.__slots__:
            assert getattr(table, name).dtype == np.int64, name
    entries = entry_columns(state.hours.values(), {"T0": 0}, {"U0": 0}, {"R0": 0})
    priced = price(entries, task_columns(list(state.tasks.values()), {"U0": 0}, {"R0": 0}), arrays)
    for name in Priced.__slots__:
        assert getattr(priced, name).dtype.kind in "iu", name
    # 1.5 h x 12.3456 = 18.5184 -> 18.52; 1.5 x 99.5 = 149.25
    assert (int(priced.cost[0]), int(priced.revenue[0])) == (1852, 14925)
    assert (int(priced.cost_rate[0]), SOURCES[priced.cost_source[0]]) == (123_456, "role")
    hour = log.hour("h")
    assert (hour.cost, hour.revenue) == (Decimal("18.52"), Decimal("149.25"))
