"""Random histories of the log for the pricing core: every project-stream event the
book handles and every reference event, shaped as the ledger accepts them (R7.1,
R7.4, R9, R10.10), so that a recalculation finds rates at every level (R4), with
periods, gaps, open ends, real zeros and four places (half cents, R3.3), billed
locks (R7.3) with `billed_locks_cost` true and false, and task moves (R6.3).

`histories()` draws a list of `EventData`; `recalc_log.Log` (or the integration
tests' `LogWriter`, with the streams a `Log` gave them) appends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from services.recalc.domain import columns
from shared.events import (
    Assignment,
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordItemsRemoved,
    BillingRecordStatusChanged,
    CompanyDefined,
    EventData,
    ExpenseDeleted,
    ExpenseRecorded,
    ExpenseUpdated,
    FinancesRecalculationRequested,
    HoursDeleted,
    HoursEdited,
    HoursLogged,
    JobRoleDefined,
    ProjectCreated,
    ProjectStatusChanged,
    ProjectUpdated,
    RatePeriod,
    RatesSet,
    TaskCreated,
    TaskMoved,
    TaskStatusChanged,
    TaskUpdated,
    UserDefined,
    UserRolesChanged,
)

BASE = date(2023, 6, 1)
CENT = Decimal("0.01")
PROJECTS = ("P", "Q")
USERS = ("U0", "U1", "U2")
ROLES = ("R0", "R1", "R2")
COMPANIES = ("Co", "Cp")
COST_TYPES = columns.COST_TYPES
REVENUE_TYPES = columns.REVENUE_TYPES
FIXED_ITEMS = ("fixed_revenue", "user_hourly_plus_fixed", "role_hourly_plus_fixed")

values = st.one_of(
    st.just(Decimal(0)),  # a real 0 stops the search (R4.2)
    # four places: with hours in 1/100, an amount often ends in exactly half a cent
    st.integers(1, 2_000_000).map(lambda v: Decimal(v).scaleb(-4)),
    st.integers(1, 20_000).map(lambda v: Decimal(v).scaleb(-2)),
    st.integers(1, 300).map(Decimal),
)
hour_amounts = st.one_of(
    st.integers(1, 2400).map(lambda v: Decimal(v).scaleb(-2)),
    st.integers(1, 24).map(Decimal),
    st.sampled_from((Decimal("0.5"), Decimal("0.25"), Decimal("0.05"))),
)
days = st.integers(-15, 55).map(lambda n: BASE + timedelta(days=n))


@st.composite
def tables(draw: st.DrawFn) -> tuple[RatePeriod, ...]:
    """0-3 periods over 40 days, sorted and never overlapping (R4.1), with gaps or
    not, the first start and the last end open or not. Rarely a value keeps trailing
    zeros (40.00: an event stored before values were normalised) so that a rate's
    written scale is carried as the log holds it."""
    count = draw(st.sampled_from((0, 1, 1, 2, 2, 3)))
    cuts = sorted(draw(st.sets(st.integers(0, 40), min_size=2 * count, max_size=2 * count)))
    out = []
    for i in range(count):
        start: date | None = BASE + timedelta(days=cuts[2 * i])
        # touching periods (no gap) as often as gaps
        if i > 0 and draw(st.booleans()):
            start = BASE + timedelta(days=cuts[2 * i - 1] + 1)
        end: date | None = BASE + timedelta(days=cuts[2 * i + 1])
        if i == 0 and draw(st.booleans()):
            start = None
        if i == count - 1 and draw(st.booleans()):
            end = None
        if start is not None and end is not None and end < start:
            end = start
        value = draw(values)
        if value == value.quantize(CENT) and draw(st.integers(0, 9)) == 0:
            # as stored before values were normalised: 40.00, 0.00
            value = value.quantize(CENT)
            out.append(RatePeriod.model_construct(value=value, start_date=start, end_date=end))
        else:
            out.append(RatePeriod(value=value, start_date=start, end_date=end))
    return tuple(out)


def rates_set(level: str, rate_type: str, periods: tuple[RatePeriod, ...], **ids: str) -> RatesSet:
    # model_construct: the periods may hold a stored scale (see `tables`)
    fields: dict[str, Any] = {"role_id": None, "user_id": None, "company_id": None}
    fields |= {"project_id": None, "level": level, "rate_type": rate_type, "periods": periods}
    fields |= ids
    return RatesSet.model_construct(**fields)


@dataclass
class _Hour:
    project: str
    task: str | None
    counts: bool
    owner: str
    record: str | None = None


@dataclass
class _World:
    """What the ledger would know: enough to draw only events it accepts."""

    tasks: dict[str, str] = field(default_factory=dict)  # task -> project
    revenue: dict[str, str] = field(default_factory=dict)  # task -> revenue type
    task_record: dict[str, str] = field(default_factory=dict)  # fixed-revenue item
    hours: dict[str, _Hour] = field(default_factory=dict)
    expenses: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # project, task
    records: dict[str, tuple[str, str]] = field(default_factory=dict)  # -> (project, status)
    serial: int = 0

    def new_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def billed(self, record: str | None) -> bool:
        return record is not None and self.records[record][1] == "billed"

    def on_records(self, task: str) -> bool:
        """R7.4: a task with anything on a billing record can't move."""
        return task in self.task_record or any(
            h.task == task and h.record for h in self.hours.values()
        )


def _assignments(draw: st.DrawFn) -> tuple[Assignment, ...]:
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from((None, *USERS)), st.sampled_from((None, *ROLES))).filter(
                lambda a: a != (None, None)
            ),
            max_size=3,
        )
    )
    return tuple(Assignment(user_id=u, role_id=r) for u, r in pairs)


def _task_created(draw: st.DrawFn, world: _World) -> TaskCreated:
    task, project = world.new_id("T"), draw(st.sampled_from(PROJECTS))
    revenue_type = draw(st.sampled_from(REVENUE_TYPES))
    world.tasks[task], world.revenue[task] = project, revenue_type
    return TaskCreated(
        task_id=task,
        project_id=project,
        name=task,
        planned_hours=draw(st.sampled_from((Decimal(0), Decimal(8), Decimal("12.5")))),
        planned_start=BASE,
        planned_completion=BASE + timedelta(days=draw(st.integers(0, 20))),
        cost_type=draw(st.sampled_from(COST_TYPES)),
        revenue_type=revenue_type,
        fixed_hourly_cost=draw(st.one_of(st.none(), values)),
        revenue_amount=draw(st.one_of(st.none(), values)),
        assignments=_assignments(draw),
    )


def _reference_event(draw: st.DrawFn, kind: int) -> EventData:
    if kind == 0:
        user = draw(st.sampled_from(USERS))
        return rates_set(
            "user", draw(st.sampled_from(("cost", "billing"))), draw(tables()), user_id=user
        )
    if kind == 1:
        role = draw(st.sampled_from(ROLES))
        return rates_set(
            "role", draw(st.sampled_from(("cost", "billing"))), draw(tables()), role_id=role
        )
    if kind == 2:  # company level: billing only (R9)
        return rates_set(
            "company_role",
            "billing",
            draw(tables()),
            company_id=draw(st.sampled_from(COMPANIES)),
            role_id=draw(st.sampled_from(ROLES)),
        )
    primary = draw(st.sampled_from((None, *ROLES)))
    others = draw(st.lists(st.sampled_from(ROLES), unique=True, max_size=2))
    return UserRolesChanged(
        user_id=draw(st.sampled_from(USERS)),
        primary_role_id=primary,
        other_role_ids=tuple(r for r in others if r != primary),
    )


def _items_added(draw: st.DrawFn, world: _World, record: str) -> EventData | None:
    """R7.1: eligible items of the record's project, on no other record."""
    owner = world.records[record][0]
    eligible = sorted(
        h
        for h, v in world.hours.items()
        if v.project == owner
        and v.record is None
        and v.counts
        and (v.task is None or world.revenue[v.task] != "not_billable")
    )
    if not eligible:
        return None
    chosen = draw(st.lists(st.sampled_from(eligible), unique=True, min_size=1, max_size=6))
    for h in chosen:
        world.hours[h].record = record
    fixed = sorted(
        t
        for t, p in world.tasks.items()
        if p == owner and world.revenue[t] in FIXED_ITEMS and t not in world.task_record
    )
    task_items = tuple(draw(st.lists(st.sampled_from(fixed), unique=True))) if fixed else ()
    for t in task_items:
        world.task_record[t] = record
    return BillingRecordItemsAdded(
        billing_record_id=record, hour_ids=tuple(chosen), task_ids=task_items
    )


def _hours_logged(draw: st.DrawFn, world: _World) -> HoursLogged:
    """An entry on a task, or on a project itself (R5.3)."""
    task = draw(st.sampled_from((None, *sorted(world.tasks))))
    project = draw(st.sampled_from(PROJECTS)) if task is None else world.tasks[task]
    hour_id = world.new_id("h")
    counts = draw(st.sampled_from((True, True, True, False)))
    target = {"project_id": project} if task is None else {"task_id": task}
    owner = draw(st.sampled_from(USERS))
    world.hours[hour_id] = _Hour(project, task, counts, owner)
    return HoursLogged(
        hour_id=hour_id,
        owner_id=owner,
        entry_date=draw(days),
        hours=draw(hour_amounts),
        role_id=draw(st.sampled_from((None, None, None, *ROLES))),
        counts_as_revenue=counts,
        **target,
    )


def _lock_cycle(draw: st.DrawFn, world: _World) -> list[EventData]:
    """A billed record's entries locked by a recalculation, then unlocked and priced
    again by the next one (R7.3, R10.9: kept, then no longer kept)."""
    billed = sorted(r for r, (_, s) in world.records.items() if s == "billed")
    if not billed:
        return _billed(draw, world)
    record = draw(st.sampled_from(billed))
    project = world.records[record][0]
    world.records[record] = (project, "not_billed")
    # new rates first, one for a billed entry's owner: it keeps its revenue (R7.3)
    owners = sorted({h.owner for h in world.hours.values() if h.record == record} or USERS)
    changes = [
        rates_set("user", "billing", draw(tables()), user_id=draw(st.sampled_from(owners))),
        _reference_event(draw, draw(st.integers(0, 2))),
    ]
    if draw(st.booleans()):  # or none: unlocked at the same prices, only restamped
        changes = []
    return [
        *changes,
        FinancesRecalculationRequested(project_ids=(project,)),
        BillingRecordStatusChanged(billing_record_id=record, status="not_billed"),
        FinancesRecalculationRequested(project_ids=(project,)),
    ]


def _billed(draw: st.DrawFn, world: _World) -> list[EventData]:
    """A record of some of a project's entries, billed most of the time (R7.3)."""
    project = draw(st.sampled_from(PROJECTS))
    record = world.new_id("B")
    world.records[record] = (project, "not_billed")
    out: list[EventData] = [
        BillingRecordCreated(
            billing_record_id=record,
            project_id=project,
            description=record,
            additional_amount=draw(st.one_of(st.none(), values)),
        )
    ]
    added = _items_added(draw, world, record)
    if added is not None:
        out.append(added)
    if draw(st.integers(0, 3)):
        world.records[record] = (project, "billed")
        out.append(BillingRecordStatusChanged(billing_record_id=record, status="billed"))
    return out


def _event(draw: st.DrawFn, world: _World) -> EventData | None:
    """One more event the ledger would accept now, or None when the drawn kind has
    nothing to act on."""
    kind = draw(st.integers(0, 33))
    project = draw(st.sampled_from(PROJECTS))
    if kind < 4 or kind >= 31:  # rates change between loggings and recalculations
        return _reference_event(draw, kind % 4 if kind < 4 else kind - 31)
    if kind in (4, 30):  # a project's own overrides (R4.4, R4.6); an empty table clears them
        return rates_set(
            "project_role",
            "billing",
            draw(tables()),
            project_id=project,
            role_id=draw(st.sampled_from(ROLES)),
        )
    if kind == 5:
        settings = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "billed_locks_cost": st.booleans(),
                    "follow_company_rate_changes": st.booleans(),
                    "company_id": st.sampled_from((None, *COMPANIES)),
                    "fixed_revenue": values,
                },
            )
        )
        return ProjectUpdated.model_validate({"project_id": project, **settings})
    if kind == 6:  # complete -> current re-prices the plan (R6.3)
        status = draw(st.sampled_from(("current", "complete", "on_hold")))
        return ProjectStatusChanged(project_id=project, status=status)
    if kind == 7:
        return _task_created(draw, world)
    tasks = sorted(world.tasks)
    if kind == 8 and tasks:
        task = draw(st.sampled_from(tasks))
        provided: dict[str, Any] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "cost_type": st.sampled_from(COST_TYPES),
                    "revenue_type": st.sampled_from(REVENUE_TYPES),
                    "fixed_hourly_cost": st.one_of(st.none(), values),
                    "revenue_amount": st.one_of(st.none(), values),
                },
            )
        )
        if draw(st.booleans()):
            provided["assignments"] = _assignments(draw)
        if world.billed(world.task_record.get(task)):  # R10.10: frozen
            provided.pop("revenue_type", None)
            provided.pop("revenue_amount", None)
        if "revenue_type" in provided:
            world.revenue[task] = provided["revenue_type"]
        return TaskUpdated.model_validate({"task_id": task, **provided})
    if kind in (9, 10) and tasks:  # every status change recalculates (R10.9)
        status = draw(st.sampled_from(("new", "in_progress", "complete", "dead")))
        return TaskStatusChanged(task_id=draw(st.sampled_from(tasks)), status=status)
    if kind == 11 and tasks:
        movable = [t for t in tasks if not world.on_records(t)]
        if not movable:
            return None
        task = draw(st.sampled_from(movable))
        target = "Q" if world.tasks[task] == "P" else "P"
        world.tasks[task] = target
        for hour in world.hours.values():
            if hour.task == task:
                hour.project = target
        for expense_id, (_, t) in list(world.expenses.items()):
            if t == task:
                world.expenses[expense_id] = (target, t)
        return TaskMoved(task_id=task, to_project_id=target)
    if 12 <= kind < 17:
        return _hours_logged(draw, world)
    unlocked = sorted(h for h, v in world.hours.items() if not world.billed(v.record))
    if kind == 17 and unlocked:  # R7.4: a billed entry can't be edited
        hour_id = draw(st.sampled_from(unlocked))
        edit: dict[str, Any] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "hours": hour_amounts,
                    "entry_date": days,
                    "role_id": st.sampled_from((None, *ROLES)),
                    "counts_as_revenue": st.booleans(),
                },
            )
        )
        if "counts_as_revenue" in edit:
            world.hours[hour_id].counts = edit["counts_as_revenue"]
        return HoursEdited.model_validate({"hour_id": hour_id, **edit})
    if kind == 18:  # R7.4: an entry on a record can't be deleted
        free = sorted(h for h, v in world.hours.items() if v.record is None)
        if not free:
            return None
        hour_id = draw(st.sampled_from(free))
        del world.hours[hour_id]
        return HoursDeleted(hour_id=hour_id)
    if kind == 19:
        expense_id = world.new_id("x")
        on_task = draw(st.sampled_from((None, *(t for t in tasks if world.tasks[t] == project))))
        world.expenses[expense_id] = (project, on_task)
        return ExpenseRecorded(
            expense_id=expense_id,
            project_id=project,
            task_id=on_task,
            expense_type="travel",
            planned_amount=draw(st.one_of(st.none(), values)),
            actual_amount=draw(st.one_of(st.none(), values)),
            billable=draw(st.booleans()),
        )
    if kind == 20 and world.expenses:  # (expenses are never put on a record here)
        expense_id = draw(st.sampled_from(sorted(world.expenses)))
        if draw(st.booleans()):
            del world.expenses[expense_id]
            return ExpenseDeleted(expense_id=expense_id)
        return ExpenseUpdated(
            expense_id=expense_id, planned_amount=draw(values), actual_amount=draw(values)
        )
    if kind == 21:
        record = world.new_id("B")
        world.records[record] = (project, "not_billed")
        return BillingRecordCreated(
            billing_record_id=record,
            project_id=project,
            description=record,
            additional_amount=draw(st.one_of(st.none(), values)),
        )
    open_records = sorted(r for r, (_, s) in world.records.items() if s != "billed")
    if kind in (22, 23) and open_records:
        return _items_added(draw, world, draw(st.sampled_from(open_records)))
    if kind == 24 and open_records:
        record = draw(st.sampled_from(open_records))
        held = sorted(h for h, v in world.hours.items() if v.record == record)
        if not held:
            return None
        chosen = draw(st.lists(st.sampled_from(held), unique=True, min_size=1))
        for h in chosen:
            world.hours[h].record = None
        return BillingRecordItemsRemoved(billing_record_id=record, hour_ids=tuple(chosen))
    if kind in (25, 26) and world.records:  # billed, and back (R7.3)
        record = draw(st.sampled_from(sorted(world.records)))
        owner, status = world.records[record]
        new = "not_billed" if status == "billed" else "billed"
        world.records[record] = (owner, new)
        return BillingRecordStatusChanged(billing_record_id=record, status=new)
    if kind >= 27:  # (27, 28, 29)
        scope = draw(st.sampled_from(("all", "all", "planned")))
        return FinancesRecalculationRequested(project_ids=(project,), scope=scope)
    return None


@st.composite
def histories(draw: st.DrawFn, max_events: int = 40) -> list[EventData]:
    """Reference data, two projects, then `max_events` events or fewer; each project
    ends with a recalculation of everything."""
    world = _World()
    out: list[EventData] = [JobRoleDefined(role_id=r, name=r) for r in ROLES]
    out += [CompanyDefined(company_id=c, name=c) for c in COMPANIES]
    for u in USERS:
        primary = draw(st.sampled_from((None, *ROLES)))
        others = draw(st.lists(st.sampled_from(ROLES), unique=True, max_size=2))
        out.append(
            UserDefined(
                user_id=u,
                name=u,
                primary_role_id=primary,
                other_role_ids=tuple(r for r in others if r != primary),
            )
        )
    for rate_type in ("cost", "billing"):  # most keys have a table of 0-3 periods
        out += [rates_set("user", rate_type, draw(tables()), user_id=u) for u in USERS]
        out += [rates_set("role", rate_type, draw(tables()), role_id=r) for r in ROLES]
    for c in COMPANIES:
        out += [
            rates_set("company_role", "billing", draw(tables()), company_id=c, role_id=r)
            for r in ROLES
        ]
    for p in PROJECTS:
        company = draw(st.sampled_from((None, *COMPANIES)))
        out.append(
            ProjectCreated(
                project_id=p,
                name=p,
                status="current",
                company_id=company,
                billed_locks_cost=draw(st.booleans()),
                follow_company_rate_changes=draw(st.booleans()),
                fixed_revenue=draw(st.one_of(st.none(), values)),
            )
        )
        for role in draw(st.lists(st.sampled_from(ROLES), unique=True, max_size=2)):
            out.append(
                rates_set("project_role", "billing", draw(tables()), project_id=p, role_id=role)
            )
    for _ in range(draw(st.integers(1, 3))):
        out.append(_task_created(draw, world))
    for _ in range(draw(st.integers(0, max_events))):
        if (macro := draw(st.integers(0, 15))) < 2:
            out += (_billed, _lock_cycle)[macro](draw, world)
        elif draw(st.integers(0, 5)) == 0:  # a day's work: several entries at once
            out += [_hours_logged(draw, world) for _ in range(draw(st.integers(2, 6)))]
        elif (event := _event(draw, world)) is not None:
            out.append(event)
    out += [FinancesRecalculationRequested(project_ids=(p,)) for p in PROJECTS]
    return out
