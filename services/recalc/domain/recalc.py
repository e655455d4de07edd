"""Recalculation of one project at one knowledge position (R6.1, R7.3, R10.9)."""

from __future__ import annotations

from dataclasses import dataclass

from services.recalc.domain.planning import price_plan
from services.recalc.domain.pricing import price_hour
from services.recalc.domain.state import ProjectState, TaskState
from services.recalc.domain.step import Step
from shared.events.types import RecalcScope


@dataclass(frozen=True, slots=True)
class RecalcCounts:
    #: entries whose amounts were computed again (cost only counts, R10.9)
    hours_repriced: int
    #: entries on billed records whose revenue was kept (R7.3)
    hours_locked: int


def recalculate(step: Step, state: ProjectState, scope: RecalcScope) -> RecalcCounts:
    """Re-price every plan and, for scope `all`, every hour entry but what R7.3 locks."""
    pricer = step.pricer(state)
    for planned in state.tasks.values():
        planned.planned_cost, planned.planned_hourly_revenue = price_plan(
            pricer, planned, step.today
        )
        planned.plan_priced_at = step.position
        state.touch_task(planned.task_id)
    if scope != "all":
        return RecalcCounts(0, 0)
    billed = {rid for rid, record in state.records.items() if record.status == "billed"}
    # R10.9: the setting is read now, at the recalculation.
    locks_cost = state.info.billed_locks_cost
    tasks = state.tasks
    observe = step.observer is not None
    repriced = locked = 0
    for hour in state.hours.values():
        task_id = hour.task_id
        task: TaskState | None = tasks.get(task_id) if task_id is not None else None
        is_locked = hour.billing_record_id in billed if billed else False
        if is_locked:
            locked += 1
            if locks_cost:
                if observe:
                    step.observe(hour, True)
                continue
        price_hour(pricer, task, hour, cost_only=is_locked)
        repriced += 1
        state.touch_hour(hour.hour_id)
        if observe:
            step.observe(hour, is_locked)
    # One pass over the new lines is cheaper than a delta per entry.
    state.rebuild()
    return RecalcCounts(repriced, locked)
