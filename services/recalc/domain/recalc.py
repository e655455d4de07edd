"""Recalculation of one project at one knowledge position (R6.1, R7.3, R10.9).

Rules: docs/rules.md#r6, #r7.3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from services.recalc.domain.columns import NotColumnar
from services.recalc.domain.event_step import Step
from services.recalc.domain.hour_table import (
    HourTable,
    Repriced,
    apply_to,
    cents_decimal,
    from_entries,
    hours_decimal,
    reprice,
)
from services.recalc.domain.money import CENT, ZERO, ZERO_CENTS
from services.recalc.domain.planning import price_plan
from services.recalc.domain.pricing import Pricer
from services.recalc.domain.state import HourEntry, LineSums, ProjectState, TaskState
from shared.events.types import RecalcScope


@dataclass(frozen=True, slots=True)
class RecalcCounts:
    #: entries whose amounts were computed again (a cost-only re-price counts, R10.9)
    hours_repriced: int
    #: entries on billed records whose revenue was kept (R7.3)
    hours_locked: int


def recalculate(step: Step, state: ProjectState, scope: RecalcScope) -> RecalcCounts:
    """Re-price every plan and, for scope `all`, every hour entry but what R7.3 locks:
    as objects when the state holds them all, else as the columns it holds."""
    pricer = step.pricer(state)
    for planned in state.tasks.values():
        planned.planned_cost, planned.planned_hourly_revenue = price_plan(
            pricer, planned, step.today
        )
        planned.plan_priced_at = step.position
        state.touch_task(planned.task_id)
    if scope != "all":
        return RecalcCounts(0, 0)
    done: _Done | None = None
    if state.columns is not None and not state.hours_complete:
        done = _reprice_columns(step, state, pricer, state.columns)
    else:
        state.require_hours("a recalculation")
        entries = list(state.hours.values())
        if step.columnar:
            done = _reprice_entries(step, state, entries)
        if done is None:  # the scalar path: the reference, and per-entry observations
            done = _reprice_hours(step, state, pricer, entries)
            state.replace_hour_sums(done.actuals, done.record_revenue)
    state.info.hours_priced_at = step.position
    state.touch_info()
    state.touch_prices(done.changed, done.flipped)
    return RecalcCounts(done.repriced, done.locked)


@dataclass(slots=True)
class _Done:
    repriced: int = 0
    locked: int = 0
    changed: list[str] = field(default_factory=list)
    flipped: list[str] = field(default_factory=list)
    actuals: dict[str | None, LineSums] = field(default_factory=dict)
    record_revenue: dict[str, Decimal] = field(default_factory=dict)


def _billed(state: ProjectState) -> set[str]:
    return {rid for rid, record in state.records.items() if record.status == "billed"}


def _reprice_columns(step: Step, state: ProjectState, pricer: Pricer, table: HourTable) -> _Done:
    """A light state's table, but the rows of the entries it holds as objects (or has
    removed): those are priced one by one beside it, and the sums are the two added."""
    live = table.live(state.held_hour_ids())
    try:
        cols = reprice(
            table, live, state.tasks, state.info, step.reference, step.position, _billed(state)
        )
    except NotColumnar as exc:  # the worker loads the entries as objects instead
        raise NotColumnar(str(exc), state.info.project_id) from exc
    done = _reprice_hours(step, state, pricer, state.hours.values())
    done.repriced += cols.repriced
    done.locked += cols.locked
    _install_sums(state, table, cols, done)
    return done


def _reprice_entries(step: Step, state: ProjectState, entries: list[HourEntry]) -> _Done | None:
    """A state holding all its entries as objects, priced as one table (`from_entries`)
    and set back on the objects; None when the columns can't hold them exactly, or
    the book observes every entry (history): then the scalar path prices them."""
    if step.observer is not None:
        return None
    try:
        table = from_entries(entries)
        everything = np.ones(len(table), dtype=np.bool_)
        cols = reprice(
            table,
            everything,
            state.tasks,
            state.info,
            step.reference,
            step.position,
            _billed(state),
        )
    except NotColumnar:
        return None
    apply_to(entries, table, cols, step.position)
    done = _Done(
        repriced=cols.repriced,
        locked=cols.locked,
        changed=[entries[i].hour_id for i in np.flatnonzero(cols.changed).tolist()],
        flipped=[entries[i].hour_id for i in np.flatnonzero(cols.restamped).tolist()],
    )
    _install_sums(state, table, cols, done)
    return done


def _install_sums(state: ProjectState, table: HourTable, cols: Repriced, done: _Done) -> None:
    """The state's new hour sums, as `_reprice_hours` builds them from every entry: the
    table's live rows plus the objects priced beside it (already in `done`)."""
    for i, task_id in enumerate(table.task_ids):
        count = int(cols.count_by_task[i])
        if not count:
            continue
        sums = done.actuals.get(task_id)
        if sums is None:
            sums = done.actuals[task_id] = LineSums()
        sums.count += count
        sums.hours += hours_decimal(int(cols.hours_by_task[i]), int(cols.places_by_task[i]))
        sums.cost += cents_decimal(int(cols.cost_by_task[i]))
        sums.revenue += cents_decimal(int(cols.revenue_by_task[i]))
    for i, record_id in enumerate(table.records):
        revenue = cents_decimal(int(cols.revenue_by_record[i]))
        done.record_revenue[record_id] = done.record_revenue.get(record_id, ZERO) + revenue
    state.replace_hour_sums(done.actuals, done.record_revenue)


def _reprice_hours(
    step: Step, state: ProjectState, pricer: Pricer, hours: Iterable[HourEntry]
) -> _Done:
    # The hot loop of the scalar path (100,000 entries well under a second): rates are
    # memoised by the pricer, amounts rounded inline (R3.3; a memo of them cost more
    # than the arithmetic: entries rarely share both hours and rate), sums rebuilt in
    # the same pass.
    rates_of = pricer.hour_rates
    position = step.position
    billed = _billed(state)
    # R10.9: the setting is read now, at the recalculation.
    locks_cost = state.info.billed_locks_cost
    tasks = state.tasks
    observe = step.observe if step.observer is not None else None
    done = _Done()
    actuals = done.actuals
    record_revenue = done.record_revenue
    repriced = 0
    # Which entries' prices differ (rewritten), and which only changed whether they are
    # kept: every other entry is priced at `hours_priced_at` without a change of its own,
    # so a recalculation that changes few prices changes few lines.
    changed = done.changed
    flipped = done.flipped
    same = _Same()
    locked = 0
    for hour in hours:
        task_id = hour.task_id
        record_id = hour.billing_record_id
        is_locked = record_id in billed if record_id is not None else False
        if is_locked:
            locked += 1
        if is_locked and locks_cost:
            if not hour.kept:  # R10.9: neither re-priced nor restamped
                hour.kept = True
                flipped.append(hour.hour_id)
        else:
            task: TaskState | None = tasks.get(task_id) if task_id is not None else None
            cost, billing = rates_of(task, hour.owner_id, hour.role_id, hour.entry_date)
            old_cost, old_rate, old_source = hour.cost, hour.cost_rate, hour.cost_rate_source
            old_revenue, old_brate = hour.revenue, hour.billing_rate
            old_bsource = hour.billing_rate_source
            if cost is None:
                hour.cost, hour.cost_rate, hour.cost_rate_source = ZERO_CENTS, None, None
            else:
                hour.cost = (hour.hours * cost[0]).quantize(CENT, ROUND_HALF_UP)
                hour.cost_rate, hour.cost_rate_source = cost
            if not is_locked:  # billed revenue is kept (R7.3)
                if billing is None or not hour.counts_as_revenue:
                    hour.revenue, hour.billing_rate, hour.billing_rate_source = (
                        ZERO_CENTS,
                        None,
                        None,
                    )
                else:
                    hour.revenue = (hour.hours * billing[0]).quantize(CENT, ROUND_HALF_UP)
                    hour.billing_rate, hour.billing_rate_source = billing
            hour.priced_at = position
            was_kept, hour.kept = hour.kept, False
            repriced += 1
            # Amounts are quantized to cents on both sides, so == is exact for them;
            # rates keep their written scale (95 vs 95.00), hence `same`.
            if (
                hour.cost != old_cost
                or hour.revenue != old_revenue
                or hour.cost_rate_source != old_source
                or hour.billing_rate_source != old_bsource
                or not same(hour.cost_rate, old_rate)
                or not same(hour.billing_rate, old_brate)
            ):
                changed.append(hour.hour_id)
            elif was_kept:
                flipped.append(hour.hour_id)
        if observe is not None:
            observe(hour, is_locked)
        sums = actuals.get(task_id)
        if sums is None:
            sums = actuals[task_id] = LineSums()
        sums.count += 1
        sums.hours += hour.hours
        sums.cost += hour.cost
        sums.revenue += hour.revenue
        if record_id is not None:
            record_revenue[record_id] = record_revenue.get(record_id, ZERO) + hour.revenue
    done.repriced, done.locked = repriced, locked
    return done


class _Same:
    """Is a rate the same, scale included? Memoised by the pair of objects: a
    recalculation compares few distinct rate objects, many times each."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[tuple[int, int], tuple[bool, Decimal, Decimal]] = {}

    def __call__(self, new: Decimal | None, old: Decimal | None) -> bool:
        if new is old:
            return True
        if new is None or old is None:
            return False
        key = (id(new), id(old))
        known = self._known.get(key)
        if known is None:
            # The memo holds both objects, so their ids can't be reused while it lives.
            known = self._known[key] = (str(new) == str(old), new, old)
        return known[0]
